// SPDX-License-Identifier: GPL-2.0
// Attribute encoding/decoding on libnl messages built in-process: no kernel, no socket.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include "ipvs_drain/codec.h"
#include "ipvs_drain/nl.h"
#include "ipvs_drain/uapi.h"
#include "replies.h"

namespace u = ipvs::uapi;
using namespace ipvs;

namespace {

nl::Message reply(int cmd)
{
	nl::Message m = nl::Message::allocate();
	EXPECT_TRUE(m);
	EXPECT_NE(genlmsg_put(m.get(), 0, 1, 42, 0, 0, static_cast<std::uint8_t>(cmd), 1), nullptr);
	return m;
}

Service sample_service()
{
	Service s;
	s.af = AF_INET6;
	s.protocol = 6;
	inet_pton(AF_INET6, "2001:db8::10", s.addr.bytes.data());
	s.port = 443;
	s.sched_name = "wlc";
	s.pe_name = "sip";
	s.flags = u::SVC_F_PERSISTENT | u::SVC_F_SCHED2;
	s.timeout = 300;
	s.netmask = 64;
	s.stats = {5000000000ULL, 2, 3, 400000000000ULL, 5, 6, 7, 8, 9, 10};
	return s;
}

} // namespace

TEST(Codec, ServiceRoundTripKeepsEveryField)
{
	auto m = reply(u::CMD_NEW_SERVICE);
	Service in = sample_service();
	ASSERT_FALSE(codec::put_service_reply(m.get(), in));
	Service out;
	ASSERT_FALSE(codec::decode_service_msg(m.get(), out));
	EXPECT_EQ(out, in);
}

TEST(Codec, FwmarkServiceHasNoAddress)
{
	auto m = reply(u::CMD_NEW_SERVICE);
	Service in;
	in.af = AF_INET;
	in.fwmark = 77;
	in.sched_name = "rr";
	in.netmask = 0xffffffff;
	ASSERT_FALSE(codec::put_service_reply(m.get(), in));
	Service out;
	ASSERT_FALSE(codec::decode_service_msg(m.get(), out));
	EXPECT_EQ(out.fwmark, 77u);
	EXPECT_EQ(out.protocol, 0);
	EXPECT_EQ(out, in);
}

TEST(Codec, PortTravelsInNetworkOrder)
{
	auto m = reply(u::CMD_GET_SERVICE);
	ServiceKey k;
	k.af = AF_INET;
	k.protocol = 17;
	k.addr = addr_from_v4(0x0a000001);
	k.port = 0x1234;
	ASSERT_FALSE(codec::put_service_key(m.get(), k));
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	ASSERT_EQ(genlmsg_parse(nlmsg_hdr(m.get()), 0, tb, u::CMD_ATTR_MAX, nullptr), 0);
	ASSERT_TRUE(tb[u::CMD_ATTR_SERVICE]);
	nlattr *sv[u::SVC_ATTR_MAX + 1];
	ASSERT_EQ(nla_parse_nested(sv, u::SVC_ATTR_MAX, tb[u::CMD_ATTR_SERVICE], nullptr), 0);
	ASSERT_TRUE(sv[u::SVC_ATTR_PORT]);
	const auto *raw = static_cast<const std::uint8_t *>(nla_data(sv[u::SVC_ATTR_PORT]));
	EXPECT_EQ(raw[0], 0x12);
	EXPECT_EQ(raw[1], 0x34);
	EXPECT_EQ(nla_get_u16(sv[u::SVC_ATTR_PROTOCOL]), 17);
	EXPECT_EQ(sv[u::SVC_ATTR_FWMARK], nullptr);
	EXPECT_EQ(nla_len(sv[u::SVC_ATTR_ADDR]), 16);
}

TEST(Codec, FwmarkKeyOmitsProtocolAndAddress)
{
	auto m = reply(u::CMD_GET_SERVICE);
	ServiceKey k;
	k.af = AF_INET6;
	k.fwmark = 9;
	ASSERT_FALSE(codec::put_service_key(m.get(), k));
	nlattr *tb[u::CMD_ATTR_MAX + 1];
	ASSERT_EQ(genlmsg_parse(nlmsg_hdr(m.get()), 0, tb, u::CMD_ATTR_MAX, nullptr), 0);
	nlattr *sv[u::SVC_ATTR_MAX + 1];
	ASSERT_EQ(nla_parse_nested(sv, u::SVC_ATTR_MAX, tb[u::CMD_ATTR_SERVICE], nullptr), 0);
	EXPECT_EQ(nla_get_u32(sv[u::SVC_ATTR_FWMARK]), 9u);
	EXPECT_EQ(nla_get_u16(sv[u::SVC_ATTR_AF]), AF_INET6);
	EXPECT_EQ(sv[u::SVC_ATTR_PROTOCOL], nullptr);
	EXPECT_EQ(sv[u::SVC_ATTR_ADDR], nullptr);
}

