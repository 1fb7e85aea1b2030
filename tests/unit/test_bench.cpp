// SPDX-License-Identifier: GPL-2.0
// bench's pure parts: option parsing, figures, and the JSON, table and SVG printers.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "ipvs_drain/bench/figures.h"
#include "ipvs_drain/bench/options.h"
#include "ipvs_drain/json.h"

using namespace ipvs::bench;
using ipvs::Json;
using ipvs::options::UsageError;

namespace {

std::string error_of(const ipvs::options::Parsed<BenchOptions> &p)
{
	auto *e = std::get_if<UsageError>(&p);
	return e ? e->message : std::string();
}

BenchOptions ok(std::vector<std::string> a)
{
	auto p = parse_bench(a);
	EXPECT_TRUE(std::holds_alternative<BenchOptions>(p)) << error_of(p);
	return std::holds_alternative<BenchOptions>(p) ? std::get<BenchOptions>(p) : BenchOptions{};
}

std::string bad(std::vector<std::string> a)
{
	auto p = parse_bench(a);
	EXPECT_TRUE(std::holds_alternative<UsageError>(p));
	return error_of(p);
}

ConnRecord rec(std::int64_t start, std::int64_t connect, std::string outcome, std::string pod = "")
{
	ConnRecord r;
	r.start_us = start;
	r.connect_us = connect;
	r.outcome = std::move(outcome);
	r.pod = std::move(pod);
	return r;
}

} // namespace

TEST(BenchOptions, LabDefaults)
{
	auto o = ok({"--lab"});
	EXPECT_TRUE(o.lab);
	EXPECT_EQ(o.ports.lo, 20000);
	EXPECT_EQ(o.ports.hi, 20299);
	EXPECT_EQ(o.concurrency, 50u);
	EXPECT_TRUE(o.configs.empty());
	EXPECT_FALSE(o.json_path);
}

TEST(BenchOptions, LabWithEverything)
{
	auto o = ok({"--lab", "--configs=variant,legacy", "--ports", "30000-30029", "--concurrency", "8", "--rate=250.5",
		     "--connect-timeout", "0.5", "--json", "a.json", "--svg=b.svg"});
	EXPECT_EQ(o.configs, (std::vector<std::string>{"variant", "legacy"}));
	EXPECT_EQ(o.ports.size(), 30u);
	EXPECT_EQ(o.concurrency, 8u);
	EXPECT_DOUBLE_EQ(o.rate, 250.5);
	EXPECT_DOUBLE_EQ(o.connect_timeout_s, 0.5);
	EXPECT_EQ(*o.json_path, "a.json");
	EXPECT_EQ(*o.svg_path, "b.svg");
}

TEST(BenchOptions, SetSysctlsInOrder)
{
	auto o = ok({"--lab", "--configs", "legacy", "--set", "conntrack=0", "--set=conn_reuse_quiescent=3"});
	EXPECT_EQ(o.set, (std::vector<std::pair<std::string, int>>{{"conntrack", 0}, {"conn_reuse_quiescent", 3}}));
	EXPECT_TRUE(ok({"--lab"}).set.empty());
	EXPECT_NE(bad({"--lab", "--set", "conntrack"}).find("Invalid --set 'conntrack': give KEY=N"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--set", "ip_forward=1"}).find("give KEY=N"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--set", "conntrack=2"}).find("conntrack takes 0 to 1"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--set", "conn_reuse_quiescent=4"}).find("takes 0 to 3"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--set", "conn_reuse_mode=-1"}).find("takes 0 to 3"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--set", "conntrack=0", "--set", "conntrack=1"}).find("given twice"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--set", "conntrack=0"}).find("--set applies to --lab only"),
		  std::string::npos);
}

