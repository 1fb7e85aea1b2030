// SPDX-License-Identifier: GPL-2.0
// ipvsadm-compatible printers. Column widths, truncations and quirks follow ipvsadm 1.31 byte for byte.
#include "ipvs_drain/format.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvs_drain/uapi.h"

namespace ipvs::format {

namespace u = ipvs::uapi;

namespace {

__attribute__((format(printf, 2, 3))) void appendf(std::string &out, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (static_cast<std::size_t>(n) < sizeof(buf)) {
		out.append(buf, static_cast<std::size_t>(n));
		return;
	}
	std::string big(static_cast<std::size_t>(n) + 1, '\0');
	va_start(ap, fmt);
	std::vsnprintf(big.data(), big.size(), fmt, ap);
	va_end(ap);
	big.resize(static_cast<std::size_t>(n));
	out += big;
}

// printf("%s", NULL) prints "(null)" in glibc; ipvsadm relies on that for unknown methods.
const char *or_null(const char *s) { return s ? s : "(null)"; }

const char *option_from_protocol(std::uint16_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "-t";
	case IPPROTO_UDP:
		return "-u";
	case IPPROTO_SCTP:
		return "--sctp-service";
	default:
		return nullptr;
	}
}

const char *fwd_switch(std::uint32_t conn_flags)
{
	switch (conn_flags & u::CONN_F_FWD_MASK) {
	case u::CONN_F_MASQ:
		return "-m";
	case u::CONN_F_TUNNEL:
		return "-i";
	case u::CONN_F_LOCALNODE:
	case u::CONN_F_DROUTE:
		return "-g";
	default:
		return nullptr;
	}
}

const char *const kTunNames[] = {"ipip", "gue", "gre"};
const char *const kTunFlags[] = {"-c", "+c", "r+c"};
const char *const kTunFlagOpts[] = {"--tun-nocsum", "--tun-csum", "--tun-remcsum"};

const char *tun_flag(std::uint16_t f) { return f < 3 ? kTunFlags[f] : nullptr; }
const char *tun_flag_opt(std::uint16_t f) { return f < 3 ? kTunFlagOpts[f] : nullptr; }

std::optional<std::string> tun_info(const Dest &d)
{
	if ((d.conn_flags & u::CONN_F_FWD_MASK) != u::CONN_F_TUNNEL)
		return std::nullopt;
	char buf[64];
	switch (d.tun_type) {
	case u::TUNNEL_TYPE_IPIP:
		std::snprintf(buf, sizeof(buf), "%s", kTunNames[d.tun_type]);
		break;
	case u::TUNNEL_TYPE_GUE:
		std::snprintf(buf, sizeof(buf), "%s:%d:%s", kTunNames[d.tun_type], d.tun_port,
			      or_null(tun_flag(d.tun_flags)));
		break;
	case u::TUNNEL_TYPE_GRE:
		std::snprintf(buf, sizeof(buf), "%s:%s", kTunNames[d.tun_type], or_null(tun_flag(d.tun_flags)));
		break;
	default:
		return std::nullopt;
	}
	// ipvsadm formats into 16 bytes, so anything longer is cut at 15 characters.
	std::string text(buf);
	if (text.size() > 15)
		text.resize(15);
	return text;
}

std::string sched_flags(const Service &s)
{
	std::string f;
	if (s.sched_name == "sh") {
		if (s.flags & u::SVC_F_SCHED1)
			f += "sh-fallback,";
		if (s.flags & u::SVC_F_SCHED2)
			f += "sh-port,";
	} else if (s.sched_name == "mh") {
		if (s.flags & u::SVC_F_SCHED1)
			f += "mh-fallback,";
		if (s.flags & u::SVC_F_SCHED2)
			f += "mh-port,";
	} else {
		if (s.flags & u::SVC_F_SCHED1)
			f += "flag-1,";
		if (s.flags & u::SVC_F_SCHED2)
			f += "flag-2,";
		if (s.flags & u::SVC_F_SCHED3)
			f += "flag-3,";
	}
	if (!f.empty())
		f.pop_back();
	return f;
}

std::string ipv4_dotted(std::uint32_t network_order)
{
	in_addr a{};
	a.s_addr = network_order;
	char buf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	return buf;
}

std::uint32_t word(const Addr &a, int i)
{
	std::uint32_t w;
	std::memcpy(&w, a.bytes.data() + 4 * i, 4);
	return ntohl(w);
}

// ipvsadm subtracts unsigned values and reads the result as int; keep that exact arithmetic.
int wrap_diff(std::uint32_t a, std::uint32_t b) { return static_cast<int>(a - b); }

int compare_addr(int af, const Addr &a, const Addr &b)
{
	int r = 0;
	if (af == AF_INET6) {
		for (int i = 0; !r && i < 4; i++)
			r = wrap_diff(word(a, i), word(b, i));
	} else {
		r = wrap_diff(word(a, 0), word(b, 0));
	}
	return r;
}

std::string service_name(const Service &s, const ListFormat &fmt, const Resolver &resolver)
{
	char buf[1024];
	if (s.fwmark) {
		// ipvsadm prints the mark with %d, so marks from 2^31 up come out negative ("FWM  -1").
		const int mark = static_cast<int>(s.fwmark);
		if (fmt.rule)
			std::snprintf(buf, sizeof(buf), s.af == AF_INET6 ? "-f %d -6" : "-f %d", mark);
		else
			std::snprintf(buf, sizeof(buf), s.af == AF_INET6 ? "FWM  %d IPv6" : "FWM  %d", mark);
		return buf;
	}
	std::string vname = addrport(s.af, s.addr, s.port, s.protocol, fmt.numeric, resolver);
	if (fmt.rule) {
		const char *stype = option_from_protocol(s.protocol);
		std::snprintf(buf, sizeof(buf), "%s %s", stype ? stype : "--xxx-service", vname.c_str());
	} else {
		std::snprintf(buf, sizeof(buf), "%-4s %s", protocol_name(s.protocol), vname.c_str());
		// ipvsadm cuts IPv4 service names at 33 bytes so the columns hold.
		if (s.af != AF_INET6)
			buf[33] = '\0';
	}
	return buf;
}

void append_mask(std::string &out, const Service &s, const char *word_)
{
	if (s.af == AF_INET && s.netmask != 0xffffffffu)
		appendf(out, " %s %s", word_, ipv4_dotted(s.netmask).c_str());
	if (s.af == AF_INET6 && s.netmask != 128)
		appendf(out, " %s %i", word_, static_cast<int>(s.netmask));
}

// libipvs reads a dest's 64-bit packet, connection and rate counters with nla_get_u32, keeping
// only the low half on little-endian machines; bytes it reads whole. Print what ipvsadm prints.
Stats ipvsadm_dest_stats(const Stats &s)
{
	Stats v = s;
	for (std::uint64_t *f : {&v.conns, &v.inpkts, &v.outpkts, &v.cps, &v.inpps, &v.outpps, &v.inbps, &v.outbps})
		*f = static_cast<std::uint32_t>(*f);
	return v;
}

void append_tunnel_rule(std::string &out, const std::string &svc, const std::string &dname, const Dest &d)
{
	int weight = static_cast<int>(d.weight);
	switch (d.tun_type) {
	case u::TUNNEL_TYPE_GRE:
		appendf(out, "-a %s -r %s %s -w %d --tun-type %s %s", svc.c_str(), dname.c_str(),
			or_null(fwd_switch(d.conn_flags)), weight, kTunNames[d.tun_type],
			or_null(tun_flag_opt(d.tun_flags)));
		break;
	case u::TUNNEL_TYPE_GUE:
		appendf(out, "-a %s -r %s %s -w %d --tun-type %s --tun-port %d %s", svc.c_str(), dname.c_str(),
			or_null(fwd_switch(d.conn_flags)), weight, kTunNames[d.tun_type], d.tun_port,
			or_null(tun_flag_opt(d.tun_flags)));
		break;
	case u::TUNNEL_TYPE_IPIP:
		appendf(out, "-a %s -r %s %s -w %d --tun-type %s", svc.c_str(), dname.c_str(),
			or_null(fwd_switch(d.conn_flags)), weight, kTunNames[d.tun_type]);
		break;
	default:
		appendf(out, "-a %s -r %s %s -w %d", svc.c_str(), dname.c_str(),
			or_null(fwd_switch(d.conn_flags)), weight);
		break;
	}
}

class LibcResolver final : public Resolver {
public:
	std::optional<std::string> host(int af, const Addr &addr) const override
	{
		std::lock_guard<std::mutex> lock(mu_);
		auto key = std::make_pair(af, addr.bytes);
		if (auto it = hosts_.find(key); it != hosts_.end())
			return it->second;
		socklen_t len = af == AF_INET ? sizeof(in_addr) : sizeof(in6_addr);
		hostent *h = gethostbyaddr(addr.bytes.data(), len, af);
		std::optional<std::string> r;
		if (h && h->h_name)
			r = std::string(h->h_name);
		hosts_.emplace(key, r);
		return r;
	}

