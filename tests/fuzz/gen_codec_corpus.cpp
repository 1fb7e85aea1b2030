// SPDX-License-Identifier: GPL-2.0
// Writes the codec fuzz target's seed corpus from replies built by the codec's own encoder.
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fuzz_codec.h"
#include "ipvs_drain/codec.h"
#include "replies.h" // tests/unit

namespace {

using ipvs::fuzz::CodecTarget;

std::string g_dir;
int g_failures = 0;

void write_seed(const std::string &name, std::uint8_t sel, const void *p, std::size_t n)
{
	std::string path = g_dir + "/" + name;
	FILE *f = std::fopen(path.c_str(), "wb");
	if (!f || std::fwrite(&sel, 1, 1, f) != 1 || (n && std::fwrite(p, 1, n, f) != n) || std::fclose(f)) {
		std::fprintf(stderr, "gen_codec_corpus: cannot write %s\n", path.c_str());
		g_failures++;
	}
}

std::error_code decode_back(CodecTarget sel, nl_msg *msg)
{
	switch (sel) {
	case CodecTarget::ServiceMsg: {
		ipvs::Service s;
		return ipvs::codec::decode_service_msg(msg, s);
	}
	case CodecTarget::DestMsg: {
		ipvs::Dest d;
		return ipvs::codec::decode_dest_msg(msg, AF_INET, d);
	}
	case CodecTarget::InfoMsg: {
		ipvs::Info i;
		return ipvs::codec::decode_info_msg(msg, i);
	}
	case CodecTarget::TimeoutsMsg: {
		ipvs::Timeouts t;
		return ipvs::codec::decode_timeouts_msg(msg, t);
	}
	case CodecTarget::DaemonMsg: {
		ipvs::Daemon d;
		return ipvs::codec::decode_daemon_msg(msg, d);
	}
	default:
		return std::make_error_code(std::errc::invalid_argument);
	}
}

// Encodes one reply and writes it as a message seed and, when @nested_type is set, as a nested seed too.
void emit(const std::string &name, CodecTarget msg_sel, const std::function<std::error_code(nl_msg *)> &put,
	  int nested_type = 0, CodecTarget nested_sel = CodecTarget::NestedService, std::uint8_t flags = 0)
{
	nl_msg *msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 0x20, 0, 0, ipvs::fuzz::codec_cmd(msg_sel), 1) ||
	    put(msg)) {
		std::fprintf(stderr, "gen_codec_corpus: cannot encode %s\n", name.c_str());
		g_failures++;
		nlmsg_free(msg);
		return;
	}
	// A seed the decoder refuses would only teach the fuzzer the error path.
	if (auto ec = decode_back(msg_sel, msg)) {
		std::fprintf(stderr, "gen_codec_corpus: %s does not decode: %s\n", name.c_str(), ec.message().c_str());
		g_failures++;
	}
	genlmsghdr *gh = genlmsg_hdr(nlmsg_hdr(msg));
	write_seed(name + "-msg", static_cast<std::uint8_t>(msg_sel) | flags, genlmsg_attrdata(gh, 0),
		   static_cast<std::size_t>(genlmsg_attrlen(gh, 0)));
	if (nested_type) {
		nlattr *a = nlmsg_find_attr(nlmsg_hdr(msg), GENL_HDRLEN, nested_type);
		if (a)
			write_seed(name + "-nested", static_cast<std::uint8_t>(nested_sel) | flags, nla_data(a),
				   static_cast<std::size_t>(nla_len(a)));
	}
	nlmsg_free(msg);
}

ipvs::Addr v4(const char *s)
{
	ipvs::Addr a;
	inet_pton(AF_INET, s, a.bytes.data());
	return a;
}

ipvs::Addr v6(const char *s)
{
	ipvs::Addr a;
	inet_pton(AF_INET6, s, a.bytes.data());
	return a;
}

