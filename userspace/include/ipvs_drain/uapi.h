// SPDX-License-Identifier: GPL-2.0
// The IPVS generic-netlink ABI (family "IPVS", version 1) as numbers, so the build needs no kernel headers.
//
// These values are kernel ABI and never change; tests/unit/test_uapi.cpp checks them against
// <linux/ip_vs.h> whenever that header happens to be installed.
#pragma once

#include <cstdint>

namespace ipvs::uapi {

inline constexpr const char *kGenlName = "IPVS";
inline constexpr int kGenlVersion = 1;

enum Cmd : std::uint8_t {
	CMD_UNSPEC = 0,
	CMD_NEW_SERVICE,
	CMD_SET_SERVICE,
	CMD_DEL_SERVICE,
	CMD_GET_SERVICE,
	CMD_NEW_DEST,
	CMD_SET_DEST,
	CMD_DEL_DEST,
	CMD_GET_DEST,
	CMD_NEW_DAEMON,
	CMD_DEL_DAEMON,
	CMD_GET_DAEMON,
	CMD_SET_CONFIG,
	CMD_GET_CONFIG,
	CMD_SET_INFO,
	CMD_GET_INFO,
	CMD_ZERO,
	CMD_FLUSH,
};

enum CmdAttr : int {
	CMD_ATTR_UNSPEC = 0,
	CMD_ATTR_SERVICE,
	CMD_ATTR_DEST,
	CMD_ATTR_DAEMON,
	CMD_ATTR_TIMEOUT_TCP,
	CMD_ATTR_TIMEOUT_TCP_FIN,
	CMD_ATTR_TIMEOUT_UDP,
	CMD_ATTR_MAX = CMD_ATTR_TIMEOUT_UDP,
};

enum SvcAttr : int {
	SVC_ATTR_UNSPEC = 0,
	SVC_ATTR_AF,
	SVC_ATTR_PROTOCOL,
	SVC_ATTR_ADDR,
	SVC_ATTR_PORT,
	SVC_ATTR_FWMARK,
	SVC_ATTR_SCHED_NAME,
	SVC_ATTR_FLAGS,
	SVC_ATTR_TIMEOUT,
	SVC_ATTR_NETMASK,
	SVC_ATTR_STATS,
	SVC_ATTR_PE_NAME,
	SVC_ATTR_STATS64,
	SVC_ATTR_MAX = SVC_ATTR_STATS64,
};

enum DestAttr : int {
	DEST_ATTR_UNSPEC = 0,
	DEST_ATTR_ADDR,
	DEST_ATTR_PORT,
	DEST_ATTR_FWD_METHOD,
	DEST_ATTR_WEIGHT,
	DEST_ATTR_U_THRESH,
	DEST_ATTR_L_THRESH,
	DEST_ATTR_ACTIVE_CONNS,
	DEST_ATTR_INACT_CONNS,
	DEST_ATTR_PERSIST_CONNS,
	DEST_ATTR_STATS,
	DEST_ATTR_ADDR_FAMILY,
	DEST_ATTR_STATS64,
	DEST_ATTR_TUN_TYPE,
	DEST_ATTR_TUN_PORT,
	DEST_ATTR_TUN_FLAGS,
	DEST_ATTR_MAX = DEST_ATTR_TUN_FLAGS,
};

enum DaemonAttr : int {
	DAEMON_ATTR_UNSPEC = 0,
	DAEMON_ATTR_STATE,
	DAEMON_ATTR_MCAST_IFN,
	DAEMON_ATTR_SYNC_ID,
	DAEMON_ATTR_SYNC_MAXLEN,
	DAEMON_ATTR_MCAST_GROUP,
	DAEMON_ATTR_MCAST_GROUP6,
	DAEMON_ATTR_MCAST_PORT,
	DAEMON_ATTR_MCAST_TTL,
	DAEMON_ATTR_MAX = DAEMON_ATTR_MCAST_TTL,
};

enum StatsAttr : int {
	STATS_ATTR_UNSPEC = 0,
	STATS_ATTR_CONNS,
	STATS_ATTR_INPKTS,
	STATS_ATTR_OUTPKTS,
	STATS_ATTR_INBYTES,
	STATS_ATTR_OUTBYTES,
	STATS_ATTR_CPS,
	STATS_ATTR_INPPS,
	STATS_ATTR_OUTPPS,
	STATS_ATTR_INBPS,
	STATS_ATTR_OUTBPS,
	STATS_ATTR_PAD,
	STATS_ATTR_MAX = STATS_ATTR_PAD,
};

enum InfoAttr : int {
	INFO_ATTR_UNSPEC = 0,
	INFO_ATTR_VERSION,
	INFO_ATTR_CONN_TAB_SIZE,
	INFO_ATTR_MAX = INFO_ATTR_CONN_TAB_SIZE,
};

// A dest nested inside a service's dest list (unused by the kernel today, kept for completeness).
inline constexpr int DESTS_ATTR_DEST = 1;

// Service flags (IPVS_SVC_ATTR_FLAGS carries {flags, mask}).
inline constexpr std::uint32_t SVC_F_PERSISTENT = 0x0001;
inline constexpr std::uint32_t SVC_F_HASHED = 0x0002;
inline constexpr std::uint32_t SVC_F_ONEPACKET = 0x0004;
inline constexpr std::uint32_t SVC_F_SCHED1 = 0x0008;
inline constexpr std::uint32_t SVC_F_SCHED2 = 0x0010;
inline constexpr std::uint32_t SVC_F_SCHED3 = 0x0020;

// Forwarding method, the low bits of a dest's conn_flags.
inline constexpr std::uint32_t CONN_F_FWD_MASK = 0x0007;
inline constexpr std::uint32_t CONN_F_MASQ = 0x0000;
inline constexpr std::uint32_t CONN_F_LOCALNODE = 0x0001;
inline constexpr std::uint32_t CONN_F_TUNNEL = 0x0002;
inline constexpr std::uint32_t CONN_F_DROUTE = 0x0003;

inline constexpr std::uint32_t STATE_MASTER = 0x0001;
inline constexpr std::uint32_t STATE_BACKUP = 0x0002;

inline constexpr std::uint8_t TUNNEL_TYPE_IPIP = 0;
inline constexpr std::uint8_t TUNNEL_TYPE_GUE = 1;
inline constexpr std::uint8_t TUNNEL_TYPE_GRE = 2;

inline constexpr std::uint16_t TUNNEL_ENCAP_FLAG_NOCSUM = 0;
inline constexpr std::uint16_t TUNNEL_ENCAP_FLAG_CSUM = 1 << 0;
inline constexpr std::uint16_t TUNNEL_ENCAP_FLAG_REMCSUM = 1 << 1;

} // namespace ipvs::uapi
