// SPDX-License-Identifier: GPL-2.0
// The rule format of 'ipvsadm -S' and 'ipvsadm -R': option spelling, defaults and checks follow ipvsadm 1.31.
#include "ipvs_drain/rules.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <optional>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvs_drain/args.h"
#include "ipvs_drain/uapi.h"

namespace ipvs::rules {

namespace u = ipvs::uapi;

namespace {

constexpr const char *kDefaultScheduler = "wlc";   // ipvsadm's DEF_SCHED
constexpr std::uint32_t kDefaultPersistence = 360; // ipvsadm's -p without a value
constexpr long kMaxPersistence = 86400L * 31;      // ipvsadm's MAX_TIMEOUT
constexpr std::size_t kNameMax = 16;              // IP_VS_SCHEDNAME_MAXLEN and IP_VS_PENAME_MAXLEN

enum Id {
	O_ADD_SERVICE,
	O_EDIT_SERVICE,
	O_DEL_SERVICE,
	O_CLEAR,
	O_ADD_DEST,
	O_EDIT_DEST,
	O_DEL_DEST,
	O_SET,
	O_TCP,
	O_UDP,
	O_SCTP,
	O_FWMARK,
	O_IPV6,
	O_SCHED,
	O_PERSISTENT,
	O_NETMASK,
	O_SCHED_FLAGS,
	O_OPS,
	O_PE,
	O_REAL,
	O_GATE,
	O_IPIP,
	O_MASQ,
	O_WEIGHT,
	O_UTHRESH,
	O_LTHRESH,
	O_TUN_TYPE,
	O_TUN_PORT,
	O_TUN_NOCSUM,
	O_TUN_CSUM,
	O_TUN_REMCSUM,
};

using args::Arg;

// ipvsadm's popt table; --set takes its three values from the words no option takes, as ipvsadm does.
const args::Spec kSpecs[] = {
	{"add-service", 'A', Arg::None, O_ADD_SERVICE},
	{"edit-service", 'E', Arg::None, O_EDIT_SERVICE},
	{"delete-service", 'D', Arg::None, O_DEL_SERVICE},
	{"clear", 'C', Arg::None, O_CLEAR},
	{"add-server", 'a', Arg::None, O_ADD_DEST},
	{"edit-server", 'e', Arg::None, O_EDIT_DEST},
	{"delete-server", 'd', Arg::None, O_DEL_DEST},
	{"set", 0, Arg::None, O_SET},
	{"tcp-service", 't', Arg::One, O_TCP},
	{"udp-service", 'u', Arg::One, O_UDP},
	{"sctp-service", 0, Arg::One, O_SCTP},
	{"fwmark-service", 'f', Arg::One, O_FWMARK},
	{"ipv6", '6', Arg::None, O_IPV6},
	{"scheduler", 's', Arg::One, O_SCHED},
	{"persistent", 'p', Arg::Optional, O_PERSISTENT},
	{"netmask", 'M', Arg::One, O_NETMASK},
	{"sched-flags", 'b', Arg::One, O_SCHED_FLAGS},
	{"ops", 'o', Arg::None, O_OPS},
	{"pe", 0, Arg::One, O_PE},
	{"real-server", 'r', Arg::One, O_REAL},
	{"gatewaying", 'g', Arg::None, O_GATE},
	{"ipip", 'i', Arg::None, O_IPIP},
	{"masquerading", 'm', Arg::None, O_MASQ},
	{"weight", 'w', Arg::One, O_WEIGHT},
	{"u-threshold", 'x', Arg::One, O_UTHRESH},
	{"l-threshold", 'y', Arg::One, O_LTHRESH},
	{"tun-type", 0, Arg::One, O_TUN_TYPE},
	{"tun-port", 0, Arg::One, O_TUN_PORT},
	{"tun-nocsum", 0, Arg::None, O_TUN_NOCSUM},
	{"tun-csum", 0, Arg::None, O_TUN_CSUM},
	{"tun-remcsum", 0, Arg::None, O_TUN_REMCSUM},
};

bool is_command(int id) { return id <= O_SET; }

const char *command_name(int id)
{
	switch (id) {
	case O_ADD_SERVICE:
		return "-A (add-service)";
	case O_EDIT_SERVICE:
		return "-E (edit-service)";
	case O_DEL_SERVICE:
		return "-D (delete-service)";
	case O_CLEAR:
		return "-C (clear)";
	case O_ADD_DEST:
		return "-a (add-server)";
	case O_EDIT_DEST:
		return "-e (edit-server)";
	case O_DEL_DEST:
		return "-d (delete-server)";
	default:
		return "--set";
	}
}

bool allowed(int cmd, int opt)
{
	const bool svc = opt == O_TCP || opt == O_UDP || opt == O_SCTP || opt == O_FWMARK || opt == O_IPV6;
	const bool svc_attr = opt == O_SCHED || opt == O_PERSISTENT || opt == O_NETMASK || opt == O_SCHED_FLAGS ||
			      opt == O_OPS || opt == O_PE;
	const bool dest_attr = opt == O_GATE || opt == O_IPIP || opt == O_MASQ || opt == O_WEIGHT || opt == O_UTHRESH ||
			       opt == O_LTHRESH || opt == O_TUN_TYPE || opt == O_TUN_PORT || opt == O_TUN_NOCSUM ||
			       opt == O_TUN_CSUM || opt == O_TUN_REMCSUM;
	switch (cmd) {
	case O_ADD_SERVICE:
	case O_EDIT_SERVICE:
		return svc || svc_attr;
	case O_DEL_SERVICE:
		return svc;
	case O_ADD_DEST:
	case O_EDIT_DEST:
		return svc || opt == O_REAL || dest_attr;
	case O_DEL_DEST:
		return svc || opt == O_REAL;
	default:
		return false;
	}
}

std::optional<std::uint32_t> sched_flag(const std::string &name)
{
	if (name == "flag-1" || name == "sh-fallback" || name == "mh-fallback")
		return u::SVC_F_SCHED1;
	if (name == "flag-2" || name == "sh-port" || name == "mh-port")
		return u::SVC_F_SCHED2;
	if (name == "flag-3")
		return u::SVC_F_SCHED3;
	return std::nullopt;
}

bool valid_module_name(const std::string &s)
{
	if (s.empty() || s.size() >= kNameMax)
		return false;
	for (char c : s)
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	return true;
}

bool same_key(const Service &a, const Service &b)
{
	if (a.af != b.af || a.fwmark != b.fwmark)
		return false;
	return a.fwmark || (a.protocol == b.protocol && a.port == b.port && a.addr == b.addr);
}

bool same_dest(const Dest &a, const Dest &b) { return a.af == b.af && a.addr == b.addr && a.port == b.port; }

} // namespace

ServiceKey key_of(const Service &svc) { return ServiceKey{svc.af, svc.protocol, svc.addr, svc.port, svc.fwmark}; }

// One rule line, already split into words.
static std::variant<Command, std::string> parse_words(const std::vector<std::string> &words,
							 const options::Lookups &lookups)
{
	auto r = args::parse(words, kSpecs);
	if (auto *e = std::get_if<args::Error>(&r))
		return e->kind == args::Error::NeedsValue   ? "option '" + e->word + "' needs a value"
		       : e->kind == args::Error::TakesNoValue ? "option '" + e->word + "' takes no value"
							    : "unknown option '" + e->word + "'";
	const auto &opts = std::get<args::Words>(r).opts;
	const auto &rest = std::get<args::Words>(r).rest;

	std::optional<int> cmd;
	const args::Opt *svc_opt = nullptr, *real = nullptr, *fwd = nullptr;
	std::vector<int> seen;
	for (const args::Opt &o : opts) {
		if (is_command(o.id)) {
			if (cmd)
				return std::string("two commands on one line: ") + command_name(*cmd) + " and " + o.spelled;
			cmd = o.id;
			continue;
		}
		int group = (o.id == O_UDP || o.id == O_SCTP || o.id == O_FWMARK) ? O_TCP
			   : (o.id == O_IPIP || o.id == O_MASQ)			 ? O_GATE
			   : (o.id == O_TUN_CSUM || o.id == O_TUN_REMCSUM)	 ? O_TUN_NOCSUM
										 : o.id;
		if (std::find(seen.begin(), seen.end(), group) != seen.end())
			return "option '" + o.spelled + "' conflicts with an earlier option of the same kind";
		seen.push_back(group);
		if (group == O_TCP)
			svc_opt = &o;
		else if (o.id == O_REAL)
			real = &o;
		else if (group == O_GATE)
			fwd = &o;
	}
	if (const std::size_t taken = cmd == O_SET ? 3 : 0; rest.size() > taken)
		return "unexpected word '" + rest[taken] + "' (every word must belong to an option)";
	if (!cmd)
		return std::string("no command: a rule line starts with -A, -E, -D, -C, -a, -e, -d or --set");
	for (const args::Opt &o : opts)
		if (!is_command(o.id) && !allowed(*cmd, o.id))
			return "option '" + o.spelled + "' is not allowed with " + command_name(*cmd);

	Command c;
	switch (*cmd) {
	case O_ADD_SERVICE:
		c.verb = Verb::AddService;
		break;
	case O_EDIT_SERVICE:
		c.verb = Verb::EditService;
		break;
	case O_DEL_SERVICE:
		c.verb = Verb::DelService;
		break;
	case O_CLEAR:
		c.verb = Verb::Clear;
		return c;
	case O_ADD_DEST:
		c.verb = Verb::AddDest;
		break;
	case O_EDIT_DEST:
		c.verb = Verb::EditDest;
		break;
	case O_DEL_DEST:
		c.verb = Verb::DelDest;
		break;
	default: {
		c.verb = Verb::SetTimeouts;
		if (rest.size() != 3)
			return std::string("option '--set' needs three values: --set TCP TCPFIN UDP");
		std::uint32_t *dst[3] = {&c.timeouts.tcp, &c.timeouts.tcp_fin, &c.timeouts.udp};
		for (int k = 0; k < 3; k++) {
			auto n = args::parse_uint(rest[k], 0, INT_MAX);
			if (!n)
				return "invalid timeout '" + rest[k] + "': expected seconds, 0 keeps the current value";
			*dst[k] = static_cast<std::uint32_t>(*n);
		}
		return c;
	}
	}

	if (!svc_opt)
		return std::string(command_name(*cmd)) + " needs a service: -t, -u or --sctp-service ADDR, or -f FWMARK";
	const bool v6_flag = std::find(seen.begin(), seen.end(), O_IPV6) != seen.end();
	Service &s = c.svc;
	if (svc_opt->id == O_FWMARK) {
		auto mark = options::parse_fwmark(*svc_opt->value);
		if (!mark)
			return "invalid fwmark '" + *svc_opt->value + "': expected 1 to 4294967295";
		s.fwmark = *mark;
		s.af = v6_flag ? AF_INET6 : AF_INET;
		s.protocol = IPPROTO_TCP;
	} else {
		if (v6_flag)
			return std::string("option '-6' only goes with -f (an address says its own family)");
		std::uint16_t proto = svc_opt->id == O_TCP ? IPPROTO_TCP : svc_opt->id == O_UDP ? IPPROTO_UDP : IPPROTO_SCTP;
		std::string why;
		auto key = options::parse_service_address(*svc_opt->value, proto, lookups, why);
		if (!key)
			return why.empty() ? "invalid service address '" + *svc_opt->value + "'" : why;
		s.af = key->af;
		s.protocol = proto;
		s.addr = key->addr;
		s.port = key->port;
	}
	s.netmask = s.af == AF_INET6 ? 128 : 0xffffffffu;
	s.sched_name = kDefaultScheduler;
	if (c.verb == Verb::DelService)
		return c;

	if (c.verb == Verb::AddService || c.verb == Verb::EditService) {
		for (const args::Opt &o : opts) {
			const std::string v = o.value.value_or("");
			switch (o.id) {
			case O_SCHED:
				if (!valid_module_name(v))
					return "invalid scheduler name '" + v + "'";
				s.sched_name = v;
				break;
			case O_PERSISTENT: {
				s.flags |= u::SVC_F_PERSISTENT;
				s.timeout = kDefaultPersistence;
				if (o.value) {
					auto n = args::parse_uint(v, 1, kMaxPersistence);
					if (!n)
						return "invalid persistence timeout '" + v + "': expected 1 to " +
						       std::to_string(kMaxPersistence) + " seconds";
					s.timeout = static_cast<std::uint32_t>(*n);
				}
				break;
			}
			case O_NETMASK:
				if (s.af == AF_INET6) {
					auto n = args::parse_uint(v, 1, 128);
					if (!n)
						return "invalid IPv6 netmask '" + v + "': expected a prefix length from 1 to 128";
					s.netmask = static_cast<std::uint32_t>(*n);
				} else {
					in_addr m{};
					if (inet_pton(AF_INET, v.c_str(), &m) != 1)
						return "invalid netmask '" + v + "': expected a dotted IPv4 mask such as 255.255.255.0";
					std::memcpy(&s.netmask, &m, 4);
				}
				break;
			case O_SCHED_FLAGS: {
				std::size_t start = 0;
				while (start <= v.size()) {
					auto comma = v.find(',', start);
					std::string name = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
					auto f = sched_flag(name);
					if (!f)
						return "invalid scheduler flag '" + name +
						       "': expected sh-fallback, sh-port, mh-fallback, mh-port or flag-1..3";
					s.flags |= *f;
					if (comma == std::string::npos)
						break;
					start = comma + 1;
				}
				break;
			}
			case O_OPS:
				s.flags |= u::SVC_F_ONEPACKET;
				break;
			case O_PE:
				if (!valid_module_name(v))
					return "invalid persistence engine '" + v + "'";
				s.pe_name = v;
				break;
			default:
				break;
			}
		}
		return c;
	}

	if (!real)
		return std::string(command_name(*cmd)) + " needs a destination: -r ADDR[:PORT]";
	Dest &d = c.dest;
	std::string why;
	auto daddr = options::parse_service_address(*real->value, s.protocol, lookups, why);
	if (!daddr)
		return why.empty() ? "invalid destination address '" + *real->value + "'" : why;
	d.af = daddr->af;
	d.addr = daddr->addr;
	d.port = daddr->port;
	d.conn_flags = u::CONN_F_DROUTE;
	d.weight = 1;
	if (fwd)
		d.conn_flags = fwd->id == O_MASQ ? u::CONN_F_MASQ : fwd->id == O_IPIP ? u::CONN_F_TUNNEL : u::CONN_F_DROUTE;
	// ipvsadm: Route and Tunnel cannot change the port, so the destination takes the service's.
	if (d.conn_flags != u::CONN_F_MASQ || d.port == 0)
		d.port = s.port;

	bool tun_opt = false, csum_opt = false;
	for (const args::Opt &o : opts) {
		const std::string v = o.value.value_or("");
		switch (o.id) {
		case O_WEIGHT: {
			auto n = args::parse_uint(v, 0, 65535);
			if (!n)
				return "invalid weight '" + v + "': expected 0 to 65535";
			d.weight = static_cast<std::uint32_t>(*n);
			break;
		}
		case O_UTHRESH:
		case O_LTHRESH: {
			auto n = args::parse_uint(v, 0, INT_MAX);
			if (!n)
				return "invalid threshold '" + v + "': expected 0 to " + std::to_string(INT_MAX);
			(o.id == O_UTHRESH ? d.u_threshold : d.l_threshold) = static_cast<std::uint32_t>(*n);
			break;
		}
		case O_TUN_TYPE:
			tun_opt = true;
			if (v == "ipip")
				d.tun_type = u::TUNNEL_TYPE_IPIP;
			else if (v == "gue")
				d.tun_type = u::TUNNEL_TYPE_GUE;
			else if (v == "gre")
				d.tun_type = u::TUNNEL_TYPE_GRE;
			else
				return "invalid tunnel type '" + v + "': expected ipip, gue or gre";
			break;
		case O_TUN_PORT: {
			tun_opt = true;
			auto n = args::parse_uint(v, 1, 65535);
			if (!n)
				return "invalid tunnel port '" + v + "': expected 1 to 65535";
			d.tun_port = static_cast<std::uint16_t>(*n);
			break;
		}
		case O_TUN_NOCSUM:
		case O_TUN_CSUM:
		case O_TUN_REMCSUM:
			tun_opt = csum_opt = true;
			d.tun_flags = o.id == O_TUN_NOCSUM ? u::TUNNEL_ENCAP_FLAG_NOCSUM
				    : o.id == O_TUN_CSUM   ? u::TUNNEL_ENCAP_FLAG_CSUM
							   : u::TUNNEL_ENCAP_FLAG_REMCSUM;
			break;
		default:
			break;
		}
	}
	if (tun_opt && d.conn_flags != u::CONN_F_TUNNEL)
		return std::string("tunnel options need -i (ipip forwarding)");
	if (d.tun_type == u::TUNNEL_TYPE_GUE && !d.tun_port)
		return std::string("--tun-type gue needs --tun-port");
	if (d.tun_type != u::TUNNEL_TYPE_GUE && d.tun_port)
		return std::string("--tun-port only goes with --tun-type gue");
	if (csum_opt && d.tun_type == u::TUNNEL_TYPE_IPIP)
		return std::string("checksum options only go with --tun-type gue or gre");
	return c;
}

std::variant<std::vector<Command>, ParseError> parse(const std::string &text, const options::Lookups &lookups)
{
	std::vector<Command> out;
	std::size_t pos = 0;
	int line = 0;
	while (pos < text.size()) {
		line++;
		std::string l(args::next_line(text, pos));
		if (l.find('\0') != std::string::npos)
			return ParseError{line, "a NUL byte: this is not a rules file"};
		std::vector<std::string> words;
		std::size_t i = 0;
		while (i < l.size()) {
			while (i < l.size() && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
				i++;
			std::size_t start = i;
			while (i < l.size() && l[i] != ' ' && l[i] != '\t' && l[i] != '\r')
				i++;
			// ipvsadm's config_stream_read drops every word "ipvsadm", so "ipvsadm -A ..." lines work too.
			if (i > start && l.compare(start, i - start, "ipvsadm") != 0)
				words.push_back(l.substr(start, i - start));
		}
		if (words.empty() || words[0][0] == '#')
			continue;
		auto r = parse_words(words, lookups);
		if (auto *e = std::get_if<std::string>(&r))
			return ParseError{line, *e};
		auto c = std::get<Command>(std::move(r));
		c.line = line;
		out.push_back(std::move(c));
	}
	return out;
}

std::string save(const std::vector<Service> &services, const SaveOptions &opt, const format::Resolver &resolver)
{
	format::ListFormat fmt;
	fmt.rule = true;
	fmt.numeric = opt.numeric;
	fmt.rule_thresholds = opt.thresholds;
	std::string out;
	if (opt.timeouts)
		out += "--set " + std::to_string(opt.timeouts->tcp) + " " + std::to_string(opt.timeouts->tcp_fin) + " " +
		       std::to_string(opt.timeouts->udp) + "\n";
	out += format::list_all(Info{}, services, fmt, resolver);
	return out;
}

std::string apply(std::vector<Service> &table, Timeouts &timeouts, const Command &cmd)
{
	auto svc = std::find_if(table.begin(), table.end(), [&](const Service &s) { return same_key(s, cmd.svc); });
	switch (cmd.verb) {
	case Verb::Clear:
		table.clear();
		return {};
	case Verb::SetTimeouts:
		if (cmd.timeouts.tcp)
			timeouts.tcp = cmd.timeouts.tcp;
		if (cmd.timeouts.tcp_fin)
			timeouts.tcp_fin = cmd.timeouts.tcp_fin;
		if (cmd.timeouts.udp)
			timeouts.udp = cmd.timeouts.udp;
		return {};
	case Verb::AddService:
		if (svc != table.end())
			return "Service already exists";
		table.push_back(cmd.svc);
		table.back().dests.clear();
		return {};
	default:
		break;
	}
	if (svc == table.end())
		return "No such service";
	if (cmd.verb == Verb::EditService) {
		auto dests = std::move(svc->dests);
		*svc = cmd.svc;
		svc->dests = std::move(dests);
		return {};
	}
	if (cmd.verb == Verb::DelService) {
		table.erase(svc);
		return {};
	}
	auto d = std::find_if(svc->dests.begin(), svc->dests.end(), [&](const Dest &x) { return same_dest(x, cmd.dest); });
	switch (cmd.verb) {
	case Verb::AddDest:
		if (d != svc->dests.end())
			return "Destination already exists";
		svc->dests.push_back(cmd.dest);
		return {};
	case Verb::EditDest:
		if (d == svc->dests.end())
			return "No such destination";
		*d = cmd.dest;
		return {};
	default:
		if (d == svc->dests.end())
			return "No such destination";
		svc->dests.erase(d);
		return {};
	}
}

std::vector<std::string> config_lines(const std::vector<Service> &services)
{
	SaveOptions opt;
	opt.thresholds = true;
	static const format::NoResolver numeric;
	const std::string text = save(services, opt, numeric);
	std::vector<std::string> lines;
	std::size_t pos = 0;
	while (pos < text.size())
		lines.emplace_back(args::next_line(text, pos));
	std::sort(lines.begin(), lines.end());
	return lines;
}

std::vector<std::string> config_diff(const std::vector<Service> &before, const std::vector<Service> &after)
{
	auto a = config_lines(before), b = config_lines(after);
	std::vector<std::string> out, only_a, only_b;
	std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
	std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
	for (auto &l : only_a)
		out.push_back("- " + l);
	for (auto &l : only_b)
		out.push_back("+ " + l);
	return out;
}

} // namespace ipvs::rules