ipvs::Stats some_stats()
{
	ipvs::Stats s;
	s.conns = 12;
	s.inpkts = 3400;
	s.outpkts = 3100;
	s.inbytes = 5000000000ULL;
	s.outbytes = 123456;
	s.cps = 1;
	s.inpps = 20;
	s.outpps = 19;
	s.inbps = 4000;
	s.outbps = 3900;
	return s;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	g_dir = argv[1];

	ipvs::Service tcp4;
	tcp4.af = AF_INET;
	tcp4.protocol = IPPROTO_TCP;
	tcp4.addr = v4("10.96.0.10");
	tcp4.port = 80;
	tcp4.sched_name = "wlc";
	tcp4.netmask = 0xffffffff;
	tcp4.stats = some_stats();
	emit("service-tcp4", CodecTarget::ServiceMsg, [&](nl_msg *m) { return ipvs::codec::put_service_reply(m, tcp4); },
	     ipvs::uapi::CMD_ATTR_SERVICE, CodecTarget::NestedService);

	ipvs::Service udp6;
	udp6.af = AF_INET6;
	udp6.protocol = IPPROTO_UDP;
	udp6.addr = v6("fd96::10");
	udp6.port = 5353;
	udp6.sched_name = "sh";
	udp6.pe_name = "sip";
	udp6.flags = 0x1 | 0x8;
	udp6.timeout = 300;
	udp6.netmask = 128;
	emit("service-udp6-persistent", CodecTarget::ServiceMsg,
	     [&](nl_msg *m) { return ipvs::codec::put_service_reply(m, udp6); }, ipvs::uapi::CMD_ATTR_SERVICE,
	     CodecTarget::NestedService);

	ipvs::Service fwm;
	fwm.af = AF_INET;
	fwm.fwmark = 4294967295u;
	fwm.sched_name = "rr";
	fwm.netmask = 0xffffffff;
	emit("service-fwmark", CodecTarget::ServiceMsg, [&](nl_msg *m) { return ipvs::codec::put_service_reply(m, fwm); },
	     ipvs::uapi::CMD_ATTR_SERVICE, CodecTarget::NestedService);

	ipvs::Dest d4;
	d4.af = AF_INET;
	d4.addr = v4("10.244.1.2");
	d4.port = 8080;
	d4.conn_flags = 0; // masquerade
	d4.weight = 1;
	d4.active_conns = 3;
	d4.inact_conns = 7;
	d4.stats = some_stats();
	emit("dest-masq4", CodecTarget::DestMsg, [&](nl_msg *m) { return ipvs::codec::put_dest_reply(m, d4); },
	     ipvs::uapi::CMD_ATTR_DEST, CodecTarget::NestedDest);

	ipvs::Dest d6;
	d6.af = AF_INET6;
	d6.addr = v6("fd01::4");
	d6.port = 5353;
	d6.conn_flags = 2; // tunnel
	d6.weight = 0;     // draining
	d6.u_threshold = 100;
	d6.l_threshold = 50;
	d6.persist_conns = 2;
	d6.tun_type = 1;
	d6.tun_port = 6080;
	d6.tun_flags = 3;
	emit("dest-tun6-draining", CodecTarget::DestMsg, [&](nl_msg *m) { return ipvs::codec::put_dest_reply(m, d6); },
	     ipvs::uapi::CMD_ATTR_DEST, CodecTarget::NestedDest, 0x80);

	ipvs::Info info{0x10603, 4096};
	emit("info", CodecTarget::InfoMsg, [&](nl_msg *m) { return ipvs::codec::put_info_reply(m, info); });

	ipvs::Timeouts t{900, 120, 300};
	emit("timeouts", CodecTarget::TimeoutsMsg, [&](nl_msg *m) { return ipvs::codec::put_timeouts_reply(m, t); });

	ipvs::Daemon dm4;
	dm4.state = 1;
	dm4.mcast_ifn = "eth0";
	dm4.syncid = 7;
	dm4.sync_maxlen = 1472;
	dm4.mcast_af = AF_INET;
	dm4.mcast_group = v4("224.0.0.81");
	dm4.mcast_port = 8848;
	dm4.mcast_ttl = 1;
	emit("daemon-master4", CodecTarget::DaemonMsg, [&](nl_msg *m) { return ipvs::codec::put_daemon_reply(m, dm4); });

	ipvs::Daemon dm6 = dm4;
	dm6.state = 2;
	dm6.mcast_ifn = "bond0.100";
	dm6.mcast_af = AF_INET6;
	dm6.mcast_group = v6("ff02::81");
	emit("daemon-backup6", CodecTarget::DaemonMsg, [&](nl_msg *m) { return ipvs::codec::put_daemon_reply(m, dm6); });

	return g_failures ? 1 : 0;
}
