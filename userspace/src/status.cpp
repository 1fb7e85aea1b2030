// SPDX-License-Identifier: GPL-2.0
// Risk accounting and the status report: what a reused client port would hit right now, and what to do.
#include "ipvs_drain/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvs_drain/format.h"
#include "ipvs_drain/json.h"
#include "ipvs_drain/uapi.h"

namespace ipvs::status {

namespace u = ipvs::uapi;

namespace {

bool replies_bypass_director(std::uint32_t conn_flags)
{
	std::uint32_t m = conn_flags & u::CONN_F_FWD_MASK;
	return m == u::CONN_F_DROUTE || m == u::CONN_F_TUNNEL;
}

std::string service_label(const Service &s)
{
	if (s.fwmark)
		return "FWM " + std::to_string(s.fwmark) + (s.af == AF_INET6 ? " IPv6" : "");
	static const format::NoResolver numeric;
	return std::string(format::protocol_name(s.protocol)) + " " +
	       format::addrport(s.af, s.addr, s.port, s.protocol, true, numeric);
}

const Service *find_service(const std::vector<Service> &services, const ConnEntry &c, std::uint16_t proto)
{
	for (const Service &s : services)
		if (!s.fwmark && s.protocol == proto && s.af == c.af && s.port == c.vport &&
		    std::memcmp(s.addr.bytes.data(), c.vaddr.bytes.data(), c.af == AF_INET6 ? 16 : 4) == 0)
			return &s;
	// The table does not say which fwmark matched: attribute the entry to the fwmark service
	// that holds its destination, which is the only one that could have scheduled it.
	for (const Service &s : services)
		if (s.fwmark && s.af == c.af)
			for (const Dest &d : s.dests)
				if (d.af == c.daf && d.port == c.dport && d.addr == c.daddr)
					return &s;
	return nullptr;
}

std::optional<int> sysctl_value(const Report &r, const char *name)
{
	for (const auto &[k, v] : r.sysctls)
		if (k == name)
			return v;
	return std::nullopt;
}

struct Totals {
	std::uint64_t tw_close = 0, fin_wait = 0;
};

Totals totals(const Report &r)
{
	Totals t;
	for (const ServiceRisk &s : r.risk)
		for (const DestRisk &d : s.dests) {
			t.tw_close += d.time_wait + d.close;
			t.fin_wait += d.fin_wait_nooutput;
		}
	return t;
}

} // namespace

std::uint64_t ServiceRisk::entries() const
{
	std::uint64_t n = 0;
	for (const DestRisk &d : dests)
		n += d.total();
	return n;
}

std::vector<ServiceRisk> compute_risk(const std::vector<Service> &services, const std::vector<ConnEntry> &conns)
{
	std::vector<ServiceRisk> rows;
	rows.reserve(services.size());
	for (const Service &s : services) {
		ServiceRisk r;
		r.name = service_label(s);
		r.af = s.af;
		r.protocol = s.protocol;
		r.addr = s.addr;
		r.port = s.port;
		r.fwmark = s.fwmark;
		rows.push_back(std::move(r));
	}
	for (const ConnEntry &c : conns) {
		if (c.protocol != "TCP")
			continue; // the fix, like conn_reuse_mode, is about TCP only
		bool tw_close = c.state == "TIME_WAIT" || c.state == "CLOSE";
		bool fin_wait = c.state == "FIN_WAIT";
		if (!tw_close && !fin_wait)
			continue;
		const Service *s = find_service(services, c, IPPROTO_TCP);
		if (!s)
			continue;
		const Dest *dest = nullptr;
		for (const Dest &d : s->dests)
			if (d.af == c.daf && d.port == c.dport && d.addr == c.daddr)
				dest = &d;
		if (dest && dest->weight != 0)
			continue;
		if (fin_wait) {
			// No flags column in /proc: NOOUTPUT follows from the method. A removed destination's
			// method is unknown, so count it only when every remaining destination bypasses us.
			bool bypass;
			if (dest) {
				bypass = replies_bypass_director(dest->conn_flags);
			} else {
				bypass = !s->dests.empty();
				for (const Dest &d : s->dests)
					bypass = bypass && replies_bypass_director(d.conn_flags);
			}
			if (!bypass)
				continue;
		}
		ServiceRisk &row = rows[static_cast<std::size_t>(s - services.data())];
		DestRisk *dr = nullptr;
		for (DestRisk &x : row.dests)
			if (x.af == c.daf && x.port == c.dport && x.addr == c.daddr)
				dr = &x;
		if (!dr) {
			DestRisk n;
			n.af = c.daf;
			n.addr = c.daddr;
			n.port = c.dport;
			n.present = dest != nullptr;
			n.weight = dest ? dest->weight : 0;
			n.conn_flags = dest ? dest->conn_flags : 0;
			row.dests.push_back(n);
			dr = &row.dests.back();
		}
		if (c.state == "TIME_WAIT")
			dr->time_wait++;
		else if (c.state == "CLOSE")
			dr->close++;
		else
			dr->fin_wait_nooutput++;
	}
	return rows;
}

std::optional<bool> kernel_has_nodest_fix(const std::string &release)
{
	int major = 0, minor = 0;
	if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2)
		return std::nullopt;
	if (major > 5 || (major == 5 && minor >= 16))
		return true;
	return std::nullopt;
}

