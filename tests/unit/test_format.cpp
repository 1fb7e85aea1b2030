// SPDX-License-Identifier: GPL-2.0
// Printers against hand-checked ipvsadm bytes: scaling, widths, truncation, sort order, -S rules.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "ipvs_drain/format.h"
#include "ipvs_drain/uapi.h"

using namespace ipvs;
using namespace ipvs::format;
namespace u = ipvs::uapi;

namespace {

const NoResolver kNumeric;

class FakeResolver final : public Resolver {
public:
	std::optional<std::string> host(int, const Addr &a) const override
	{
		if (a.bytes[0] == 10)
			return std::string("a-very-long-host-name-that-goes-on.example.org");
		return std::nullopt;
	}
	std::optional<std::string> service(std::uint16_t port, std::uint16_t proto) const override
	{
		if (port == 80 && proto == IPPROTO_TCP)
			return std::string("http");
		return std::nullopt;
	}
};

Service v4_service(std::uint32_t ip, std::uint16_t port)
{
	Service s;
	s.af = AF_INET;
	s.protocol = IPPROTO_TCP;
	s.addr = addr_from_v4(ip);
	s.port = port;
	s.sched_name = "rr";
	s.netmask = 0xffffffff;
	return s;
}

Dest v4_dest(std::uint32_t ip, std::uint16_t port, std::uint32_t fwd, std::uint32_t weight)
{
	Dest d;
	d.af = AF_INET;
	d.addr = addr_from_v4(ip);
	d.port = port;
	d.conn_flags = fwd;
	d.weight = weight;
	return d;
}

} // namespace

TEST(Largenum, ScalesAtIpvsadmThresholds)
{
	EXPECT_EQ(largenum(0, false), "        0");
	EXPECT_EQ(largenum(99999999, false), " 99999999");
	EXPECT_EQ(largenum(100000000, false), "  100000K");
	EXPECT_EQ(largenum(999999999, false), "  999999K");
	EXPECT_EQ(largenum(1000000000, false), "    1000M");
	EXPECT_EQ(largenum(99999999999ULL, false), "   99999M");
	EXPECT_EQ(largenum(100000000000ULL, false), "     100G");
	EXPECT_EQ(largenum(99999999999999ULL, false), "   99999G");
	EXPECT_EQ(largenum(100000000000000ULL, false), "     100T");
	EXPECT_EQ(largenum(18446744073709551615ULL, false), "18446744T");
}

TEST(Largenum, ExactWidensPastEightDigits)
{
	EXPECT_EQ(largenum(7, true), "        7");
	EXPECT_EQ(largenum(12345678, true), " 12345678");
	EXPECT_EQ(largenum(123456789, true), " 123456789");
	EXPECT_EQ(largenum(18446744073709551615ULL, true), " 18446744073709551615");
}