TEST(BenchOptions, PlanAndPersistence)
{
	EXPECT_EQ(ok({"--lab"}).plan, "full");
	EXPECT_EQ(ok({"--lab"}).persistent, 0u);
	auto o = ok({"--lab", "--plan", "lastdest", "--persistent=60"});
	EXPECT_EQ(o.plan, "lastdest");
	EXPECT_EQ(o.persistent, 60u);
	EXPECT_EQ(ok({"--lab", "--plan=short"}).plan, "short");
	EXPECT_EQ(ok({"--lab"}).topology, "nat");
	EXPECT_EQ(ok({"--lab", "--topology", "dr"}).topology, "dr");
	EXPECT_EQ(ok({"--lab", "--topology=nat6"}).topology, "nat6");
	EXPECT_NE(bad({"--lab", "--topology", "tun"}).find("Unknown topology 'tun': choose from nat, dr, nat6."),
		  std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--topology", "dr"}).find("--topology applies to --lab only"),
		  std::string::npos);
	EXPECT_NE(bad({"--lab", "--plan", "half"}).find("Unknown plan 'half': choose from full, short, lastdest."),
		  std::string::npos);
	EXPECT_NE(bad({"--lab", "--persistent", "0"}).find("Invalid --persistent '0'"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--persistent", "2678401"}).find("1 to 2678400"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--plan", "short"}).find("--plan applies to --lab only"),
		  std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--persistent", "5"}).find("--persistent applies to --lab only"),
		  std::string::npos);
}

TEST(BenchOptions, Target)
{
	auto o = ok({"--target", "10.96.0.10:8080", "--duration", "2.5", "--send", "PING\n", "--id-regex", "name=(\\w+)"});
	EXPECT_FALSE(o.lab);
	in_addr a{o.target_addr};
	char buf[INET_ADDRSTRLEN];
	EXPECT_STREQ(inet_ntop(AF_INET, &a, buf, sizeof(buf)), "10.96.0.10");
	EXPECT_EQ(o.target_port, 8080);
	EXPECT_TRUE(o.ports.ephemeral());
	EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
	EXPECT_EQ(o.send, "PING\n");
	EXPECT_EQ(o.id_regex, "name=(\\w+)");
	EXPECT_EQ(ok({"--target", "10.0.0.1:80", "--ports", "ephemeral"}).ports.size(), 0u);
	EXPECT_EQ(ok({"--target", "10.0.0.1:80", "--ports", "40000"}).ports.size(), 1u);
}

TEST(BenchOptions, HelpNeedsNothingElse)
{
	EXPECT_TRUE(ok({"--help"}).help);
	EXPECT_TRUE(ok({"-h"}).help);
}

TEST(BenchOptions, BadInputIsOneSentence)
{
	EXPECT_NE(bad({}).find("exactly one of --lab or --target"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--target", "1.2.3.4:80"}).find("exactly one"), std::string::npos);
	EXPECT_NE(bad({"--target", "10.96.0:80"}).find("Invalid target"), std::string::npos);
	EXPECT_NE(bad({"--target", "10.96.0.10"}).find("Invalid target"), std::string::npos);
	EXPECT_NE(bad({"--target", "0.0.0.0:80"}).find("Invalid target"), std::string::npos);
	EXPECT_NE(bad({"--target", "10.96.0.10:70000"}).find("Invalid target port"), std::string::npos);
	EXPECT_NE(bad({"--target", "10.96.0.10:0"}).find("Invalid target port"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--ports", "30000-20000"}).find("above the last"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--ports", "0-10"}).find("Invalid port range"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--ports", "a-b"}).find("Invalid port range"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--ports", "20000-20001"}).find("at least 3 ports"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--ports", "ephemeral"}).find("at least 3 ports"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--duration", "0"}).find("Invalid duration"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--duration", "-1"}).find("Invalid duration"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--duration", "1e9"}).find("Invalid duration"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--rate", "0"}).find("Invalid rate"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--rate", "fast"}).find("Invalid rate"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--concurrency", "0"}).find("Invalid concurrency"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--connect-timeout", "0"}).find("connect-timeout"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--configs", "legacy,stock"}).find("Unknown configuration 'stock'"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--configs", "legacy,legacy"}).find("twice"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--duration", "5"}).find("--target only"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--send", "x"}).find("--target only"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--configs", "legacy"}).find("--lab only"), std::string::npos);
	EXPECT_NE(bad({"--target", "1.2.3.4:80", "--id-regex", "(("}).find("Invalid --id-regex"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--json"}).find("needs a value"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--lab=1"}).find("takes no value"), std::string::npos);
	EXPECT_NE(bad({"--lab", "--bogus"}).find("Unknown option '--bogus'"), std::string::npos);
	EXPECT_NE(bad({"--lab", "stray"}).find("Unexpected argument 'stray'"), std::string::npos);
}

