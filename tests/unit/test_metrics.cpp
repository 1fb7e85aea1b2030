// SPDX-License-Identifier: GPL-2.0
// 'metrics': the Prometheus text printer on fixed reports, its escaping, its options, and the atomic file writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ipvs_drain/metrics.h"
#include "ipvs_drain/options.h"
#include "ipvs_drain/textfile.h"
#include "ipvs_drain/uapi.h"

using namespace ipvs;
using namespace ipvs::metrics;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> out;
	std::istringstream in(text);
	for (std::string l; std::getline(in, l);)
		out.push_back(l);
	return out;
}

std::vector<std::string> samples_of(const std::string &text)
{
	std::vector<std::string> out;
	for (const auto &l : lines_of(text))
		if (!l.starts_with("#"))
			out.push_back(l);
	return out;
}

// What Prometheus requires of the text format, checked independently of the printer: names, HELP and
// TYPE before a family's samples, a family's samples together, counters named _total, label values
// with only the three escapes, no series twice, a final newline. Returns the problems found.
std::vector<std::string> format_problems(const std::string &text)
{
	std::vector<std::string> bad;
	if (text.empty() || text.back() != '\n')
		bad.push_back("does not end with a newline");
	static const std::regex help(R"(# HELP (ipvs_drain_[a-z0-9_]+) [^\n]+)");
	static const std::regex type(R"(# TYPE (ipvs_drain_[a-z0-9_]+) (gauge|counter))");
	static const std::regex sample(R"((ipvs_drain_[a-z0-9_]+)(\{([a-z_]+="([^"\\]|\\[\\"n])*",?)*\})? (0|[1-9][0-9]*))");
	std::map<std::string, std::string> types;
	std::set<std::string> helped, done, series;
	std::string current;
	for (const auto &l : lines_of(text)) {
		std::smatch m;
		if (std::regex_match(l, m, help)) {
			if (!helped.insert(m[1]).second)
				bad.push_back("HELP twice: " + l);
		} else if (std::regex_match(l, m, type)) {
			if (!helped.count(m[1]))
				bad.push_back("TYPE before HELP: " + l);
			if (!types.emplace(m[1], m[2]).second)
				bad.push_back("TYPE twice: " + l);
			if (m[2] == "counter" && !std::string(m[1]).ends_with("_total"))
				bad.push_back("counter without _total: " + l);
			if (!current.empty())
				done.insert(current);
			current = m[1];
		} else if (std::regex_match(l, m, sample)) {
			if (m[1] != current)
				bad.push_back("sample outside its family's block: " + l);
			if (done.count(m[1]))
				bad.push_back("family split: " + l);
			if (!series.insert(l.substr(0, l.rfind(' '))).second)
				bad.push_back("series twice: " + l);
		} else {
			bad.push_back("not a valid line: " + l);
		}
	}
	return bad;
}

status::ServiceRisk risk_row(int af, std::uint16_t proto, const char *addr, std::uint16_t port, std::uint32_t fwmark,
			     std::uint64_t tw)
{
	status::ServiceRisk r;
	r.af = af;
	r.protocol = proto;
	if (af == AF_INET6) {
		EXPECT_EQ(inet_pton(AF_INET6, addr, r.addr.bytes.data()), 1);
	} else {
		EXPECT_EQ(inet_pton(AF_INET, addr, r.addr.bytes.data()), 1);
	}
	r.port = port;
	r.fwmark = fwmark;
	if (tw) {
		status::DestRisk d;
		d.time_wait = tw;
		r.dests.push_back(d);
	}
	return r;
}

status::Report report(std::optional<int> knob, std::optional<std::map<std::string, std::uint64_t>> counters)
{
	status::Report r;
	r.kernel = "6.1.0-56-amd64";
	r.ipvs_version = "1.2.1";
	r.variant_loaded = knob.has_value();
	if (knob)
		r.variant_version = "0.1.0";
	r.sysctls = {{"conn_reuse_mode", 0}, {"expire_nodest_conn", 1}, {"expire_quiescent_template", 0},
		     {"conntrack", 1}, {"conn_reuse_quiescent", knob}};
	r.counters = std::move(counters);
	return r;
}

