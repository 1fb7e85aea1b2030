// SPDX-License-Identifier: GPL-2.0
// Option parsing for every verb; accepts ipvsadm's listing syntax so users can keep their habits.
#include "ipvs_drain/options.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace ipvs::options {

namespace {

struct Spec {
	const char *long_name;
	char short_name; // 0 when none
	bool takes_arg;
	int id;
};

struct Opt {
	int id;
	std::string value;
	std::string spelled; // as the user wrote it, for messages
};

// Splits argv into options the way popt does: clustered short flags, attached values, --name=value.
std::variant<std::vector<Opt>, UsageError> tokenize(const std::vector<std::string> &args, const Spec *specs,
						     std::size_t nspecs, const char *verb)
{
	std::vector<Opt> out;
	auto unknown = [&](const std::string &what) {
		return UsageError{"Unknown option '" + what + "' for '" + verb + "'; see 'ipvs-drain " + verb +
				  " --help'."};
	};
	for (std::size_t i = 0; i < args.size(); i++) {
		const std::string &a = args[i];
		if (a == "--") {
			if (i + 1 < args.size())
				return UsageError{"Unexpected argument '" + args[i + 1] + "' for '" + verb + "'."};
			break;
		}
		if (a.rfind("--", 0) == 0) {
			std::string name = a.substr(2), value;
			bool has_value = false;
			if (auto eq = name.find('='); eq != std::string::npos) {
				value = name.substr(eq + 1);
				name.resize(eq);
				has_value = true;
			}
			const Spec *s = nullptr;
			for (std::size_t k = 0; k < nspecs; k++)
				if (name == specs[k].long_name)
					s = &specs[k];
			if (!s) {
				// A service option for a protocol IPVS does not balance is a bad protocol, not a typo.
				if (name.size() > 8 && name.compare(name.size() - 8, 8, "-service") == 0)
					return UsageError{"Unknown protocol '" + name.substr(0, name.size() - 8) +
							  "': use -t (tcp), -u (udp), --sctp-service or -f (fwmark)."};
				return unknown("--" + name);
			}
			if (s->takes_arg && !has_value) {
				if (i + 1 >= args.size())
					return UsageError{"Option '--" + name + "' needs a value."};
				value = args[++i];
			} else if (!s->takes_arg && has_value) {
				return UsageError{"Option '--" + name + "' takes no value."};
			}
			out.push_back({s->id, value, "--" + name});
			continue;
		}
		if (a.size() > 1 && a[0] == '-') {
			for (std::size_t j = 1; j < a.size(); j++) {
				const Spec *s = nullptr;
				for (std::size_t k = 0; k < nspecs; k++)
					if (specs[k].short_name && a[j] == specs[k].short_name)
						s = &specs[k];
				if (!s)
					return unknown(std::string("-") + a[j]);
				std::string spelled = std::string("-") + a[j];
				if (s->takes_arg) {
					std::string value;
					if (j + 1 < a.size())
						value = a.substr(j + 1);
					else if (i + 1 < args.size())
						value = args[++i];
					else
						return UsageError{"Option '" + spelled + "' needs a value."};
					out.push_back({s->id, value, spelled});
					break;
				}
				out.push_back({s->id, "", spelled});
			}
			continue;
		}
		return UsageError{"Unexpected argument '" + a + "' for '" + verb + "'."};
	}
	return out;
}

bool all_digits(const std::string &s)
{
	for (char c : s)
		if (c < '0' || c > '9')
			return false;
	return true;
}

// ipvsadm's string_to_number: base 10, the whole string, within [min, max].
std::optional<long> to_number(const std::string &s, long min, long max)
{
	if (s.empty())
		return std::nullopt;
	char *end = nullptr;
	errno = 0;
	long v = std::strtol(s.c_str(), &end, 10);
	if (*end || end == s.c_str() || errno == ERANGE || v < min || v > max)
		return std::nullopt;
	return v;
}

enum ListId {
	L_NUMERIC,
	L_CONNECTION,
	L_SERVICE_TCP,
	L_SERVICE_UDP,
	L_SERVICE_SCTP,
	L_SERVICE_FWMARK,
	L_TIMEOUT,
	L_DAEMON,
	L_STATS,
	L_RATE,
	L_THRESHOLDS,
	L_PERSISTENTCONN,
	L_SORT,
	L_NOSORT,
	L_EXACT,
	L_TUN_INFO,
	L_IPV6,
	L_SAVE,
	L_LIST,
	L_HELP,
};

const Spec kListSpecs[] = {
	{"numeric", 'n', false, L_NUMERIC},
	{"connection", 'c', false, L_CONNECTION},
	{"tcp-service", 't', true, L_SERVICE_TCP},
	{"udp-service", 'u', true, L_SERVICE_UDP},
	{"sctp-service", 0, true, L_SERVICE_SCTP},
	{"fwmark-service", 'f', true, L_SERVICE_FWMARK},
	{"timeout", 0, false, L_TIMEOUT},
	{"daemon", 0, false, L_DAEMON},
	{"stats", 0, false, L_STATS},
	{"rate", 0, false, L_RATE},
	{"thresholds", 0, false, L_THRESHOLDS},
	{"persistent-conn", 0, false, L_PERSISTENTCONN},
	{"sort", 0, false, L_SORT},
	{"nosort", 0, false, L_NOSORT},
	{"exact", 'X', false, L_EXACT},
	{"tun-info", 0, false, L_TUN_INFO},
	{"ipv6", '6', false, L_IPV6},
	{"save", 'S', false, L_SAVE},
	{"list", 'L', false, L_LIST},
	{"list", 'l', false, L_LIST},
	{"help", 'h', false, L_HELP},
};

// Names as ipvsadm reports them in its option-check messages.
const char *list_opt_name(int id)
{
	switch (id) {
	case L_NUMERIC:
		return "numeric";
	case L_CONNECTION:
		return "connection";
	case L_SERVICE_TCP:
	case L_SERVICE_UDP:
	case L_SERVICE_SCTP:
	case L_SERVICE_FWMARK:
		return "service-address";
	case L_TIMEOUT:
		return "timeout";
	case L_DAEMON:
		return "daemon";
	case L_STATS:
		return "stats";
	case L_RATE:
		return "rate";
	case L_THRESHOLDS:
		return "thresholds";
	case L_PERSISTENTCONN:
		return "persistent-conn";
	case L_NOSORT:
		return "nosort";
	case L_EXACT:
		return "exact";
	case L_TUN_INFO:
		return "tun-info";
	default:
		return "?";
	}
}

int option_group(int id)
{
	// Every service option is the one ipvsadm option "service-address".
	return (id == L_SERVICE_UDP || id == L_SERVICE_SCTP || id == L_SERVICE_FWMARK) ? L_SERVICE_TCP : id;
}

} // namespace