	std::optional<std::string> service(std::uint16_t port, std::uint16_t proto) const override
	{
		const char *pname = proto == IPPROTO_TCP ? "tcp"
				  : proto == IPPROTO_UDP ? "udp"
				  : proto == IPPROTO_SCTP ? "sctp"
							  : nullptr;
		if (!pname)
			return std::nullopt;
		std::lock_guard<std::mutex> lock(mu_);
		auto key = std::make_pair(port, proto);
		if (auto it = services_.find(key); it != services_.end())
			return it->second;
		servent *s = getservbyport(htons(port), pname);
		std::optional<std::string> r;
		if (s && s->s_name)
			r = std::string(s->s_name);
		services_.emplace(key, r);
		return r;
	}

private:
	mutable std::mutex mu_;
	mutable std::map<std::pair<int, std::array<std::uint8_t, 16>>, std::optional<std::string>> hosts_;
	mutable std::map<std::pair<std::uint16_t, std::uint16_t>, std::optional<std::string>> services_;
};

} // namespace

const Resolver &libc_resolver()
{
	static const LibcResolver r;
	return r;
}

const char *protocol_name(std::uint16_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	default:
		return "?";
	}
}

const char *fwd_name(std::uint32_t conn_flags)
{
	switch (conn_flags & u::CONN_F_FWD_MASK) {
	case u::CONN_F_MASQ:
		return "Masq";
	case u::CONN_F_LOCALNODE:
		return "Local";
	case u::CONN_F_TUNNEL:
		return "Tunnel";
	case u::CONN_F_DROUTE:
		return "Route";
	default:
		return nullptr;
	}
}

