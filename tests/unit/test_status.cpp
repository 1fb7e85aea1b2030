// SPDX-License-Identifier: GPL-2.0
// Risk counting, advice and the documented status --json keys.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvs_drain/json.h"
#include "ipvs_drain/status.h"
#include "ipvs_drain/uapi.h"

using namespace ipvs;
using namespace ipvs::status;
namespace u = ipvs::uapi;

namespace {

Service svc_with(std::vector<std::pair<std::uint32_t, std::uint32_t>> dests, std::uint32_t fwd = u::CONN_F_MASQ)
{
	Service s;
	s.af = AF_INET;
	s.protocol = IPPROTO_TCP;
	s.addr = addr_from_v4(0x0a60000a);
	s.port = 80;
	for (auto [ip, w] : dests) {
		Dest d;
		d.af = AF_INET;
		d.addr = addr_from_v4(ip);
		d.port = 8080;
		d.weight = w;
		d.conn_flags = fwd;
		s.dests.push_back(d);
	}
	return s;
}

ConnEntry conn(std::uint32_t dest, const char *state, const char *proto = "TCP")
{
	ConnEntry c;
	c.protocol = proto;
	c.af = c.daf = AF_INET;
	c.caddr = addr_from_v4(0x0a000002);
	c.vaddr = addr_from_v4(0x0a60000a);
	c.vport = 80;
	c.daddr = addr_from_v4(dest);
	c.dport = 8080;
	c.state = state;
	return c;
}

Report base_report(const char *kernel, int reuse, int nodest, std::optional<int> knob)
{
	Report r;
	r.kernel = kernel;
	r.ipvs_version = "1.2.1";
	r.variant_loaded = knob.has_value();
	r.sysctls = {{"conn_reuse_mode", reuse}, {"expire_nodest_conn", nodest}, {"expire_quiescent_template", 0},
		     {"conntrack", 1}, {"conn_reuse_quiescent", knob}};
	return r;
}

} // namespace

TEST(Risk, CountsOnlyReusableEntriesToWeightZeroOrRemoved)
{
	std::vector<Service> services = {svc_with({{0x0af40102, 0}, {0x0af40103, 1}})};
	std::vector<ConnEntry> conns = {
		conn(0x0af40102, "TIME_WAIT"), conn(0x0af40102, "TIME_WAIT"), conn(0x0af40102, "CLOSE"),
		conn(0x0af40102, "ESTABLISHED"), // live traffic is not at risk
		conn(0x0af40102, "FIN_WAIT"),    // Masq: replies pass the director, no NOOUTPUT
		conn(0x0af40103, "TIME_WAIT"),   // weight 1: scheduled normally
		conn(0x0af40109, "TIME_WAIT"),   // removed destination
		conn(0x0af40102, "TIME_WAIT", "UDP"),
	};
	auto rows = compute_risk(services, conns);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].name, "TCP 10.96.0.10:80");
	EXPECT_EQ(rows[0].entries(), 4u);
	ASSERT_EQ(rows[0].dests.size(), 2u);
	EXPECT_TRUE(rows[0].dests[0].present);
	EXPECT_EQ(rows[0].dests[0].time_wait, 2u);
	EXPECT_EQ(rows[0].dests[0].close, 1u);
	EXPECT_FALSE(rows[0].dests[1].present);
}

TEST(Risk, FinWaitCountsForRouteAndTunnel)
{
	std::vector<Service> services = {svc_with({{0x0af40102, 0}}, u::CONN_F_DROUTE)};
	auto rows = compute_risk(services, {conn(0x0af40102, "FIN_WAIT"), conn(0x0af40102, "SYN_RECV")});
	EXPECT_EQ(rows[0].dests.at(0).fin_wait_nooutput, 1u);
	EXPECT_EQ(rows[0].entries(), 1u);
}