Snapshot two_namespaces()
{
	Snapshot s;
	s.kernel = "6.1.0-56-amd64";
	s.ipvs_loaded = true;
	status::Report own = report(1, std::map<std::string, std::uint64_t>{{"dropped_old_conntrack", 2}, {"rescheduled", 17}});
	own.risk = {risk_row(AF_INET, IPPROTO_TCP, "10.96.0.1", 80, 0, 12),
		    risk_row(AF_INET6, IPPROTO_TCP, "fd00:96::1", 443, 0, 3),
		    risk_row(AF_INET, IPPROTO_UDP, "10.96.0.2", 53, 0, 0),
		    risk_row(AF_INET, 0, "0.0.0.0", 0, 7, 1),
		    risk_row(AF_INET6, 0, "::", 0, 7, 0)};
	status::Report blue = report(3, std::map<std::string, std::uint64_t>{{"dropped_old_conntrack", 0}, {"rescheduled", 0}});
	blue.sysctls[0].second = 1;
	blue.risk = {risk_row(AF_INET, IPPROTO_SCTP, "192.0.2.1", 3868, 0, 0)};
	s.netns = {{"", own}, {"blue", blue}};
	return s;
}

std::string type_lines(const std::string &text)
{
	std::string out;
	for (const auto &l : lines_of(text))
		if (l.starts_with("# TYPE "))
			out += l.substr(7) + "\n";
	return out;
}

} // namespace

// The checker above must itself catch what Prometheus rejects, or the tests that use it prove nothing.
TEST(MetricsFormatCheck, CatchesBrokenExpositions)
{
	const std::string head = "# HELP ipvs_drain_a x\n# TYPE ipvs_drain_a gauge\n";
	EXPECT_TRUE(format_problems(head + "ipvs_drain_a 1\n").empty());
	for (const std::string &bad : std::vector<std::string>{
		     head + "ipvs_drain_a 1",                                    // no final newline
		     std::string("# TYPE ipvs_drain_a gauge\nipvs_drain_a 1\n"), // no HELP
		     std::string("# HELP ipvs_drain_a x\nipvs_drain_a 1\n"),     // no TYPE
		     head + "ipvs_drain_b 1\n",                                 // sample of another family
		     head + "ipvs_drain_a{l=\"1\"} 1\nipvs_drain_a{l=\"1\"} 2\n", // a series twice
		     head + "ipvs_drain_a{l=\"a\\qb\"} 1\n",                    // an escape the format lacks
		     head + "ipvs_drain_a{l=\"a\"b\"} 1\n",                      // a bare quote
		     "# HELP ipvs_drain_c x\n# TYPE ipvs_drain_c counter\nipvs_drain_c 1\n", // counter without _total
		     head + "# HELP ipvs_drain_b x\n# TYPE ipvs_drain_b gauge\nipvs_drain_b 1\nipvs_drain_a 2\n", // split
	     })
		EXPECT_FALSE(format_problems(bad).empty()) << bad;
}