TEST(Format, EmptyTable)
{
	Info info{0x010201, 4096};
	EXPECT_EQ(list_all(info, {}, ListFormat{}, kNumeric),
		  "IP Virtual Server version 1.2.1 (size=4096)\n"
		  "Prot LocalAddress:Port Scheduler Flags\n"
		  "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
	ListFormat rule;
	rule.rule = true;
	EXPECT_EQ(list_all(info, {}, rule, kNumeric), "");
}

TEST(Format, DefaultServiceAndDestColumns)
{
	Service s = v4_service(0x0a60000a, 80);
	Dest d = v4_dest(0x0af40102, 8080, u::CONN_F_MASQ, 3);
	d.active_conns = 12;
	d.inact_conns = 345;
	s.dests.push_back(d);
	ListFormat f;
	f.numeric = true;
	std::string out;
	append_service(out, s, f, kNumeric);
	EXPECT_EQ(out, "TCP  10.96.0.10:80 rr\n"
		       "  -> 10.244.1.2:8080              Masq    3      12         345       \n");
}

TEST(Format, PersistenceMaskSchedFlagsAndOps)
{
	Service s = v4_service(0x0a60000b, 443);
	s.sched_name = "sh";
	s.flags = u::SVC_F_PERSISTENT | u::SVC_F_SCHED1 | u::SVC_F_SCHED2 | u::SVC_F_ONEPACKET;
	s.timeout = 300;
	inet_pton(AF_INET, "255.255.255.0", &s.netmask);
	ListFormat f;
	f.numeric = true;
	std::string out;
	append_service(out, s, f, kNumeric);
	EXPECT_EQ(out, "TCP  10.96.0.11:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0 ops\n");
	f.rule = true;
	out.clear();
	append_service(out, s, f, kNumeric);
	EXPECT_EQ(out, "-A -t 10.96.0.11:443 -s sh -p 300 -M 255.255.255.0 -o -b sh-fallback,sh-port\n");
}

TEST(Format, SchedFlagWithoutNameKeepsIpvsadmSpacing)
{
	// sh has no name for SCHED3: ipvsadm still prints " -b " and then nothing.
	Service s = v4_service(0x0a000001, 1);
	s.sched_name = "sh";
	s.flags = u::SVC_F_SCHED3;
	ListFormat f;
	f.numeric = true;
	f.rule = true;
	std::string out;
	append_service(out, s, f, kNumeric);
	EXPECT_EQ(out, "-A -t 10.0.0.1:1 -s sh -b \n");
}

TEST(Format, FwmarkAndIpv6Names)
{
	Service fw;
	fw.af = AF_INET6;
	fw.fwmark = 4294967295u;
	fw.sched_name = "wlc";
	fw.netmask = 128;
	ListFormat f;
	f.numeric = true;
	std::string out;
	append_service(out, fw, f, kNumeric);
	// ipvsadm prints marks with %d (seen byte for byte in the guest): 2^32-1 is "-1".
	EXPECT_EQ(out, "FWM  -1 IPv6 wlc\n");
	out.clear();
	f.rule = true;
	append_service(out, fw, f, kNumeric);
	EXPECT_EQ(out, "-A -f -1 -6 -s wlc\n");
	f.rule = false;

	Service v6;
	v6.af = AF_INET6;
	v6.protocol = IPPROTO_UDP;
	inet_pton(AF_INET6, "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", v6.addr.bytes.data());
	v6.port = 65535;
	v6.sched_name = "lc";
	v6.flags = u::SVC_F_PERSISTENT;
	v6.timeout = 60;
	v6.netmask = 64;
	out.clear();
	append_service(out, v6, f, kNumeric);
	// IPv6 names are never cut at 33 bytes.
	EXPECT_EQ(out, "UDP  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:65535 lc persistent 60 mask 64\n");
}

TEST(Format, ResolvedNamesAreCutLikeIpvsadm)
{
	Service s = v4_service(0x0a60000a, 80);
	s.dests.push_back(v4_dest(0x0a000002, 80, u::CONN_F_DROUTE, 1));
	std::string out;
	FakeResolver names;
	append_service(out, s, ListFormat{}, names);
	EXPECT_EQ(out, "TCP  a-very-long-host-name-that-g rr\n"
		       "  -> a-very-long-host-name-that-g Route   1      0          0         \n");
}

TEST(Format, AddrportCapsAtFiftyNineBytes)
{
	class Long final : public Resolver {
	public:
		std::optional<std::string> host(int, const Addr &) const override { return std::string(80, 'h'); }
		std::optional<std::string> service(std::uint16_t, std::uint16_t) const override { return std::nullopt; }
	} longnames;
	std::string s = addrport(AF_INET, addr_from_v4(1), 80, IPPROTO_TCP, false, longnames);
	EXPECT_EQ(s.size(), 59u);
	EXPECT_EQ(addrport(AF_INET6, Addr{}, 8, IPPROTO_TCP, true, kNumeric), "[::]:8");
}

TEST(Format, RateDestPrintsPacketRatesUnscaled)
{
	Service s = v4_service(0x0a60000a, 80);
	s.stats.cps = 200000000;
	Dest d = v4_dest(0x0af40102, 80, u::CONN_F_MASQ, 1);
	d.stats.cps = 123456789;
	d.stats.inbps = 555555555;
	s.dests.push_back(d);
	ListFormat f;
	f.numeric = true;
	f.rate = true;
	EXPECT_EQ(list_one(s, f, kNumeric),
		  "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
		  "  -> RemoteAddress:Port\n"
		  "TCP  10.96.0.10:80                 200000K        0        0        0        0\n"
		  "  -> 10.244.1.2:80                123456789        0        0  555555K        0\n");
}

TEST(Format, DestCountersAreTruncatedToLow32BitsAsLibipvsDoes)
{
	Service s = v4_service(0x0a60000a, 80);
	Dest d = v4_dest(0x0af40102, 80, u::CONN_F_MASQ, 1);
	d.stats.conns = (1ULL << 32) + 5;
	d.stats.inbytes = 1ULL << 40;
	s.dests.push_back(d);
	s.stats.conns = (1ULL << 32) + 5;
	ListFormat f;
	f.numeric = true;
	f.stats = true;
	f.exact = true;
	std::string out;
	append_service(out, s, f, kNumeric);
	EXPECT_EQ(out, "TCP  10.96.0.10:80                4294967301        0        0        0        0\n"
		       "  -> 10.244.1.2:80                       5        0        0 1099511627776        0\n");
}

TEST(Format, SaveRulesForEveryMethod)
{
	Service s = v4_service(0x0a60000a, 80);
	s.dests.push_back(v4_dest(0x0af40102, 80, u::CONN_F_DROUTE, 1));
	s.dests.push_back(v4_dest(0x0af40103, 80, u::CONN_F_TUNNEL, 2));
	Dest gue = v4_dest(0x0af40104, 80, u::CONN_F_TUNNEL, 3);
	gue.tun_type = u::TUNNEL_TYPE_GUE;
	gue.tun_port = 6080;
	gue.tun_flags = u::TUNNEL_ENCAP_FLAG_CSUM;
	s.dests.push_back(gue);
	Dest gre = v4_dest(0x0af40105, 80, u::CONN_F_TUNNEL, 4);
	gre.tun_type = u::TUNNEL_TYPE_GRE;
	s.dests.push_back(gre);
	s.dests.push_back(v4_dest(0x0a000001, 80, u::CONN_F_LOCALNODE, 5));
	s.dests.push_back(v4_dest(0x0af40106, 8080, u::CONN_F_MASQ, 0));
	ListFormat f;
	f.numeric = true;
	f.rule = true;
	std::string out;
	append_service(out, s, f, kNumeric);
	EXPECT_EQ(out, "-A -t 10.96.0.10:80 -s rr\n"
		       "-a -t 10.96.0.10:80 -r 10.0.0.1:80 -g -w 5\n"
		       "-a -t 10.96.0.10:80 -r 10.244.1.2:80 -g -w 1\n"
		       "-a -t 10.96.0.10:80 -r 10.244.1.3:80 -i -w 2 --tun-type ipip\n"
		       "-a -t 10.96.0.10:80 -r 10.244.1.4:80 -i -w 3 --tun-type gue --tun-port 6080 --tun-csum\n"
		       "-a -t 10.96.0.10:80 -r 10.244.1.5:80 -i -w 4 --tun-type gre --tun-nocsum\n"
		       "-a -t 10.96.0.10:80 -r 10.244.1.6:8080 -m -w 0\n");
}

TEST(Sort, ReproducesIpvsadmWrapAround)
{
	// ipvsadm compares addresses by unsigned subtraction read as int: 200.x sorts before 10.x.
	std::vector<Service> v = {v4_service(0x0a000001, 80), v4_service(0xc8010101, 80), v4_service(0x0a000001, 22)};
	auto sorted = sorted_services(v);
	ASSERT_EQ(sorted.size(), 3u);
	EXPECT_EQ(sorted[0]->addr, addr_from_v4(0xc8010101));
	EXPECT_EQ(sorted[1]->port, 22);
	EXPECT_EQ(sorted[2]->port, 80);
	EXPECT_GT(compare_services(v[0], v[1]), 0);
}

TEST(Sort, FwmarkServicesComeAfterAddressServices)
{
	Service fw;
	fw.af = AF_INET;
	fw.fwmark = 1;
	std::vector<Service> v = {fw, v4_service(0x0a000001, 80)};
	auto sorted = sorted_services(v);
	EXPECT_EQ(sorted[0]->fwmark, 0u);
	EXPECT_EQ(sorted[1]->fwmark, 1u);
}

TEST(Format, ConnLines)
{
	ConnEntry c;
	c.protocol = "TCP";
	c.af = c.daf = AF_INET;
	c.caddr = addr_from_v4(0x0a000002);
	c.cport = 40000;
	c.vaddr = addr_from_v4(0x0a60000a);
	c.vport = 80;
	c.daddr = addr_from_v4(0x0af40102);
	c.dport = 8080;
	c.state = "TIME_WAIT";
	c.expires = 119;
	ListFormat f;
	f.numeric = true;
	std::string out = conn_header(f);
	append_conn(out, c, f, kNumeric);
	EXPECT_EQ(out, "IPVS connection entries\n"
		       "pro expire state       source             virtual            destination\n"
		       "TCP 01:59  TIME_WAIT   10.0.0.2:40000     10.96.0.10:80      10.244.1.2:8080\n");
	f.persistent_conn = true;
	c.pe_name = "sip";
	c.pe_data = "callid";
	out.clear();
	append_conn(out, c, f, kNumeric);
	EXPECT_EQ(out, "TCP 01:59  TIME_WAIT   10.0.0.2:40000     10.96.0.10:80      10.244.1.2:8080  sip                callid\n");
}

TEST(Format, TimeoutsAndDaemons)
{
	EXPECT_EQ(timeouts(Timeouts{900, 120, 300}), "Timeout (tcp tcpfin udp): 900 120 300\n");
	Daemon d;
	d.state = u::STATE_MASTER;
	d.mcast_ifn = "eth0";
	d.syncid = 7;
	d.sync_maxlen = 1472;
	d.mcast_af = AF_INET;
	d.mcast_group = addr_from_v4(0xe0000051);
	d.mcast_port = 8848;
	d.mcast_ttl = 1;
	EXPECT_EQ(daemons({d}), "master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n");
}
