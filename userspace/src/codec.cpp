// SPDX-License-Identifier: GPL-2.0
// IPVS attribute codec: the only place that knows which attribute carries which field.
#include "ipvs_drain/codec.h"

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include "ipvs_drain/uapi.h"

namespace ipvs::codec {

namespace u = ipvs::uapi;

namespace {

const std::error_code kNoSpace{EMSGSIZE, std::system_category()};
const std::error_code kBadReply{EPROTO, std::system_category()};

// ip_vs_flags as it travels in IPVS_SVC_ATTR_FLAGS.
struct WireFlags {
	std::uint32_t flags;
	std::uint32_t mask;
};

struct Policies {
	nla_policy cmd[u::CMD_ATTR_MAX + 1]{};
	nla_policy svc[u::SVC_ATTR_MAX + 1]{};
	nla_policy dest[u::DEST_ATTR_MAX + 1]{};
	nla_policy daemon[u::DAEMON_ATTR_MAX + 1]{};
	nla_policy stats[u::STATS_ATTR_MAX + 1]{};
	nla_policy info[u::INFO_ATTR_MAX + 1]{};

	Policies()
	{
		cmd[u::CMD_ATTR_SERVICE].type = NLA_NESTED;
		cmd[u::CMD_ATTR_DEST].type = NLA_NESTED;
		cmd[u::CMD_ATTR_DAEMON].type = NLA_NESTED;
		cmd[u::CMD_ATTR_TIMEOUT_TCP].type = NLA_U32;
		cmd[u::CMD_ATTR_TIMEOUT_TCP_FIN].type = NLA_U32;
		cmd[u::CMD_ATTR_TIMEOUT_UDP].type = NLA_U32;

		svc[u::SVC_ATTR_AF].type = NLA_U16;
		svc[u::SVC_ATTR_PROTOCOL].type = NLA_U16;
		svc[u::SVC_ATTR_ADDR].minlen = 4;
		svc[u::SVC_ATTR_PORT].type = NLA_U16;
		svc[u::SVC_ATTR_FWMARK].type = NLA_U32;
		svc[u::SVC_ATTR_SCHED_NAME].type = NLA_STRING;
		svc[u::SVC_ATTR_FLAGS].minlen = sizeof(WireFlags);
		svc[u::SVC_ATTR_TIMEOUT].type = NLA_U32;
		svc[u::SVC_ATTR_NETMASK].type = NLA_U32;
		svc[u::SVC_ATTR_STATS].type = NLA_NESTED;
		svc[u::SVC_ATTR_PE_NAME].type = NLA_STRING;
		svc[u::SVC_ATTR_STATS64].type = NLA_NESTED;

		dest[u::DEST_ATTR_ADDR].minlen = 4;
		dest[u::DEST_ATTR_PORT].type = NLA_U16;
		dest[u::DEST_ATTR_FWD_METHOD].type = NLA_U32;
		dest[u::DEST_ATTR_WEIGHT].type = NLA_U32;
		dest[u::DEST_ATTR_U_THRESH].type = NLA_U32;
		dest[u::DEST_ATTR_L_THRESH].type = NLA_U32;
		dest[u::DEST_ATTR_ACTIVE_CONNS].type = NLA_U32;
		dest[u::DEST_ATTR_INACT_CONNS].type = NLA_U32;
		dest[u::DEST_ATTR_PERSIST_CONNS].type = NLA_U32;
		dest[u::DEST_ATTR_STATS].type = NLA_NESTED;
		dest[u::DEST_ATTR_ADDR_FAMILY].type = NLA_U16;
		dest[u::DEST_ATTR_STATS64].type = NLA_NESTED;
		dest[u::DEST_ATTR_TUN_TYPE].type = NLA_U8;
		dest[u::DEST_ATTR_TUN_PORT].type = NLA_U16;
		dest[u::DEST_ATTR_TUN_FLAGS].type = NLA_U16;

		daemon[u::DAEMON_ATTR_STATE].type = NLA_U32;
		daemon[u::DAEMON_ATTR_MCAST_IFN].type = NLA_STRING;
		daemon[u::DAEMON_ATTR_SYNC_ID].type = NLA_U32;
		daemon[u::DAEMON_ATTR_SYNC_MAXLEN].type = NLA_U16;
		daemon[u::DAEMON_ATTR_MCAST_GROUP].type = NLA_U32;
		daemon[u::DAEMON_ATTR_MCAST_GROUP6].minlen = 16;
		daemon[u::DAEMON_ATTR_MCAST_PORT].type = NLA_U16;
		daemon[u::DAEMON_ATTR_MCAST_TTL].type = NLA_U8;

		info[u::INFO_ATTR_VERSION].type = NLA_U32;
		info[u::INFO_ATTR_CONN_TAB_SIZE].type = NLA_U32;
		// Stats are u32 in IPVS_*_ATTR_STATS and u64 in *_STATS64; decode_stats checks lengths itself.
	}
};

const Policies &policies()
{
	static const Policies p;
	return p;
}

// Reads a counter of either width, so STATS and STATS64 share one decoder.
bool get_counter(nlattr *a, std::uint64_t &out)
{
	if (!a)
		return false;
	if (nla_len(a) >= 8)
		out = nla_get_u64(a);
	else if (nla_len(a) >= 4)
		out = nla_get_u32(a);
	else
		return false;
	return true;
}

std::error_code decode_stats(nlattr *nested, Stats &out)
{
	nlattr *tb[u::STATS_ATTR_MAX + 1];
	if (nla_parse_nested(tb, u::STATS_ATTR_MAX, nested, const_cast<nla_policy *>(policies().stats)) < 0)
		return kBadReply;
	Stats s;
	bool ok = get_counter(tb[u::STATS_ATTR_CONNS], s.conns) &&
		  get_counter(tb[u::STATS_ATTR_INPKTS], s.inpkts) &&
		  get_counter(tb[u::STATS_ATTR_OUTPKTS], s.outpkts) &&
		  get_counter(tb[u::STATS_ATTR_INBYTES], s.inbytes) &&
		  get_counter(tb[u::STATS_ATTR_OUTBYTES], s.outbytes) &&
		  get_counter(tb[u::STATS_ATTR_CPS], s.cps) &&
		  get_counter(tb[u::STATS_ATTR_INPPS], s.inpps) &&
		  get_counter(tb[u::STATS_ATTR_OUTPPS], s.outpps) &&
		  get_counter(tb[u::STATS_ATTR_INBPS], s.inbps) &&
		  get_counter(tb[u::STATS_ATTR_OUTBPS], s.outbps);
	if (!ok)
		return kBadReply;
	out = s;
	return {};
}

void copy_addr(nlattr *a, Addr &out)
{
	out = Addr{};
	std::size_t n = static_cast<std::size_t>(nla_len(a));
	std::memcpy(out.bytes.data(), nla_data(a), n < out.bytes.size() ? n : out.bytes.size());
}

std::error_code parse_top(nl_msg *msg, nlattr **tb, int max, nla_policy *policy)
{
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, max, policy) < 0)
		return kBadReply;
	return {};
}

} // namespace