TEST(BenchFigures, NearestRankPercentiles)
{
	std::vector<std::int64_t> v;
	for (int i = 1; i <= 1000; i++)
		v.push_back(i);
	EXPECT_EQ(percentile(v, 0.50), 500);
	EXPECT_EQ(percentile(v, 0.90), 900);
	EXPECT_EQ(percentile(v, 0.99), 990);
	EXPECT_EQ(percentile(v, 0.999), 999);
	EXPECT_EQ(percentile({7}, 0.5), 7);
	EXPECT_EQ(percentile({}, 0.5), 0);
	// With 100 samples p99 is the second largest: one SYN retransmit stays visible.
	std::vector<std::int64_t> w(98, 1000);
	w.push_back(1000000);
	w.push_back(1000001);
	EXPECT_EQ(percentile(w, 0.99), 1000000);
}

TEST(BenchFigures, Summarize)
{
	std::vector<ConnRecord> r = {rec(0, 100, "ok", "pod-a"), rec(10, 300, "ok", "pod-b"), rec(20, 200, "ok", "pod-b"),
				     rec(30, -1, "EHOSTUNREACH"), rec(40, -1, "ETIMEDOUT"), rec(50, 950000, "ok", "pod-b"),
				     rec(60, 5, "ok")};
	r.back().client_closed_first = true;
	auto f = summarize("draining", r, 2.0);
	EXPECT_EQ(f.phase, "draining");
	EXPECT_EQ(f.attempts, 7u);
	EXPECT_EQ(f.ok, 5u);
	EXPECT_EQ(f.errors, (std::map<std::string, std::uint64_t>{{"EHOSTUNREACH", 1}, {"ETIMEDOUT", 1}}));
	EXPECT_EQ(f.pods, (std::map<std::string, std::uint64_t>{{"?", 1}, {"pod-a", 1}, {"pod-b", 3}}));
	ASSERT_TRUE(f.connect_us);
	EXPECT_EQ(f.connect_us->p50, 200);
	EXPECT_EQ(f.connect_us->max, 950000);
	EXPECT_EQ(f.over_900ms, 1u);
	EXPECT_EQ(f.client_closed_first, 1u);
	EXPECT_DOUBLE_EQ(f.conn_per_s, 3.5);
	EXPECT_FALSE(summarize("x", {rec(0, -1, "ETIMEDOUT")}, 1).connect_us);
}

namespace {

Report sample_report()
{
	Report r;
	r.mode = "lab";
	r.kernel = "6.1.0-56-amd64";
	r.variant_loaded = true;
	r.kernel_has_upstream_fix = true;
	r.ports = "20000-20005";
	r.plan = "full";
	r.topology = "nat6";
	r.persistent = 60;
	r.concurrency = 2;
	r.connect_timeout_s = 2;
	ConfigResult c;
	c.name = "legacy";
	c.sysctls = {{"conntrack", 1}, {"conn_reuse_mode", 0}};
	c.hold_pod = "pod-a";
	c.hold_alive = true;
	c.hold_closed = true;
	c.drain_watched_s = 1.5;
	c.service_gone = true;
	c.namespaces_gone = true;
	c.records = {rec(0, 100, "ok", "pod-a"), rec(50000, 120, "ok", "pod-a"), rec(150000, 90, "ok", "pod-a"),
		     rec(250000, -1, "EHOSTUNREACH"), rec(260000, -1, "ETIMEDOUT"), rec(270000, 80, "ok", "pod-<b>")};
	PhaseResult warm;
	warm.fig = summarize("warm", {c.records.begin(), c.records.begin() + 3}, 0.2);
	warm.end_us = 200000;
	PhaseResult destroyed;
	destroyed.fig = summarize("destroyed", {c.records.begin() + 3, c.records.end()}, 0.1);
	destroyed.old_pod_entries = 3;
	destroyed.entries_before_change = 4;
	destroyed.ports = "20003-20005";
	destroyed.counters_delta = std::map<std::string, std::int64_t>{{"dropped_old_conntrack", 0}, {"rescheduled", 0}};
	destroyed.start_us = 200000;
	destroyed.end_us = 300000;
	c.phases = {warm, destroyed};
	c.markers = {{200000, "pod A destroyed"}};
	r.configs.push_back(c);
	ConfigResult v;
	v.name = "variant";
	v.skipped = "stock \"module\"";
	r.configs.push_back(v);
	return r;
}

} // namespace