TEST(Codec, MissingSchedulerIsRejected)
{
	auto m = reply(u::CMD_NEW_SERVICE);
	nlattr *nest = nla_nest_start(m.get(), u::CMD_ATTR_SERVICE);
	nla_put_u16(m.get(), u::SVC_ATTR_AF, AF_INET);
	nla_put_u32(m.get(), u::SVC_ATTR_FWMARK, 3);
	nla_nest_end(m.get(), nest);
	Service out;
	EXPECT_EQ(codec::decode_service_msg(m.get(), out).value(), EPROTO);
}

TEST(Codec, ReplyWithoutServiceIsRejected)
{
	auto m = reply(u::CMD_NEW_SERVICE);
	Service out;
	EXPECT_EQ(codec::decode_service_msg(m.get(), out).value(), EPROTO);
}

TEST(Codec, DestRoundTripWithTunnelFields)
{
	auto m = reply(u::CMD_NEW_DEST);
	Dest in;
	in.af = AF_INET;
	in.addr = addr_from_v4(0x0af40102);
	in.port = 8080;
	in.conn_flags = u::CONN_F_TUNNEL;
	in.weight = 65535;
	in.u_threshold = 100;
	in.l_threshold = 50;
	in.active_conns = 3;
	in.inact_conns = 200;
	in.persist_conns = 7;
	in.tun_type = u::TUNNEL_TYPE_GUE;
	in.tun_port = 6080;
	in.tun_flags = u::TUNNEL_ENCAP_FLAG_REMCSUM;
	in.stats = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	ASSERT_FALSE(codec::put_dest_reply(m.get(), in));
	Dest out;
	ASSERT_FALSE(codec::decode_dest_msg(m.get(), AF_INET6, out));
	EXPECT_EQ(out, in);
}

