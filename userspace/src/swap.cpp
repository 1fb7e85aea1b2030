// SPDX-License-Identifier: GPL-2.0
// Planning and checking for swap-module, on values only: loaded modules, module info, errnos, sysctls.
#include "ipvs_drain/swap.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace ipvs::swap {

namespace {

std::vector<std::string> split(const std::string &s, char sep)
{
	std::vector<std::string> out;
	std::size_t start = 0;
	while (start <= s.size()) {
		auto end = s.find(sep, start);
		if (end == std::string::npos)
			end = s.size();
		if (end > start)
			out.push_back(s.substr(start, end - start));
		start = end + 1;
	}
	return out;
}

// Module names treat '-' and '_' alike; the kernel shows '_'.
std::string canonical(std::string name)
{
	std::replace(name.begin(), name.end(), '-', '_');
	return name;
}

bool contains(const std::vector<std::string> &v, const std::string &s) { return std::find(v.begin(), v.end(), s) != v.end(); }

} // namespace

bool is_ipvs_module(const std::string &name) { return name == "ip_vs" || name.rfind("ip_vs_", 0) == 0; }

UnloadPlan plan_unload(const std::vector<LoadedModule> &mods)
{
	UnloadPlan p;
	std::set<std::string> group;
	for (const auto &m : mods) {
		if (!is_ipvs_module(m.name))
			continue;
		if (m.name == "ip_vs")
			p.ipvs_loaded = true;
		group.insert(m.name);
		for (const auto &h : m.holders)
			if (!is_ipvs_module(h) && !contains(p.foreign, h))
				p.foreign.push_back(h);
	}
	std::sort(p.foreign.begin(), p.foreign.end());
	for (const auto &f : p.foreign) {
		group.insert(f);
		for (const auto &m : mods)
			if (m.name == f && m.refcount > 0)
				p.busy_foreign.push_back(f);
	}
	// Peel off, round by round, every module none of whose holders is still in the group.
	std::set<std::string> left = group;
	while (!left.empty()) {
		std::vector<std::string> round;
		for (const auto &name : left) {
			bool held = false;
			for (const auto &m : mods)
				if (m.name == name)
					for (const auto &h : m.holders)
						held |= left.count(h) > 0;
			if (!held)
				round.push_back(name);
		}
		if (round.empty()) { // a loop cannot happen in a module graph; keep going rather than spin
			round.assign(left.begin(), left.end());
		}
		for (const auto &r : round) {
			p.order.push_back(r);
			left.erase(r);
		}
	}
	for (auto it = p.order.rbegin(); it != p.order.rend(); ++it)
		if (is_ipvs_module(*it))
			p.ipvs.push_back(*it);
	return p;
}

KoFile ko_from_modinfo(const std::string &path, const std::map<std::string, std::string> &info)
{
	KoFile k;
	k.path = path;
	auto get = [&](const char *key) {
		auto it = info.find(key);
		return it == info.end() ? std::string() : it->second;
	};
	k.name = get("name");
	if (k.name.empty()) {
		auto slash = path.rfind('/');
		k.name = path.substr(slash == std::string::npos ? 0 : slash + 1);
		if (auto ko = k.name.find(".ko"); ko != std::string::npos) // .ko, .ko.xz, .ko.zst...
			k.name.resize(ko);
	}
	k.name = canonical(k.name);
	for (auto &d : split(get("depends"), ','))
		k.depends.push_back(canonical(d));
	k.vermagic = get("vermagic");
	k.srcversion = get("srcversion");
	k.version = get("version");
	return k;
}

std::optional<std::string> check_vermagic(const KoFile &ko, const std::string &release)
{
	if (ko.vermagic.empty())
		return ko.path + " has no vermagic: it is not a kernel module";
	std::string built_for = ko.vermagic.substr(0, ko.vermagic.find(' '));
	if (built_for != release)
		return ko.path + " was built for kernel " + built_for + ", but this kernel is " + release +
		       ": build the set for it with 'make kmod KVER=" + release + "'";
	return std::nullopt;
}

std::vector<std::string> needed_modules(const std::vector<std::string> &loaded_ipvs,
					const std::vector<std::vector<Service>> &tables)
{
	std::set<std::string> rest;
	for (const auto &m : loaded_ipvs)
		if (m != "ip_vs")
			rest.insert(canonical(m));
	for (const auto &t : tables)
		for (const auto &s : t) {
			if (!s.sched_name.empty())
				rest.insert(canonical("ip_vs_" + s.sched_name));
			if (!s.pe_name.empty())
				rest.insert(canonical("ip_vs_pe_" + s.pe_name));
		}
	std::vector<std::string> out{"ip_vs"};
	out.insert(out.end(), rest.begin(), rest.end());
	return out;
}