std::string largenum(std::uint64_t i, bool exact)
{
	char buf[40];
	if (exact) {
		int len = std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(i));
		std::snprintf(buf, sizeof(buf), "%*llu", len <= 8 ? 9 : len + 1, static_cast<unsigned long long>(i));
		return buf;
	}
	auto v = static_cast<unsigned long long>(i);
	if (v < 100000000ULL)
		std::snprintf(buf, sizeof(buf), "%9llu", v);
	else if (v < 1000000000ULL)
		std::snprintf(buf, sizeof(buf), "%8lluK", v / 1000ULL);
	else if (v < 100000000000ULL)
		std::snprintf(buf, sizeof(buf), "%8lluM", v / 1000000ULL);
	else if (v < 100000000000000ULL)
		std::snprintf(buf, sizeof(buf), "%8lluG", v / 1000000000ULL);
	else
		std::snprintf(buf, sizeof(buf), "%8lluT", v / 1000000000000ULL);
	return buf;
}

std::string addrport(int af, const Addr &addr, std::uint16_t port, std::uint16_t proto, bool numeric,
		     const Resolver &resolver)
{
	const char *open = af == AF_INET ? "" : "[";
	const char *close = af == AF_INET ? "" : "]";
	char text[INET6_ADDRSTRLEN];
	const char *ntop = inet_ntop(af, addr.bytes.data(), text, sizeof(text));
	char buf[60]; // ipvsadm's buffer size, so long names are cut where ipvsadm cuts them
	if (numeric) {
		std::snprintf(buf, sizeof(buf), "%s%s%s:%u", open, or_null(ntop), close, port);
		return buf;
	}
	std::optional<std::string> h = resolver.host(af, addr);
	std::optional<std::string> s = resolver.service(port, proto);
	char portbuf[16];
	std::snprintf(portbuf, sizeof(portbuf), "%u", port);
	std::snprintf(buf, sizeof(buf), "%s%s%s:%s", open, h ? h->c_str() : or_null(ntop), close,
		      s ? s->c_str() : portbuf);
	return buf;
}

