// SPDX-License-Identifier: GPL-2.0
// The Prometheus text format of the status reports; names, types and labels are in userspace/README.md.
#include "ipvs_drain/metrics.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvs_drain/format.h"

namespace ipvs::metrics {

namespace {

constexpr std::string_view kPrefix = "ipvs_drain_";

// Length of the valid UTF-8 sequence at @v[i], or 0 when the byte there does not start one
// (overlong forms, surrogates and code points past U+10FFFF are invalid too).
std::size_t utf8_length(std::string_view v, std::size_t i)
{
	auto b = [&](std::size_t k) { return static_cast<unsigned char>(v[k]); };
	auto cont = [&](std::size_t k) { return k < v.size() && (b(k) & 0xC0) == 0x80; };
	unsigned char c = b(i);
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return cont(i + 1) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (!cont(i + 1) || !cont(i + 2))
			return 0;
		if ((c == 0xE0 && b(i + 1) < 0xA0) || (c == 0xED && b(i + 1) > 0x9F))
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
			return 0;
		if ((c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

bool valid_name_part(std::string_view s)
{
	if (s.empty() || (s[0] >= '0' && s[0] <= '9'))
		return false;
	return std::all_of(s.begin(), s.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
	});
}

using Labels = std::initializer_list<std::pair<const char *, std::string_view>>;

struct Family {
	std::string name, help, type;
	std::string samples;

	void add(Labels labels, const std::string &value)
	{
		samples += name;
		if (labels.size()) {
			samples += '{';
			bool first = true;
			for (const auto &[k, v] : labels) {
				if (!first)
					samples += ',';
				first = false;
				samples += k;
				samples += "=\"";
				samples += escape_label_value(v);
				samples += '"';
			}
			samples += '}';
		}
		samples += ' ';
		samples += value;
		samples += '\n';
	}
	void add(Labels labels, std::uint64_t value) { add(labels, std::to_string(value)); }

	void print(std::string &out) const
	{
		if (samples.empty())
			return;
		out += "# HELP " + name + " " + escape_help(help) + "\n";
		out += "# TYPE " + name + " " + type + "\n";
		out += samples;
	}
};

Family gauge(std::string_view name, std::string help)
{
	return {std::string(kPrefix) + std::string(name), std::move(help), "gauge", {}};
}

Family counter(std::string_view name, std::string help)
{
	return {std::string(kPrefix) + std::string(name) + "_total", std::move(help), "counter", {}};
}

std::string sysctl_help(const std::string &name)
{
	static const std::map<std::string, std::string> help = {
		{"conn_reuse_quiescent",
		 "net.ipv4.vs.conn_reuse_quiescent, the ipvs-drain knob: 0 off, bit 1 reschedules reused ports that match "
		 "TIME_WAIT/CLOSE entries of weight-0 or removed destinations, bit 2 the same for FIN_WAIT of Route/Tunnel "
		 "destinations. No sample where the namespace has no such sysctl (stock ip_vs)."},
		{"conn_reuse_mode", "net.ipv4.vs.conn_reuse_mode (bit 1: reused TIME_WAIT ports are rescheduled whatever the "
				    "weight; bit 2: also FIN_WAIT of Route/Tunnel destinations)."},
		{"expire_nodest_conn", "net.ipv4.vs.expire_nodest_conn (1: entries of removed destinations are expired; with "
				       "upstream c95c07836fa4 reused ports of weight-0 destinations are rescheduled)."},
		{"expire_quiescent_template",
		 "net.ipv4.vs.expire_quiescent_template (1: persistence templates of weight-0 destinations are expired)."},
		{"conntrack", "net.ipv4.vs.conntrack (1: IPVS keeps netfilter conntrack entries for its connections)."},
	};
	auto it = help.find(name);
	return it != help.end() ? it->second : "net.ipv4.vs." + name + ".";
}

std::string counter_help(const std::string &name)
{
	static const std::map<std::string, std::string> help = {
		{"rescheduled", "New connections (a TCP SYN on a reused port) that the ipvs-drain variant scheduled afresh "
				"instead of sending them to a weight-0 or removed destination (/proc/net/ip_vs_reuse_stats)."},
		{"dropped_old_conntrack",
		 "Such SYNs the variant dropped once because the old connection's conntrack entry was still confirmed; the "
		 "client's retransmission is scheduled afresh (/proc/net/ip_vs_reuse_stats)."},
	};
	auto it = help.find(name);
	return it != help.end() ? it->second : "Counter " + name + " of /proc/net/ip_vs_reuse_stats.";
}

} // namespace

std::string escape_label_value(std::string_view v)
{
	std::string out;
	out.reserve(v.size());
	for (std::size_t i = 0; i < v.size();) {
		std::size_t n = utf8_length(v, i);
		if (n == 0) {
			out += "\xEF\xBF\xBD"; // U+FFFD
			i++;
			continue;
		}
		char c = v[i];
		if (c == '\\')
			out += "\\\\";
		else if (c == '"')
			out += "\\\"";
		else if (c == '\n')
			out += "\\n";
		else
			out.append(v.substr(i, n));
		i += n;
	}
	return out;
}

std::string escape_help(std::string_view v)
{
	std::string out;
	out.reserve(v.size());
	for (char c : v) {
		if (c == '\\')
			out += "\\\\";
		else if (c == '\n')
			out += "\\n";
		else
			out += c;
	}
	return out;
}

std::string render(const Snapshot &s)
{
	std::string out;
	bool variant = false;
	std::optional<std::string> version;
	for (const NetnsReport &n : s.netns) {
		variant = variant || n.report.variant_loaded;
		if (!version && n.report.variant_loaded && n.report.variant_version)
			version = n.report.variant_version;
	}

	Family loaded = gauge("ipvs_loaded", "Whether IPVS (ip_vs) is loaded: 1 when its generic netlink family answers. "
					     "At 0 no per-namespace metric is written.");
	loaded.add({}, s.ipvs_loaded ? 1 : 0);
	loaded.print(out);

	Family var = gauge("variant_loaded", "Whether the loaded ip_vs is the ipvs-drain variant: 1 when "
					     "net.ipv4.vs.conn_reuse_quiescent exists in a reported namespace.");
	var.add({}, variant ? 1 : 0);
	var.print(out);

	Family info = gauge("variant_info", "The version of the loaded ipvs-drain variant (/sys/module/ip_vs/version), "
					    "always 1; no sample while the variant is not loaded.");
	if (variant && version)
		info.add({{"version", *version}}, 1);
	info.print(out);

	Family kernel = gauge("kernel_info", "The running kernel's release (uname -r), always 1.");
	kernel.add({{"release", s.kernel}}, 1);
	kernel.print(out);

	const bool fix = status::kernel_has_nodest_fix(s.kernel).value_or(false);
	Family weight0 = gauge("kernel_weight0_fix",
			       "Whether the kernel has upstream c95c07836fa4 (Linux 5.16), which reschedules reused ports of "
			       "weight-0 destinations when expire_nodest_conn=1: one sample per state, exactly one is 1. "
			       "\"yes\" for 5.16 and later; \"unknown\" below, where only a backport (Debian's 5.10 has one) "
			       "could tell. There is no \"no\": the tool cannot prove the fix absent.");
	weight0.add({{"state", "yes"}}, fix ? 1 : 0);
	weight0.add({{"state", "unknown"}}, fix ? 0 : 1);
	weight0.print(out);

	// Sysctls, then counters: one family per name, in the order first met.
	std::vector<std::string> sysctls, counters;
	for (const NetnsReport &n : s.netns) {
		for (const auto &[name, v] : n.report.sysctls)
			if (valid_name_part(name) && std::find(sysctls.begin(), sysctls.end(), name) == sysctls.end())
				sysctls.push_back(name);
		if (n.report.counters)
			for (const auto &[name, v] : *n.report.counters)
				if (valid_name_part(name) &&
				    std::find(counters.begin(), counters.end(), name) == counters.end())
					counters.push_back(name);
	}
	for (const std::string &name : sysctls) {
		Family f = gauge("sysctl_" + name, sysctl_help(name));
		for (const NetnsReport &n : s.netns)
			for (const auto &[k, v] : n.report.sysctls)
				if (k == name && v)
					f.add({{"netns", n.label}}, std::to_string(*v));
		f.print(out);
	}
	for (const std::string &name : counters) {
		Family f = counter(name, counter_help(name));
		for (const NetnsReport &n : s.netns)
			if (n.report.counters)
				if (auto it = n.report.counters->find(name); it != n.report.counters->end())
					f.add({{"netns", n.label}}, it->second);
		f.print(out);
	}

	Family risk = gauge("risk_entries",
			    "Connection entries a new connection from a reused client port would follow to a weight-0 or "
			    "removed destination instead of being scheduled: TCP TIME_WAIT/CLOSE, and FIN_WAIT of "
			    "Route/Tunnel destinations; the count of 'ipvs-drain status'. One sample per service.");
	static const format::NoResolver numeric;
	for (const NetnsReport &n : s.netns)
		for (const status::ServiceRisk &r : n.report.risk) {
			std::string service = r.fwmark ? std::to_string(r.fwmark)
						       : format::addrport(r.af, r.addr, r.port, r.protocol, true, numeric);
			risk.add({{"netns", n.label},
				  {"protocol", r.fwmark ? "FWM" : format::protocol_name(r.protocol)},
				  {"family", r.af == AF_INET6 ? "ipv6" : "ipv4"},
				  {"service", service}},
				 r.entries());
		}
	risk.print(out);
	return out;
}

} // namespace ipvs::metrics
