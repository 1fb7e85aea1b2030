// SPDX-License-Identifier: GPL-2.0
// Option parsing: ipvsadm's syntax is accepted, and every bad input is a usage error (exit 2).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvs_drain/args.h"
#include "ipvs_drain/options.h"

using namespace ipvs;
using namespace ipvs::options;

namespace {

Parsed<ListOptions> list(std::vector<std::string> a) { return parse_list(a, no_lookups()); }

std::string error_of(const Parsed<ListOptions> &p)
{
	auto *e = std::get_if<UsageError>(&p);
	return e ? e->message : std::string();
}

} // namespace

TEST(ListOptions, ClustersAndLongForms)
{
	auto p = list({"-nc", "--persistent-conn"});
	ASSERT_TRUE(std::holds_alternative<ListOptions>(p)) << error_of(p);
	auto &o = std::get<ListOptions>(p);
	EXPECT_TRUE(o.fmt.numeric);
	EXPECT_TRUE(o.connections);
	EXPECT_TRUE(o.fmt.persistent_conn);

	p = list({"-n", "--tcp-service=10.96.0.10:80", "--stats", "-X"});
	ASSERT_TRUE(std::holds_alternative<ListOptions>(p)) << error_of(p);
	auto &o2 = std::get<ListOptions>(p);
	ASSERT_TRUE(o2.service);
	EXPECT_EQ(o2.service->af, AF_INET);
	EXPECT_EQ(o2.service->protocol, IPPROTO_TCP);
	EXPECT_EQ(o2.service->port, 80);
	EXPECT_EQ(o2.service->addr, addr_from_v4(0x0a60000a));
	EXPECT_TRUE(o2.fmt.stats && o2.fmt.exact);
}

TEST(ListOptions, AttachedValueAndIpv6)
{
	auto p = list({"-nu[fd96::10]:53"});
	ASSERT_TRUE(std::holds_alternative<ListOptions>(p)) << error_of(p);
	auto &o = std::get<ListOptions>(p);
	EXPECT_EQ(o.service->af, AF_INET6);
	EXPECT_EQ(o.service->protocol, IPPROTO_UDP);
	EXPECT_EQ(o.service->port, 53);

	p = list({"--sctp-service", "2001:db8::1"});
	ASSERT_TRUE(std::holds_alternative<ListOptions>(p)) << error_of(p);
	EXPECT_EQ(std::get<ListOptions>(p).service->port, 0);
	EXPECT_EQ(std::get<ListOptions>(p).service->protocol, IPPROTO_SCTP);
}

TEST(ListOptions, FwmarkWithIpv6)
{
	auto p = list({"-f", "7", "-6", "-n"});
	ASSERT_TRUE(std::holds_alternative<ListOptions>(p)) << error_of(p);
	EXPECT_EQ(std::get<ListOptions>(p).service->fwmark, 7u);
	EXPECT_EQ(std::get<ListOptions>(p).service->af, AF_INET6);
	EXPECT_NE(error_of(list({"-6", "-f", "7"})), "");
}

TEST(ListOptions, SaveAcceptsOnlyNumeric)
{
	auto p = list({"-S", "-n"});
	ASSERT_TRUE(std::holds_alternative<ListOptions>(p)) << error_of(p);
	EXPECT_TRUE(std::get<ListOptions>(p).fmt.rule);
	EXPECT_NE(error_of(list({"-S", "--stats"})), "");
	EXPECT_NE(error_of(list({"-S", "-c"})), "");
}

TEST(ListOptions, EveryBadInputIsAUsageError)
{
	const std::vector<std::vector<std::string>> bad = {
		{"-t", "10.0.0.300:80"},      // bad address
		{"-t", "nosuchhost:80"},      // unresolvable (no lookups)
		{"-t", "80"},                 // a bare number is not an address
		{"-t", "10.0.0.1:65536"},     // port out of range
		{"-t", "10.0.0.1:-1"},        // negative port
		{"-t", "10.0.0.1:http"},      // service name with no lookups
		{"-u", "[fd00::1]"},          // bracketed v6 without port
		{"-u", "[fd00::1]:"},         // empty port
		{"-u", "[fd00::1"},           // unclosed bracket
		{"-f", "0"},                  // fwmark must be > 0
		{"-f", "4294967296"},         // fwmark too large
		{"-f", "12abc"},              // not a number
		{"--tcp-service"},            // missing value
		{"-t"},                       // missing value
		{"--bogus"},                  // unknown long option
		{"-z"},                       // unknown short option
		{"--icmp-service", "1.2.3.4"}, // unknown protocol
		{"-n", "extra"},              // stray argument
		{"-n", "-n"},                 // repeated option
		{"-t", "1.2.3.4:1", "-u", "1.2.3.4:1"}, // two services
		{"-c", "-t", "1.2.3.4:80"},   // exclusive listings
		{"-c", "--stats"},            // conflicting formats
		{"--timeout", "--persistent-conn"},
		{"--daemon", "--rate"},
		{"--stats=yes"},              // flag with a value
	};
	for (const auto &args : bad) {
		std::string joined;
		for (const auto &a : args)
			joined += a + " ";
		auto p = list(args);
		auto *e = std::get_if<UsageError>(&p);
		ASSERT_NE(e, nullptr) << "accepted: " << joined;
		EXPECT_FALSE(e->message.empty());
		EXPECT_EQ(e->message.find('\n'), std::string::npos) << "one sentence, one line: " << e->message;
	}
}