std::string version_line(const Info &info)
{
	std::string out;
	appendf(out, "IP Virtual Server version %d.%d.%d (size=%d)\n", (info.version >> 16) & 0xff,
		(info.version >> 8) & 0xff, info.version & 0xff, static_cast<int>(info.conn_tab_size));
	return out;
}

std::string title(const ListFormat &fmt)
{
	std::string out;
	if (fmt.stats)
		appendf(out, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port", "Conns",
			"InPkts", "OutPkts", "InBytes", "OutBytes");
	else if (fmt.rate)
		appendf(out, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port", "CPS",
			"InPPS", "OutPPS", "InBPS", "OutBPS");
	else if (fmt.thresholds)
		appendf(out, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port",
			"Uthreshold", "Lthreshold", "ActiveConn", "InActConn");
	else if (fmt.persistent_conn)
		appendf(out, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port",
			"Weight", "PersistConn", "ActiveConn", "InActConn");
	else if (fmt.tun_info)
		out += "Prot LocalAddress:Port Scheduler Flags\n"
		       "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n";
	else if (!fmt.rule)
		out += "Prot LocalAddress:Port Scheduler Flags\n"
		       "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
	return out;
}

void append_service(std::string &out, const Service &s, const ListFormat &fmt, const Resolver &resolver)
{
	const std::string svc = service_name(s, fmt, resolver);
	const std::uint32_t any_sched = u::SVC_F_SCHED1 | u::SVC_F_SCHED2 | u::SVC_F_SCHED3;

	if (fmt.rule) {
		appendf(out, "-A %s -s %s", svc.c_str(), s.sched_name.c_str());
		if (s.flags & u::SVC_F_PERSISTENT) {
			appendf(out, " -p %u", s.timeout);
			append_mask(out, s, "-M");
		}
		if (!s.pe_name.empty())
			appendf(out, " --pe %s", s.pe_name.c_str());
		if (s.flags & u::SVC_F_ONEPACKET)
			out += " -o";
		if (s.flags & any_sched)
			out += " -b " + sched_flags(s);
	} else if (fmt.stats || fmt.rate) {
		appendf(out, "%-33s", svc.c_str());
		const Stats &st = s.stats;
		if (fmt.stats)
			for (std::uint64_t v : {st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes})
				out += largenum(v, fmt.exact);
		else
			for (std::uint64_t v : {st.cps, st.inpps, st.outpps, st.inbps, st.outbps})
				out += largenum(v, fmt.exact);
	} else {
		appendf(out, "%s %s", svc.c_str(), s.sched_name.c_str());
		if (s.flags & any_sched)
			out += " (" + sched_flags(s) + ")";
		if (s.flags & u::SVC_F_PERSISTENT) {
			appendf(out, " persistent %u", s.timeout);
			append_mask(out, s, "mask");
			if (!s.pe_name.empty())
				appendf(out, " pe %s", s.pe_name.c_str());
		}
		if (s.flags & u::SVC_F_ONEPACKET)
			out += " ops";
	}
	out += '\n';

	std::vector<const Dest *> dests;
	if (fmt.nosort) {
		for (const Dest &d : s.dests)
			dests.push_back(&d);
	} else {
		dests = sorted_dests(s.dests);
	}

	for (const Dest *dp : dests) {
		const Dest &d = *dp;
		std::string dname = addrport(d.af, d.addr, d.port, s.protocol, fmt.numeric, resolver);
		if (!fmt.rule && d.af != AF_INET6 && dname.size() > 28)
			dname.resize(28);
		const int weight = static_cast<int>(d.weight);

		if (fmt.rule) {
			if ((d.conn_flags & u::CONN_F_FWD_MASK) == u::CONN_F_TUNNEL)
				append_tunnel_rule(out, svc, dname, d);
			else
				appendf(out, "-a %s -r %s %s -w %d", svc.c_str(), dname.c_str(),
					or_null(fwd_switch(d.conn_flags)), weight);
			if (fmt.rule_thresholds && d.u_threshold)
				appendf(out, " -x %u", d.u_threshold);
			if (fmt.rule_thresholds && d.l_threshold)
				appendf(out, " -y %u", d.l_threshold);
			out += '\n';
		} else if (fmt.stats) {
			Stats st = ipvsadm_dest_stats(d.stats);
			appendf(out, "  -> %-28s", dname.c_str());
			for (std::uint64_t v : {st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes})
				out += largenum(v, fmt.exact);
			out += '\n';
		} else if (fmt.rate) {
			Stats st = ipvsadm_dest_stats(d.stats);
			// ipvsadm prints a dest's CPS and packet rates unscaled, and only its byte rates scaled.
			appendf(out, "  -> %-28s %8llu %8llu %8llu", dname.c_str(), static_cast<unsigned long long>(st.cps),
				static_cast<unsigned long long>(st.inpps), static_cast<unsigned long long>(st.outpps));
			out += largenum(st.inbps, fmt.exact);
			out += largenum(st.outbps, fmt.exact);
			out += '\n';
		} else if (fmt.thresholds) {
			appendf(out, "  -> %-28s %-10u %-10u %-10u %-10u\n", dname.c_str(), d.u_threshold, d.l_threshold,
				d.active_conns, d.inact_conns);
		} else if (fmt.persistent_conn) {
			appendf(out, "  -> %-28s %-9u %-11u %-10u %-10u\n", dname.c_str(), d.weight, d.persist_conns,
				d.active_conns, d.inact_conns);
		} else if (fmt.tun_info) {
			std::optional<std::string> ti = tun_info(d);
			appendf(out, "  -> %-28s %-7s %-13s %-6d %-10u %-10u\n", dname.c_str(), or_null(fwd_name(d.conn_flags)),
				ti ? ti->c_str() : "n/a", weight, d.active_conns, d.inact_conns);
		} else {
			appendf(out, "  -> %-28s %-7s %-6d %-10u %-10u\n", dname.c_str(), or_null(fwd_name(d.conn_flags)), weight,
				d.active_conns, d.inact_conns);
		}
	}
}