TEST(MetricsRender, FamiliesTypesAndSamples)
{
	const std::string text = render(two_namespaces());
	EXPECT_EQ(format_problems(text), std::vector<std::string>{}) << text;
	EXPECT_EQ(type_lines(text), "ipvs_drain_ipvs_loaded gauge\n"
				    "ipvs_drain_variant_loaded gauge\n"
				    "ipvs_drain_variant_info gauge\n"
				    "ipvs_drain_kernel_info gauge\n"
				    "ipvs_drain_kernel_weight0_fix gauge\n"
				    "ipvs_drain_sysctl_conn_reuse_mode gauge\n"
				    "ipvs_drain_sysctl_expire_nodest_conn gauge\n"
				    "ipvs_drain_sysctl_expire_quiescent_template gauge\n"
				    "ipvs_drain_sysctl_conntrack gauge\n"
				    "ipvs_drain_sysctl_conn_reuse_quiescent gauge\n"
				    "ipvs_drain_dropped_old_conntrack_total counter\n"
				    "ipvs_drain_rescheduled_total counter\n"
				    "ipvs_drain_risk_entries gauge\n");
	const std::vector<std::string> want = {
		"ipvs_drain_ipvs_loaded 1",
		"ipvs_drain_variant_loaded 1",
		"ipvs_drain_variant_info{version=\"0.1.0\"} 1",
		"ipvs_drain_kernel_info{release=\"6.1.0-56-amd64\"} 1",
		"ipvs_drain_kernel_weight0_fix{state=\"yes\"} 1",
		"ipvs_drain_kernel_weight0_fix{state=\"unknown\"} 0",
		"ipvs_drain_sysctl_conn_reuse_mode{netns=\"\"} 0",
		"ipvs_drain_sysctl_conn_reuse_mode{netns=\"blue\"} 1",
		"ipvs_drain_sysctl_expire_nodest_conn{netns=\"\"} 1",
		"ipvs_drain_sysctl_expire_nodest_conn{netns=\"blue\"} 1",
		"ipvs_drain_sysctl_expire_quiescent_template{netns=\"\"} 0",
		"ipvs_drain_sysctl_expire_quiescent_template{netns=\"blue\"} 0",
		"ipvs_drain_sysctl_conntrack{netns=\"\"} 1",
		"ipvs_drain_sysctl_conntrack{netns=\"blue\"} 1",
		"ipvs_drain_sysctl_conn_reuse_quiescent{netns=\"\"} 1",
		"ipvs_drain_sysctl_conn_reuse_quiescent{netns=\"blue\"} 3",
		"ipvs_drain_dropped_old_conntrack_total{netns=\"\"} 2",
		"ipvs_drain_dropped_old_conntrack_total{netns=\"blue\"} 0",
		"ipvs_drain_rescheduled_total{netns=\"\"} 17",
		"ipvs_drain_rescheduled_total{netns=\"blue\"} 0",
		"ipvs_drain_risk_entries{netns=\"\",protocol=\"TCP\",family=\"ipv4\",service=\"10.96.0.1:80\"} 12",
		"ipvs_drain_risk_entries{netns=\"\",protocol=\"TCP\",family=\"ipv6\",service=\"[fd00:96::1]:443\"} 3",
		"ipvs_drain_risk_entries{netns=\"\",protocol=\"UDP\",family=\"ipv4\",service=\"10.96.0.2:53\"} 0",
		"ipvs_drain_risk_entries{netns=\"\",protocol=\"FWM\",family=\"ipv4\",service=\"7\"} 1",
		"ipvs_drain_risk_entries{netns=\"\",protocol=\"FWM\",family=\"ipv6\",service=\"7\"} 0",
		"ipvs_drain_risk_entries{netns=\"blue\",protocol=\"SCTP\",family=\"ipv4\",service=\"192.0.2.1:3868\"} 0",
	};
	EXPECT_EQ(samples_of(text), want) << text;
	// Every family has a HELP line, right before its TYPE line.
	const auto lines = lines_of(text);
	for (std::size_t i = 0; i < lines.size(); i++)
		if (lines[i].starts_with("# TYPE ")) {
			ASSERT_GT(i, 0u);
			const std::string name = lines[i].substr(7, lines[i].find(' ', 7) - 7);
			EXPECT_TRUE(lines[i - 1].starts_with("# HELP " + name + " ")) << lines[i - 1];
		}
}

TEST(MetricsRender, StockModuleHasNoKnobNoCountersNoVersion)
{
	Snapshot s;
	s.kernel = "6.1.0-56-amd64";
	s.ipvs_loaded = true;
	status::Report stock = report(std::nullopt, std::nullopt);
	stock.risk = {risk_row(AF_INET, IPPROTO_TCP, "10.96.0.1", 80, 0, 4)};
	s.netns = {{"", stock}, {"blue", report(std::nullopt, std::nullopt)}};
	const std::string text = render(s);
	EXPECT_EQ(format_problems(text), std::vector<std::string>{}) << text;
	EXPECT_EQ(text.find("ipvs_drain_sysctl_conn_reuse_quiescent"), std::string::npos) << text; // no sample, HELP, TYPE
	EXPECT_EQ(text.find("_total"), std::string::npos) << text;
	EXPECT_EQ(text.find("variant_info"), std::string::npos) << text;
	const auto samples = samples_of(text);
	EXPECT_NE(std::find(samples.begin(), samples.end(), "ipvs_drain_variant_loaded 0"), samples.end()) << text;
	EXPECT_NE(std::find(samples.begin(), samples.end(), "ipvs_drain_sysctl_conn_reuse_mode{netns=\"blue\"} 0"),
		  samples.end())
		<< text;
	EXPECT_NE(std::find(samples.begin(), samples.end(),
			    "ipvs_drain_risk_entries{netns=\"\",protocol=\"TCP\",family=\"ipv4\",service=\"10.96.0.1:80\"} 4"),
		  samples.end())
		<< text;
}

