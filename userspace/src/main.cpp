// SPDX-License-Identifier: GPL-2.0
// The ipvs-drain command line: a table of verbs, each parsing its options and calling the layers below.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <sys/utsname.h>

#include "ipvs_drain/bench/run.h"
#include "ipvs_drain/client.h"
#include "ipvs_drain/errors.h"
#include "ipvs_drain/fixture.h"
#include "ipvs_drain/format.h"
#include "ipvs_drain/options.h"
#include "ipvs_drain/procfs.h"
#include "ipvs_drain/status.h"
#include "ipvs_drain/sysctl.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char *kNotLoaded =
	"IPVS is not loaded in this kernel: load it with 'modprobe ip_vs' (this tool never loads modules itself).";

int fail(int code, const std::string &sentence)
{
	std::fprintf(stderr, "ipvs-drain: %s\n", sentence.c_str());
	return code;
}

// One write for the whole listing, so a failure (EPIPE, full disk) never leaves a listing that looks complete.
int emit(const std::string &text)
{
	if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
		return fail(kExitFailure, std::string("Cannot write the output: ") + std::strerror(errno) + ".");
	return 0;
}

int open_client(ipvs::Client &client)
{
	auto ec = ipvs::Client::open(client);
	if (!ec)
		return 0;
	if (ipvs::Client::is_family_missing(ec))
		return fail(kExitFailure, kNotLoaded);
	return fail(kExitFailure, "Cannot open a generic netlink socket: " + ec.message() + ".");
}

int kernel_failure(ipvs::Op op, const std::error_code &ec)
{
	return fail(kExitFailure, ipvs::describe_error(op, ec) + ".");
}

int enter_netns(const std::string &name)
{
	auto ec = ipvs::sysctl::enter_netns(name);
	if (!ec)
		return 0;
	if (ec.value() == ENOENT)
		return fail(kExitFailure, "No network namespace named '" + name + "' (/run/netns/" + name + " does not exist).");
	if (ec.value() == EPERM || ec.value() == EACCES)
		return fail(kExitFailure, "Permission denied entering network namespace '" + name + "': run as root.");
	return fail(kExitFailure, "Cannot enter network namespace '" + name + "': " + ec.message() + ".");
}

const char kListHelp[] =
	"Usage: ipvs-drain list [options]\n"
	"\n"
	"Lists the IPVS table exactly as 'ipvsadm -L' does, with the same options:\n"
	"  -n, --numeric            numeric addresses and ports (no name lookups)\n"
	"  -c, --connection         the connection table (/proc/net/ip_vs_conn)\n"
	"  --stats | --rate         counters | rates, scaled to K/M/G/T\n"
	"  -X, --exact              exact numbers instead of scaled ones\n"
	"  --thresholds             upper/lower connection thresholds\n"
	"  --persistent-conn        persistent connection counts (with -c: pe name and data)\n"
	"  --tun-info               tunnel type and options of Tunnel destinations\n"
	"  --timeout | --daemon     IPVS timeouts | sync daemons\n"
	"  --sort | --nosort        sorted (default) or kernel order\n"
	"  -t|-u|--sctp-service ADDR   one TCP/UDP/SCTP service: host[:port] or [IPv6]:port\n"
	"  -f FWMARK [-6]           one firewall-mark service (IPv6 with -6)\n"
	"  -S, --save [-n]          rules that 'ipvsadm -R' restores\n"
	"\n"
	"Exit status: 0 listed, 1 the kernel refused or IPVS is not loaded, 2 bad usage.\n";

const char kStatusHelp[] =
	"Usage: ipvs-drain status [--json] [--netns NAME]\n"
	"\n"
	"Shows whether reused client ports can land on draining backends here:\n"
	"  - the kernel release, and whether it has upstream's weight-0 fix (c95c07836fa4, 5.16);\n"
	"  - whether ip_vs is the ipvs-drain variant (net.ipv4.vs.conn_reuse_quiescent exists) and its version;\n"
	"  - conn_reuse_mode, expire_nodest_conn, expire_quiescent_template, conntrack, conn_reuse_quiescent;\n"
	"  - the variant's counters (rescheduled, dropped_old_conntrack);\n"
	"  - risk per service: TCP TIME_WAIT/CLOSE entries, and FIN_WAIT entries of Route/Tunnel\n"
	"    destinations, whose destination has weight 0 or was removed. A new connection from a\n"
	"    reused port that matches one of them goes to that destination instead of being scheduled;\n"
	"  - one line of advice.\n"
	"  --json        machine-readable output (keys documented in README.md)\n"
	"  --netns NAME  report on the network namespace /run/netns/NAME\n";