TEST(Risk, FwmarkServiceFoundThroughItsDestination)
{
	Service fw = svc_with({{0x0af40102, 0}});
	fw.fwmark = 5;
	fw.protocol = 0;
	auto rows = compute_risk({fw}, {conn(0x0af40102, "TIME_WAIT")});
	EXPECT_EQ(rows[0].name, "FWM 5");
	EXPECT_EQ(rows[0].entries(), 1u);
}

TEST(Advice, FollowsSysctlsKernelAndRisk)
{
	Report r = base_report("5.4.0-100-generic", 0, 0, std::nullopt);
	ServiceRisk sr;
	DestRisk d;
	d.time_wait = 7;
	sr.dests.push_back(d);
	r.risk = {sr};
	EXPECT_NE(advise(r).find("load the ipvs-drain variant"), std::string::npos) << advise(r);

	r = base_report("6.1.0-18-amd64", 0, 1, 0);
	EXPECT_NE(advise(r).find("already reschedules"), std::string::npos) << advise(r);

	r = base_report("5.10.0-30-amd64", 0, 1, 0);
	r.risk = {sr};
	EXPECT_NE(advise(r).find("ipvs-drain enable"), std::string::npos) << advise(r);

	r = base_report("6.1.0-18-amd64", 0, 0, 1);
	EXPECT_NE(advise(r).find("The fix is on"), std::string::npos) << advise(r);

	ServiceRisk fin;
	DestRisk fd;
	fd.fin_wait_nooutput = 2;
	fin.dests.push_back(fd);
	r.risk = {fin};
	EXPECT_NE(advise(r).find("--mode 3"), std::string::npos) << advise(r);
}

// A direct-routing director (keepalived, tests/keepalived/): bit 1 of conn_reuse_mode, the kernel's
// default, leaves reused FIN_WAIT ports on the weight-0 server.
TEST(Advice, FinWaitOfRouteDestinations)
{
	ServiceRisk fin;
	DestRisk fd;
	fd.fin_wait_nooutput = 20;
	fin.dests.push_back(fd);

	Report r = base_report("6.1.0-56-amd64", 1, 0, std::nullopt);
	r.risk = {fin};
	EXPECT_NE(advise(r).find("20 NOOUTPUT FIN_WAIT entries"), std::string::npos) << advise(r);
	EXPECT_NE(advise(r).find("set conn_reuse_mode=3"), std::string::npos) << advise(r);
	EXPECT_NE(advise(r).find("'ipvs-drain enable --mode 3'"), std::string::npos) << advise(r);

	r = base_report("6.1.0-56-amd64", 0, 0, std::nullopt);
	r.risk = {fin};
	EXPECT_EQ(advise(r).find("No entry points"), std::string::npos) << advise(r);
	EXPECT_NE(advise(r).find("conn_reuse_mode=0 forwards reused ports"), std::string::npos) << advise(r);
	EXPECT_NE(advise(r).find("--mode 3"), std::string::npos) << advise(r);

	r = base_report("6.1.0-56-amd64", 0, 0, 0);
	r.risk = {fin};
	EXPECT_NE(advise(r).find("The fix is off"), std::string::npos) << advise(r);
	EXPECT_NE(advise(r).find("--mode 3"), std::string::npos) << advise(r);

	// conn_reuse_mode=3 reschedules them already, and so does the knob's bit 2.
	r = base_report("6.1.0-56-amd64", 3, 0, std::nullopt);
	r.risk = {fin};
	EXPECT_NE(advise(r).find("already reschedules"), std::string::npos) << advise(r);
	r = base_report("6.1.0-56-amd64", 0, 0, 3);
	r.risk = {fin};
	EXPECT_NE(advise(r).find("The fix is on (conn_reuse_quiescent=3)"), std::string::npos) << advise(r);

	// Knob 2 alone leaves TIME_WAIT/CLOSE to conn_reuse_mode.
	ServiceRisk tw;
	DestRisk td;
	td.time_wait = 4;
	tw.dests.push_back(td);
	r = base_report("6.1.0-56-amd64", 0, 0, 2);
	r.risk = {tw};
	EXPECT_NE(advise(r).find("4 TIME_WAIT/CLOSE entries are exposed"), std::string::npos) << advise(r);
	r = base_report("6.1.0-56-amd64", 1, 0, 2);
	r.risk = {tw};
	EXPECT_NE(advise(r).find("The fix is on (conn_reuse_quiescent=2)"), std::string::npos) << advise(r);
}