Lookups libc_lookups()
{
	Lookups l;
	l.host_v4 = [](const std::string &name) -> std::optional<std::uint32_t> {
		hostent *h = gethostbyname(name.c_str());
		if (!h || h->h_addrtype != AF_INET || h->h_length != 4 || !h->h_addr_list[0])
			return std::nullopt;
		std::uint32_t a;
		std::memcpy(&a, h->h_addr_list[0], 4);
		return a;
	};
	l.port = [](const std::string &name, std::uint16_t proto) -> std::optional<std::uint16_t> {
		const char *p = proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_SCTP ? "sctp" : nullptr;
		if (!p)
			return std::nullopt;
		servent *s = getservbyname(name.c_str(), p);
		if (!s)
			return std::nullopt;
		return ntohs(static_cast<std::uint16_t>(s->s_port));
	};
	return l;
}

Lookups no_lookups()
{
	Lookups l;
	l.host_v4 = [](const std::string &) { return std::optional<std::uint32_t>(); };
	l.port = [](const std::string &, std::uint16_t) { return std::optional<std::uint16_t>(); };
	return l;
}

std::optional<ServiceKey> parse_service_address(const std::string &text, std::uint16_t proto, const Lookups &lookups,
						std::string &why)
{
	const std::string bad_addr = "Invalid service address '" + text +
				     "': expected host[:port], IPv6 address, or [IPv6]:port.";
	ServiceKey key;
	key.protocol = proto;
	// A bare number is almost always a forgotten address; ipvsadm refuses it too.
	if (text.empty() || all_digits(text)) {
		why = bad_addr;
		return std::nullopt;
	}
	std::string host = text;
	std::optional<std::string> port;
	if (text[0] == '[') {
		auto close = text.find(']');
		if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
			why = bad_addr;
			return std::nullopt;
		}
		host = text.substr(1, close - 1);
		port = text.substr(close + 2);
	}
	in6_addr a6{};
	if (inet_pton(AF_INET6, host.c_str(), &a6) > 0) {
		key.af = AF_INET6;
		std::memcpy(key.addr.bytes.data(), &a6, 16);
	} else {
		if (!port) {
			if (auto colon = host.rfind(':'); colon != std::string::npos) {
				port = host.substr(colon + 1);
				host.resize(colon);
			}
		}
		in_addr a4{};
		if (inet_aton(host.c_str(), &a4) != 0) {
			std::memcpy(key.addr.bytes.data(), &a4, 4);
		} else if (auto h = lookups.host_v4(host)) {
			std::memcpy(key.addr.bytes.data(), &*h, 4);
		} else {
			why = bad_addr;
			return std::nullopt;
		}
		key.af = AF_INET;
	}
	if (port) {
		if (auto n = to_number(*port, 0, 65535)) {
			key.port = static_cast<std::uint16_t>(*n);
		} else if (auto p = lookups.port(*port, proto)) {
			key.port = *p;
		} else {
			why = "Invalid port '" + *port + "' in '" + text + "': expected 0-65535 or a service name.";
			return std::nullopt;
		}
	}
	return key;
}

