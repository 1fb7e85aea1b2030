// SPDX-License-Identifier: GPL-2.0
// The rule parser and printer: ipvsadm's defaults and spellings, line-numbered errors, and round trips
// through bytes that the real 'ipvsadm -Sn' printed (Debian 6.1 guest, ipvsadm 1.31).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "ipvs_drain/rules.h"
#include "ipvs_drain/uapi.h"

using namespace ipvs;
using namespace ipvs::rules;
namespace u = ipvs::uapi;

namespace {

const format::NoResolver kNumeric;

// Captured with 'ipvsadm -Sn' after programming every feature by hand with ipvsadm.
const char kIpvsadmSn[] = R"(-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 0
-a -t 10.0.0.1:80 -r 10.1.0.2:80 -i -w 3 --tun-type ipip
-A -t 10.0.0.3:443 -s wlc -p 360
-A -t 10.0.0.4:22 -s dh
-a -t 10.0.0.4:22 -r 127.0.0.1:22 -g -w 1
-A -u 10.0.0.1:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.1:53 -r 10.1.0.3:53 -g -w 2
-A -u 10.0.0.2:5060 -s rr -p 120 --pe sip
-a -u 10.0.0.2:5060 -r 10.1.0.9:5060 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-a -u 10.0.0.2:5060 -r 10.1.0.10:5060 -i -w 1 --tun-type gre --tun-csum
-a -u 10.0.0.2:5060 -r 10.1.0.11:5060 -i -w 1 --tun-type ipip
-A --sctp-service [2001:db8::1]:9 -s mh -b mh-port
-a --sctp-service [2001:db8::1]:9 -r [2001:db8::2]:9 -m -w 5
-A -f 5 -s rr
-A -f 6 -6 -s lc -p 60 -M 64
-a -f 6 -6 -r [2001:db8::5]:0 -g -w 1
)";

Command one(const std::string &line)
{
	auto r = parse(line, options::no_lookups());
	if (auto *e = std::get_if<ParseError>(&r))
		ADD_FAILURE() << line << ": " << e->text();
	return std::holds_alternative<ParseError>(r) ? Command{} : std::get<std::vector<Command>>(r).at(0);
}

std::string error_of(const std::string &text)
{
	auto r = parse(text, options::no_lookups());
	auto *e = std::get_if<ParseError>(&r);
	return e ? e->text() : std::string("(parsed)");
}

std::vector<Service> replay(const std::string &text)
{
	auto r = parse(text, options::no_lookups());
	EXPECT_TRUE(std::holds_alternative<std::vector<Command>>(r)) << error_of(text);
	std::vector<Service> table;
	Timeouts t;
	if (auto *cmds = std::get_if<std::vector<Command>>(&r)) {
		for (const auto &c : *cmds)
			EXPECT_EQ(apply(table, t, c), "") << "line " << c.line;
	}
	return table;
}

} // namespace

TEST(Rules, RealIpvsadmOutputRoundTripsByteForByte)
{
	auto table = replay(kIpvsadmSn);
	ASSERT_EQ(table.size(), 8u);
	EXPECT_EQ(save(table, SaveOptions{}, kNumeric), kIpvsadmSn);
}

TEST(Rules, DefaultsAreIpvsadms)
{
	Command c = one("-A -t 10.0.0.1:80");
	EXPECT_EQ(c.verb, Verb::AddService);
	EXPECT_EQ(c.svc.sched_name, "wlc");
	EXPECT_EQ(c.svc.af, AF_INET);
	EXPECT_EQ(c.svc.netmask, 0xffffffffu);
	EXPECT_EQ(c.svc.flags, 0u);

	c = one("-A -t 10.0.0.1:443 -p");
	EXPECT_EQ(c.svc.flags, u::SVC_F_PERSISTENT);
	EXPECT_EQ(c.svc.timeout, 360u);

	c = one("-A -f 6 -6 -s lc -p 60 -M 64");
	EXPECT_EQ(c.svc.af, AF_INET6);
	EXPECT_EQ(c.svc.fwmark, 6u);
	EXPECT_EQ(c.svc.netmask, 64u);

	c = one("-a -t 10.0.0.1:80 -r 10.1.0.1");
	EXPECT_EQ(c.verb, Verb::AddDest);
	EXPECT_EQ(c.dest.conn_flags, u::CONN_F_DROUTE);
	EXPECT_EQ(c.dest.weight, 1u);
	EXPECT_EQ(c.dest.port, 80); // no port: the service's
}

TEST(Rules, RouteAndTunnelTakeTheServicePortMasqKeepsItsOwn)
{
	EXPECT_EQ(one("-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -i").dest.port, 80);
	EXPECT_EQ(one("-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -g").dest.port, 80);
	EXPECT_EQ(one("-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m").dest.port, 8080);
	EXPECT_EQ(one("-a -t 10.0.0.1:80 -r 10.1.0.2 -m").dest.port, 80);
	EXPECT_EQ(one("-a -f 5 -r 10.1.0.2 -g").dest.port, 0);
}