LoadOrder load_order(const std::vector<KoFile> &dir, const std::vector<std::string> &needed)
{
	LoadOrder lo;
	std::map<std::string, const KoFile *> by_name;
	for (const auto &k : dir)
		by_name.emplace(k.name, &k);
	std::map<std::string, int> state; // 1 visiting, 2 done
	auto visit = [&](auto &&self, const std::string &name, const std::string &why) -> bool {
		auto it = by_name.find(name);
		if (it == by_name.end()) {
			if (is_ipvs_module(name)) {
				lo.error = "the directory has no " + name + ".ko (" + why + ")";
				return false;
			}
			if (!contains(lo.external, name))
				lo.external.push_back(name);
			return true;
		}
		if (state[name] == 2)
			return true;
		if (state[name] == 1) {
			lo.error = "the modules' dependencies loop through " + name;
			return false;
		}
		state[name] = 1;
		for (const auto &d : it->second->depends)
			if (!self(self, d, name + " depends on it"))
				return false;
		state[name] = 2;
		lo.files.push_back(it->second);
		return true;
	};
	for (const auto &n : needed)
		if (!visit(visit, canonical(n), n == "ip_vs" ? "the core module" : "the saved configuration or the loaded set uses it"))
			break;
	return lo;
}

bool same_build(const std::optional<std::string> &loaded_srcversion, const std::optional<std::string> &loaded_version,
		const KoFile &file)
{
	return loaded_srcversion.value_or("") == file.srcversion && loaded_version.value_or("") == file.version;
}

std::string describe_load_error(const std::string &module, int err, const std::string &lockdown)
{
	const bool locked = lockdown.find("[integrity]") != std::string::npos ||
			    lockdown.find("[confidentiality]") != std::string::npos;
	const std::string sign = " Sign the modules with a key the kernel trusts (see 'Secure Boot' in README.md).";
	switch (err) {
	case EKEYREJECTED:
		return "the kernel refused " + module + ": Key was rejected by service (its signature is not trusted; "
						      "Secure Boot or module.sig_enforce requires signed modules)." + sign;
	case ENOKEY:
		return "the kernel refused " + module + ": Required key not available (it is unsigned or signed with "
						      "an unknown key, and Secure Boot or module.sig_enforce requires a trusted signature)." + sign;
	case EPERM:
		if (locked)
			return "kernel lockdown (" + lockdown + ") refused the unsigned module " + module + "." + sign;
		return "permission denied loading " + module + ": run as root (or kernel.modules_disabled is 1).";
	case EEXIST:
		return module + " is already loaded.";
	case ENOEXEC:
		return module + " is not a loadable module for this kernel: Exec format error (the file is damaged or "
				"built for another architecture).";
	case EINVAL:
		return "the kernel refused " + module + ": Invalid argument (symbol versions or parameters do not match "
							"the running kernel; see dmesg).";
	case ENOENT:
		return "the kernel refused " + module + ": it uses a symbol no loaded module exports (see dmesg).";
	default:
		return "cannot load " + module + ": " + std::strerror(err) + ".";
	}
}

std::string normalize_sysctl(const std::string &raw)
{
	std::string out;
	for (char c : raw) {
		bool space = c == ' ' || c == '\t' || c == '\n';
		if (space) {
			if (!out.empty() && out.back() != ' ')
				out += ' ';
		} else {
			out += c;
		}
	}
	while (!out.empty() && out.back() == ' ')
		out.pop_back();
	return out;
}

std::vector<std::string> sysctl_diff(const Sysctls &before, const Sysctls &after,
				     const std::vector<std::string> &ignore_missing)
{
	std::vector<std::string> out;
	for (const auto &kv : before) {
		const std::string &name = kv.first, &value = kv.second; // clang 14 cannot capture bindings
		auto it = std::find_if(after.begin(), after.end(), [&](const auto &p) { return p.first == name; });
		if (it == after.end()) {
			if (!contains(ignore_missing, name))
				out.push_back("net.ipv4.vs." + name + ": was " + value + ", now absent");
		} else if (it->second != value) {
			out.push_back("net.ipv4.vs." + name + ": was " + value + ", now " + it->second);
		}
	}
	return out;
}

bool is_ipvs_controller(const std::string &comm)
{
	static const char *const kNames[] = {"kube-proxy", "kube-router", "keepalived", "ldirectord", "lvs-controller"};
	for (const char *n : kNames)
		if (comm == n)
			return true;
	return false;
}

std::string controller_warning(const std::string &comm, int pid)
{
	if (!is_ipvs_controller(comm))
		return "";
	std::string w = "warning: " + comm + " (pid " + std::to_string(pid) +
			") reprograms IPVS; stop it during the swap (the swap aborts if the table changes)";
	// tests/keepalived/guest.sh: keepalived resolves IPVS's generic netlink family once, and the
	// reloaded ip_vs registers it under a new id.
	if (comm == "keepalived")
		w += ", or reload it afterwards (SIGHUP): until then its IPVS commands fail with ENOENT, "
		     "because it keeps the generic netlink family id of the unloaded ip_vs";
	return w;
}

} // namespace ipvs::swap