std::optional<std::uint32_t> parse_fwmark(const std::string &text)
{
	if (auto n = to_number(text, 1, 0xffffffffL))
		return static_cast<std::uint32_t>(*n);
	return std::nullopt;
}

bool valid_netns_name(const std::string &name)
{
	return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
	       name.size() < 256;
}

Parsed<ListOptions> parse_list(const std::vector<std::string> &args, const Lookups &lookups)
{
	auto tok = tokenize(args, kListSpecs, std::size(kListSpecs), "list");
	if (auto *e = std::get_if<UsageError>(&tok))
		return *e;
	ListOptions o;
	bool save = false;
	std::vector<int> seen;
	for (const Opt &opt : std::get<std::vector<Opt>>(tok)) {
		int group = option_group(opt.id);
		if (group != L_LIST && group != L_SORT && group != L_HELP && group != L_IPV6 && group != L_SAVE) {
			for (int s : seen)
				if (s == group)
					return UsageError{std::string("Option '") + list_opt_name(group) +
							  "' is given more than once."};
			seen.push_back(group);
		}
		switch (opt.id) {
		case L_NUMERIC:
			o.fmt.numeric = true;
			break;
		case L_CONNECTION:
			o.connections = true;
			break;
		case L_SERVICE_TCP:
		case L_SERVICE_UDP:
		case L_SERVICE_SCTP: {
			std::uint16_t proto = opt.id == L_SERVICE_TCP ? IPPROTO_TCP
					    : opt.id == L_SERVICE_UDP ? IPPROTO_UDP
								      : IPPROTO_SCTP;
			std::string why;
			auto key = parse_service_address(opt.value, proto, lookups, why);
			if (!key)
				return UsageError{why};
			o.service = *key;
			break;
		}
		case L_SERVICE_FWMARK: {
			auto mark = parse_fwmark(opt.value);
			if (!mark)
				return UsageError{"Invalid fwmark '" + opt.value + "': expected an integer from 1 to 4294967295."};
			ServiceKey key;
			// ipvsadm sends an IPv4 TCP key for a fwmark unless -6 follows.
			key.af = AF_INET;
			key.protocol = IPPROTO_TCP;
			key.fwmark = *mark;
			o.service = key;
			break;
		}
		case L_IPV6:
			if (!o.service || !o.service->fwmark)
				return UsageError{"Option '-6' must follow '-f FWMARK'."};
			o.service->af = AF_INET6;
			break;
		case L_TIMEOUT:
			o.timeout = true;
			break;
		case L_DAEMON:
			o.daemon = true;
			break;
		case L_STATS:
			o.fmt.stats = true;
			break;
		case L_RATE:
			o.fmt.rate = true;
			break;
		case L_THRESHOLDS:
			o.fmt.thresholds = true;
			break;
		case L_PERSISTENTCONN:
			o.fmt.persistent_conn = true;
			break;
		case L_NOSORT:
			o.fmt.nosort = true;
			break;
		case L_EXACT:
			o.fmt.exact = true;
			break;
		case L_TUN_INFO:
			o.fmt.tun_info = true;
			break;
		case L_SAVE:
			save = true;
			break;
		case L_HELP:
			o.help = true;
			break;
		default: // --sort and -L are accepted for compatibility and change nothing
			break;
		}
	}
	if (o.help)
		return o;

	if (save) {
		// ipvsadm -S accepts only -n.
		for (int s : seen)
			if (s != L_NUMERIC)
				return UsageError{std::string("Option '") + list_opt_name(s) + "' cannot be used with -S (save)."};
		o.fmt.rule = true;
		return o;
	}

	// -c, a service, --timeout and --daemon each select a different listing.
	int exclusive = 0;
	std::string first;
	for (int s : seen) {
		if (s == L_CONNECTION || s == L_SERVICE_TCP || s == L_TIMEOUT || s == L_DAEMON) {
			if (exclusive++)
				return UsageError{std::string("Options '") + first + "' and '" + list_opt_name(s) +
						  "' cannot be combined."};
			first = list_opt_name(s);
		}
	}
	if (((o.connections || o.timeout || o.daemon) && (o.fmt.stats || o.fmt.rate || o.fmt.thresholds)) ||
	    ((o.timeout || o.daemon) && o.fmt.persistent_conn))
		return UsageError{"Conflicting options for 'list': --stats, --rate and --thresholds apply to services, "
				  "not to -c, --timeout or --daemon."};
	return o;
}

