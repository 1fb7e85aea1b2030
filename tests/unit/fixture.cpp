// SPDX-License-Identifier: GPL-2.0
// Fixture text: one record per line ("info", "timeouts", "service", "dest"), fields as key=value.
#include "fixture.h"

#include <arpa/inet.h>
#include <cstdint>
#include <map>
#include <sstream>
#include <sys/socket.h>

#include "ipvs_drain/args.h"

namespace ipvs::fixture {

namespace {

std::string stats_fields(const Stats &s)
{
	std::ostringstream o;
	o << " conns=" << s.conns << " inpkts=" << s.inpkts << " outpkts=" << s.outpkts << " inbytes=" << s.inbytes
	  << " outbytes=" << s.outbytes << " cps=" << s.cps << " inpps=" << s.inpps << " outpps=" << s.outpps
	  << " inbps=" << s.inbps << " outbps=" << s.outbps;
	return o.str();
}

std::string addr_field(int af, const Addr &a) { return addr_to_string(af == AF_INET6 ? AF_INET6 : AF_INET, a); }

bool parse_addr(int af, const std::string &text, Addr &out)
{
	out = Addr{};
	return inet_pton(af == AF_INET6 ? AF_INET6 : AF_INET, text.c_str(), out.bytes.data()) == 1;
}

using Fields = std::map<std::string, std::string>;

bool num(const Fields &f, const char *key, std::uint64_t &out)
{
	auto it = f.find(key);
	if (it == f.end())
		return false;
	auto v = args::parse_uint(it->second, 0, UINT64_MAX);
	out = v.value_or(0);
	return v.has_value();
}

template <class T> bool get(const Fields &f, const char *key, T &out)
{
	std::uint64_t v;
	if (!num(f, key, v))
		return false;
	out = static_cast<T>(v);
	return true;
}

bool read_stats(const Fields &f, Stats &s)
{
	return get(f, "conns", s.conns) && get(f, "inpkts", s.inpkts) && get(f, "outpkts", s.outpkts) &&
	       get(f, "inbytes", s.inbytes) && get(f, "outbytes", s.outbytes) && get(f, "cps", s.cps) &&
	       get(f, "inpps", s.inpps) && get(f, "outpps", s.outpps) && get(f, "inbps", s.inbps) &&
	       get(f, "outbps", s.outbps);
}

} // namespace

std::string write(const Snapshot &s)
{
	std::ostringstream o;
	o << "info version=" << s.info.version << " size=" << s.info.conn_tab_size << "\n";
	o << "timeouts tcp=" << s.timeouts.tcp << " tcpfin=" << s.timeouts.tcp_fin << " udp=" << s.timeouts.udp << "\n";
	for (const Service &v : s.services) {
		o << "service af=" << v.af << " protocol=" << v.protocol << " addr=" << addr_field(v.af, v.addr)
		  << " port=" << v.port << " fwmark=" << v.fwmark << " sched=" << v.sched_name << " pe=" << v.pe_name
		  << " flags=" << v.flags << " timeout=" << v.timeout << " netmask=" << v.netmask << stats_fields(v.stats)
		  << "\n";
		for (const Dest &d : v.dests)
			o << "dest af=" << d.af << " addr=" << addr_field(d.af, d.addr) << " port=" << d.port
			  << " fwd=" << d.conn_flags << " weight=" << d.weight << " uth=" << d.u_threshold
			  << " lth=" << d.l_threshold << " active=" << d.active_conns << " inact=" << d.inact_conns
			  << " persist=" << d.persist_conns << " tun_type=" << int(d.tun_type) << " tun_port=" << d.tun_port
			  << " tun_flags=" << d.tun_flags << stats_fields(d.stats) << "\n";
	}
	return o.str();
}

std::optional<Snapshot> read(const std::string &text, std::string &error)
{
	Snapshot s;
	std::istringstream in(text);
	std::string line;
	int lineno = 0;
	while (std::getline(in, line)) {
		lineno++;
		if (line.empty() || line[0] == '#')
			continue;
		std::istringstream ls(line);
		std::string kind, tok;
		ls >> kind;
		Fields f;
		while (ls >> tok) {
			auto eq = tok.find('=');
			if (eq == std::string::npos) {
				error = "line " + std::to_string(lineno) + ": field without '='";
				return std::nullopt;
			}
			f[tok.substr(0, eq)] = tok.substr(eq + 1);
		}
		bool ok = true;
		if (kind == "info") {
			ok = get(f, "version", s.info.version) && get(f, "size", s.info.conn_tab_size);
		} else if (kind == "timeouts") {
			ok = get(f, "tcp", s.timeouts.tcp) && get(f, "tcpfin", s.timeouts.tcp_fin) && get(f, "udp", s.timeouts.udp);
		} else if (kind == "service") {
			Service v;
			ok = get(f, "af", v.af) && get(f, "protocol", v.protocol) && parse_addr(v.af, f["addr"], v.addr) &&
			     get(f, "port", v.port) && get(f, "fwmark", v.fwmark) && get(f, "flags", v.flags) &&
			     get(f, "timeout", v.timeout) && get(f, "netmask", v.netmask) && read_stats(f, v.stats);
			v.sched_name = f["sched"];
			v.pe_name = f["pe"];
			s.services.push_back(std::move(v));
		} else if (kind == "dest") {
			Dest d;
			ok = !s.services.empty() && get(f, "af", d.af) && parse_addr(d.af, f["addr"], d.addr) &&
			     get(f, "port", d.port) && get(f, "fwd", d.conn_flags) && get(f, "weight", d.weight) &&
			     get(f, "uth", d.u_threshold) && get(f, "lth", d.l_threshold) && get(f, "active", d.active_conns) &&
			     get(f, "inact", d.inact_conns) && get(f, "persist", d.persist_conns) &&
			     get(f, "tun_type", d.tun_type) && get(f, "tun_port", d.tun_port) &&
			     get(f, "tun_flags", d.tun_flags) && read_stats(f, d.stats);
			if (ok)
				s.services.back().dests.push_back(d);
		} else {
			ok = false;
		}
		if (!ok) {
			error = "line " + std::to_string(lineno) + ": malformed '" + kind + "' record";
			return std::nullopt;
		}
	}
	return s;
}

} // namespace ipvs::fixture