std::error_code put_service_key(nl_msg *msg, const ServiceKey &key)
{
	nlattr *nest = nla_nest_start(msg, u::CMD_ATTR_SERVICE);
	if (!nest)
		return kNoSpace;
	if (nla_put_u16(msg, u::SVC_ATTR_AF, static_cast<std::uint16_t>(key.af)))
		return kNoSpace;
	if (key.fwmark) {
		if (nla_put_u32(msg, u::SVC_ATTR_FWMARK, key.fwmark))
			return kNoSpace;
	} else {
		if (nla_put_u16(msg, u::SVC_ATTR_PROTOCOL, key.protocol) ||
		    nla_put(msg, u::SVC_ATTR_ADDR, static_cast<int>(key.addr.bytes.size()), key.addr.bytes.data()) ||
		    nla_put_u16(msg, u::SVC_ATTR_PORT, htons(key.port)))
			return kNoSpace;
	}
	nla_nest_end(msg, nest);
	return {};
}

nlattr *open_service(nl_msg *msg, const Service &svc, std::uint32_t flags)
{
	nlattr *nest = nla_nest_start(msg, u::CMD_ATTR_SERVICE);
	WireFlags wire{flags, ~0u};
	if (!nest || nla_put_u16(msg, u::SVC_ATTR_AF, static_cast<std::uint16_t>(svc.af)))
		return nullptr;
	if (svc.fwmark) {
		if (nla_put_u32(msg, u::SVC_ATTR_FWMARK, svc.fwmark))
			return nullptr;
	} else if (nla_put_u16(msg, u::SVC_ATTR_PROTOCOL, svc.protocol) ||
		   nla_put(msg, u::SVC_ATTR_ADDR, 16, svc.addr.bytes.data()) ||
		   nla_put_u16(msg, u::SVC_ATTR_PORT, htons(svc.port))) {
		return nullptr;
	}
	if (nla_put_string(msg, u::SVC_ATTR_SCHED_NAME, svc.sched_name.c_str()) ||
	    (!svc.pe_name.empty() && nla_put_string(msg, u::SVC_ATTR_PE_NAME, svc.pe_name.c_str())) ||
	    nla_put(msg, u::SVC_ATTR_FLAGS, sizeof(wire), &wire) ||
	    nla_put_u32(msg, u::SVC_ATTR_TIMEOUT, svc.timeout) ||
	    nla_put_u32(msg, u::SVC_ATTR_NETMASK, svc.netmask))
		return nullptr;
	return nest;
}