const char kEnableHelp[] =
	"Usage: ipvs-drain enable [--mode N] [--netns NAME]\n"
	"\n"
	"Sets net.ipv4.vs.conn_reuse_quiescent, the ipvs-drain variant's knob, in this network\n"
	"namespace or in /run/netns/NAME. With it on, a TCP SYN that matches an old entry whose\n"
	"destination has weight 0 or was removed is scheduled afresh instead of following it.\n"
	"  --mode 1   TIME_WAIT/CLOSE entries (the default; what NAT directors see)\n"
	"  --mode 2   FIN_WAIT entries of Route/Tunnel destinations (replies bypass the director)\n"
	"  --mode 3   both\n"
	"  --mode 0   off (same as 'disable')\n"
	"The stock ip_vs has no such knob: install the variant modules and reload ip_vs first.\n"
	"New namespaces start with the ip_vs module parameter conn_reuse_quiescent (default 0).\n";

const char kDisableHelp[] =
	"Usage: ipvs-drain disable [--netns NAME]\n"
	"\n"
	"Sets net.ipv4.vs.conn_reuse_quiescent to 0: every path behaves as the stock module.\n";

int run_list(const std::vector<std::string> &args)
{
	auto parsed = ipvs::options::parse_list(args, ipvs::options::libc_lookups());
	if (auto *e = std::get_if<ipvs::options::UsageError>(&parsed))
		return fail(kExitUsage, e->message);
	const auto &o = std::get<ipvs::options::ListOptions>(parsed);
	if (o.help)
		return emit(kListHelp);

	ipvs::Client client;
	if (int rc = open_client(client))
		return rc;
	static const ipvs::format::NoResolver numeric;
	const ipvs::format::Resolver &res =
		o.fmt.numeric ? static_cast<const ipvs::format::Resolver &>(numeric) : ipvs::format::libc_resolver();

	if (o.connections) {
		const char *path = "/proc/net/ip_vs_conn";
		auto text = ipvs::procfs::read_file(path);
		if (!text)
			return fail(kExitFailure, std::string("Cannot read ") + path + ": " + std::strerror(errno) + ".");
		// Parse and print line by line into one buffer; nothing is written before the last line parsed.
		std::string out = ipvs::format::conn_header(o.fmt);
		out.reserve(out.size() + text->size() + text->size() / 4);
		std::string why;
		if (!ipvs::procfs::for_each_conn(
			    *text, [&](const ipvs::ConnEntry &c) { ipvs::format::append_conn(out, c, o.fmt, res); }, why))
			return fail(kExitFailure, "Cannot list connections: " + why + ".");
		return emit(out);
	}
	if (o.service) {
		ipvs::Service svc;
		if (auto ec = client.get_service(*o.service, svc))
			return kernel_failure(ipvs::Op::GetService, ec);
		return emit(ipvs::format::list_one(svc, o.fmt, res));
	}
	if (o.timeout) {
		ipvs::Timeouts t;
		if (auto ec = client.get_timeouts(t))
			return kernel_failure(ipvs::Op::GetTimeouts, ec);
		return emit(ipvs::format::timeouts(t));
	}
	if (o.daemon) {
		std::vector<ipvs::Daemon> d;
		if (auto ec = client.get_daemons(d))
			return kernel_failure(ipvs::Op::GetDaemons, ec);
		return emit(ipvs::format::daemons(d));
	}
	ipvs::Info info;
	if (auto ec = client.get_info(info))
		return kernel_failure(ipvs::Op::GetInfo, ec);
	std::vector<ipvs::Service> services;
	if (auto ec = client.get_services(services))
		return kernel_failure(ipvs::Op::GetServices, ec);
	return emit(ipvs::format::list_all(info, services, o.fmt, res));
}