TEST(MetricsRender, IpvsNotLoadedGivesOnlyTheGlobalFamilies)
{
	Snapshot s;
	s.kernel = "6.1.0-56-amd64";
	s.ipvs_loaded = false;
	const std::string text = render(s);
	EXPECT_EQ(format_problems(text), std::vector<std::string>{}) << text;
	const std::vector<std::string> want = {
		"ipvs_drain_ipvs_loaded 0",
		"ipvs_drain_variant_loaded 0",
		"ipvs_drain_kernel_info{release=\"6.1.0-56-amd64\"} 1",
		"ipvs_drain_kernel_weight0_fix{state=\"yes\"} 1",
		"ipvs_drain_kernel_weight0_fix{state=\"unknown\"} 0",
	};
	EXPECT_EQ(samples_of(text), want) << text;
}

// Below 5.16 only a backport could tell (Debian's 5.10 has one): "unknown", never a guessed "no".
TEST(MetricsRender, Weight0FixUnknownBelow516ExactlyOneStateSet)
{
	for (const auto &[kernel, yes] : std::vector<std::pair<std::string, bool>>{{"5.10.0-30-amd64", false},
										  {"5.15.99", false},
										  {"5.16.0", true},
										  {"7.3.4+deb13-amd64", true},
										  {"garbage", false}}) {
		Snapshot s;
		s.kernel = kernel;
		const auto samples = samples_of(render(s));
		std::vector<std::string> states;
		for (const auto &l : samples)
			if (l.starts_with("ipvs_drain_kernel_weight0_fix"))
				states.push_back(l);
		EXPECT_EQ(states, (std::vector<std::string>{
					  std::string("ipvs_drain_kernel_weight0_fix{state=\"yes\"} ") + (yes ? "1" : "0"),
					  std::string("ipvs_drain_kernel_weight0_fix{state=\"unknown\"} ") + (yes ? "0" : "1")}))
			<< kernel;
	}
}

TEST(MetricsRender, VariantWithoutReadableVersionHasNoInfoSample)
{
	Snapshot s;
	s.kernel = "6.1.0-56-amd64";
	s.ipvs_loaded = true;
	status::Report r = report(0, std::nullopt);
	r.variant_version.reset();
	s.netns = {{"", r}};
	const std::string text = render(s);
	EXPECT_EQ(format_problems(text), std::vector<std::string>{}) << text;
	EXPECT_NE(text.find("\nipvs_drain_variant_loaded 1\n"), std::string::npos) << text;
	EXPECT_EQ(text.find("variant_info"), std::string::npos) << text;
	EXPECT_NE(text.find("\nipvs_drain_sysctl_conn_reuse_quiescent{netns=\"\"} 0\n"), std::string::npos) << text;
}

TEST(MetricsRender, CounterNamesFromTheKernelFile)
{
	Snapshot s;
	s.kernel = "6.1.0-56-amd64";
	s.ipvs_loaded = true;
	s.netns = {{"", report(1, std::map<std::string, std::uint64_t>{
					  {"rescheduled", 18446744073709551615ull}, {"future_one", 5}, {"bad-name", 1}, {"9lives", 1}})}};
	const std::string text = render(s);
	EXPECT_EQ(format_problems(text), std::vector<std::string>{}) << text;
	EXPECT_NE(text.find("\nipvs_drain_rescheduled_total{netns=\"\"} 18446744073709551615\n"), std::string::npos) << text;
	EXPECT_NE(text.find("# HELP ipvs_drain_future_one_total Counter future_one of /proc/net/ip_vs_reuse_stats.\n"
			    "# TYPE ipvs_drain_future_one_total counter\n"
			    "ipvs_drain_future_one_total{netns=\"\"} 5\n"),
		  std::string::npos)
		<< text;
	EXPECT_EQ(text.find("bad"), std::string::npos) << text; // no valid metric name: left out
	EXPECT_EQ(text.find("9lives"), std::string::npos) << text;
}