std::string list_all(const Info &info, const std::vector<Service> &services, const ListFormat &fmt,
		     const Resolver &resolver)
{
	std::string out;
	if (!fmt.rule)
		out += version_line(info);
	out += title(fmt);
	if (fmt.nosort) {
		for (const Service &s : services)
			append_service(out, s, fmt, resolver);
	} else {
		for (const Service *s : sorted_services(services))
			append_service(out, *s, fmt, resolver);
	}
	return out;
}

std::string list_one(const Service &svc, const ListFormat &fmt, const Resolver &resolver)
{
	std::string out = title(fmt);
	append_service(out, svc, fmt, resolver);
	return out;
}

std::string timeouts(const Timeouts &t)
{
	std::string out;
	appendf(out, "Timeout (tcp tcpfin udp): %d %d %d\n", static_cast<int>(t.tcp), static_cast<int>(t.tcp_fin),
		static_cast<int>(t.udp));
	return out;
}

std::string daemons(const std::vector<Daemon> &list)
{
	std::string out;
	for (std::size_t i = 0; i < list.size() && i < 2; i++) {
		const Daemon &d = list[i];
		const char *type = (d.state & u::STATE_MASTER) ? "master" : (d.state & u::STATE_BACKUP) ? "backup" : nullptr;
		if (!type)
			continue;
		appendf(out, "%s sync daemon (mcast=%s, syncid=%d", type, d.mcast_ifn.c_str(), static_cast<int>(d.syncid));
		if (d.sync_maxlen)
			appendf(out, ", maxlen=%u", d.sync_maxlen);
		if (d.mcast_af) {
			char text[INET6_ADDRSTRLEN];
			if (inet_ntop(d.mcast_af, d.mcast_group.bytes.data(), text, sizeof(text)))
				appendf(out, ", group=%s", text);
		}
		if (d.mcast_port)
			appendf(out, ", port=%u", d.mcast_port);
		if (d.mcast_ttl)
			appendf(out, ", ttl=%u", d.mcast_ttl);
		out += ")\n";
	}
	return out;
}