std::optional<std::string> variant_version()
{
	if (auto v = ipvs::procfs::read_file("/sys/module/ip_vs/version")) {
		while (!v->empty() && (v->back() == '\n' || v->back() == ' '))
			v->pop_back();
		if (!v->empty())
			return v;
	}
	// modinfo reads the installed module file, which is what modprobe would load.
	if (FILE *p = popen("modinfo -F version ip_vs 2>/dev/null", "r")) {
		char buf[128] = {};
		std::string v = std::fgets(buf, sizeof(buf), p) ? buf : "";
		pclose(p);
		while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
			v.pop_back();
		if (!v.empty())
			return v;
	}
	return std::nullopt;
}

int run_status(const std::vector<std::string> &args)
{
	auto parsed = ipvs::options::parse_status(args);
	if (auto *e = std::get_if<ipvs::options::UsageError>(&parsed))
		return fail(kExitUsage, e->message);
	const auto &o = std::get<ipvs::options::StatusOptions>(parsed);
	if (o.help)
		return emit(kStatusHelp);
	if (o.netns)
		if (int rc = enter_netns(*o.netns))
			return rc;

	ipvs::Client client;
	if (int rc = open_client(client))
		return rc;
	ipvs::Info info;
	if (auto ec = client.get_info(info))
		return kernel_failure(ipvs::Op::GetInfo, ec);
	std::vector<ipvs::Service> services;
	if (auto ec = client.get_services(services))
		return kernel_failure(ipvs::Op::GetServices, ec);
	auto text = ipvs::procfs::read_file("/proc/net/ip_vs_conn");
	if (!text)
		return fail(kExitFailure, std::string("Cannot read /proc/net/ip_vs_conn: ") + std::strerror(errno) + ".");
	std::vector<ipvs::ConnEntry> conns;
	std::string why;
	if (!ipvs::procfs::parse_conn_table(*text, conns, why))
		return fail(kExitFailure, "Cannot read connections: " + why + ".");

	ipvs::status::Report r;
	utsname u{};
	uname(&u);
	r.kernel = u.release;
	r.netns = o.netns;
	r.ipvs_version = std::to_string((info.version >> 16) & 0xff) + "." + std::to_string((info.version >> 8) & 0xff) +
			 "." + std::to_string(info.version & 0xff);
	r.variant_loaded = ipvs::sysctl::knob_present();
	if (r.variant_loaded)
		r.variant_version = variant_version();
	for (const char *name : ipvs::sysctl::kReported)
		r.sysctls.emplace_back(name, ipvs::sysctl::read_int(name));
	if (auto c = ipvs::procfs::read_file(ipvs::sysctl::kCountersFile))
		r.counters = ipvs::procfs::parse_counters(*c);
	r.risk = ipvs::status::compute_risk(services, conns);
	r.advice = ipvs::status::advise(r);
	return emit(o.json ? ipvs::status::render_json(r) : ipvs::status::render_text(r));
}