TEST(MetricsEscape, LabelValues)
{
	EXPECT_EQ(escape_label_value("plain-ns_1.2"), "plain-ns_1.2");
	EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
	EXPECT_EQ(escape_label_value("say \"hi\""), "say \\\"hi\\\"");
	EXPECT_EQ(escape_label_value("two\nlines"), "two\\nlines");
	EXPECT_EQ(escape_label_value("tab\tand\rcr"), "tab\tand\rcr"); // not escaped by the format
	EXPECT_EQ(escape_label_value("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\xa7"), "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\xa7");
	const std::string fffd = "\xef\xbf\xbd";
	EXPECT_EQ(escape_label_value("bad \xff byte"), "bad " + fffd + " byte");
	EXPECT_EQ(escape_label_value("\xc0\xaf"), fffd + fffd);                 // overlong '/'
	EXPECT_EQ(escape_label_value("\xed\xa0\x80"), fffd + fffd + fffd);      // a surrogate
	EXPECT_EQ(escape_label_value("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd); // past U+10FFFF
	EXPECT_EQ(escape_label_value("cut \xe2\x9c"), "cut " + fffd + fffd);
	EXPECT_EQ(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
}

// A /run/netns name may hold any byte but '/' and NUL: it must still give one valid sample line.
TEST(MetricsEscape, NetnsNamesInTheOutput)
{
	Snapshot s = two_namespaces();
	s.netns[1].label = "we\\ird \"ns\"\nname\xff";
	const std::string text = render(s);
	EXPECT_EQ(format_problems(text), std::vector<std::string>{}) << text;
	EXPECT_NE(text.find("\nipvs_drain_sysctl_conn_reuse_quiescent{netns=\"we\\\\ird \\\"ns\\\"\\nname\xef\xbf\xbd\"} 3\n"),
		  std::string::npos)
		<< text;
}

TEST(MetricsOptions, NetnsRepeatsAndTextfileDir)
{
	auto p = options::parse_metrics({"--netns", "blue", "--netns=red", "--textfile-dir", "/var/lib/x"});
	ASSERT_TRUE(std::holds_alternative<options::MetricsOptions>(p));
	const auto &o = std::get<options::MetricsOptions>(p);
	EXPECT_EQ(o.netns, (std::vector<std::string>{"blue", "red"}));
	EXPECT_EQ(o.textfile_dir, std::optional<std::string>("/var/lib/x"));
	EXPECT_FALSE(o.help);

	auto d = options::parse_metrics({});
	ASSERT_TRUE(std::holds_alternative<options::MetricsOptions>(d));
	EXPECT_TRUE(std::get<options::MetricsOptions>(d).netns.empty());
	EXPECT_FALSE(std::get<options::MetricsOptions>(d).textfile_dir);
	EXPECT_TRUE(std::get<options::MetricsOptions>(options::parse_metrics({"-h"})).help);

	const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
		{{"--textfile-dir", ""}, "needs a non-empty directory"},
		{{"--textfile-dir", "a", "--textfile-dir", "b"}, "more than once"},
		{{"--textfile-dir"}, "needs a value"},
		{{"--netns", "a/b"}, "Invalid netns name"},
		{{"--netns", ".."}, "Invalid netns name"},
		{{"extra"}, "Unexpected argument 'extra'"},
		{{"--json"}, "Unknown option '--json' for 'metrics'"},
	};
	for (const auto &[args, want] : bad) {
		auto r = options::parse_metrics(args);
		ASSERT_TRUE(std::holds_alternative<options::UsageError>(r)) << want;
		EXPECT_NE(std::get<options::UsageError>(r).message.find(want), std::string::npos)
			<< std::get<options::UsageError>(r).message;
	}
}

namespace {

// A fresh directory for one test, removed with everything in it.
class TextfileTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		std::string tmpl = (fs::temp_directory_path() / "ipvsd-textfile.XXXXXX").string();
		ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
		dir = tmpl;
		target = dir + "/ipvs_drain.prom";
	}
	void TearDown() override { fs::remove_all(dir); }

	static std::string slurp(const std::string &path)
	{
		std::ifstream f(path, std::ios::binary);
		return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
	}
	void put(const std::string &text) { std::ofstream(target, std::ios::binary) << text; }
	std::vector<std::string> names() const
	{
		std::vector<std::string> out;
		for (const auto &e : fs::directory_iterator(dir))
			out.push_back(e.path().filename().string());
		std::sort(out.begin(), out.end());
		return out;
	}

	std::string dir, target;
};

} // namespace