TEST(KernelFix, VersionBoundary)
{
	EXPECT_EQ(kernel_has_nodest_fix("5.16.0"), std::optional<bool>(true));
	EXPECT_EQ(kernel_has_nodest_fix("6.12.9-amd64"), std::optional<bool>(true));
	EXPECT_FALSE(kernel_has_nodest_fix("5.15.99"));
	EXPECT_FALSE(kernel_has_nodest_fix("garbage"));
}

TEST(StatusJson, SchemaKeysAreStable)
{
	Report r = base_report("6.1.0-18-amd64", 0, 0, 1);
	r.variant_version = "0.1 \"x\"";
	r.counters = std::map<std::string, std::uint64_t>{{"dropped_old_conntrack", 1}, {"rescheduled", 42}};
	r.risk = compute_risk({svc_with({{0x0af40102, 0}})}, {conn(0x0af40102, "TIME_WAIT")});
	r.advice = advise(r);
	const std::string text = render_json(r);
	const Json j = Json::parse(text);
	EXPECT_EQ(text.back(), '\n');
	std::vector<std::string> keys;
	for (const auto &[k, v] : j.items())
		keys.push_back(k);
	std::vector<std::string> want = {"schema", "kernel", "netns", "ipvs_version", "variant",
					 "kernel_has_upstream_nodest_fix", "sysctls", "counters", "risk", "advice"};
	EXPECT_EQ(keys, want);
	EXPECT_EQ(j["sysctls"], Json::parse(R"({"conn_reuse_mode": 0, "expire_nodest_conn": 0, "expire_quiescent_template": 0,
						 "conntrack": 1, "conn_reuse_quiescent": 1})"));
	EXPECT_EQ(j["counters"]["rescheduled"], 42);
	EXPECT_EQ(j["risk"]["total"], 1);
	const Json &d = j["risk"]["services"].at(0)["destinations"].at(0);
	EXPECT_EQ(d["time_wait"], 1);
	EXPECT_EQ(d["present"], true);
	EXPECT_EQ(d["weight"], 0);
	EXPECT_EQ(d["forward"], "Masq");
	EXPECT_EQ(j["variant"], Json::parse(R"({"loaded": true, "version": "0.1 \"x\""})"));
	EXPECT_EQ(j["advice"], r.advice);

	Report stock = base_report("5.10.0-1", 1, 0, std::nullopt);
	stock.advice = advise(stock);
	const Json js = Json::parse(render_json(stock));
	EXPECT_TRUE(js["counters"].is_null());
	EXPECT_TRUE(js["sysctls"]["conn_reuse_quiescent"].is_null());
	EXPECT_EQ(js["risk"]["services"], Json::array());
}

// The netns name comes from the command line and the version and counter names from the kernel:
// whatever bytes they hold, the output parses back to them (bytes that are not UTF-8 become U+FFFD).
TEST(StatusJson, StringsRoundTrip)
{
	Report r = base_report("6.1.0-18-amd64\t", 0, 0, 1);
	r.netns = "blue \"ns\"\\\n\x01\x1f caf\xc3\xa9 \xe2\x9c\x93";
	r.variant_version = std::string("0.1\r\0x", 6);
	r.counters = std::map<std::string, std::uint64_t>{{"odd\bname\f", 1}};
	r.advice = "bad \xff byte";
	const Json j = Json::parse(render_json(r));
	EXPECT_EQ(j["kernel"], r.kernel);
	EXPECT_EQ(j["netns"], *r.netns);
	EXPECT_EQ(j["variant"]["version"], *r.variant_version);
	EXPECT_EQ(j["counters"]["odd\bname\f"], 1);
	EXPECT_EQ(j["advice"], "bad \xef\xbf\xbd byte");
}
