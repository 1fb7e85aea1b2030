// SPDX-License-Identifier: GPL-2.0
// swap-module: save every namespace's IPVS configuration, unload the set, load the other, restore, verify,
// and on any failure put the previous set and configuration back.
#include "ipvs_drain/swap_run.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <system_error>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libkmod.h>

#include "ipvs_drain/client.h"
#include "ipvs_drain/errors.h"
#include "ipvs_drain/procfs.h"
#include "ipvs_drain/rules.h"
#include "ipvs_drain/swap.h"
#include "ipvs_drain/sysctl.h"
#include "ipvs_drain/util.h"

namespace ipvs::swap {

namespace {

constexpr int kExitFailure = 1;

using util::Fd;

void say(const std::string &line) { std::printf("swap-module: %s\n", line.c_str()), std::fflush(stdout); }
int refuse(const std::string &sentence)
{
	std::fflush(stdout);
	std::fprintf(stderr, "ipvs-drain: swap-module: %s\n", sentence.c_str());
	return kExitFailure;
}

std::string join(const std::vector<std::string> &v, const char *sep = ", ")
{
	std::string out;
	for (const auto &s : v)
		out += (out.empty() ? "" : sep) + s;
	return out;
}

std::string no_period(std::string s)
{
	while (!s.empty() && s.back() == '.')
		s.pop_back();
	return s;
}

using procfs::read_trimmed;
using util::dir_names;

// The process ids in /proc, ascending.
std::vector<int> pids()
{
	std::vector<int> out;
	for (const auto &n : dir_names("/proc").value_or(std::vector<std::string>{}))
		if (int pid = std::atoi(n.c_str()); pid > 0)
			out.push_back(pid);
	std::sort(out.begin(), out.end());
	return out;
}

// ---- namespaces -------------------------------------------------------------------------------

struct Netns {
	std::string label;
	Fd fd;
	bool self = false;
};

// Runs @fn inside @ns; the guard brings this thread back (or ends the process: see util.h).
std::string in_netns(const Netns &ns, const std::function<std::string()> &fn)
{
	std::optional<util::NetnsGuard> inside;
	if (!ns.self) {
		try {
			inside.emplace(ns.fd.get());
		} catch (const std::system_error &e) {
			return "cannot enter " + ns.label + ": " + std::strerror(e.code().value());
		}
	}
	return fn();
}

std::vector<Netns> list_netns()
{
	std::vector<Netns> out;
	std::set<std::pair<dev_t, ino_t>> seen;
	auto add = [&](const std::string &path, const std::string &label, bool self) {
		struct stat st{};
		if (::stat(path.c_str(), &st) < 0 || !seen.insert({st.st_dev, st.st_ino}).second)
			return;
		int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		out.push_back(Netns{label, Fd(fd), self});
	};
	add("/proc/self/ns/net", "this namespace", true);
	for (const auto &n : dir_names("/run/netns").value_or(std::vector<std::string>{}))
		add("/run/netns/" + n, "netns " + n, false);
	for (int pid : pids()) {
		std::string comm = read_trimmed("/proc/" + std::to_string(pid) + "/comm").value_or("?");
		add("/proc/" + std::to_string(pid) + "/ns/net", "the netns of pid " + std::to_string(pid) + " (" + comm + ")",
		    false);
	}
	return out;
}

// ---- one namespace's configuration ------------------------------------------------------------

struct Saved {
	std::vector<Service> services;
	Timeouts timeouts;
	Sysctls sysctls;
	std::size_t conns = 0, established = 0;
	bool daemon = false;
};

Sysctls read_sysctls()
{
	Sysctls out;
	for (const auto &n : dir_names(sysctl::kDir).value_or(std::vector<std::string>{}))
		if (auto v = procfs::read_file(std::string(sysctl::kDir) + "/" + n))
			out.emplace_back(n, normalize_sysctl(*v));
	return out;
}

std::string snapshot(Saved &s, bool with_conns)
{
	Client client;
	if (auto ec = Client::open(client))
		return Client::is_family_missing(ec) ? "IPVS is not loaded" : "cannot open netlink: " + ec.message();
	if (auto ec = client.get_services(s.services))
		return describe_error(Op::GetServices, ec);
	if (auto ec = client.get_timeouts(s.timeouts))
		return describe_error(Op::GetTimeouts, ec);
	std::vector<Daemon> daemons;
	if (auto ec = client.get_daemons(daemons))
		return describe_error(Op::GetDaemons, ec);
	s.daemon = !daemons.empty();
	s.sysctls = read_sysctls();
	if (with_conns) {
		if (auto text = procfs::read_file("/proc/net/ip_vs_conn")) {
			std::string why;
			procfs::for_each_conn(
				*text,
				[&](const ConnEntry &c) {
					s.conns++;
					s.established += c.state == "ESTABLISHED";
				},
				why);
		}
	}
	return {};
}

std::string flush_here()
{
	Client client;
	if (auto ec = Client::open(client))
		return Client::is_family_missing(ec) ? std::string() : "cannot open netlink: " + ec.message();
	if (auto ec = client.flush())
		return describe_error(Op::Flush, ec);
	return {};
}

// Puts @s into this namespace's fresh IPVS, then reads it back and compares.
std::string restore_here(const Saved &s, std::vector<std::string> &notes)
{
	Client client;
	if (auto ec = Client::open(client))
		return Client::is_family_missing(ec) ? "IPVS is not loaded" : "cannot open netlink: " + ec.message();
	if (auto ec = client.set_timeouts(s.timeouts))
		return "cannot set the timeouts: " + describe_error(Op::SetTimeouts, ec);
	for (const Service &svc : s.services) {
		if (auto ec = client.add_service(svc))
			return "cannot add a service (" + rules::config_lines({svc}).front() + "): " + describe_error(Op::AddService, ec);
		for (const Dest &d : svc.dests)
			if (auto ec = client.add_dest(rules::key_of(svc), d))
				return "cannot add a destination of " + rules::config_lines({svc}).front() + ": " +
				       describe_error(Op::AddDest, ec);
	}
	Sysctls now = read_sysctls();
	for (const auto &kv : s.sysctls) {
		const std::string &name = kv.first, &value = kv.second;
		auto it = std::find_if(now.begin(), now.end(), [&](const auto &p) { return p.first == name; });
		if (it == now.end()) {
			notes.push_back("net.ipv4.vs." + name + " (was " + value + ") does not exist in the new set");
			continue;
		}
		if (it->second == value)
			continue;
		if (auto ec = sysctl::write(std::string(sysctl::kRelDir) + "/" + name, value))
			return "cannot write net.ipv4.vs." + name + " = " + value + ": " + ec.message();
	}
	Saved after;
	if (auto err = snapshot(after, false); !err.empty())
		return "cannot read the restored table back: " + err;
	std::vector<std::string> diffs = rules::config_diff(s.services, after.services);
	if (after.timeouts.tcp != s.timeouts.tcp || after.timeouts.tcp_fin != s.timeouts.tcp_fin ||
	    after.timeouts.udp != s.timeouts.udp)
		diffs.push_back("timeouts differ");
	std::vector<std::string> missing;
	for (const auto &kv : s.sysctls)
		if (const std::string &name = kv.first; std::none_of(after.sysctls.begin(), after.sysctls.end(), [&](const auto &p) { return p.first == name; }))
			missing.push_back(name);
	for (auto &d : sysctl_diff(s.sysctls, after.sysctls, missing))
		diffs.push_back(d);
	if (!diffs.empty())
		return "the restored configuration differs: " + join(diffs, "; ");
	return {};
}

// ---- modules ----------------------------------------------------------------------------------

std::string lockdown_text() { return read_trimmed("/sys/kernel/security/lockdown").value_or(""); }

// ---- libkmod: every object owned, every failure reported by us (its own log is off) -----------------

template <auto Free>
struct KmodFree {
	template <class T>
	void operator()(T *p) const { Free(p); }
};
using KmodCtx = std::unique_ptr<kmod_ctx, KmodFree<kmod_unref>>;
using KmodModule = std::unique_ptr<kmod_module, KmodFree<kmod_module_unref>>;
using KmodList = std::unique_ptr<kmod_list, KmodFree<kmod_module_unref_list>>;
using KmodInfo = std::unique_ptr<kmod_list, KmodFree<kmod_module_info_free_list>>;

// The context of the running kernel (/lib/modules/RELEASE, /etc/modprobe.d); null only when out of memory.
kmod_ctx *kmod()
{
	static const KmodCtx ctx = [] {
		KmodCtx c(kmod_new(nullptr, nullptr));
		if (c)
			kmod_set_log_fn(c.get(), [](void *, int, const char *, int, const char *, const char *, va_list) {}, nullptr);
		return c;
	}();
	return ctx.get();
}

// The module modprobe would pick for @name (an alias or a module name), or null.
KmodModule lookup(const std::string &name)
{
	kmod_list *raw = nullptr;
	if (kmod_module_new_from_lookup(kmod(), name.c_str(), &raw) < 0 || !raw)
		return {};
	KmodList list(raw);
	return KmodModule(kmod_module_get_module(raw));
}

std::optional<KoFile> ko_of(kmod_module *m, const std::string &path, std::string &why)
{
	kmod_list *raw = nullptr;
	const int err = kmod_module_get_info(m, &raw);
	KmodInfo info(raw);
	if (err < 0) {
		why = std::string("cannot read its module info: ") + std::strerror(-err);
		return std::nullopt;
	}
	std::map<std::string, std::string> fields;
	kmod_list *it;
	kmod_list_foreach(it, raw)
	{
		const char *value = kmod_module_info_get_value(it);
		fields.emplace(kmod_module_info_get_key(it), value ? value : "");
	}
	return ko_from_modinfo(path, fields);
}

std::vector<LoadedModule> loaded_modules()
{
	std::vector<LoadedModule> out;
	kmod_list *raw = nullptr;
	if (kmod_module_new_from_loaded(kmod(), &raw) < 0)
		return out;
	KmodList list(raw);
	kmod_list *it, *h;
	kmod_list_foreach(it, raw)
	{
		KmodModule m(kmod_module_get_module(it));
		LoadedModule lm{kmod_module_get_name(m.get()), kmod_module_get_refcnt(m.get()), {}};
		KmodList holders(kmod_module_get_holders(m.get()));
		kmod_list_foreach(h, holders.get())
		{
			KmodModule hm(kmod_module_get_module(h));
			lm.holders.push_back(kmod_module_get_name(hm.get()));
		}
		out.push_back(std::move(lm));
	}
	return out;
}

// modprobe's way: @name and its dependencies from modules.dep, install commands and soft dependencies too;
// what is loaded already stays.
std::string probe(const std::string &name)
{
	KmodModule m = lookup(name);
	if (!m)
		return "no module " + name + " for this kernel (modules.dep)";
	if (int err = kmod_module_probe_insert_module(m.get(), 0, nullptr, nullptr, nullptr, nullptr); err < 0)
		return describe_load_error(name, -err, lockdown_text());
	return {};
}

// One file, decompressed by libkmod when it is .ko.xz/.ko.zst/.ko.gz; its dependencies must be loaded.
std::string insmod(const KoFile &ko)
{
	kmod_module *raw = nullptr;
	int err = kmod_module_new_from_path(kmod(), ko.path.c_str(), &raw);
	KmodModule m(raw);
	if (err == 0)
		err = kmod_module_insert_module(m.get(), 0, nullptr);
	if (err < 0)
		return describe_load_error(ko.name + " (" + ko.path + ")", -err, lockdown_text());
	return {};
}

std::string unload_module(const std::string &name)
{
	kmod_module *raw = nullptr;
	if (int err = kmod_module_new_from_name(kmod(), name.c_str(), &raw); err < 0)
		return "cannot unload " + name + ": " + std::strerror(-err);
	KmodModule m(raw);
	// A service's scheduler reference is dropped as the flush completes; give stragglers a moment.
	for (int attempt = 0;; attempt++) {
		const int e = -kmod_module_remove_module(m.get(), 0);
		if (e == 0 || e == ENOENT)
			return {};
		if ((e != EWOULDBLOCK && e != EBUSY && e != EAGAIN) || attempt >= 50)
			return "cannot unload " + name + ": " + std::strerror(e);
		::usleep(100 * 1000);
	}
}

std::string unload_everything()
{
	UnloadPlan p = plan_unload(loaded_modules());
	for (const auto &name : p.order)
		if (auto err = unload_module(name); !err.empty())
			return err;
	return {};
}

// Where a set of modules comes from: the .ko files of a directory, or modprobe's own choice.
struct SetSource {
	std::string describe;
	std::optional<std::string> dir;
	std::vector<KoFile> files; // the directory's, or modprobe's resolution of each needed module
};

std::string read_source(const std::optional<std::string> &dir, const std::vector<std::string> &needed, SetSource &out)
{
	out.dir = dir;
	if (dir) {
		out.describe = "the modules in " + *dir;
		auto all = dir_names(*dir);
		if (!all)
			return "cannot open " + *dir + ": " + std::strerror(errno);
		std::vector<std::string> names;
		for (const auto &n : *all)
			// Hidden files (an editor's or a build's leftovers) are never modules to load.
			for (const char *ext : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"})
				if (n[0] != '.' && n.size() > std::strlen(ext) &&
				    n.compare(n.size() - std::strlen(ext), std::string::npos, ext) == 0)
					names.push_back(n);
		if (names.empty())
			return *dir + " holds no .ko (or .ko.xz, .ko.zst, .ko.gz) files";
		for (const auto &n : names) {
			std::string why;
			auto ko = read_ko(*dir + "/" + n, why);
			if (!ko)
				return *dir + "/" + n + ": " + why;
			out.files.push_back(*ko);
		}
		return {};
	}
	out.describe = "the modules 'modprobe' loads";
	for (const auto &name : needed) {
		KmodModule m = lookup(name);
		const char *path = m ? kmod_module_get_path(m.get()) : nullptr;
		if (!path)
			return "modprobe cannot find " + name + " for this kernel (modules.dep)";
		std::string why;
		auto ko = ko_of(m.get(), path, why);
		if (!ko)
			return std::string(path) + ": " + why;
		out.files.push_back(*ko);
	}
	return {};
}

// Checks a source before anything is unloaded: every needed module present and built for this kernel.
std::string precheck(const SetSource &src, const std::vector<std::string> &needed, const std::string &release)
{
	LoadOrder lo = load_order(src.files, needed);
	if (!lo.error.empty())
		return src.describe + ": " + lo.error;
	for (const KoFile *ko : lo.files)
		if (auto why = check_vermagic(*ko, release))
			return *why;
	return {};
}

std::string load_set(const SetSource &src, const std::vector<std::string> &needed, const std::vector<std::string> &foreign)
{
	std::vector<std::string> probed = foreign; // after the set: they depend on it
	if (src.dir) {
		LoadOrder lo = load_order(src.files, needed);
		if (!lo.error.empty())
			return lo.error;
		for (const auto &ext : lo.external)
			if (auto err = probe(ext); !err.empty())
				return err;
		for (const KoFile *ko : lo.files)
			if (auto err = insmod(*ko); !err.empty())
				return err;
	} else {
		probed.insert(probed.begin(), needed.begin(), needed.end());
	}
	for (const auto &name : probed)
		if (auto err = probe(name); !err.empty())
			return err;
	return {};
}

std::string utc_stamp()
{
	char buf[32];
	std::time_t t = std::time(nullptr);
	std::tm tm{};
	gmtime_r(&t, &tm);
	std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
	return buf;
}

std::string write_file(const std::string &path, const std::string &text)
{
	Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
	    ::fsync(fd.get()) != 0)
		return "cannot write " + path + ": " + std::strerror(errno);
	return {};
}

std::string label_slug(const std::string &label)
{
	std::string s;
	for (char c : label)
		s += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
	return s;
}

} // namespace

std::optional<KoFile> read_ko(const std::string &path, std::string &why)
{
	kmod_module *raw = nullptr;
	const int err = kmod_module_new_from_path(kmod(), path.c_str(), &raw);
	KmodModule m(raw);
	if (err < 0) {
		why = std::string("cannot read it: ") + std::strerror(-err);
		return std::nullopt;
	}
	return ko_of(m.get(), path, why);
}

int run(const options::SwapOptions &opt)
{
	utsname u{};
	::uname(&u);
	const std::string release = u.release;
	if (!kmod())
		return refuse("cannot set up libkmod (out of memory). Nothing was changed.");

	// 1. What is loaded, and what holds it.
	UnloadPlan plan = plan_unload(loaded_modules());
	if (!plan.busy_foreign.empty())
		return refuse("refused: " + join(plan.busy_foreign) +
			      " hold ip_vs and are in use (for xt_ipvs: iptables/nftables rules matching '-m ipvs'); "
			      "remove those users first. Nothing was changed.");

	// 2. Every namespace's configuration.
	std::vector<Netns> all = list_netns();
	std::vector<const Netns *> kept;
	std::vector<Saved> saved;
	std::vector<std::string> others_with_services;
	std::size_t conns = 0, established = 0;
	if (plan.ipvs_loaded) {
		for (const Netns &ns : all) {
			Saved s;
			if (auto err = in_netns(ns, [&] { return snapshot(s, true); }); !err.empty())
				return refuse("cannot read the IPVS configuration of " + ns.label + ": " + err + ". Nothing was changed.");
			if (s.daemon)
				return refuse("refused: an IPVS sync daemon runs in " + ns.label +
					      "; stop it first ('ipvsadm --stop-daemon master|backup'). Nothing was changed.");
			if (!ns.self && !s.services.empty())
				others_with_services.push_back(ns.label + " (" + std::to_string(s.services.size()) + " services)");
			if (ns.self || opt.all_netns) {
				conns += s.conns;
				established += s.established;
				kept.push_back(&ns);
				saved.push_back(std::move(s));
			}
		}
		if (!others_with_services.empty() && !opt.all_netns)
			return refuse("refused: other network namespaces hold IPVS services: " + join(others_with_services) +
				      "; rerun with --all-netns to save and restore them too. Nothing was changed.");
	}

	// 3. The new set and, for a rollback, the old one: present and built for this kernel.
	std::vector<std::vector<Service>> tables;
	for (const auto &s : saved)
		tables.push_back(s.services);
	const std::vector<std::string> needed = needed_modules(plan.ipvs, tables);
	SetSource newset, oldset;
	if (auto err = read_source(opt.ko, needed, newset); !err.empty())
		return refuse("refused before unloading anything: " + err + ".");
	if (auto err = precheck(newset, needed, release); !err.empty())
		return refuse("refused before unloading anything: " + err + ".");
	if (!plan.ipvs_loaded) {
		// Loading is a change too: without --yes, only the plan (as the help and README promise).
		if (!opt.yes) {
			say("ip_vs is not loaded: nothing to keep; --yes would load " + newset.describe + " (" +
			    join(needed, " ") + ").");
			say("plan only, nothing was changed: rerun with --yes to load it.");
			return 0;
		}
		say("ip_vs is not loaded: nothing to keep; loading " + newset.describe + ".");
		if (auto err = load_set(newset, needed, {}); !err.empty())
			return refuse("loading failed: " + err);
		say("done: loaded " + join(plan_unload(loaded_modules()).ipvs, " ") + ".");
		return 0;
	}
	const std::vector<std::string> old_needed = plan.ipvs;
	if (auto err = read_source(opt.from_ko, old_needed, oldset); !err.empty())
		return refuse("refused: cannot find the loaded set's files for a rollback: " + err +
			      ". Pass --from-ko DIR with the loaded modules' .ko files. Nothing was changed.");
	if (auto err = precheck(oldset, old_needed, release); !err.empty())
		return refuse("refused: the loaded set's files cannot be loaded back: " + err + ". Nothing was changed.");
	{
		const KoFile *old_ipvs = nullptr;
		for (const auto &f : oldset.files)
			if (f.name == "ip_vs")
				old_ipvs = &f;
		auto src = read_trimmed("/sys/module/ip_vs/srcversion");
		auto ver = read_trimmed("/sys/module/ip_vs/version");
		if (!old_ipvs || !same_build(src, ver, *old_ipvs))
			return refuse("refused: the loaded ip_vs (version '" + ver.value_or("") + "', srcversion '" +
				      src.value_or("") + "') is not " + (old_ipvs ? old_ipvs->path : std::string("in ") + oldset.describe) +
				      ", so a failed swap could not put it back. Pass --from-ko DIR with the loaded modules' "
				      ".ko files. Nothing was changed.");
	}

	// 4. The save file: rules that 'ipvs-drain restore' and 'ipvsadm -R' read, and sysctls for 'sysctl -p'.
	std::string base = opt.save_file.value_or("");
	if (base.empty()) {
		::mkdir("/var/lib/ipvs-drain", 0700);
		base = "/var/lib/ipvs-drain/swap-" + utc_stamp() + ".rules";
	}
	static const format::NoResolver numeric;
	std::vector<std::string> files;
	for (std::size_t i = 0; i < kept.size(); i++) {
		std::string path = kept[i]->self ? base : base + "." + label_slug(kept[i]->label);
		rules::SaveOptions so;
		so.thresholds = true;
		so.timeouts = &saved[i].timeouts;
		std::string sys;
		for (const auto &[n, v] : saved[i].sysctls)
			sys += "net.ipv4.vs." + n + " = " + v + "\n";
		if (auto err = write_file(path, rules::save(saved[i].services, so, numeric)); !err.empty())
			return refuse("refused: " + err + " (choose another place with --save-file F). Nothing was changed.");
		if (auto err = write_file(path + ".sysctl", sys); !err.empty())
			return refuse("refused: " + err + " (choose another place with --save-file F). Nothing was changed.");
		files.push_back(path);
	}

	// 5. The plan, and the --yes gate.
	std::size_t nservices = 0;
	for (const auto &s : saved)
		nservices += s.services.size();
	say("loaded: " + join(plan.ipvs, " ") + (plan.foreign.empty() ? "" : "; holding ip_vs: " + join(plan.foreign, " ")));
	say("new set: " + newset.describe + " (" + join(needed, " ") + ")");
	say("saved " + std::to_string(nservices) + " services in " + std::to_string(kept.size()) +
	    " namespace(s), timeouts and net.ipv4.vs.* to " + join(files) + " (+ .sysctl)");
	say(std::to_string(conns) + " IPVS connection entries (" + std::to_string(established) +
	    " established) will be dropped by the unload; their clients see resets or retransmissions");
	for (int pid : pids())
		if (auto comm = read_trimmed("/proc/" + std::to_string(pid) + "/comm"); comm)
			if (auto warning = controller_warning(*comm, pid); !warning.empty())
				say(warning);
	if (!opt.yes) {
		say("plan only, nothing was changed: rerun with --yes to unload and swap.");
		return 0;
	}

	// 6. Nothing may have changed since the save.
	for (std::size_t i = 0; i < kept.size(); i++) {
		Saved now;
		auto err = in_netns(*kept[i], [&] { return snapshot(now, false); });
		if (!err.empty())
			return refuse("aborted before unloading: cannot re-read " + kept[i]->label + ": " + err + ".");
		auto diff = rules::config_diff(saved[i].services, now.services);
		if (!diff.empty() || now.sysctls != saved[i].sysctls)
			return refuse("aborted, nothing unloaded: the IPVS configuration of " + kept[i]->label +
				      " changed since it was saved (" + (diff.empty() ? "sysctls" : diff.front()) +
				      "); stop the controller that programs it (kube-proxy, keepalived) and retry.");
	}

	// 7. Unload, load, restore, verify; any failure puts the old set and configuration back.
	std::vector<std::string> notes;
	auto restore_all = [&](std::vector<std::string> &n) -> std::string {
		for (std::size_t i = 0; i < kept.size(); i++)
			if (auto err = in_netns(*kept[i], [&] { return restore_here(saved[i], n); }); !err.empty())
				return kept[i]->label + ": " + err;
		return {};
	};
	auto flush_all = [&]() -> std::string {
		for (std::size_t i = 0; i < kept.size(); i++)
			if (auto err = in_netns(*kept[i], flush_here); !err.empty())
				return kept[i]->label + ": " + err;
		return {};
	};
	auto rollback = [&](const std::string &step, const std::string &why) -> int {
		say("FAILED at " + step + ": " + why);
		say("rolling back to the previous set (" + oldset.describe + ")");
		std::vector<std::string> rb_notes;
		std::string err = flush_all();
		if (err.empty())
			err = unload_everything();
		if (err.empty())
			err = load_set(oldset, old_needed, plan.foreign);
		if (err.empty())
			err = restore_all(rb_notes);
		if (!err.empty())
			return refuse("swap failed at " + step + " (" + no_period(why) + ") AND the rollback failed: " + no_period(err) +
				      ". The saved configuration is in " + join(files) + ": load the modules, then run "
				      "'ipvs-drain restore < FILE' and 'sysctl -p FILE.sysctl'.");
		return refuse("swap failed at " + step + ": " + no_period(why) + ". Rolled back: the previous modules (" +
			      join(plan_unload(loaded_modules()).ipvs, " ") +
			      ") are loaded again and the configuration is restored and verified.");
	};

	say("unloading " + join(plan.order, " "));
	if (auto err = flush_all(); !err.empty())
		return rollback("flush", err);
	for (const auto &name : plan.order)
		if (auto err = unload_module(name); !err.empty())
			return rollback("unload", err);
	say("loading " + newset.describe);
	if (auto err = load_set(newset, needed, plan.foreign); !err.empty())
		return rollback("load", err);
	if (auto err = restore_all(notes); !err.empty())
		return rollback("restore", err);
	for (const auto &n : notes)
		say("note: " + n);
	const bool variant = sysctl::knob_present();
	say("done: " + join(plan_unload(loaded_modules()).ipvs, " ") + " loaded (" + (variant ? "ipvs-drain variant" : "stock") +
	    "); " + std::to_string(nservices) + " services, timeouts and sysctls restored in " +
	    std::to_string(kept.size()) + " namespace(s) and verified.");
	return 0;
}

} // namespace ipvs::swap