nlattr *open_dest(nl_msg *msg, const Dest &d)
{
	nlattr *nest = nla_nest_start(msg, u::CMD_ATTR_DEST);
	if (!nest || nla_put(msg, u::DEST_ATTR_ADDR, 16, d.addr.bytes.data()) ||
	    nla_put_u16(msg, u::DEST_ATTR_ADDR_FAMILY, static_cast<std::uint16_t>(d.af)) ||
	    nla_put_u16(msg, u::DEST_ATTR_PORT, htons(d.port)) ||
	    nla_put_u32(msg, u::DEST_ATTR_FWD_METHOD, d.conn_flags & u::CONN_F_FWD_MASK) ||
	    nla_put_u32(msg, u::DEST_ATTR_WEIGHT, d.weight) ||
	    nla_put_u8(msg, u::DEST_ATTR_TUN_TYPE, d.tun_type) ||
	    nla_put_u16(msg, u::DEST_ATTR_TUN_PORT, htons(d.tun_port)) ||
	    nla_put_u16(msg, u::DEST_ATTR_TUN_FLAGS, d.tun_flags) ||
	    nla_put_u32(msg, u::DEST_ATTR_U_THRESH, d.u_threshold) ||
	    nla_put_u32(msg, u::DEST_ATTR_L_THRESH, d.l_threshold))
		return nullptr;
	return nest;
}

// A request carries neither the counters nor the kernel's own HASHED bit.
std::error_code put_service_request(nl_msg *msg, const Service &svc)
{
	nlattr *nest = open_service(msg, svc, svc.flags & ~u::SVC_F_HASHED);
	if (!nest)
		return kNoSpace;
	nla_nest_end(msg, nest);
	return {};
}

std::error_code put_dest_request(nl_msg *msg, const Dest &d)
{
	nlattr *nest = open_dest(msg, d);
	if (!nest)
		return kNoSpace;
	nla_nest_end(msg, nest);
	return {};
}

std::error_code put_timeouts_request(nl_msg *msg, const Timeouts &t)
{
	if ((t.tcp && nla_put_u32(msg, u::CMD_ATTR_TIMEOUT_TCP, t.tcp)) ||
	    (t.tcp_fin && nla_put_u32(msg, u::CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin)) ||
	    (t.udp && nla_put_u32(msg, u::CMD_ATTR_TIMEOUT_UDP, t.udp)))
		return kNoSpace;
	return {};
}

std::error_code decode_service(nlattr *nested, Service &out)
{
	nlattr *tb[u::SVC_ATTR_MAX + 1];
	if (nla_parse_nested(tb, u::SVC_ATTR_MAX, nested, const_cast<nla_policy *>(policies().svc)) < 0)
		return kBadReply;
	// The same attributes libipvs insists on; anything less is a reply we will not print.
	bool has_key = tb[u::SVC_ATTR_FWMARK] ||
		       (tb[u::SVC_ATTR_PROTOCOL] && tb[u::SVC_ATTR_ADDR] && tb[u::SVC_ATTR_PORT]);
	if (!tb[u::SVC_ATTR_AF] || !has_key || !tb[u::SVC_ATTR_SCHED_NAME] || !tb[u::SVC_ATTR_NETMASK] ||
	    !tb[u::SVC_ATTR_TIMEOUT] || !tb[u::SVC_ATTR_FLAGS])
		return kBadReply;

	Service s;
	s.af = nla_get_u16(tb[u::SVC_ATTR_AF]);
	if (tb[u::SVC_ATTR_FWMARK]) {
		s.fwmark = nla_get_u32(tb[u::SVC_ATTR_FWMARK]);
	} else {
		s.protocol = nla_get_u16(tb[u::SVC_ATTR_PROTOCOL]);
		copy_addr(tb[u::SVC_ATTR_ADDR], s.addr);
		s.port = ntohs(nla_get_u16(tb[u::SVC_ATTR_PORT]));
	}
	s.sched_name = nla_get_string(tb[u::SVC_ATTR_SCHED_NAME]);
	if (tb[u::SVC_ATTR_PE_NAME])
		s.pe_name = nla_get_string(tb[u::SVC_ATTR_PE_NAME]);
	s.netmask = nla_get_u32(tb[u::SVC_ATTR_NETMASK]);
	s.timeout = nla_get_u32(tb[u::SVC_ATTR_TIMEOUT]);
	WireFlags flags{};
	nla_memcpy(&flags, tb[u::SVC_ATTR_FLAGS], sizeof(flags));
	s.flags = flags.flags & flags.mask;
	if (tb[u::SVC_ATTR_STATS64]) {
		if (auto ec = decode_stats(tb[u::SVC_ATTR_STATS64], s.stats))
			return ec;
	} else if (tb[u::SVC_ATTR_STATS]) {
		if (auto ec = decode_stats(tb[u::SVC_ATTR_STATS], s.stats))
			return ec;
	}
	out = std::move(s);
	return {};
}