Parsed<StatusOptions> parse_status(const std::vector<std::string> &args)
{
	enum { S_JSON, S_NETNS, S_HELP };
	static const Spec specs[] = {{"json", 0, false, S_JSON}, {"netns", 0, true, S_NETNS}, {"help", 'h', false, S_HELP}};
	auto tok = tokenize(args, specs, std::size(specs), "status");
	if (auto *e = std::get_if<UsageError>(&tok))
		return *e;
	StatusOptions o;
	for (const Opt &opt : std::get<std::vector<Opt>>(tok)) {
		if (opt.id == S_JSON)
			o.json = true;
		else if (opt.id == S_HELP)
			o.help = true;
		else {
			if (!valid_netns_name(opt.value))
				return UsageError{"Invalid netns name '" + opt.value + "': give a name from 'ip netns list'."};
			o.netns = opt.value;
		}
	}
	return o;
}

Parsed<KnobOptions> parse_knob(const std::vector<std::string> &args, bool enable)
{
	enum { K_NETNS, K_MODE, K_HELP };
	static const Spec specs[] = {{"netns", 0, true, K_NETNS}, {"mode", 0, true, K_MODE}, {"help", 'h', false, K_HELP}};
	const char *verb = enable ? "enable" : "disable";
	auto tok = tokenize(args, specs, std::size(specs), verb);
	if (auto *e = std::get_if<UsageError>(&tok))
		return *e;
	KnobOptions o;
	o.mode = enable ? 1 : 0;
	for (const Opt &opt : std::get<std::vector<Opt>>(tok)) {
		if (opt.id == K_HELP) {
			o.help = true;
		} else if (opt.id == K_NETNS) {
			if (!valid_netns_name(opt.value))
				return UsageError{"Invalid netns name '" + opt.value + "': give a name from 'ip netns list'."};
			o.netns = opt.value;
		} else {
			if (!enable)
				return UsageError{"'disable' takes no --mode: it always sets 0."};
			auto n = to_number(opt.value, 0, 3);
			if (!n)
				return UsageError{"Invalid mode '" + opt.value +
						  "': expected 0, 1 (TIME_WAIT/CLOSE), 2 (NOOUTPUT FIN_WAIT) or 3 (both)."};
			o.mode = static_cast<int>(*n);
		}
	}
	return o;
}

} // namespace ipvs::options