TEST_F(TextfileTest, WritesTheWholeContentWithMode0644)
{
	const mode_t old = ::umask(077); // the mode must not depend on the caller's umask
	auto err = textfile::replace(dir, "ipvs_drain.prom", "a 1\nb 2\n");
	::umask(old);
	EXPECT_FALSE(err) << *err;
	EXPECT_EQ(slurp(target), "a 1\nb 2\n");
	struct stat st{};
	ASSERT_EQ(::stat(target.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0644u);
	EXPECT_EQ(names(), std::vector<std::string>{"ipvs_drain.prom"});
}

TEST_F(TextfileTest, ReplacesAnOldFileAndToleratesTrailingSlashes)
{
	put("old 1\n");
	EXPECT_FALSE(textfile::replace(dir + "//", "ipvs_drain.prom", "new 2\n"));
	EXPECT_EQ(slurp(target), "new 2\n");
	EXPECT_EQ(names(), std::vector<std::string>{"ipvs_drain.prom"});
}

TEST_F(TextfileTest, ShortWritesAndEintrAreRetried)
{
	textfile::Io io = textfile::system_io();
	int calls = 0;
	io.write = [&](int fd, const void *buf, std::size_t n) -> ssize_t {
		if (++calls == 2) {
			errno = EINTR;
			return -1;
		}
		return ::write(fd, buf, std::min<std::size_t>(n, 3));
	};
	const std::string content(100, 'x');
	EXPECT_FALSE(textfile::replace(dir, "ipvs_drain.prom", content, io));
	EXPECT_EQ(slurp(target), content);
	EXPECT_GT(calls, 30);
}

// Each step failing in turn: the old file is untouched, the temporary file is gone, and the error is one
// line naming the file, the step and the errno.
TEST_F(TextfileTest, AnyFailingStepKeepsTheOldFileAndRemovesTheTemporary)
{
	struct Case {
		const char *step;
		int err;
		std::function<void(textfile::Io &)> inject;
	};
	auto fail = [](int e) {
		return [e](auto...) {
			errno = e;
			return -1;
		};
	};
	const std::vector<Case> cases = {
		{"creating a temporary file in", EROFS, [&](textfile::Io &io) { io.mkstemp = fail(EROFS); }},
		{"writing", ENOSPC,
		 [&](textfile::Io &io) {
			 // A first part goes out, then the disk is full.
			 auto calls = std::make_shared<int>(0);
			 io.write = [calls](int fd, const void *buf, std::size_t n) -> ssize_t {
				 if ((*calls)++ == 0)
					 return ::write(fd, buf, n / 2);
				 errno = ENOSPC;
				 return -1;
			 };
		 }},
		{"writing", EIO, [&](textfile::Io &io) { io.write = [](int, const void *, std::size_t) -> ssize_t { return 0; }; }},
		{"setting mode 0644 on", EPERM, [&](textfile::Io &io) { io.fchmod = fail(EPERM); }},
		{"syncing", EIO, [&](textfile::Io &io) { io.fsync = fail(EIO); }},
		{"closing", EDQUOT,
		 [&](textfile::Io &io) {
			 io.close = [](int fd) {
				 ::close(fd);
				 errno = EDQUOT;
				 return -1;
			 };
		 }},
		{"renaming", EXDEV, [&](textfile::Io &io) { io.rename = fail(EXDEV); }},
	};
	for (const Case &c : cases) {
		put("old 1\n");
		textfile::Io io = textfile::system_io();
		c.inject(io);
		auto err = textfile::replace(dir, "ipvs_drain.prom", std::string(4096, 'n'), io);
		ASSERT_TRUE(err) << c.step;
		EXPECT_EQ(err->find('\n'), std::string::npos) << *err;
		EXPECT_NE(err->find("Cannot update " + target + " (" + c.step), std::string::npos) << *err;
		EXPECT_NE(err->find(std::strerror(c.err)), std::string::npos) << *err;
		EXPECT_NE(err->find("it is left as it was."), std::string::npos) << *err;
		EXPECT_EQ(slurp(target), "old 1\n") << c.step;
		EXPECT_EQ(names(), std::vector<std::string>{"ipvs_drain.prom"}) << c.step;
	}
}

// Real kernel refusals, nothing injected: a directory that does not exist, and a directory standing
// where the file goes (rename(2) gives EISDIR).
TEST_F(TextfileTest, RealFailuresLeaveNothingBehind)
{
	auto err = textfile::replace(dir + "/missing", "ipvs_drain.prom", "a 1\n");
	ASSERT_TRUE(err);
	EXPECT_NE(err->find(std::strerror(ENOENT)), std::string::npos) << *err;
	EXPECT_TRUE(names().empty());

	fs::create_directory(target);
	std::ofstream(target + "/keep") << "k";
	err = textfile::replace(dir, "ipvs_drain.prom", "a 1\n");
	ASSERT_TRUE(err);
	EXPECT_NE(err->find("renaming"), std::string::npos) << *err;
	EXPECT_NE(err->find(std::strerror(EISDIR)), std::string::npos) << *err;
	EXPECT_EQ(names(), std::vector<std::string>{"ipvs_drain.prom"});
	EXPECT_EQ(slurp(target + "/keep"), "k");
}