TEST(Rules, EveryAttribute)
{
	Command c = one("-A -u 10.0.0.1:53 -s sh -b sh-fallback,sh-port -o");
	EXPECT_EQ(c.svc.protocol, IPPROTO_UDP);
	EXPECT_EQ(c.svc.flags, u::SVC_F_SCHED1 | u::SVC_F_SCHED2 | u::SVC_F_ONEPACKET);
	c = one("-A -u 10.0.0.2:5060 -s rr -p 120 --pe sip");
	EXPECT_EQ(c.svc.pe_name, "sip");
	c = one("-A --sctp-service [2001:db8::1]:9 -s mh -b mh-port");
	EXPECT_EQ(c.svc.protocol, IPPROTO_SCTP);
	EXPECT_EQ(c.svc.af, AF_INET6);
	EXPECT_EQ(c.svc.port, 9);
	EXPECT_EQ(c.svc.flags, u::SVC_F_SCHED2);
	c = one("-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0");
	in_addr m{};
	inet_pton(AF_INET, "255.255.255.0", &m);
	EXPECT_EQ(c.svc.netmask, m.s_addr);

	c = one("-a -u 10.0.0.2:5060 -r 10.1.0.9:5060 -i -w 0 --tun-type gue --tun-port 6080 --tun-nocsum");
	EXPECT_EQ(c.dest.conn_flags, u::CONN_F_TUNNEL);
	EXPECT_EQ(c.dest.weight, 0u);
	EXPECT_EQ(c.dest.tun_type, u::TUNNEL_TYPE_GUE);
	EXPECT_EQ(c.dest.tun_port, 6080);
	EXPECT_EQ(c.dest.tun_flags, u::TUNNEL_ENCAP_FLAG_NOCSUM);
	c = one("-a -u 10.0.0.2:5060 -r 10.1.0.10 -i --tun-type gre --tun-remcsum");
	EXPECT_EQ(c.dest.tun_flags, u::TUNNEL_ENCAP_FLAG_REMCSUM);
	c = one("--add-server --tcp-service=10.0.0.1:80 --real-server=10.1.0.1:81 --masquerading --weight=7 -x100 -y 50");
	EXPECT_EQ(c.dest.weight, 7u);
	EXPECT_EQ(c.dest.u_threshold, 100u);
	EXPECT_EQ(c.dest.l_threshold, 50u);
	EXPECT_EQ(c.dest.port, 81);

	c = one("--set 901 0 301");
	EXPECT_EQ(c.verb, Verb::SetTimeouts);
	EXPECT_EQ(c.timeouts.tcp, 901u);
	EXPECT_EQ(c.timeouts.tcp_fin, 0u);
	EXPECT_EQ(c.timeouts.udp, 301u);
	EXPECT_EQ(one("-C").verb, Verb::Clear);
	EXPECT_EQ(one("-D -f 5").verb, Verb::DelService);
	EXPECT_EQ(one("-d -t 10.0.0.1:80 -r 10.1.0.1").verb, Verb::DelDest);
	EXPECT_EQ(one("-E -t 10.0.0.1:80 -s rr").verb, Verb::EditService);
	EXPECT_EQ(one("-e -t 10.0.0.1:80 -r 10.1.0.1 -w 3").verb, Verb::EditDest);
}

TEST(Rules, ErrorsNameTheirLine)
{
	EXPECT_EQ(error_of("# c\n\n-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 -q\n"), "line 4: unknown option '-q'");
	EXPECT_EQ(error_of("-a -t 10.0.0.1:80 -r 10.1.0.1 -w 70000"), "line 1: invalid weight '70000': expected 0 to 65535");
	EXPECT_EQ(error_of("-A -a -t 10.0.0.1:80"), "line 1: two commands on one line: -A (add-service) and -a");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -r 1.2.3.4"), "line 1: option '-r' is not allowed with -A (add-service)");
	EXPECT_EQ(error_of("-t 10.0.0.1:80"), "line 1: no command: a rule line starts with -A, -E, -D, -C, -a, -e, -d or --set");
	EXPECT_EQ(error_of("-A"), "line 1: -A (add-service) needs a service: -t, -u or --sctp-service ADDR, or -f FWMARK");
	EXPECT_EQ(error_of("-a -t 10.0.0.1:80"), "line 1: -a (add-server) needs a destination: -r ADDR[:PORT]");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -s"), "line 1: option '-s' needs a value");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 stray"), "line 1: unexpected word 'stray' (every word must belong to an option)");
	EXPECT_EQ(error_of("--set 1 2"), "line 1: option '--set' needs three values: --set TCP TCPFIN UDP");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -p 0"),
		  "line 1: invalid persistence timeout '0': expected 1 to 2678400 seconds");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -p -M 255.0.0.300"),
		  "line 1: invalid netmask '255.0.0.300': expected a dotted IPv4 mask such as 255.255.255.0");
	EXPECT_EQ(error_of("-A -t [::1]:80 -p -M 129"),
		  "line 1: invalid IPv6 netmask '129': expected a prefix length from 1 to 128");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -b sh-nope"),
		  "line 1: invalid scheduler flag 'sh-nope': expected sh-fallback, sh-port, mh-fallback, mh-port or flag-1..3");
	EXPECT_EQ(error_of("-a -t 10.0.0.1:80 -r 10.1.0.1 -m --tun-type gre"), "line 1: tunnel options need -i (ipip forwarding)");
	EXPECT_EQ(error_of("-a -t 10.0.0.1:80 -r 10.1.0.1 -i --tun-type gue"), "line 1: --tun-type gue needs --tun-port");
	EXPECT_EQ(error_of("-a -t 10.0.0.1:80 -r 10.1.0.1 -i --tun-csum"),
		  "line 1: checksum options only go with --tun-type gue or gre");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -g"), "line 1: option '-g' is not allowed with -A (add-service)");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -u 10.0.0.1:80"),
		  "line 1: option '-u' conflicts with an earlier option of the same kind");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -6"), "line 1: option '-6' only goes with -f (an address says its own family)");
	EXPECT_EQ(error_of(std::string("-A -t 10.0.0.1:80\n-A\0", 21)), "line 2: a NUL byte: this is not a rules file");
}