TEST(BenchPrinters, Json)
{
	const std::string text = render_json(sample_report());
	EXPECT_EQ(text.rfind("{\n  \"schema\": 1,\n  \"mode\": \"lab\",\n", 0), 0u) << text;
	EXPECT_EQ(text.substr(text.size() - 4), "]\n}\n");
	const Json j = Json::parse(text);
	EXPECT_EQ(j["kernel_has_upstream_nodest_fix"], true);
	EXPECT_TRUE(j["target"].is_null());
	EXPECT_EQ(j["plan"], "full");
	EXPECT_EQ(j["topology"], "nat6");
	EXPECT_EQ(j["persistent_s"], 60);
	EXPECT_EQ(j["ports"], "20000-20005");
	EXPECT_EQ(j["rate"], 0.0);
	EXPECT_TRUE(j["rate"].is_number_float());
	const Json &c = j["configs"].at(0);
	EXPECT_EQ(c["sysctls"].dump(), R"({"conntrack":1,"conn_reuse_mode":0})"); // in the order they were set
	EXPECT_EQ(c["hold"], Json::parse(R"({"pod": "pod-a", "alive_after_draining": true, "closed": true})"));
	EXPECT_TRUE(c["drain_s"].is_null());
	EXPECT_EQ(c["drain_watched_s"], 1.5);
	EXPECT_EQ(c["cleanup"], Json::parse(R"({"service_gone": true, "namespaces_gone": true})"));
	EXPECT_EQ(c["markers"], Json::parse(R"([{"label": "pod A destroyed", "t_s": 0.2}])"));
	const Json &warm = c["phases"].at(0);
	EXPECT_EQ(warm["phase"], "warm");
	EXPECT_EQ(warm["attempts"], 3);
	EXPECT_EQ(warm["ok"], 3);
	EXPECT_EQ(warm["errors"], Json::object());
	EXPECT_EQ(warm["pods"], Json::parse(R"({"pod-a": 3})"));
	EXPECT_EQ(warm["connect_us"], Json::parse(R"({"p50": 100, "p90": 120, "p99": 120, "p99_9": 120, "max": 120})"));
	EXPECT_EQ(warm["wall_s"], 0.2);
	EXPECT_EQ(warm["conn_per_s"], 15.0);
	EXPECT_TRUE(warm["old_pod_entries"].is_null());
	EXPECT_TRUE(warm["entries_before_change"].is_null());
	EXPECT_TRUE(warm["ports"].is_null());
	EXPECT_TRUE(warm["counters_delta"].is_null());
	const Json &destroyed = c["phases"].at(1);
	EXPECT_EQ(destroyed["errors"], Json::parse(R"({"EHOSTUNREACH": 1, "ETIMEDOUT": 1})"));
	EXPECT_EQ(destroyed["pods"], Json::parse(R"({"pod-<b>": 1})"));
	EXPECT_EQ(destroyed["old_pod_entries"], 3);
	EXPECT_EQ(destroyed["entries_before_change"], 4);
	EXPECT_EQ(destroyed["ports"], "20003-20005");
	EXPECT_EQ(destroyed["counters_delta"], Json::parse(R"({"dropped_old_conntrack": 0, "rescheduled": 0})"));
	EXPECT_EQ(destroyed["start_s"], 0.2);
	EXPECT_EQ(destroyed["end_s"], 0.3);
	EXPECT_EQ(j["configs"].at(1)["skipped"], "stock \"module\"");
	EXPECT_EQ(j["configs"].at(1)["phases"], Json::array());
}