std::error_code decode_dest(nlattr *nested, int svc_af, Dest &out)
{
	nlattr *tb[u::DEST_ATTR_MAX + 1];
	if (nla_parse_nested(tb, u::DEST_ATTR_MAX, nested, const_cast<nla_policy *>(policies().dest)) < 0)
		return kBadReply;
	for (int a : {u::DEST_ATTR_ADDR, u::DEST_ATTR_PORT, u::DEST_ATTR_FWD_METHOD, u::DEST_ATTR_WEIGHT,
		      u::DEST_ATTR_U_THRESH, u::DEST_ATTR_L_THRESH, u::DEST_ATTR_ACTIVE_CONNS,
		      u::DEST_ATTR_INACT_CONNS, u::DEST_ATTR_PERSIST_CONNS})
		if (!tb[a])
			return kBadReply;

	Dest d;
	copy_addr(tb[u::DEST_ATTR_ADDR], d.addr);
	d.port = ntohs(nla_get_u16(tb[u::DEST_ATTR_PORT]));
	d.conn_flags = nla_get_u32(tb[u::DEST_ATTR_FWD_METHOD]);
	d.weight = nla_get_u32(tb[u::DEST_ATTR_WEIGHT]);
	d.u_threshold = nla_get_u32(tb[u::DEST_ATTR_U_THRESH]);
	d.l_threshold = nla_get_u32(tb[u::DEST_ATTR_L_THRESH]);
	d.active_conns = nla_get_u32(tb[u::DEST_ATTR_ACTIVE_CONNS]);
	d.inact_conns = nla_get_u32(tb[u::DEST_ATTR_INACT_CONNS]);
	d.persist_conns = nla_get_u32(tb[u::DEST_ATTR_PERSIST_CONNS]);
	// Kernels before 4.x have no per-dest family: the dest then shares the service's.
	d.af = tb[u::DEST_ATTR_ADDR_FAMILY] ? nla_get_u16(tb[u::DEST_ATTR_ADDR_FAMILY]) : svc_af;
	if (tb[u::DEST_ATTR_TUN_TYPE])
		d.tun_type = nla_get_u8(tb[u::DEST_ATTR_TUN_TYPE]);
	if (tb[u::DEST_ATTR_TUN_PORT])
		d.tun_port = ntohs(nla_get_u16(tb[u::DEST_ATTR_TUN_PORT]));
	if (tb[u::DEST_ATTR_TUN_FLAGS])
		d.tun_flags = nla_get_u16(tb[u::DEST_ATTR_TUN_FLAGS]);
	if (tb[u::DEST_ATTR_STATS64]) {
		if (auto ec = decode_stats(tb[u::DEST_ATTR_STATS64], d.stats))
			return ec;
	} else if (tb[u::DEST_ATTR_STATS]) {
		if (auto ec = decode_stats(tb[u::DEST_ATTR_STATS], d.stats))
			return ec;
	}
	out = d;
	return {};
}

std::error_code decode_service_msg(nl_msg *msg, Service &out)
{
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	if (auto ec = parse_top(msg, tb, u::CMD_ATTR_MAX, const_cast<nla_policy *>(policies().cmd)))
		return ec;
	if (!tb[u::CMD_ATTR_SERVICE])
		return kBadReply;
	return decode_service(tb[u::CMD_ATTR_SERVICE], out);
}