TEST(ListOptions, LookupsAreUsedWhenGiven)
{
	Lookups l = no_lookups();
	l.host_v4 = [](const std::string &h) -> std::optional<std::uint32_t> {
		if (h == "vip")
			return htonl(0x0a60000a);
		return std::nullopt;
	};
	l.port = [](const std::string &p, std::uint16_t proto) -> std::optional<std::uint16_t> {
		if (p == "http" && proto == IPPROTO_TCP)
			return 80;
		return std::nullopt;
	};
	auto p = parse_list({"-t", "vip:http"}, l);
	ASSERT_TRUE(std::holds_alternative<ListOptions>(p)) << error_of(p);
	EXPECT_EQ(std::get<ListOptions>(p).service->port, 80);
	EXPECT_EQ(std::get<ListOptions>(p).service->addr, addr_from_v4(0x0a60000a));
	EXPECT_NE(error_of(parse_list({"-u", "vip:http"}, l)), "");
}

TEST(StatusOptions, JsonAndNetns)
{
	auto p = parse_status({"--json", "--netns", "blue"});
	ASSERT_TRUE(std::holds_alternative<StatusOptions>(p));
	EXPECT_TRUE(std::get<StatusOptions>(p).json);
	EXPECT_EQ(*std::get<StatusOptions>(p).netns, "blue");
	EXPECT_TRUE(std::holds_alternative<UsageError>(parse_status({"--netns", "../etc"})));
	EXPECT_TRUE(std::holds_alternative<UsageError>(parse_status({"--netns"})));
	EXPECT_TRUE(std::holds_alternative<UsageError>(parse_status({"-n"})));
}

TEST(KnobOptions, ModeRange)
{
	auto p = parse_knob({"--mode", "3", "--netns=red"}, true);
	ASSERT_TRUE(std::holds_alternative<KnobOptions>(p));
	EXPECT_EQ(std::get<KnobOptions>(p).mode, 3);
	EXPECT_EQ(std::get<KnobOptions>(parse_knob({}, true)).mode, 1);
	EXPECT_EQ(std::get<KnobOptions>(parse_knob({}, false)).mode, 0);
	for (const char *bad : {"4", "-1", "one", "", "1x"})
		EXPECT_TRUE(std::holds_alternative<UsageError>(parse_knob({"--mode", bad}, true))) << bad;
	EXPECT_TRUE(std::holds_alternative<UsageError>(parse_knob({"--mode", "1"}, false)));
}

TEST(ParseUint, EdgesAsIpvsadmsStringToNumber)
{
	using ipvs::args::parse_uint;
	EXPECT_EQ(parse_uint("0", 0, 3), 0u);
	EXPECT_EQ(parse_uint("3", 0, 3), 3u);
	EXPECT_EQ(parse_uint("+7", 0, 9), 7u);   // strtol takes a '+'
	EXPECT_EQ(parse_uint(" 7", 0, 9), 7u);   // and leading blanks
	EXPECT_EQ(parse_uint("007", 0, 9), 7u);
	EXPECT_EQ(parse_uint("18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
	for (const char *bad : {"", " ", "+", "-", "-1", "-0", "4", "1x", "7 ", "0x1", "1.0", "18446744073709551616",
				"99999999999999999999999"})
		EXPECT_FALSE(parse_uint(bad, 0, 3)) << "'" << bad << "'";
	EXPECT_FALSE(parse_uint("0", 1, 3)); // below min
	EXPECT_FALSE(parse_uint("18446744073709551616", 0, UINT64_MAX)); // overflow
}

TEST(Args, PoptSyntaxAndErrors)
{
	using namespace ipvs::args;
	const Spec specs[] = {{"numeric", 'n', Arg::None, 1}, {"tcp-service", 't', Arg::One, 2},
			      {"persistent", 'p', Arg::Optional, 3}};
	auto r = parse({"-nt1.2.3.4:80", "x", "-p", "-n", "--persistent=5", "--", "-n"}, specs);
	ASSERT_TRUE(std::holds_alternative<Words>(r));
	const auto &w = std::get<Words>(r);
	ASSERT_EQ(w.opts.size(), 5u);
	EXPECT_EQ(w.opts[1].spelled, "-t");
	EXPECT_EQ(*w.opts[1].value, "1.2.3.4:80");
	EXPECT_FALSE(w.opts[2].value); // an optional value is never a word starting with '-'
	EXPECT_EQ(*w.opts[4].value, "5");
	EXPECT_EQ(w.rest, (std::vector<std::string>{"x", "-n"}));
	auto kind = [&](std::vector<std::string> a) {
		auto e = parse(a, specs);
		return std::holds_alternative<Error>(e) ? std::get<Error>(e).kind : static_cast<Error::Kind>(-1);
	};
	EXPECT_EQ(kind({"-nq"}), Error::Unknown);
	EXPECT_EQ(kind({"-t"}), Error::NeedsValue);
	EXPECT_EQ(kind({"--numeric=1"}), Error::TakesNoValue);
}
