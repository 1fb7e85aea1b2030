// SPDX-License-Identifier: GPL-2.0
// The ipvs-drain command line: a table of verbs, each parsing its options and calling the layers below.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <sys/utsname.h>

#include "ipvs_drain/bench/run.h"
#include "ipvs_drain/client.h"
#include "ipvs_drain/collect.h"
#include "ipvs_drain/errors.h"
#include "ipvs_drain/format.h"
#include "ipvs_drain/metrics.h"
#include "ipvs_drain/options.h"
#include "ipvs_drain/procfs.h"
#include "ipvs_drain/rules.h"
#include "ipvs_drain/status.h"
#include "ipvs_drain/swap_run.h"
#include "ipvs_drain/sysctl.h"
#include "ipvs_drain/textfile.h"
#include "ipvs_drain/util.h"

namespace {

namespace opt = ipvs::options;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char *kNotLoaded =
	"IPVS is not loaded in this kernel: load it with 'modprobe ip_vs' (of its commands only swap-module loads modules).";

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

int enter_netns(const std::optional<std::string> &name)
{
	if (!name)
		return 0;
	auto ec = ipvs::sysctl::enter_netns(*name);
	if (!ec)
		return 0;
	if (ec.value() == ENOENT)
		return fail(kExitFailure, "No network namespace named '" + *name + "' (/run/netns/" + *name + " does not exist).");
	if (ec.value() == EPERM || ec.value() == EACCES)
		return fail(kExitFailure, "Permission denied entering network namespace '" + *name + "': run as root.");
	return fail(kExitFailure, "Cannot enter network namespace '" + *name + "': " + ec.message() + ".");
}

// The socket of every kernel verb, opened inside network namespace @netns when one is given.
int open_client(ipvs::Client &client, const std::optional<std::string> &netns = std::nullopt)
{
	if (int rc = enter_netns(netns))
		return rc;
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

// 'list' promises ipvsadm's bytes, its failures included: ipvsadm's stderr text and exit status, no prefix.
int list_failure(ipvs::Op op, const std::error_code &ec)
{
	const ipvs::ListFailure f = ipvs::ipvsadm_list_failure(op, ec);
	std::fputs(f.stderr_text.c_str(), stderr);
	return f.exit_status;
}

int list_conn_failure(const char *text)
{
	std::fputs(text, stderr);
	return kExitFailure;
}

const ipvs::format::Resolver &resolver(bool numeric)
{
	static const ipvs::format::NoResolver none;
	return numeric ? static_cast<const ipvs::format::Resolver &>(none) : ipvs::format::libc_resolver();
}

// What every verb does first: bad usage exits 2 with its sentence, --help prints @help; else run(options).
template <class Opts, class Run> int with_options(opt::Parsed<Opts> parsed, const char *help, Run run)
{
	if (auto *e = std::get_if<opt::UsageError>(&parsed))
		return fail(kExitUsage, e->message);
	const Opts &o = std::get<Opts>(parsed);
	return o.help ? emit(help) : run(o);
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
	"  -t, --tcp-service ADDR   one TCP service: host[:port], IPv6 address or [IPv6]:port\n"
	"  -u, --udp-service ADDR   one UDP service, the same forms\n"
	"  --sctp-service ADDR      one SCTP service, the same forms\n"
	"  -f, --fwmark-service MARK  one firewall-mark service (1 to 4294967295)\n"
	"  -6, --ipv6               after -f: the IPv6 service of that mark\n"
	"  -S, --save               rules that 'ipvsadm -R' restores (only -n combines with it)\n"
	"  -L, -l, --list           accepted and ignored, so that 'list -Ln' reads like 'ipvsadm -Ln'\n"
	"\n"
	"Errors are ipvsadm's too, word for word on stderr with its exit status: 1 when the kernel\n"
	"refuses ('No such service'), 2 when it refuses the first request ('Can't initialize ipvs: ...',\n"
	"e.g. not root). Bad usage exits 2 and IPVS not loaded exits 1, each with an 'ipvs-drain:' sentence.\n";

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
	"  --json        machine-readable output (keys documented in userspace/README.md)\n"
	"  --netns NAME  report on the network namespace /run/netns/NAME\n";

const char kEnableHelp[] =
	"Usage: ipvs-drain enable [--mode N] [--netns NAME]\n"
	"\n"
	"Sets net.ipv4.vs.conn_reuse_quiescent, the ipvs-drain variant's knob, in this network\n"
	"namespace or in /run/netns/NAME. With it on, a TCP SYN that matches an old entry whose\n"
	"destination has weight 0 or was removed is scheduled afresh instead of following it.\n"
	"  --mode 1       TIME_WAIT/CLOSE entries (the default; what NAT directors see)\n"
	"  --mode 2       FIN_WAIT entries of Route/Tunnel destinations (replies bypass the director)\n"
	"  --mode 3       both\n"
	"  --mode 0       off (same as 'disable')\n"
	"  --netns NAME   set it in network namespace /run/netns/NAME instead of this one\n"
	"The stock ip_vs has no such knob: install the variant modules and reload ip_vs first.\n"
	"New namespaces start with the ip_vs module parameter conn_reuse_quiescent (default 0).\n";

const char kDisableHelp[] =
	"Usage: ipvs-drain disable [--netns NAME]\n"
	"\n"
	"Sets net.ipv4.vs.conn_reuse_quiescent to 0: every path behaves as the stock module.\n"
	"  --netns NAME   set it in network namespace /run/netns/NAME instead of this one\n";

int run_list(const opt::ListOptions &o)
{
	ipvs::Client client;
	if (int rc = open_client(client))
		return rc;
	// ipvsadm's ipvs_init reads the info before anything else, whatever is listed: a caller without
	// CAP_NET_ADMIN fails here, 'list -c' included.
	ipvs::Info info;
	if (auto ec = client.get_info(info))
		return list_failure(ipvs::Op::GetInfo, ec);
	const ipvs::format::Resolver &res = resolver(o.fmt.numeric);

	if (o.connections) {
		auto text = ipvs::procfs::read_file("/proc/net/ip_vs_conn");
		if (!text)
			return list_conn_failure("cannot open file /proc/net/ip_vs_conn\n");
		if (text->empty())
			return list_conn_failure("unexpected input from /proc/net/ip_vs_conn\n");
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
		if (auto ec = client.get_service(*o.service, svc, false))
			return list_failure(ipvs::Op::GetService, ec);
		if (auto ec = client.get_dests(svc))
			return list_failure(ipvs::Op::GetDests, ec);
		return emit(ipvs::format::list_one(svc, o.fmt, res));
	}
	if (o.timeout) {
		ipvs::Timeouts t;
		if (auto ec = client.get_timeouts(t))
			return list_failure(ipvs::Op::GetTimeouts, ec);
		return emit(ipvs::format::timeouts(t));
	}
	if (o.daemon) {
		std::vector<ipvs::Daemon> d;
		if (auto ec = client.get_daemons(d))
			return list_failure(ipvs::Op::GetDaemons, ec);
		return emit(ipvs::format::daemons(d));
	}
	std::vector<ipvs::Service> services;
	if (auto ec = client.get_services(services, false))
		return list_failure(ipvs::Op::GetServices, ec);
	for (auto &s : services)
		if (auto ec = client.get_dests(s))
			return list_failure(ipvs::Op::GetDests, ec);
	return emit(ipvs::format::list_all(info, services, o.fmt, res));
}

int run_status(const opt::StatusOptions &o)
{
	if (int rc = enter_netns(o.netns))
		return rc;
	auto r = ipvs::status::collect(o.netns);
	if (auto *e = std::get_if<ipvs::status::CollectError>(&r))
		return fail(kExitFailure, e->kind == ipvs::status::CollectError::Kind::NotLoaded ? kNotLoaded : e->message);
	const auto &report = std::get<ipvs::status::Report>(r);
	return emit(o.json ? ipvs::status::render_json(report) : ipvs::status::render_text(report));
}

const char kMetricsHelp[] =
	"Usage: ipvs-drain metrics [--netns NAME]... [--textfile-dir DIR]\n"
	"\n"
	"Writes what 'status' shows as Prometheus metrics (text format 0.0.4), for node_exporter's textfile\n"
	"collector: whether IPVS and the ipvs-drain variant are loaded (and its version), whether the kernel\n"
	"has upstream's weight-0 fix, and per network namespace the IPVS sysctls with the knob\n"
	"conn_reuse_quiescent, the variant's counters, and the at-risk entries per service. Every name,\n"
	"label and meaning is in userspace/README.md ('metrics'); all start with ipvs_drain_.\n"
	"  --netns NAME       report on /run/netns/NAME only (repeatable). Default: this namespace, labelled\n"
	"                     netns=\"\", and every namespace in /run/netns, labelled with its name\n"
	"  --textfile-dir DIR write DIR/ipvs_drain.prom instead of standard output: a temporary file in DIR,\n"
	"                     written, fsync'ed, mode 0644, then renamed over it, so node_exporter never reads\n"
	"                     half a file; on any failure the previous file stays as it was (exit 1)\n"
	"Exits 0 also when IPVS is not loaded (ipvs_drain_ipvs_loaded 0), so the file never goes stale.\n"
	"\n"
	"node_exporter reads *.prom from the directory of --collector.textfile.directory; Debian's\n"
	"prometheus-node-exporter reads /var/lib/prometheus/node-exporter by default. As root, every\n"
	"minute from cron (/etc/cron.d/ipvs-drain):\n"
	"  * * * * * root /usr/local/sbin/ipvs-drain metrics --textfile-dir /var/lib/prometheus/node-exporter\n"
	"or every 30 s until the next reboot, as a transient systemd timer:\n"
	"  systemd-run --unit ipvs-drain-metrics --on-calendar '*:*:0/30' \\\n"
	"      /usr/local/sbin/ipvs-drain metrics --textfile-dir /var/lib/prometheus/node-exporter\n";

// Collects every namespace of @o's scope, each with this thread inside it, then prints or writes the file.
int run_metrics(const opt::MetricsOptions &o)
{
	auto targets = ipvs::status::scope(o.netns);
	if (auto *e = std::get_if<ipvs::status::ScopeError>(&targets))
		return fail(kExitFailure, e->message);
	ipvs::metrics::Snapshot snap;
	utsname u{};
	uname(&u);
	snap.kernel = u.release;
	snap.ipvs_loaded = true;
	for (const auto &t : std::get<std::vector<ipvs::status::Target>>(targets)) {
		const std::string where = t.label.empty() ? "this network namespace" : "network namespace '" + t.label + "'";
		std::variant<ipvs::status::Report, ipvs::status::CollectError> r;
		try {
			std::optional<ipvs::util::NetnsGuard> inside;
			if (t.fd)
				inside.emplace(t.fd.get());
			r = ipvs::status::collect(t.label.empty() ? std::nullopt : std::optional<std::string>(t.label));
		} catch (const std::system_error &e) {
			if (e.code().value() == EPERM)
				return fail(kExitFailure, "Permission denied entering " + where + ": run as root.");
			return fail(kExitFailure, "Cannot enter " + where + ": " + std::strerror(e.code().value()) + ".");
		}
		if (auto *e = std::get_if<ipvs::status::CollectError>(&r)) {
			// The generic netlink family is global: absent here, it is absent everywhere.
			if (e->kind == ipvs::status::CollectError::Kind::NotLoaded) {
				snap.ipvs_loaded = false;
				snap.netns.clear();
				break;
			}
			return fail(kExitFailure, "In " + where + ": " + e->message);
		}
		snap.netns.push_back({t.label, std::move(std::get<ipvs::status::Report>(r))});
	}
	std::string text = ipvs::metrics::render(snap);
	if (!o.textfile_dir)
		return emit(text);
	if (auto err = ipvs::textfile::replace(*o.textfile_dir, "ipvs_drain.prom", text))
		return fail(kExitFailure, *err);
	return 0;
}

int run_knob(const opt::KnobOptions &o)
{
	if (int rc = enter_netns(o.netns))
		return rc;
	const std::string where = o.netns ? " in network namespace '" + *o.netns + "'" : std::string();

	if (!ipvs::sysctl::ipvs_sysctls_present())
		return fail(kExitFailure, "IPVS is not loaded" + where +
						  ": load the ipvs-drain variant with 'modprobe ip_vs' (of its commands only swap-module loads modules).");
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

const char kSaveHelp[] =
	"Usage: ipvs-drain save [-n] [--thresholds] [--timeouts] [--netns NAME] > FILE\n"
	"\n"
	"Writes the IPVS services and destinations as rules, byte for byte what 'ipvsadm -S' writes\n"
	"('ipvsadm -Sn' with -n). 'ipvsadm -R' and 'ipvs-drain restore' read it back.\n"
	"  -n, --numeric   numeric addresses and ports (no name lookups)\n"
	"  --thresholds    also write -x/-y on destinations (ipvsadm -S drops them; ipvsadm -R reads them)\n"
	"  --timeouts      also write a first line '--set TCP TCPFIN UDP' with the IPVS timeouts\n"
	"  --netns NAME    the table of network namespace /run/netns/NAME\n"
	"\n"
	"Examples:\n"
	"  ipvs-drain save -n > /root/ipvs.rules\n"
	"  ipvs-drain save -n | diff - <(ipvsadm -Sn)      # no output: identical\n"
	"  ipvs-drain save -n --thresholds --timeouts > full.rules\n";

const char kRestoreHelp[] =
	"Usage: ipvs-drain restore [--flush] [--check] [--netns NAME] < FILE\n"
	"\n"
	"Reads rules in 'ipvsadm -S' format from standard input and applies them in order, as\n"
	"'ipvsadm -R' does. Each line is one ipvsadm command: -A/-E/-D (service), -a/-e/-d\n"
	"(destination), -C (clear) or --set TCP TCPFIN UDP; blank lines and '#' comments are skipped.\n"
	"The whole input is parsed first: a bad line changes nothing (exit 2, 'line N: why').\n"
	"  --flush        clear this namespace's services first (ipvsadm -C)\n"
	"  --check        parse and replay the rules in memory only; touch nothing\n"
	"  --netns NAME   restore into network namespace /run/netns/NAME\n"
	"If the kernel refuses line N, the lines before it stay applied and the error names line N\n"
	"(exit 1), as with ipvsadm -R.\n"
	"\n"
	"Examples:\n"
	"  ipvsadm -Sn | ipvs-drain restore --flush\n"
	"  ipvs-drain restore --check < /root/ipvs.rules && ipvs-drain restore < /root/ipvs.rules\n";

int run_save(const opt::SaveOptions &o)
{
	ipvs::Client client;
	if (int rc = open_client(client, o.netns))
		return rc;
	std::vector<ipvs::Service> services;
	if (auto ec = client.get_services(services))
		return kernel_failure(ipvs::Op::GetServices, ec);
	ipvs::Timeouts t;
	ipvs::rules::SaveOptions so;
	so.numeric = o.numeric;
	so.thresholds = o.thresholds;
	if (o.timeouts) {
		if (auto ec = client.get_timeouts(t))
			return kernel_failure(ipvs::Op::GetTimeouts, ec);
		so.timeouts = &t;
	}
	return emit(ipvs::rules::save(services, so, resolver(o.numeric)));
}

// Sends one rule: the request it made (for the error sentence) and the kernel's answer.
std::pair<ipvs::Op, std::error_code> send_command(ipvs::Client &client, const ipvs::rules::Command &c)
{
	using ipvs::Op;
	using ipvs::rules::Verb;
	const ipvs::ServiceKey key = ipvs::rules::key_of(c.svc);
	switch (c.verb) {
	case Verb::AddService:
		return {Op::AddService, client.add_service(c.svc)};
	case Verb::EditService:
		return {Op::EditService, client.edit_service(c.svc)};
	case Verb::DelService:
		return {Op::DelService, client.del_service(key)};
	case Verb::Clear:
		return {Op::Flush, client.flush()};
	case Verb::AddDest:
		return {Op::AddDest, client.add_dest(key, c.dest)};
	case Verb::EditDest:
		return {Op::EditDest, client.edit_dest(key, c.dest)};
	case Verb::DelDest:
		return {Op::DelDest, client.del_dest(key, c.dest)};
	case Verb::SetTimeouts:
		return {Op::SetTimeouts, client.set_timeouts(c.timeouts)};
	}
	return {Op::Flush, {}};
}

int run_restore(const opt::RestoreOptions &o)
{
	std::string text;
	char buf[65536];
	for (;;) {
		std::size_t n = std::fread(buf, 1, sizeof(buf), stdin);
		text.append(buf, n);
		if (n < sizeof(buf)) {
			if (std::ferror(stdin))
				return fail(kExitFailure, std::string("Cannot read standard input: ") + std::strerror(errno) + ".");
			break;
		}
	}
	auto rules = ipvs::rules::parse(text, opt::libc_lookups());
	if (auto *e = std::get_if<ipvs::rules::ParseError>(&rules))
		return fail(kExitUsage, "restore: " + e->text() + ".");
	const auto &cmds = std::get<std::vector<ipvs::rules::Command>>(rules);
	if (o.check) {
		std::vector<ipvs::Service> table;
		ipvs::Timeouts t;
		for (const auto &c : cmds)
			if (auto why = ipvs::rules::apply(table, t, c); !why.empty())
				return fail(kExitUsage, "restore: line " + std::to_string(c.line) + ": " + why +
								" (replayed on an empty table).");
		return emit(std::to_string(cmds.size()) + " rules parsed, " + std::to_string(table.size()) +
			    " services; nothing applied (--check).\n");
	}
	ipvs::Client client;
	if (int rc = open_client(client, o.netns))
		return rc;
	if (o.flush)
		if (auto ec = client.flush())
			return fail(kExitFailure, "restore: cannot clear the table first: " +
							  ipvs::describe_error(ipvs::Op::Flush, ec) + "; nothing applied.");
	for (const auto &c : cmds)
		if (auto [op, ec] = send_command(client, c); ec)
			return fail(kExitFailure, "restore: line " + std::to_string(c.line) + ": " +
							  ipvs::describe_error(op, ec) + "; the lines before it are applied.");
	return 0;
}

const char kSwapHelp[] =
	"Usage: ipvs-drain swap-module [--ko DIR] [--from-ko DIR] [--yes] [--all-netns] [--save-file F]\n"
	"\n"
	"Replaces the loaded IPVS modules (ip_vs and every ip_vs_* scheduler, pe and helper) with another\n"
	"build, stock <-> ipvs-drain variant, keeping the configuration:\n"
	"  1. save services, destinations (thresholds too), timeouts and net.ipv4.vs.* of each namespace,\n"
	"     in memory and to F (rules for 'ipvs-drain restore' or 'ipvsadm -R') and F.sysctl ('sysctl -p');\n"
	"  2. flush and unload the whole set, and modules holding ip_vs such as xt_ipvs (reloaded after);\n"
	"  3. load the new set: the .ko (or .ko.xz, .ko.zst) files of --ko DIR (in dependency order), or what\n"
	"     'modprobe' picks (the installed variant after 'make install'; stock otherwise);\n"
	"  4. restore, then read everything back and compare.\n"
	"If any step fails, the previous set and configuration are put back and verified, and the error\n"
	"says which step failed and why (exit 1).\n"
	"\n"
	"Without --yes it prints the plan (with how many connection entries the unload will drop), writes\n"
	"the save file and changes nothing else (exit 0); with IPVS not loaded it loads nothing either.\n"
	"Before anything is unloaded it refuses (exit 1, nothing changed) when:\n"
	"  - an IPVS sync daemon runs; a module holding ip_vs is in use (xt_ipvs in an iptables rule);\n"
	"  - another network namespace has IPVS services, unless --all-netns (then each is kept);\n"
	"  - a module of the new set is missing, or was built for another kernel (vermagic);\n"
	"  - the loaded set's files cannot be found for a rollback: modprobe's ip_vs is not the loaded\n"
	"    build (compared by srcversion and version); give them with --from-ko DIR;\n"
	"  - the configuration changed between the save and the unload (stop kube-proxy/keepalived).\n"
	"Connection entries cannot survive an unload; established clients see resets or retransmissions.\n"
	"Secure Boot/lockdown refusing unsigned modules is recognised and named (see README.md).\n"
	"\n"
	"  --ko DIR        load the new set from DIR (e.g. build/$(uname -r) from 'make kmod')\n"
	"  --from-ko DIR   the loaded set's .ko files, for a rollback when modprobe would load another build\n"
	"  -y, --yes       really unload\n"
	"  --all-netns     save and restore every network namespace with IPVS state\n"
	"  --save-file F   where to keep the saved rules (default /var/lib/ipvs-drain/swap-TIME.rules)\n"
	"\n"
	"Examples:\n"
	"  ipvs-drain swap-module                           # shows the plan, changes nothing\n"
	"  ipvs-drain swap-module --ko build/$(uname -r) --yes    # stock -> variant built by make kmod\n"
	"  ipvs-drain swap-module --yes                     # -> what modprobe loads (installed variant)\n";

using Args = std::vector<std::string>;

struct Verb {
	const char *name;
	const char *summary;
	int (*run)(const Args &args);
};

// New verbs (bench) add one row here and their own parser in options.cpp.
const Verb kVerbs[] = {
	{"list", "list the IPVS table exactly as 'ipvsadm -L' does",
	 [](const Args &a) { return with_options(opt::parse_list(a, opt::libc_lookups()), kListHelp, run_list); }},
	{"status", "kernel, variant, sysctls, counters, risk per service and advice",
	 [](const Args &a) { return with_options(opt::parse_status(a), kStatusHelp, run_status); }},
	{"metrics", "Prometheus metrics of status, for node_exporter's textfile collector",
	 [](const Args &a) { return with_options(opt::parse_metrics(a), kMetricsHelp, run_metrics); }},
	{"enable", "turn the fix on (net.ipv4.vs.conn_reuse_quiescent, default 1)",
	 [](const Args &a) { return with_options(opt::parse_knob(a, true), kEnableHelp, run_knob); }},
	{"disable", "turn the fix off (conn_reuse_quiescent=0)",
	 [](const Args &a) { return with_options(opt::parse_knob(a, false), kDisableHelp, run_knob); }},
	{"save", "write the table as 'ipvsadm -S' rules",
	 [](const Args &a) { return with_options(opt::parse_save(a), kSaveHelp, run_save); }},
	{"restore", "apply 'ipvsadm -S' rules read from standard input",
	 [](const Args &a) { return with_options(opt::parse_restore(a), kRestoreHelp, run_restore); }},
	{"swap-module", "replace the loaded IPVS modules, keeping services, timeouts and sysctls",
	 [](const Args &a) { return with_options(opt::parse_swap(a), kSwapHelp, ipvs::swap::run); }},
	{"bench", "reproduce the rolling-update loss in a private lab, or load a live VIP", ipvs::bench::run_bench},
};

std::string usage()
{
	std::string u = "Usage: ipvs-drain COMMAND [options]\n\nCommands:\n";
	for (const Verb &v : kVerbs) {
		char buf[160];
		std::snprintf(buf, sizeof(buf), "  %-12s %s\n", v.name, v.summary);
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
	for (const Verb &v : kVerbs)
		if (verb == v.name)
			return v.run(std::vector<std::string>(args.begin() + 1, args.end()));
	return fail(kExitUsage, "Unknown command '" + verb + "'; run 'ipvs-drain --help' for the list.");
}