namespace ipvs::options {

Parsed<SaveOptions> parse_save(const std::vector<std::string> &args)
{
	enum { V_NUMERIC, V_THRESH, V_TIMEOUTS, V_NETNS, V_HELP };
	static const Spec specs[] = {{"numeric", 'n', false, V_NUMERIC},
				     {"thresholds", 0, false, V_THRESH},
				     {"timeouts", 0, false, V_TIMEOUTS},
				     {"netns", 0, true, V_NETNS},
				     {"help", 'h', false, V_HELP}};
	auto tok = tokenize(args, specs, std::size(specs), "save");
	if (auto *e = std::get_if<UsageError>(&tok))
		return *e;
	SaveOptions o;
	for (const Opt &opt : std::get<std::vector<Opt>>(tok)) {
		switch (opt.id) {
		case V_NUMERIC:
			o.numeric = true;
			break;
		case V_THRESH:
			o.thresholds = true;
			break;
		case V_TIMEOUTS:
			o.timeouts = true;
			break;
		case V_HELP:
			o.help = true;
			break;
		default:
			if (!valid_netns_name(opt.value))
				return UsageError{"Invalid netns name '" + opt.value + "': give a name from 'ip netns list'."};
			o.netns = opt.value;
		}
	}
	return o;
}

Parsed<RestoreOptions> parse_restore(const std::vector<std::string> &args)
{
	enum { R_NUMERIC, R_FLUSH, R_CHECK, R_NETNS, R_HELP };
	static const Spec specs[] = {{"numeric", 'n', false, R_NUMERIC},
				     {"flush", 0, false, R_FLUSH},
				     {"check", 0, false, R_CHECK},
				     {"netns", 0, true, R_NETNS},
				     {"help", 'h', false, R_HELP}};
	auto tok = tokenize(args, specs, std::size(specs), "restore");
	if (auto *e = std::get_if<UsageError>(&tok))
		return *e;
	RestoreOptions o;
	for (const Opt &opt : std::get<std::vector<Opt>>(tok)) {
		switch (opt.id) {
		case R_NUMERIC:
			o.numeric = true;
			break;
		case R_FLUSH:
			o.flush = true;
			break;
		case R_CHECK:
			o.check = true;
			break;
		case R_HELP:
			o.help = true;
			break;
		default:
			if (!valid_netns_name(opt.value))
				return UsageError{"Invalid netns name '" + opt.value + "': give a name from 'ip netns list'."};
			o.netns = opt.value;
		}
	}
	return o;
}

Parsed<SwapOptions> parse_swap(const std::vector<std::string> &args)
{
	enum { W_KO, W_FROM_KO, W_YES, W_ALL, W_FILE, W_HELP };
	static const Spec specs[] = {{"ko", 0, true, W_KO},		{"from-ko", 0, true, W_FROM_KO},
				     {"yes", 'y', false, W_YES},	{"all-netns", 0, false, W_ALL},
				     {"save-file", 0, true, W_FILE},	{"help", 'h', false, W_HELP}};
	auto tok = tokenize(args, specs, std::size(specs), "swap-module");
	if (auto *e = std::get_if<UsageError>(&tok))
		return *e;
	SwapOptions o;
	for (const Opt &opt : std::get<std::vector<Opt>>(tok)) {
		switch (opt.id) {
		case W_KO:
		case W_FROM_KO:
		case W_FILE:
			if (opt.value.empty())
				return UsageError{"Option '" + opt.spelled + "' needs a non-empty path."};
			(opt.id == W_KO ? o.ko : opt.id == W_FROM_KO ? o.from_ko : o.save_file) = opt.value;
			break;
		case W_YES:
			o.yes = true;
			break;
		case W_ALL:
			o.all_netns = true;
			break;
		default:
			o.help = true;
		}
	}
	return o;
}

} // namespace ipvs::options