TEST(Codec, DestWithoutFamilyTakesTheServiceFamily)
{
	auto m = reply(u::CMD_NEW_DEST);
	nlattr *nest = nla_nest_start(m.get(), u::CMD_ATTR_DEST);
	std::uint8_t addr[16] = {0xfd, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	nla_put(m.get(), u::DEST_ATTR_ADDR, 16, addr);
	nla_put_u16(m.get(), u::DEST_ATTR_PORT, htons(80));
	for (int a : {u::DEST_ATTR_FWD_METHOD, u::DEST_ATTR_WEIGHT, u::DEST_ATTR_U_THRESH, u::DEST_ATTR_L_THRESH,
		      u::DEST_ATTR_ACTIVE_CONNS, u::DEST_ATTR_INACT_CONNS, u::DEST_ATTR_PERSIST_CONNS})
		nla_put_u32(m.get(), a, 1);
	nla_nest_end(m.get(), nest);
	Dest out;
	ASSERT_FALSE(codec::decode_dest_msg(m.get(), AF_INET6, out));
	EXPECT_EQ(out.af, AF_INET6);
	EXPECT_EQ(out.port, 80);
	EXPECT_EQ(out.weight, 1u);
}

TEST(Codec, DestMissingCountersIsRejected)
{
	auto m = reply(u::CMD_NEW_DEST);
	nlattr *nest = nla_nest_start(m.get(), u::CMD_ATTR_DEST);
	std::uint8_t addr[16] = {10, 0, 0, 1};
	nla_put(m.get(), u::DEST_ATTR_ADDR, 16, addr);
	nla_put_u16(m.get(), u::DEST_ATTR_PORT, htons(80));
	nla_nest_end(m.get(), nest);
	Dest out;
	EXPECT_EQ(codec::decode_dest_msg(m.get(), AF_INET, out).value(), EPROTO);
}

TEST(Codec, Stats32OnlyReplyIsRead)
{
	// Old kernels send only IPVS_SVC_ATTR_STATS, with u32 counters and u64 bytes.
	auto m = reply(u::CMD_NEW_SERVICE);
	nlattr *nest = nla_nest_start(m.get(), u::CMD_ATTR_SERVICE);
	nla_put_u16(m.get(), u::SVC_ATTR_AF, AF_INET);
	nla_put_u32(m.get(), u::SVC_ATTR_FWMARK, 1);
	nla_put_string(m.get(), u::SVC_ATTR_SCHED_NAME, "rr");
	std::uint32_t flags[2] = {0, ~0u};
	nla_put(m.get(), u::SVC_ATTR_FLAGS, sizeof(flags), flags);
	nla_put_u32(m.get(), u::SVC_ATTR_TIMEOUT, 0);
	nla_put_u32(m.get(), u::SVC_ATTR_NETMASK, ~0u);
	nlattr *st = nla_nest_start(m.get(), u::SVC_ATTR_STATS);
	for (int a = u::STATS_ATTR_CONNS; a <= u::STATS_ATTR_OUTBPS; a++) {
		if (a == u::STATS_ATTR_INBYTES || a == u::STATS_ATTR_OUTBYTES)
			nla_put_u64(m.get(), a, 1ULL << 40);
		else
			nla_put_u32(m.get(), a, static_cast<std::uint32_t>(a));
	}
	nla_nest_end(m.get(), st);
	nla_nest_end(m.get(), nest);
	Service out;
	ASSERT_FALSE(codec::decode_service_msg(m.get(), out));
	EXPECT_EQ(out.stats.conns, 1u);
	EXPECT_EQ(out.stats.inbytes, 1ULL << 40);
	EXPECT_EQ(out.stats.outbps, 10u);
}

namespace {

// A stats nest as the kernel writes it: u32 counters and rates in STATS (bytes u64), all u64 in STATS64.
void put_stats_nest(nl_msg *m, int type, bool wide, const Stats &s)
{
	nlattr *st = nla_nest_start(m, type);
	const std::uint64_t v[] = {s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes,
				   s.cps,   s.inpps,  s.outpps,  s.inbps,   s.outbps};
	for (int a = u::STATS_ATTR_CONNS; a <= u::STATS_ATTR_OUTBPS; a++) {
		std::uint64_t x = v[a - u::STATS_ATTR_CONNS];
		if (wide || a == u::STATS_ATTR_INBYTES || a == u::STATS_ATTR_OUTBYTES)
			nla_put_u64(m, a, x);
		else
			nla_put_u32(m, a, static_cast<std::uint32_t>(x));
	}
	nla_nest_end(m, st);
}

// The report's figures: an older snapshot (4 conns, 9 InPkts) and a newer one (5, 13).
const Stats kOlder{4, 9, 7, 600, 500, 1, 2, 3, 4, 5};
const Stats kNewer{5, 13, 10, 900, 700, 6, 7, 8, 9, 10};

Stats decode_service_with(bool stats64_first)
{
	auto m = reply(u::CMD_NEW_SERVICE);
	nlattr *nest = nla_nest_start(m.get(), u::CMD_ATTR_SERVICE);
	nla_put_u16(m.get(), u::SVC_ATTR_AF, AF_INET);
	nla_put_u16(m.get(), u::SVC_ATTR_PROTOCOL, 6);
	std::uint8_t addr[16] = {10, 96, 0, 10};
	nla_put(m.get(), u::SVC_ATTR_ADDR, 16, addr);
	nla_put_u16(m.get(), u::SVC_ATTR_PORT, htons(80));
	nla_put_string(m.get(), u::SVC_ATTR_SCHED_NAME, "rr");
	std::uint32_t flags[2] = {0, ~0u};
	nla_put(m.get(), u::SVC_ATTR_FLAGS, sizeof(flags), flags);
	nla_put_u32(m.get(), u::SVC_ATTR_TIMEOUT, 0);
	nla_put_u32(m.get(), u::SVC_ATTR_NETMASK, ~0u);
	if (stats64_first)
		put_stats_nest(m.get(), u::SVC_ATTR_STATS64, true, kNewer);
	put_stats_nest(m.get(), u::SVC_ATTR_STATS, false, kOlder);
	if (!stats64_first)
		put_stats_nest(m.get(), u::SVC_ATTR_STATS64, true, kNewer);
	nla_nest_end(m.get(), nest);
	Service out;
	EXPECT_FALSE(codec::decode_service_msg(m.get(), out));
	return out.stats;
}

Stats decode_dest_with(bool stats64_first)
{
	auto m = reply(u::CMD_NEW_DEST);
	nlattr *nest = nla_nest_start(m.get(), u::CMD_ATTR_DEST);
	std::uint8_t addr[16] = {10, 244, 1, 2};
	nla_put(m.get(), u::DEST_ATTR_ADDR, 16, addr);
	nla_put_u16(m.get(), u::DEST_ATTR_PORT, htons(8080));
	for (int a : {u::DEST_ATTR_FWD_METHOD, u::DEST_ATTR_WEIGHT, u::DEST_ATTR_U_THRESH, u::DEST_ATTR_L_THRESH,
		      u::DEST_ATTR_ACTIVE_CONNS, u::DEST_ATTR_INACT_CONNS, u::DEST_ATTR_PERSIST_CONNS})
		nla_put_u32(m.get(), a, 0);
	if (stats64_first)
		put_stats_nest(m.get(), u::DEST_ATTR_STATS64, true, kNewer);
	put_stats_nest(m.get(), u::DEST_ATTR_STATS, false, kOlder);
	if (!stats64_first)
		put_stats_nest(m.get(), u::DEST_ATTR_STATS64, true, kNewer);
	nla_nest_end(m.get(), nest);
	Dest out;
	EXPECT_FALSE(codec::decode_dest_msg(m.get(), AF_INET, out));
	return out.stats;
}

} // namespace

TEST(Codec, ServiceStats64WinsOverStatsInEitherOrder)
{
	// libipvs's ipvs_services_parse_cb reads IPVS_SVC_ATTR_STATS64 when present, STATS only without it;
	// so does the single-service path (IPVS_CMD_GET_SERVICE), which shares this decoder with the dump.
	EXPECT_EQ(decode_service_with(false), kNewer);
	EXPECT_EQ(decode_service_with(true), kNewer);
}

TEST(Codec, DestStats64WinsOverStatsInEitherOrder)
{
	EXPECT_EQ(decode_dest_with(false), kNewer);
	EXPECT_EQ(decode_dest_with(true), kNewer);
}

TEST(Codec, Stats64CountersPastFourBillionAreKeptWhole)
{
	// STATS truncates conns/packets to u32; only STATS64 carries them whole.
	Stats big = kNewer;
	big.conns = (1ULL << 32) + 5;
	big.inpkts = (1ULL << 33) + 13;
	auto m = reply(u::CMD_NEW_SERVICE);
	Service in;
	in.af = AF_INET;
	in.fwmark = 1;
	in.sched_name = "rr";
	in.netmask = ~0u;
	in.stats = big;
	ASSERT_FALSE(codec::put_service_reply(m.get(), in));
	Service out;
	ASSERT_FALSE(codec::decode_service_msg(m.get(), out));
	EXPECT_EQ(out.stats.conns, (1ULL << 32) + 5);
	EXPECT_EQ(out.stats.inpkts, (1ULL << 33) + 13);
}

TEST(Codec, InfoTimeoutsDaemon)
{
	auto mi = reply(u::CMD_GET_INFO);
	ASSERT_FALSE(codec::put_info_reply(mi.get(), Info{0x010201, 4096}));
	Info info;
	ASSERT_FALSE(codec::decode_info_msg(mi.get(), info));
	EXPECT_EQ(info.version, 0x010201u);
	EXPECT_EQ(info.conn_tab_size, 4096u);

	auto mt = reply(u::CMD_GET_CONFIG);
	ASSERT_FALSE(codec::put_timeouts_reply(mt.get(), Timeouts{900, 120, 300}));
	Timeouts t;
	ASSERT_FALSE(codec::decode_timeouts_msg(mt.get(), t));
	EXPECT_EQ(t.tcp, 900u);
	EXPECT_EQ(t.tcp_fin, 120u);
	EXPECT_EQ(t.udp, 300u);

	auto md = reply(u::CMD_GET_DAEMON);
	Daemon d;
	d.state = u::STATE_BACKUP;
	d.mcast_ifn = "eth1";
	d.syncid = 9;
	d.mcast_af = AF_INET;
	d.mcast_group = addr_from_v4(0xe0000051);
	d.mcast_port = 8848;
	ASSERT_FALSE(codec::put_daemon_reply(md.get(), d));
	Daemon got;
	ASSERT_FALSE(codec::decode_daemon_msg(md.get(), got));
	EXPECT_EQ(got.mcast_ifn, "eth1");
	EXPECT_EQ(got.syncid, 9u);
	EXPECT_EQ(got.mcast_af, AF_INET);
	EXPECT_EQ(got.mcast_group, d.mcast_group);
	EXPECT_EQ(got.mcast_port, 8848);

	auto bad = reply(u::CMD_GET_INFO);
	nla_put_u32(bad.get(), u::INFO_ATTR_VERSION, 1);
	EXPECT_EQ(codec::decode_info_msg(bad.get(), info).value(), EPROTO);
}

TEST(Nl, LibnlErrorsHaveTheirOwnCategory)
{
	auto ec = nl::make_libnl_error(-6 /* NLE_EXIST */);
	EXPECT_EQ(ec.category(), nl::libnl_category());
	EXPECT_EQ(ec.value(), 6);
	EXPECT_FALSE(ec.message().empty());
	EXPECT_NE(ec, std::error_code(6, std::system_category()));
}

namespace {

nlattr *nested_of(nl_msg *msg, int type)
{
	nlmsghdr *hdr = nlmsg_hdr(msg);
	return nlmsg_find_attr(hdr, GENL_HDRLEN, type);
}

} // namespace

TEST(Codec, ServiceRequestCarriesConfigButNoCountersNorHashedBit)
{
	auto m = reply(u::CMD_NEW_SERVICE);
	Service in = sample_service();
	in.flags |= u::SVC_F_HASHED;
	ASSERT_FALSE(codec::put_service_request(m.get(), in));
	nlattr *svc = nested_of(m.get(), u::CMD_ATTR_SERVICE);
	ASSERT_NE(svc, nullptr);
	EXPECT_EQ(nla_find(static_cast<nlattr *>(nla_data(svc)), nla_len(svc), u::SVC_ATTR_STATS), nullptr);
	EXPECT_EQ(nla_find(static_cast<nlattr *>(nla_data(svc)), nla_len(svc), u::SVC_ATTR_STATS64), nullptr);
	nlattr *fl = nla_find(static_cast<nlattr *>(nla_data(svc)), nla_len(svc), u::SVC_ATTR_FLAGS);
	ASSERT_NE(fl, nullptr);
	std::uint32_t wire[2];
	ASSERT_EQ(nla_len(fl), static_cast<int>(sizeof(wire)));
	std::memcpy(wire, nla_data(fl), sizeof(wire));
	EXPECT_EQ(wire[0], u::SVC_F_PERSISTENT | u::SVC_F_SCHED2);
	EXPECT_EQ(wire[1], ~0u);
	nlattr *pe = nla_find(static_cast<nlattr *>(nla_data(svc)), nla_len(svc), u::SVC_ATTR_PE_NAME);
	ASSERT_NE(pe, nullptr);
	EXPECT_STREQ(nla_get_string(pe), "sip");
}

TEST(Codec, DestRequestCarriesWeightAndThresholdsButNoCounters)
{
	auto m = reply(u::CMD_NEW_DEST);
	Dest d;
	d.af = AF_INET;
	d.addr = addr_from_v4(0x0af4010a);
	d.port = 8080;
	d.weight = 0;
	d.u_threshold = 9;
	d.l_threshold = 3;
	d.conn_flags = 2; // direct routing
	d.active_conns = 7;
	ASSERT_FALSE(codec::put_dest_request(m.get(), d));
	nlattr *nest = nested_of(m.get(), u::CMD_ATTR_DEST);
	ASSERT_NE(nest, nullptr);
	auto find = [&](int t) { return nla_find(static_cast<nlattr *>(nla_data(nest)), nla_len(nest), t); };
	ASSERT_NE(find(u::DEST_ATTR_WEIGHT), nullptr);
	EXPECT_EQ(nla_get_u32(find(u::DEST_ATTR_WEIGHT)), 0u);
	EXPECT_EQ(nla_get_u32(find(u::DEST_ATTR_FWD_METHOD)), 2u);
	EXPECT_EQ(nla_get_u32(find(u::DEST_ATTR_U_THRESH)), 9u);
	EXPECT_EQ(ntohs(nla_get_u16(find(u::DEST_ATTR_PORT))), 8080);
	EXPECT_EQ(find(u::DEST_ATTR_ACTIVE_CONNS), nullptr);
	EXPECT_EQ(find(u::DEST_ATTR_STATS), nullptr);
}

TEST(Codec, TimeoutRequestOmitsZeroes)
{
	auto m = reply(u::CMD_SET_CONFIG);
	ASSERT_FALSE(codec::put_timeouts_request(m.get(), Timeouts{900, 0, 300}));
	EXPECT_NE(nested_of(m.get(), u::CMD_ATTR_TIMEOUT_TCP), nullptr);
	EXPECT_EQ(nested_of(m.get(), u::CMD_ATTR_TIMEOUT_TCP_FIN), nullptr);
	EXPECT_EQ(nla_get_u32(nested_of(m.get(), u::CMD_ATTR_TIMEOUT_UDP)), 300u);
}