// In target mode pod names are whatever --id-regex matched in a server's reply; reasons carry
// error messages. Every such string parses back as it was (bytes that are not UTF-8 become U+FFFD).
TEST(BenchPrinters, JsonStringsRoundTrip)
{
	Report r = sample_report();
	const std::string pod = "pod \"q\"\\\r\n\t\x01\x7f caf\xc3\xa9";
	r.configs[0].phases[0].fig.pods = {{pod, 2}, {"bad\xfe", 1}};
	r.configs[0].failed = "connect: \"No route\"\n";
	r.configs[0].markers[0].label = "weight\t0";
	const Json j = Json::parse(render_json(r));
	const Json &c = j["configs"].at(0);
	EXPECT_EQ(c["phases"].at(0)["pods"][pod], 2);
	EXPECT_EQ(c["phases"].at(0)["pods"]["bad\xef\xbf\xbd"], 1);
	EXPECT_EQ(c["failed"], *r.configs[0].failed);
	EXPECT_EQ(c["markers"].at(0)["label"], "weight\t0");
}

TEST(BenchPrinters, XmlEscape)
{
	EXPECT_EQ(xml_escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
}

TEST(BenchPrinters, TableSideBySide)
{
	const std::string t = render_table(sample_report());
	EXPECT_NE(t.find("phase warm\n"), std::string::npos) << t;
	EXPECT_NE(t.find("phase destroyed\n"), std::string::npos) << t;
	EXPECT_NE(t.find("  legacy         3      3 -                            pod-a=3"), std::string::npos) << t;
	EXPECT_NE(t.find("EHOSTUNREACH=1,ETIMEDOUT=1"), std::string::npos) << t;
	EXPECT_NE(t.find("variant: skipped: stock \"module\"\n"), std::string::npos) << t;
	EXPECT_NE(t.find("legacy: long-lived connection alive after draining; old pod not drained within 1.5 s\n"),
		  std::string::npos)
		<< t;
}

TEST(BenchPrinters, SvgTimeline)
{
	const std::string s = render_svg(sample_report());
	EXPECT_EQ(s.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
	EXPECT_EQ(s.substr(s.size() - 7), "</svg>\n");
	// 100 ms bins: bin 0 holds two ok/pod-a, bin 1 one, bin 2 one of each error and one ok/pod-<b>.
	EXPECT_NE(s.find("<title>ok pod-a: 2</title>"), std::string::npos) << s;
	EXPECT_NE(s.find("<title>ok pod-a: 1</title>"), std::string::npos) << s;
	EXPECT_NE(s.find("<title>EHOSTUNREACH: 1</title>"), std::string::npos) << s;
	EXPECT_NE(s.find("<title>ETIMEDOUT: 1</title>"), std::string::npos) << s;
	EXPECT_NE(s.find("<title>ok pod-&lt;b&gt;: 1</title>"), std::string::npos) << s;
	EXPECT_EQ(s.find("pod-<b>"), std::string::npos);
	// Three bins get 20 px bars; the marker at 200 ms sits at the start of the third: x = 60 + 2 * 20.
	EXPECT_NE(s.find("<rect x=\"100\" y=\""), std::string::npos) << s;
	EXPECT_NE(s.find("<line x1=\"100\" y1=\"30\" x2=\"100\""), std::string::npos) << s;
	EXPECT_NE(s.find(">pod A destroyed</text>"), std::string::npos);
	// Only configurations with connections get a panel; the skipped one has none.
	EXPECT_NE(s.find("font-weight=\"bold\">legacy</text>"), std::string::npos);
	EXPECT_EQ(s.find(">variant</text>"), std::string::npos);
	// Pods take the blues and greens, errors the reds, in a fixed order.
	EXPECT_NE(s.find("fill=\"#4c78a8\"><title>ok pod-&lt;b&gt;"), std::string::npos) << s;
	EXPECT_NE(s.find("fill=\"#e45756\"><title>EHOSTUNREACH"), std::string::npos) << s;
}