TEST(Rules, ApplyFollowsTheKernel)
{
	std::vector<Service> t;
	Timeouts to;
	EXPECT_EQ(apply(t, to, one("-a -t 10.0.0.1:80 -r 10.1.0.1")), "No such service");
	EXPECT_EQ(apply(t, to, one("-A -t 10.0.0.1:80")), "");
	EXPECT_EQ(apply(t, to, one("-A -t 10.0.0.1:80 -s rr")), "Service already exists");
	EXPECT_EQ(apply(t, to, one("-a -t 10.0.0.1:80 -r 10.1.0.1")), "");
	EXPECT_EQ(apply(t, to, one("-a -t 10.0.0.1:80 -r 10.1.0.1 -w 4")), "Destination already exists");
	EXPECT_EQ(apply(t, to, one("-e -t 10.0.0.1:80 -r 10.1.0.1 -w 4")), "");
	EXPECT_EQ(t[0].dests[0].weight, 4u);
	EXPECT_EQ(apply(t, to, one("-E -t 10.0.0.1:80 -s rr")), "");
	EXPECT_EQ(t[0].sched_name, "rr");
	EXPECT_EQ(t[0].dests.size(), 1u); // edit keeps the destinations
	EXPECT_EQ(apply(t, to, one("-d -t 10.0.0.1:80 -r 10.1.0.9")), "No such destination");
	EXPECT_EQ(apply(t, to, one("--set 10 0 30")), "");
	EXPECT_EQ(to.tcp, 10u);
	EXPECT_EQ(to.tcp_fin, 0u);
	EXPECT_EQ(apply(t, to, one("-D -t 10.0.0.1:80")), "");
	EXPECT_TRUE(t.empty());
}

TEST(Rules, ExtrasStayReadableByIpvsadm)
{
	auto table = replay("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 0 -x 100 -y 50\n");
	Timeouts t{900, 120, 300};
	SaveOptions o;
	o.thresholds = true;
	o.timeouts = &t;
	const std::string text = save(table, o, kNumeric);
	EXPECT_EQ(text, "--set 900 120 300\n-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 0 -x 100 -y 50\n");
	EXPECT_EQ(save(replay(text), o, kNumeric).substr(18), text.substr(18));
	EXPECT_EQ(save(table, SaveOptions{}, kNumeric), "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 0\n");
}

TEST(Rules, ConfigDiffIgnoresOrderAndCountersButNotThresholds)
{
	auto a = replay("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1 -x 5\n-A -f 3\n");
	auto b = replay("-A -f 3\n-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1 -x 5\n");
	b[1].dests[0].active_conns = 9;
	b[1].stats.conns = 77;
	EXPECT_TRUE(config_diff(a, b).empty());
	b[1].dests[0].u_threshold = 6;
	auto d = config_diff(a, b);
	ASSERT_EQ(d.size(), 2u);
	EXPECT_EQ(d[0], "- -a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1 -x 5");
}

TEST(Rules, LinesAsIpvsadmReadsThem)
{
	// ipvsadm -R drops the word "ipvsadm", takes --set's values from anywhere on the line (popt's
	// leftovers) and clusters short options.
	EXPECT_EQ(one("ipvsadm -A -t 10.0.0.1:80 -s rr").svc.sched_name, "rr");
	auto c = one("901 --set 0 301");
	EXPECT_EQ(c.timeouts.tcp, 901u);
	EXPECT_EQ(c.timeouts.udp, 301u);
	EXPECT_EQ(one("-a -t 10.0.0.1:80 -r 10.1.0.1:81 -mw3").dest.weight, 3u);
	EXPECT_EQ(error_of("--set 1 2 3 4"), "line 1: unexpected word '4' (every word must belong to an option)");
	EXPECT_EQ(error_of("-A -t 10.0.0.1:80 --ops=1"), "line 1: option '--ops=1' takes no value");
}
