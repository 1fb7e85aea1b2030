// SPDX-License-Identifier: GPL-2.0
// IPVS attribute codec: the only place that knows which attribute carries which field.
#include "ipvs_drain/codec.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <type_traits>

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

// One attribute's entry in a policy: its type, or for NLA_UNSPEC the least length it must have.
struct Rule {
	int attr;
	std::uint16_t type;
	std::size_t minlen = 0;
};

template <std::size_t N> using Policy = std::array<nla_policy, N>;

template <std::size_t N> Policy<N> policy(std::initializer_list<Rule> rules)
{
	Policy<N> p{};
	for (const Rule &r : rules) {
		p.at(r.attr).type = r.type;
		p.at(r.attr).minlen = r.minlen;
	}
	return p;
}

struct Policies {
	Policy<u::CMD_ATTR_MAX + 1> cmd =
		policy<u::CMD_ATTR_MAX + 1>({{u::CMD_ATTR_SERVICE, NLA_NESTED}, {u::CMD_ATTR_DEST, NLA_NESTED},
					     {u::CMD_ATTR_DAEMON, NLA_NESTED}, {u::CMD_ATTR_TIMEOUT_TCP, NLA_U32},
					     {u::CMD_ATTR_TIMEOUT_TCP_FIN, NLA_U32}, {u::CMD_ATTR_TIMEOUT_UDP, NLA_U32}});
	Policy<u::SVC_ATTR_MAX + 1> svc = policy<u::SVC_ATTR_MAX + 1>(
		{{u::SVC_ATTR_AF, NLA_U16}, {u::SVC_ATTR_PROTOCOL, NLA_U16}, {u::SVC_ATTR_ADDR, NLA_UNSPEC, 4},
		 {u::SVC_ATTR_PORT, NLA_U16}, {u::SVC_ATTR_FWMARK, NLA_U32}, {u::SVC_ATTR_SCHED_NAME, NLA_STRING},
		 {u::SVC_ATTR_FLAGS, NLA_UNSPEC, sizeof(WireFlags)}, {u::SVC_ATTR_TIMEOUT, NLA_U32},
		 {u::SVC_ATTR_NETMASK, NLA_U32}, {u::SVC_ATTR_STATS, NLA_NESTED}, {u::SVC_ATTR_PE_NAME, NLA_STRING},
		 {u::SVC_ATTR_STATS64, NLA_NESTED}});
	Policy<u::DEST_ATTR_MAX + 1> dest = policy<u::DEST_ATTR_MAX + 1>(
		{{u::DEST_ATTR_ADDR, NLA_UNSPEC, 4}, {u::DEST_ATTR_PORT, NLA_U16}, {u::DEST_ATTR_FWD_METHOD, NLA_U32},
		 {u::DEST_ATTR_WEIGHT, NLA_U32}, {u::DEST_ATTR_U_THRESH, NLA_U32}, {u::DEST_ATTR_L_THRESH, NLA_U32},
		 {u::DEST_ATTR_ACTIVE_CONNS, NLA_U32}, {u::DEST_ATTR_INACT_CONNS, NLA_U32},
		 {u::DEST_ATTR_PERSIST_CONNS, NLA_U32}, {u::DEST_ATTR_STATS, NLA_NESTED}, {u::DEST_ATTR_ADDR_FAMILY, NLA_U16},
		 {u::DEST_ATTR_STATS64, NLA_NESTED}, {u::DEST_ATTR_TUN_TYPE, NLA_U8}, {u::DEST_ATTR_TUN_PORT, NLA_U16},
		 {u::DEST_ATTR_TUN_FLAGS, NLA_U16}});
	Policy<u::DAEMON_ATTR_MAX + 1> daemon = policy<u::DAEMON_ATTR_MAX + 1>(
		{{u::DAEMON_ATTR_STATE, NLA_U32}, {u::DAEMON_ATTR_MCAST_IFN, NLA_STRING}, {u::DAEMON_ATTR_SYNC_ID, NLA_U32},
		 {u::DAEMON_ATTR_SYNC_MAXLEN, NLA_U16}, {u::DAEMON_ATTR_MCAST_GROUP, NLA_U32},
		 {u::DAEMON_ATTR_MCAST_GROUP6, NLA_UNSPEC, 16}, {u::DAEMON_ATTR_MCAST_PORT, NLA_U16},
		 {u::DAEMON_ATTR_MCAST_TTL, NLA_U8}});
	// Stats are u32 in IPVS_*_ATTR_STATS and u64 in *_STATS64; decode_stats checks lengths itself.
	Policy<u::STATS_ATTR_MAX + 1> stats{};
	Policy<u::INFO_ATTR_MAX + 1> info =
		policy<u::INFO_ATTR_MAX + 1>({{u::INFO_ATTR_VERSION, NLA_U32}, {u::INFO_ATTR_CONN_TAB_SIZE, NLA_U32}});
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

// The attributes nested in @nested, or in a reply's top level, by index into @tb; false on a malformed one.
template <std::size_t N> bool parse(nlattr *(&tb)[N], nlattr *nested, const Policy<N> &p)
{
	return nla_parse_nested(tb, N - 1, nested, const_cast<nla_policy *>(p.data())) >= 0;
}

template <std::size_t N> bool parse(nlattr *(&tb)[N], nl_msg *msg, const Policy<N> &p)
{
	return genlmsg_parse(nlmsg_hdr(msg), 0, tb, N - 1, const_cast<nla_policy *>(p.data())) >= 0;
}

// @out from attribute @a at @out's width, when the kernel sent it.
template <class T> void get_if_sent(nlattr *a, T &out)
{
	static_assert(std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::uint16_t> || std::is_same_v<T, std::uint32_t>);
	if (!a)
		return;
	if constexpr (sizeof(T) == 1)
		out = nla_get_u8(a);
	else if constexpr (sizeof(T) == 2)
		out = nla_get_u16(a);
	else
		out = nla_get_u32(a);
}

std::error_code decode_stats(nlattr *nested, Stats &out)
{
	nlattr *tb[u::STATS_ATTR_MAX + 1];
	if (!parse(tb, nested, policies().stats))
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

// STATS64 when the kernel sends it, else the older u32 STATS; @out stays as it is without either.
std::error_code decode_any_stats(nlattr *stats64, nlattr *stats, Stats &out)
{
	nlattr *a = stats64 ? stats64 : stats;
	return a ? decode_stats(a, out) : std::error_code{};
}

// The attributes that name a service: its family, then its fwmark or its protocol, address and port. Nonzero: no room.
int put_key_attrs(nl_msg *msg, const ServiceKey &key)
{
	if (nla_put_u16(msg, u::SVC_ATTR_AF, static_cast<std::uint16_t>(key.af)))
		return -1;
	if (key.fwmark)
		return nla_put_u32(msg, u::SVC_ATTR_FWMARK, key.fwmark);
	return nla_put_u16(msg, u::SVC_ATTR_PROTOCOL, key.protocol) ||
	       nla_put(msg, u::SVC_ATTR_ADDR, static_cast<int>(key.addr.bytes.size()), key.addr.bytes.data()) ||
	       nla_put_u16(msg, u::SVC_ATTR_PORT, htons(key.port));
}

// Closes @nest that an open_* function returned (null: it ran out of room).
std::error_code close_nest(nl_msg *msg, nlattr *nest)
{
	if (!nest)
		return kNoSpace;
	nla_nest_end(msg, nest);
	return {};
}

// Attribute @type of a reply's top level; null when the reply is malformed or lacks it.
nlattr *top_attr(nl_msg *msg, int type)
{
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	return parse(tb, msg, policies().cmd) ? tb[type] : nullptr;
}

} // namespace

std::error_code put_service_key(nl_msg *msg, const ServiceKey &key)
{
	nlattr *nest = nla_nest_start(msg, u::CMD_ATTR_SERVICE);
	return close_nest(msg, nest && !put_key_attrs(msg, key) ? nest : nullptr);
}

nlattr *open_service(nl_msg *msg, const Service &svc, std::uint32_t flags)
{
	nlattr *nest = nla_nest_start(msg, u::CMD_ATTR_SERVICE);
	WireFlags wire{flags, ~0u};
	if (!nest || put_key_attrs(msg, {svc.af, svc.protocol, svc.addr, svc.port, svc.fwmark}) ||
	    nla_put_string(msg, u::SVC_ATTR_SCHED_NAME, svc.sched_name.c_str()) ||
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
	return close_nest(msg, open_service(msg, svc, svc.flags & ~u::SVC_F_HASHED));
}

std::error_code put_dest_request(nl_msg *msg, const Dest &d)
{
	return close_nest(msg, open_dest(msg, d));
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
	if (!parse(tb, nested, policies().svc))
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
	if (auto ec = decode_any_stats(tb[u::SVC_ATTR_STATS64], tb[u::SVC_ATTR_STATS], s.stats))
		return ec;
	out = std::move(s);
	return {};
}

std::error_code decode_dest(nlattr *nested, int svc_af, Dest &out)
{
	nlattr *tb[u::DEST_ATTR_MAX + 1];
	if (!parse(tb, nested, policies().dest))
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
	get_if_sent(tb[u::DEST_ATTR_TUN_TYPE], d.tun_type);
	if (tb[u::DEST_ATTR_TUN_PORT])
		d.tun_port = ntohs(nla_get_u16(tb[u::DEST_ATTR_TUN_PORT]));
	get_if_sent(tb[u::DEST_ATTR_TUN_FLAGS], d.tun_flags);
	if (auto ec = decode_any_stats(tb[u::DEST_ATTR_STATS64], tb[u::DEST_ATTR_STATS], d.stats))
		return ec;
	out = d;
	return {};
}

std::error_code decode_service_msg(nl_msg *msg, Service &out)
{
	nlattr *nest = top_attr(msg, u::CMD_ATTR_SERVICE);
	return nest ? decode_service(nest, out) : kBadReply;
}

std::error_code decode_dest_msg(nl_msg *msg, int svc_af, Dest &out)
{
	nlattr *nest = top_attr(msg, u::CMD_ATTR_DEST);
	return nest ? decode_dest(nest, svc_af, out) : kBadReply;
}

std::error_code decode_info_msg(nl_msg *msg, Info &out)
{
	nlattr *tb[u::INFO_ATTR_MAX + 1];
	if (!parse(tb, msg, policies().info))
		return kBadReply;
	if (!tb[u::INFO_ATTR_VERSION] || !tb[u::INFO_ATTR_CONN_TAB_SIZE])
		return kBadReply;
	out.version = nla_get_u32(tb[u::INFO_ATTR_VERSION]);
	out.conn_tab_size = nla_get_u32(tb[u::INFO_ATTR_CONN_TAB_SIZE]);
	return {};
}

std::error_code decode_timeouts_msg(nl_msg *msg, Timeouts &out)
{
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	if (!parse(tb, msg, policies().cmd))
		return kBadReply;
	Timeouts t;
	get_if_sent(tb[u::CMD_ATTR_TIMEOUT_TCP], t.tcp);
	get_if_sent(tb[u::CMD_ATTR_TIMEOUT_TCP_FIN], t.tcp_fin);
	get_if_sent(tb[u::CMD_ATTR_TIMEOUT_UDP], t.udp);
	out = t;
	return {};
}

std::error_code decode_daemon_msg(nl_msg *msg, Daemon &out)
{
	nlattr *nest = top_attr(msg, u::CMD_ATTR_DAEMON);
	nlattr *da[u::DAEMON_ATTR_MAX + 1];
	if (!nest || !parse(da, nest, policies().daemon))
		return kBadReply;
	if (!da[u::DAEMON_ATTR_STATE] || !da[u::DAEMON_ATTR_MCAST_IFN] || !da[u::DAEMON_ATTR_SYNC_ID])
		return kBadReply;
	Daemon d;
	d.state = nla_get_u32(da[u::DAEMON_ATTR_STATE]);
	d.mcast_ifn = nla_get_string(da[u::DAEMON_ATTR_MCAST_IFN]);
	d.syncid = nla_get_u32(da[u::DAEMON_ATTR_SYNC_ID]);
	get_if_sent(da[u::DAEMON_ATTR_SYNC_MAXLEN], d.sync_maxlen);
	get_if_sent(da[u::DAEMON_ATTR_MCAST_PORT], d.mcast_port);
	get_if_sent(da[u::DAEMON_ATTR_MCAST_TTL], d.mcast_ttl);
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