std::error_code decode_dest_msg(nl_msg *msg, int svc_af, Dest &out)
{
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	if (auto ec = parse_top(msg, tb, u::CMD_ATTR_MAX, const_cast<nla_policy *>(policies().cmd)))
		return ec;
	if (!tb[u::CMD_ATTR_DEST])
		return kBadReply;
	return decode_dest(tb[u::CMD_ATTR_DEST], svc_af, out);
}

std::error_code decode_info_msg(nl_msg *msg, Info &out)
{
	nlattr *tb[u::INFO_ATTR_MAX + 1];
	if (auto ec = parse_top(msg, tb, u::INFO_ATTR_MAX, const_cast<nla_policy *>(policies().info)))
		return ec;
	if (!tb[u::INFO_ATTR_VERSION] || !tb[u::INFO_ATTR_CONN_TAB_SIZE])
		return kBadReply;
	out.version = nla_get_u32(tb[u::INFO_ATTR_VERSION]);
	out.conn_tab_size = nla_get_u32(tb[u::INFO_ATTR_CONN_TAB_SIZE]);
	return {};
}

std::error_code decode_timeouts_msg(nl_msg *msg, Timeouts &out)
{
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	if (auto ec = parse_top(msg, tb, u::CMD_ATTR_MAX, const_cast<nla_policy *>(policies().cmd)))
		return ec;
	Timeouts t;
	if (tb[u::CMD_ATTR_TIMEOUT_TCP])
		t.tcp = nla_get_u32(tb[u::CMD_ATTR_TIMEOUT_TCP]);
	if (tb[u::CMD_ATTR_TIMEOUT_TCP_FIN])
		t.tcp_fin = nla_get_u32(tb[u::CMD_ATTR_TIMEOUT_TCP_FIN]);
	if (tb[u::CMD_ATTR_TIMEOUT_UDP])
		t.udp = nla_get_u32(tb[u::CMD_ATTR_TIMEOUT_UDP]);
	out = t;
	return {};
}

std::error_code decode_daemon_msg(nl_msg *msg, Daemon &out)
{
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	if (auto ec = parse_top(msg, tb, u::CMD_ATTR_MAX, const_cast<nla_policy *>(policies().cmd)))
		return ec;
	if (!tb[u::CMD_ATTR_DAEMON])
		return kBadReply;
	nlattr *da[u::DAEMON_ATTR_MAX + 1];
	if (nla_parse_nested(da, u::DAEMON_ATTR_MAX, tb[u::CMD_ATTR_DAEMON],
			     const_cast<nla_policy *>(policies().daemon)) < 0)
		return kBadReply;
	if (!da[u::DAEMON_ATTR_STATE] || !da[u::DAEMON_ATTR_MCAST_IFN] || !da[u::DAEMON_ATTR_SYNC_ID])
		return kBadReply;
	Daemon d;
	d.state = nla_get_u32(da[u::DAEMON_ATTR_STATE]);
	d.mcast_ifn = nla_get_string(da[u::DAEMON_ATTR_MCAST_IFN]);
	d.syncid = nla_get_u32(da[u::DAEMON_ATTR_SYNC_ID]);
	if (da[u::DAEMON_ATTR_SYNC_MAXLEN])
		d.sync_maxlen = nla_get_u16(da[u::DAEMON_ATTR_SYNC_MAXLEN]);
	if (da[u::DAEMON_ATTR_MCAST_PORT])
		d.mcast_port = nla_get_u16(da[u::DAEMON_ATTR_MCAST_PORT]);
	if (da[u::DAEMON_ATTR_MCAST_TTL])
		d.mcast_ttl = nla_get_u8(da[u::DAEMON_ATTR_MCAST_TTL]);
	if (da[u::DAEMON_ATTR_MCAST_GROUP]) {
		d.mcast_af = AF_INET;
		std::uint32_t g = nla_get_u32(da[u::DAEMON_ATTR_MCAST_GROUP]);
		std::memcpy(d.mcast_group.bytes.data(), &g, 4);
	} else if (da[u::DAEMON_ATTR_MCAST_GROUP6]) {
		d.mcast_af = AF_INET6;
		copy_addr(da[u::DAEMON_ATTR_MCAST_GROUP6], d.mcast_group);
	}
	out = d;
	return {};
}

} // namespace ipvs::codec