std::string advise(const Report &r)
{
	Totals t = totals(r);
	int reuse = sysctl_value(r, "conn_reuse_mode").value_or(0);
	std::optional<int> nodest = sysctl_value(r, "expire_nodest_conn");
	std::optional<int> knob = sysctl_value(r, "conn_reuse_quiescent");
	bool upstream_fix = kernel_has_nodest_fix(r.kernel).value_or(false);
	bool stock_reschedules_weight0 = upstream_fix && nodest.value_or(0) == 1;
	std::string mode = "conn_reuse_mode=" + std::to_string(reuse);
	// What reused ports would meet and this conn_reuse_mode leaves to the old destination: its bit 1
	// reschedules TIME_WAIT/CLOSE, its bit 2 NOOUTPUT FIN_WAIT, whatever the weight.
	std::uint64_t tw_exposed = (reuse & 1) ? 0 : t.tw_close;
	std::uint64_t fin_exposed = (reuse & 2) ? 0 : t.fin_wait;

	if (r.variant_loaded && knob.value_or(0) != 0) {
		if (!(*knob & 2) && fin_exposed > 0)
			return "The fix is on for TIME_WAIT/CLOSE (mode " + std::to_string(*knob) + "), but " +
			       std::to_string(fin_exposed) +
			       " NOOUTPUT FIN_WAIT entries of Route/Tunnel destinations are exposed: run 'ipvs-drain enable --mode 3'.";
		if (!(*knob & 1) && tw_exposed > 0)
			return "The fix is on for NOOUTPUT FIN_WAIT (mode " + std::to_string(*knob) + "), but " +
			       std::to_string(tw_exposed) +
			       " TIME_WAIT/CLOSE entries are exposed: run 'ipvs-drain enable --mode 3'.";
		return "The fix is on (conn_reuse_quiescent=" + std::to_string(*knob) +
		       "): new connections on reused ports that hit weight-0 or removed destinations are rescheduled.";
	}
	if (stock_reschedules_weight0)
		return "This kernel already reschedules reused ports aimed at weight-0 destinations (expire_nodest_conn=1 "
		       "with upstream c95c07836fa4) and expires the entries of removed ones; the fix changes nothing here.";
	std::string enable = fin_exposed > 0 ? "'ipvs-drain enable --mode 3'" : "'ipvs-drain enable'";
	std::string what;
	if (tw_exposed > 0)
		what = std::to_string(tw_exposed) + " TIME_WAIT/CLOSE entries";
	if (fin_exposed > 0)
		what += (what.empty() ? "" : " and ") + std::to_string(fin_exposed) +
			" NOOUTPUT FIN_WAIT entries of Route/Tunnel destinations";
	if (reuse & 1) {
		if (fin_exposed > 0)
			return what + " point at weight-0 or removed destinations, and " + mode +
			       " reschedules reused TIME_WAIT/CLOSE ports only: set conn_reuse_mode=3, or " +
			       (r.variant_loaded ? "run " + enable
						 : "load the ipvs-drain variant of ip_vs, then run " + enable) +
			       ".";
		// With conntrack=0 IPVS keeps no conntrack entry, so there is none to wait for.
		return mode + " already reschedules reused TIME_WAIT ports" +
		       ((reuse & 2) ? " and NOOUTPUT FIN_WAIT ones" : "") +
		       (sysctl_value(r, "conntrack").value_or(0) != 0
				? ", with a 1 s stall where the old conntrack is confirmed"
				: "") +
		       "; the fix is optional here.";
	}
	if (!r.variant_loaded) {
		if (!what.empty())
			return what + " point at weight-0 or removed destinations and " + mode +
			       " forwards reused ports to them: load the ipvs-drain variant of ip_vs, then run " + enable +
			       ".";
		return "No entry points at a weight-0 or removed destination now, but with " + mode +
		       " reused ports will reach draining backends: load the ipvs-drain variant of ip_vs before draining.";
	}
	if (!what.empty())
		return "The fix is off while " + mode + " and " + what +
		       " point at weight-0 or removed destinations: run " + enable + ".";
	return "The fix is off and " + mode + ": run 'ipvs-drain enable' before draining backends.";
}

