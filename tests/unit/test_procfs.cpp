// SPDX-License-Identifier: GPL-2.0
// /proc/net/ip_vs_conn and counters parsing, on text in the kernel's exact formats.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "ipvs_drain/procfs.h"

using namespace ipvs;

TEST(ConnParser, Ipv4HexFields)
{
	auto c = procfs::parse_conn_line("TCP 0A000002 9C40 0A60000A 0050 0AF40102 1F90 TIME_WAIT       119");
	ASSERT_TRUE(c);
	EXPECT_EQ(c->protocol, "TCP");
	EXPECT_EQ(c->af, AF_INET);
	EXPECT_EQ(c->caddr, addr_from_v4(0x0a000002));
	EXPECT_EQ(c->cport, 40000);
	EXPECT_EQ(c->vaddr, addr_from_v4(0x0a60000a));
	EXPECT_EQ(c->vport, 80);
	EXPECT_EQ(c->daf, AF_INET);
	EXPECT_EQ(c->daddr, addr_from_v4(0x0af40102));
	EXPECT_EQ(c->dport, 8080);
	EXPECT_EQ(c->state, "TIME_WAIT");
	EXPECT_EQ(c->expires, 119u);
	EXPECT_FALSE(c->pe_name);
}

TEST(ConnParser, Ipv6FullFormAndPeData)
{
	auto c = procfs::parse_conn_line(
		"UDP fd00:0000:0000:0000:0000:0000:0000:0002 C350 fd96:0000:0000:0000:0000:0000:0000:0010 13C4 "
		"fd01:0000:0000:0000:0000:0000:0000:0003 13C4 UDP               5 sip 1234@host");
	ASSERT_TRUE(c);
	EXPECT_EQ(c->af, AF_INET6);
	EXPECT_EQ(c->daf, AF_INET6);
	Addr want;
	inet_pton(AF_INET6, "fd01::3", want.bytes.data());
	EXPECT_EQ(c->daddr, want);
	EXPECT_EQ(c->cport, 50000);
	EXPECT_EQ(c->vport, 5060);
	ASSERT_TRUE(c->pe_name);
	EXPECT_EQ(*c->pe_name, "sip");
	EXPECT_EQ(*c->pe_data, "1234@host");
}

TEST(ConnParser, Ipv4ServiceWithIpv6TunnelDestination)
{
	auto c = procfs::parse_conn_line("TCP 0A000002 9C40 0A60000A 0050 fd01:0000:0000:0000:0000:0000:0000:0002 0050 SYN_RECV 55");
	ASSERT_TRUE(c);
	EXPECT_EQ(c->af, AF_INET);
	EXPECT_EQ(c->daf, AF_INET6);
}

TEST(ConnParser, RejectsMalformedLines)
{
	EXPECT_FALSE(procfs::parse_conn_line(""));
	EXPECT_FALSE(procfs::parse_conn_line("TCP 0A000002 9C40 0A60000A 0050 0AF40102 1F90 TIME_WAIT"));
	EXPECT_FALSE(procfs::parse_conn_line("TCP 0A00000G 9C40 0A60000A 0050 0AF40102 1F90 TIME_WAIT 1"));
	EXPECT_FALSE(procfs::parse_conn_line("TCP 0A000002 9C40 0A60000A 0050 0AF40102 1F90 TIME_WAIT x1"));
	EXPECT_FALSE(procfs::parse_conn_line("TCP 0A000002 9C40 0A60000A 0050 0AF40102 1F90 TIME_WAIT 1 onlyname"));
}

TEST(ConnParser, WholeTableSkipsHeaderAndNamesBadLine)
{
	std::string text = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
			   "TCP 0A000002 9C40 0A60000A 0050 0AF40102 1F90 TIME_WAIT       119\n"
			   "TCP 0A000002 9C41 0A60000A 0050 0AF40102 1F90 CLOSE            10\n";
	std::vector<ConnEntry> v;
	std::string err;
	ASSERT_TRUE(procfs::parse_conn_table(text, v, err));
	ASSERT_EQ(v.size(), 2u);
	EXPECT_EQ(v[1].state, "CLOSE");
	ASSERT_FALSE(procfs::parse_conn_table(text + "garbage\n", v, err));
	EXPECT_NE(err.find("line 4"), std::string::npos);
	EXPECT_FALSE(procfs::parse_conn_table("", v, err));
}

TEST(Counters, NameValueLines)
{
	auto c = procfs::parse_counters("rescheduled 12\ndropped_old_conntrack 3\n");
	ASSERT_TRUE(c);
	EXPECT_EQ(c->at("rescheduled"), 12u);
	EXPECT_EQ(c->at("dropped_old_conntrack"), 3u);
	EXPECT_FALSE(procfs::parse_counters("rescheduled\n"));
	EXPECT_FALSE(procfs::parse_counters("rescheduled -1\n"));
	EXPECT_FALSE(procfs::parse_counters("rescheduled 1 2\n"));
}
