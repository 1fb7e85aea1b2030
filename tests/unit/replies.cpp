// SPDX-License-Identifier: GPL-2.0
// Replies as the kernel writes them: a request's attributes (codec.h's open_*), plus the counters.
#include "replies.h"

#include <cerrno>
#include <cstring>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include "ipvs_drain/codec.h"
#include "ipvs_drain/uapi.h"

namespace ipvs::codec {

namespace u = ipvs::uapi;

namespace {

const std::error_code kNoSpace{EMSGSIZE, std::system_category()};

// The kernel sends the 32-bit and the 64-bit counters; bytes are u64 in both.
std::error_code put_stats(nl_msg *msg, int type, const Stats &s, bool wide)
{
	nlattr *nest = nla_nest_start(msg, type);
	if (!nest)
		return kNoSpace;
	auto put = [&](int t, std::uint64_t v) {
		return wide ? nla_put_u64(msg, t, v) : nla_put_u32(msg, t, static_cast<std::uint32_t>(v));
	};
	if (put(u::STATS_ATTR_CONNS, s.conns) || put(u::STATS_ATTR_INPKTS, s.inpkts) ||
	    put(u::STATS_ATTR_OUTPKTS, s.outpkts) || nla_put_u64(msg, u::STATS_ATTR_INBYTES, s.inbytes) ||
	    nla_put_u64(msg, u::STATS_ATTR_OUTBYTES, s.outbytes) || put(u::STATS_ATTR_CPS, s.cps) ||
	    put(u::STATS_ATTR_INPPS, s.inpps) || put(u::STATS_ATTR_OUTPPS, s.outpps) ||
	    put(u::STATS_ATTR_INBPS, s.inbps) || put(u::STATS_ATTR_OUTBPS, s.outbps))
		return kNoSpace;
	nla_nest_end(msg, nest);
	return {};
}

} // namespace

std::error_code put_service_reply(nl_msg *msg, const Service &svc)
{
	nlattr *nest = open_service(msg, svc, svc.flags);
	if (!nest)
		return kNoSpace;
	if (auto ec = put_stats(msg, u::SVC_ATTR_STATS, svc.stats, false))
		return ec;
	if (auto ec = put_stats(msg, u::SVC_ATTR_STATS64, svc.stats, true))
		return ec;
	nla_nest_end(msg, nest);
	return {};
}

std::error_code put_dest_reply(nl_msg *msg, const Dest &d)
{
	nlattr *nest = open_dest(msg, d);
	if (!nest || nla_put_u32(msg, u::DEST_ATTR_ACTIVE_CONNS, d.active_conns) ||
	    nla_put_u32(msg, u::DEST_ATTR_INACT_CONNS, d.inact_conns) ||
	    nla_put_u32(msg, u::DEST_ATTR_PERSIST_CONNS, d.persist_conns))
		return kNoSpace;
	if (auto ec = put_stats(msg, u::DEST_ATTR_STATS, d.stats, false))
		return ec;
	if (auto ec = put_stats(msg, u::DEST_ATTR_STATS64, d.stats, true))
		return ec;
	nla_nest_end(msg, nest);
	return {};
}

std::error_code put_info_reply(nl_msg *msg, const Info &info)
{
	if (nla_put_u32(msg, u::INFO_ATTR_VERSION, info.version) ||
	    nla_put_u32(msg, u::INFO_ATTR_CONN_TAB_SIZE, info.conn_tab_size))
		return kNoSpace;
	return {};
}

std::error_code put_timeouts_reply(nl_msg *msg, const Timeouts &t)
{
	if (nla_put_u32(msg, u::CMD_ATTR_TIMEOUT_TCP, t.tcp) ||
	    nla_put_u32(msg, u::CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin) ||
	    nla_put_u32(msg, u::CMD_ATTR_TIMEOUT_UDP, t.udp))
		return kNoSpace;
	return {};
}

std::error_code put_daemon_reply(nl_msg *msg, const Daemon &d)
{
	nlattr *nest = nla_nest_start(msg, u::CMD_ATTR_DAEMON);
	if (!nest)
		return kNoSpace;
	if (nla_put_u32(msg, u::DAEMON_ATTR_STATE, d.state) ||
	    nla_put_string(msg, u::DAEMON_ATTR_MCAST_IFN, d.mcast_ifn.c_str()) ||
	    nla_put_u32(msg, u::DAEMON_ATTR_SYNC_ID, d.syncid) ||
	    nla_put_u16(msg, u::DAEMON_ATTR_SYNC_MAXLEN, d.sync_maxlen) ||
	    nla_put_u16(msg, u::DAEMON_ATTR_MCAST_PORT, d.mcast_port) ||
	    nla_put_u8(msg, u::DAEMON_ATTR_MCAST_TTL, d.mcast_ttl))
		return kNoSpace;
	if (d.mcast_af == AF_INET) {
		std::uint32_t g;
		std::memcpy(&g, d.mcast_group.bytes.data(), 4);
		if (nla_put_u32(msg, u::DAEMON_ATTR_MCAST_GROUP, g))
			return kNoSpace;
	} else if (d.mcast_af == AF_INET6) {
		if (nla_put(msg, u::DAEMON_ATTR_MCAST_GROUP6, 16, d.mcast_group.bytes.data()))
			return kNoSpace;
	}
	nla_nest_end(msg, nest);
	return {};
}

} // namespace ipvs::codec