std::string render_text(const Report &r)
{
	std::string out;
	auto line = [&](const char *k, const std::string &v) {
		char buf[64];
		std::snprintf(buf, sizeof(buf), "%-28s", k);
		out += buf;
		out += v;
		out += '\n';
	};
	line("kernel:", r.kernel);
	line("netns:", r.netns ? *r.netns : "(this one)");
	line("ip_vs:", "IPVS " + r.ipvs_version + ", " +
			       (r.variant_loaded ? "ipvs-drain variant" + (r.variant_version ? " " + *r.variant_version : std::string())
						 : std::string("stock module (no conn_reuse_quiescent)")));
	auto fix = kernel_has_nodest_fix(r.kernel);
	line("upstream c95c07836fa4:", fix ? "yes (5.16 or later)" : "unknown (only if backported)");
	out += "sysctls:\n";
	for (const auto &[k, v] : r.sysctls) {
		char buf[64];
		std::snprintf(buf, sizeof(buf), "  %-26s", k.c_str());
		out += buf;
		out += v ? std::to_string(*v) : "-";
		out += '\n';
	}
	out += "counters:\n";
	if (!r.counters) {
		out += "  (none: " + std::string(r.variant_loaded ? "/proc/net/ip_vs_reuse_stats unreadable" : "stock module") + ")\n";
	} else {
		for (const auto &[k, v] : *r.counters) {
			char buf[64];
			std::snprintf(buf, sizeof(buf), "  %-26s", k.c_str());
			out += buf + std::to_string(v) + "\n";
		}
	}
	out += "risk (TIME_WAIT/CLOSE and NOOUTPUT FIN_WAIT entries to weight-0 or removed destinations):\n";
	if (r.risk.empty())
		out += "  (no services)\n";
	static const format::NoResolver numeric;
	for (const ServiceRisk &s : r.risk) {
		char buf[96];
		std::snprintf(buf, sizeof(buf), "  %-40s %llu\n", s.name.c_str(), static_cast<unsigned long long>(s.entries()));
		out += buf;
		for (const DestRisk &d : s.dests) {
			std::string name = format::addrport(d.af, d.addr, d.port, IPPROTO_TCP, true, numeric);
			std::string state = d.present ? "weight " + std::to_string(d.weight) : std::string("removed");
			std::snprintf(buf, sizeof(buf), "    -> %-34s %-9s", name.c_str(), state.c_str());
			out += buf;
			out += " TIME_WAIT " + std::to_string(d.time_wait) + ", CLOSE " + std::to_string(d.close) +
			       ", FIN_WAIT " + std::to_string(d.fin_wait_nooutput) + "\n";
		}
	}
	out += "advice: " + r.advice + "\n";
	return out;
}

std::string render_json(const Report &r)
{
	Json sysctls = Json::object();
	for (const auto &[k, v] : r.sysctls)
		sysctls[k] = or_null(v);
	Json services = Json::array();
	std::uint64_t total = 0;
	for (const ServiceRisk &s : r.risk) {
		Json dests = Json::array();
		for (const DestRisk &d : s.dests) {
			const char *fwd = d.present ? format::fwd_name(d.conn_flags) : nullptr;
			dests.push_back({{"address", addr_to_string(d.af, d.addr)},
					 {"port", d.port},
					 {"present", d.present},
					 {"weight", d.present ? Json(d.weight) : Json()},
					 {"forward", fwd ? Json(fwd) : Json()},
					 {"time_wait", d.time_wait},
					 {"close", d.close},
					 {"fin_wait_nooutput", d.fin_wait_nooutput}});
		}
		services.push_back({{"service", s.name},
				    {"protocol", s.fwmark ? "FWM" : format::protocol_name(s.protocol)},
				    {"address", s.fwmark ? Json() : Json(addr_to_string(s.af, s.addr))},
				    {"port", s.fwmark ? Json() : Json(s.port)},
				    {"fwmark", s.fwmark ? Json(s.fwmark) : Json()},
				    {"entries", s.entries()},
				    {"destinations", std::move(dests)}});
		total += s.entries();
	}
	Json j = {{"schema", 1},
		  {"kernel", r.kernel},
		  {"netns", or_null(r.netns)},
		  {"ipvs_version", r.ipvs_version},
		  {"variant", {{"loaded", r.variant_loaded}, {"version", or_null(r.variant_version)}}},
		  {"kernel_has_upstream_nodest_fix", kernel_has_nodest_fix(r.kernel) ? Json(true) : Json()},
		  {"sysctls", std::move(sysctls)},
		  {"counters", or_null(r.counters)},
		  {"risk", {{"total", total}, {"services", std::move(services)}}},
		  {"advice", r.advice}};
	return dump(j);
}

} // namespace ipvs::status