std::string conn_header(const ListFormat &fmt)
{
	std::string out = "IPVS connection entries\n";
	if (fmt.persistent_conn)
		appendf(out, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source", "virtual", "destination",
			"pe name", "pe_data");
	else
		appendf(out, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination");
	return out;
}

void append_conn(std::string &out, const ConnEntry &c, const ListFormat &fmt, const Resolver &resolver)
{
	std::uint16_t proto = proto_from_name(c.protocol);
	std::string cname = addrport(c.af, c.caddr, c.cport, proto, fmt.numeric, resolver);
	std::string vname = addrport(c.af, c.vaddr, c.vport, proto, fmt.numeric, resolver);
	std::string dname = addrport(c.daf, c.daddr, c.dport, proto, fmt.numeric, resolver);
	char expire[32];
	std::snprintf(expire, sizeof(expire), "%02d:%02d", static_cast<int>(c.expires / 60),
		      static_cast<int>(c.expires % 60));
	if (fmt.persistent_conn && c.pe_name && c.pe_data)
		appendf(out, "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n", c.protocol.c_str(), expire, c.state.c_str(),
			cname.c_str(), vname.c_str(), dname.c_str(), c.pe_name->c_str(), c.pe_data->c_str());
	else
		appendf(out, "%-3s %-6s %-11s %-18s %-18s %s\n", c.protocol.c_str(), expire, c.state.c_str(), cname.c_str(),
			vname.c_str(), dname.c_str());
}

int compare_services(const Service &a, const Service &b)
{
	int r = wrap_diff(a.fwmark, b.fwmark);
	if (r)
		return r;
	r = a.af - b.af;
	if (r)
		return r;
	r = static_cast<int>(a.protocol) - static_cast<int>(b.protocol);
	if (r)
		return r;
	r = compare_addr(a.af, a.addr, b.addr);
	if (r)
		return r;
	return static_cast<int>(a.port) - static_cast<int>(b.port);
}

int compare_dests(const Dest &a, const Dest &b)
{
	int r = compare_addr(a.af, a.addr, b.addr);
	if (r)
		return r;
	return static_cast<int>(a.port) - static_cast<int>(b.port);
}

// glibc's qsort is the sort ipvsadm uses; with ipvsadm's non-transitive comparisons only the
// same algorithm on the same input order gives the same output, so use it rather than std::sort.
std::vector<const Service *> sorted_services(const std::vector<Service> &services)
{
	std::vector<const Service *> v;
	v.reserve(services.size());
	for (const Service &s : services)
		v.push_back(&s);
	if (v.size() > 1) // qsort must not see a null base
		std::qsort(v.data(), v.size(), sizeof(v[0]), [](const void *a, const void *b) {
		return compare_services(**static_cast<const Service *const *>(a), **static_cast<const Service *const *>(b));
	});
	return v;
}

std::vector<const Dest *> sorted_dests(const std::vector<Dest> &dests)
{
	std::vector<const Dest *> v;
	v.reserve(dests.size());
	for (const Dest &d : dests)
		v.push_back(&d);
	if (v.size() > 1)
		std::qsort(v.data(), v.size(), sizeof(v[0]), [](const void *a, const void *b) {
		return compare_dests(**static_cast<const Dest *const *>(a), **static_cast<const Dest *const *>(b));
	});
	return v;
}

} // namespace ipvs::format