int run_knob(const std::vector<std::string> &args, bool enable)
{
	auto parsed = ipvs::options::parse_knob(args, enable);
	if (auto *e = std::get_if<ipvs::options::UsageError>(&parsed))
		return fail(kExitUsage, e->message);
	const auto &o = std::get<ipvs::options::KnobOptions>(parsed);
	if (o.help)
		return emit(enable ? kEnableHelp : kDisableHelp);
	if (o.netns)
		if (int rc = enter_netns(*o.netns))
			return rc;
	const std::string where = o.netns ? " in network namespace '" + *o.netns + "'" : std::string();

	if (!ipvs::sysctl::ipvs_sysctls_present())
		return fail(kExitFailure, "IPVS is not loaded" + where +
						  ": load the ipvs-drain variant with 'modprobe ip_vs' (this tool never loads modules itself).");
	if (!ipvs::sysctl::knob_present())
		return fail(kExitFailure,
			    "The loaded ip_vs is the stock module, which has no net.ipv4.vs.conn_reuse_quiescent" + where +
				    ": install the ipvs-drain modules, then reload with 'modprobe -r ip_vs && modprobe ip_vs'.");
	if (auto ec = ipvs::sysctl::write_int(ipvs::sysctl::kKnob, o.mode)) {
		if (ec.value() == EACCES || ec.value() == EPERM || ec.value() == EROFS)
			return fail(kExitFailure, "Permission denied setting net.ipv4.vs.conn_reuse_quiescent" + where +
							  ": run as root (CAP_NET_ADMIN over that namespace).");
		if (ec.value() == EINVAL)
			return fail(kExitFailure, "The kernel rejected conn_reuse_quiescent=" + std::to_string(o.mode) + where +
							  " (it accepts 0 to 3); the old value is kept.");
		return fail(kExitFailure, "Cannot set net.ipv4.vs.conn_reuse_quiescent" + where + ": " + ec.message() + ".");
	}
	std::error_code rec;
	auto now = ipvs::sysctl::read_int(ipvs::sysctl::kKnob, &rec);
	if (!now || *now != o.mode)
		return fail(kExitFailure, "net.ipv4.vs.conn_reuse_quiescent" + where + " did not keep the value " +
						  std::to_string(o.mode) + ".");
	return emit("net.ipv4.vs.conn_reuse_quiescent = " + std::to_string(*now) + where + "\n");
}

// Not a user verb: writes what the kernel reports as a fixture for tests/unit/golden.
int run_fixture(const std::vector<std::string> &args)
{
	if (!args.empty())
		return fail(kExitUsage, "'_fixture' takes no arguments.");
	ipvs::Client client;
	if (int rc = open_client(client))
		return rc;
	ipvs::fixture::Snapshot snap;
	if (auto ec = client.get_info(snap.info))
		return kernel_failure(ipvs::Op::GetInfo, ec);
	if (auto ec = client.get_timeouts(snap.timeouts))
		return kernel_failure(ipvs::Op::GetTimeouts, ec);
	if (auto ec = client.get_services(snap.services))
		return kernel_failure(ipvs::Op::GetServices, ec);
	return emit(ipvs::fixture::write(snap));
}

struct Verb {
	const char *name;
	const char *summary;
	int (*run)(const std::vector<std::string> &args);
};

// New verbs (bench) add one row here and their own parser in options.cpp.
const Verb kVerbs[] = {
	{"list", "list the IPVS table exactly as 'ipvsadm -L' does", run_list},
	{"status", "kernel, variant, sysctls, counters, risk per service and advice", run_status},
	{"enable", "turn the fix on (net.ipv4.vs.conn_reuse_quiescent, default 1)",
	 [](const std::vector<std::string> &a) { return run_knob(a, true); }},
	{"disable", "turn the fix off (conn_reuse_quiescent=0)",
	 [](const std::vector<std::string> &a) { return run_knob(a, false); }},
	{"bench", "reproduce the rolling-update loss in a private lab, or load a live VIP", ipvs::bench::run_bench},
};

std::string usage()
{
	std::string u = "Usage: ipvs-drain COMMAND [options]\n\nCommands:\n";
	for (const Verb &v : kVerbs) {
		char buf[160];
		std::snprintf(buf, sizeof(buf), "  %-9s %s\n", v.name, v.summary);
		u += buf;
	}
	u += "\nRun 'ipvs-drain COMMAND --help' for a command's options.\n"
	     "Exit status: 0 success, 1 failure (kernel or system), 2 bad usage.\n";
	return u;
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	if (args.empty()) {
		std::fputs(usage().c_str(), stderr);
		return kExitUsage;
	}
	const std::string &verb = args[0];
	if (verb == "-h" || verb == "--help" || verb == "help")
		return emit(usage());
	if (verb == "_fixture")
		return run_fixture(std::vector<std::string>(args.begin() + 1, args.end()));
	for (const Verb &v : kVerbs)
		if (verb == v.name)
			return v.run(std::vector<std::string>(args.begin() + 1, args.end()));
	return fail(kExitUsage, "Unknown command '" + verb + "'; run 'ipvs-drain --help' for the list.");
}
