// SPDX-License-Identifier: GPL-2.0
// Plain data for what IPVS reports: services, destinations, counters, timeouts, sync daemons, connections.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ipvs {

// An IPv4 or IPv6 address in network byte order; IPv4 uses the first four bytes, as the kernel does.
struct Addr {
	std::array<std::uint8_t, 16> bytes{};
	bool operator==(const Addr &) const = default;
};

struct Stats {
	std::uint64_t conns = 0, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0;
	std::uint64_t cps = 0, inpps = 0, outpps = 0, inbps = 0, outbps = 0;
	bool operator==(const Stats &) const = default;
};

struct Dest {
	int af = 0;
	Addr addr;
	std::uint16_t port = 0; // host order
	std::uint32_t conn_flags = 0;
	std::uint32_t weight = 0;
	std::uint32_t u_threshold = 0, l_threshold = 0;
	std::uint32_t active_conns = 0, inact_conns = 0, persist_conns = 0;
	Stats stats;
	std::uint8_t tun_type = 0;
	std::uint16_t tun_port = 0; // host order
	std::uint16_t tun_flags = 0;
	bool operator==(const Dest &) const = default;
};

struct Service {
	int af = 0;
	std::uint16_t protocol = 0;
	Addr addr;
	std::uint16_t port = 0; // host order
	std::uint32_t fwmark = 0;
	std::string sched_name;
	std::string pe_name;
	std::uint32_t flags = 0;
	std::uint32_t timeout = 0;
	// IPv4: the mask as the kernel sends it (network byte order in memory); IPv6: a prefix length.
	std::uint32_t netmask = 0;
	Stats stats;
	std::vector<Dest> dests;
	bool operator==(const Service &) const = default;
};

// What identifies one virtual service in a request (-t/-u/--sctp-service/-f).
struct ServiceKey {
	int af = 0;
	std::uint16_t protocol = 0;
	Addr addr;
	std::uint16_t port = 0;
	std::uint32_t fwmark = 0;
	bool operator==(const ServiceKey &) const = default;
};

struct Info {
	std::uint32_t version = 0;
	std::uint32_t conn_tab_size = 0;
};

struct Timeouts {
	std::uint32_t tcp = 0, tcp_fin = 0, udp = 0;
};

struct Daemon {
	std::uint32_t state = 0;
	std::string mcast_ifn;
	std::uint32_t syncid = 0;
	std::uint16_t sync_maxlen = 0;
	int mcast_af = 0; // 0 when the kernel reported no group
	Addr mcast_group;
	std::uint16_t mcast_port = 0;
	std::uint8_t mcast_ttl = 0;
};

// One line of /proc/net/ip_vs_conn.
struct ConnEntry {
	std::string protocol; // as printed by the kernel: TCP, UDP, SCTP, IP ...
	int af = 0;           // family of client and virtual addresses
	Addr caddr;
	std::uint16_t cport = 0;
	Addr vaddr;
	std::uint16_t vport = 0;
	int daf = 0;          // family of the destination (differs for tunnels across families)
	Addr daddr;
	std::uint16_t dport = 0;
	std::string state;
	std::uint32_t expires = 0; // seconds
	std::optional<std::string> pe_name, pe_data;
};

Addr addr_from_v4(std::uint32_t host_order);
std::string addr_to_string(int af, const Addr &addr);
std::uint16_t proto_from_name(const std::string &name); // 0 when unknown

} // namespace ipvs
