// SPDX-License-Identifier: GPL-2.0
// Option parsing for every verb; accepts ipvsadm's listing syntax so users can keep their habits.
#include "ipvs_drain/options.h"

#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvs_drain/args.h"

namespace ipvs::options {

namespace {

using args::Arg;

bool all_digits(const std::string &s)
{
	for (char c : s)
		if (c < '0' || c > '9')
			return false;
	return true;
}

std::optional<UsageError> netns_error(const std::string &name)
{
	if (valid_netns_name(name))
		return std::nullopt;
	return UsageError{"Invalid netns name '" + name + "': give a name from 'ip netns list'."};
}

// status, save and restore: on/off flags of their own (a null member is accepted and ignored),
// plus --netns NAME and -h.
template <class T>
Parsed<T> parse_flags(const std::vector<std::string> &a, const char *verb,
		      std::vector<std::pair<args::Spec, bool T::*>> flags)
{
	enum { NETNS = -1, HELP = -2 };
	std::vector<args::Spec> specs{{"netns", 0, Arg::One, NETNS}, {"help", 'h', Arg::None, HELP}};
	for (std::size_t i = 0; i < flags.size(); i++)
		specs.push_back({flags[i].first.long_name, flags[i].first.short_name, Arg::None, static_cast<int>(i)});
	auto w = read_args(a, specs, verb);
	if (auto *e = std::get_if<UsageError>(&w))
		return *e;
	T o;
	for (const args::Opt &opt : std::get<args::Words>(w).opts) {
		if (opt.id == HELP) {
			o.help = true;
		} else if (opt.id == NETNS) {
			if (auto e = netns_error(*opt.value))
				return *e;
			o.netns = *opt.value;
		} else if (auto m = flags[static_cast<std::size_t>(opt.id)].second) {
			o.*m = true;
		}
	}
	return o;
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

const args::Spec kListSpecs[] = {
	{"numeric", 'n', Arg::None, L_NUMERIC},
	{"connection", 'c', Arg::None, L_CONNECTION},
	{"tcp-service", 't', Arg::One, L_SERVICE_TCP},
	{"udp-service", 'u', Arg::One, L_SERVICE_UDP},
	{"sctp-service", 0, Arg::One, L_SERVICE_SCTP},
	{"fwmark-service", 'f', Arg::One, L_SERVICE_FWMARK},
	{"timeout", 0, Arg::None, L_TIMEOUT},
	{"daemon", 0, Arg::None, L_DAEMON},
	{"stats", 0, Arg::None, L_STATS},
	{"rate", 0, Arg::None, L_RATE},
	{"thresholds", 0, Arg::None, L_THRESHOLDS},
	{"persistent-conn", 0, Arg::None, L_PERSISTENTCONN},
	{"sort", 0, Arg::None, L_SORT},
	{"nosort", 0, Arg::None, L_NOSORT},
	{"exact", 'X', Arg::None, L_EXACT},
	{"tun-info", 0, Arg::None, L_TUN_INFO},
	{"ipv6", '6', Arg::None, L_IPV6},
	{"save", 'S', Arg::None, L_SAVE},
	{"list", 'L', Arg::None, L_LIST},
	{"list", 'l', Arg::None, L_LIST},
	{"help", 'h', Arg::None, L_HELP},
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

std::variant<args::Words, UsageError> read_args(const std::vector<std::string> &words, std::span<const args::Spec> specs,
						const std::string &verb)
{
	auto r = args::parse(words, specs);
	if (auto *e = std::get_if<args::Error>(&r)) {
		const std::string name = e->word.substr(0, e->word.find('='));
		if (e->kind == args::Error::NeedsValue)
			return UsageError{"Option '" + name + "' needs a value."};
		if (e->kind == args::Error::TakesNoValue)
			return UsageError{"Option '" + name + "' takes no value."};
		// A service option for a protocol IPVS does not balance is a bad protocol, not a typo.
		if (name.size() > 10 && name.starts_with("--") && name.ends_with("-service"))
			return UsageError{"Unknown protocol '" + name.substr(2, name.size() - 10) +
					  "': use -t (tcp), -u (udp), --sctp-service or -f (fwmark)."};
		return UsageError{"Unknown option '" + name + "' for '" + verb + "'; see 'ipvs-drain " + verb + " --help'."};
	}
	auto &w = std::get<args::Words>(r);
	if (!w.rest.empty())
		return UsageError{"Unexpected argument '" + w.rest[0] + "' for '" + verb + "'; see 'ipvs-drain " + verb +
				  " --help'."};
	return std::move(w);
}

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
		if (auto n = args::parse_uint(*port, 0, 65535)) {
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
	if (auto n = args::parse_uint(text, 1, 0xffffffffu))
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
	auto w = read_args(args, kListSpecs, "list");
	if (auto *e = std::get_if<UsageError>(&w))
		return *e;
	ListOptions o;
	bool save = false;
	std::vector<int> seen;
	for (const args::Opt &opt : std::get<args::Words>(w).opts) {
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
			auto key = parse_service_address(*opt.value, proto, lookups, why);
			if (!key)
				return UsageError{why};
			o.service = *key;
			break;
		}
		case L_SERVICE_FWMARK: {
			auto mark = parse_fwmark(*opt.value);
			if (!mark)
				return UsageError{"Invalid fwmark '" + *opt.value + "': expected an integer from 1 to 4294967295."};
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
	return parse_flags<StatusOptions>(args, "status", {{{"json", 0, Arg::None, 0}, &StatusOptions::json}});
}

Parsed<KnobOptions> parse_knob(const std::vector<std::string> &args, bool enable)
{
	enum { K_NETNS, K_MODE, K_HELP };
	static const args::Spec specs[] = {
		{"netns", 0, Arg::One, K_NETNS}, {"mode", 0, Arg::One, K_MODE}, {"help", 'h', Arg::None, K_HELP}};
	auto w = read_args(args, specs, enable ? "enable" : "disable");
	if (auto *e = std::get_if<UsageError>(&w))
		return *e;
	KnobOptions o;
	o.mode = enable ? 1 : 0;
	for (const args::Opt &opt : std::get<args::Words>(w).opts) {
		if (opt.id == K_HELP) {
			o.help = true;
		} else if (opt.id == K_NETNS) {
			if (auto e = netns_error(*opt.value))
				return *e;
			o.netns = *opt.value;
		} else {
			if (!enable)
				return UsageError{"'disable' takes no --mode: it always sets 0."};
			auto n = args::parse_uint(*opt.value, 0, 3);
			if (!n)
				return UsageError{"Invalid mode '" + *opt.value +
						  "': expected 0, 1 (TIME_WAIT/CLOSE), 2 (NOOUTPUT FIN_WAIT) or 3 (both)."};
			o.mode = static_cast<int>(*n);
		}
	}
	return o;
}


Parsed<SaveOptions> parse_save(const std::vector<std::string> &args)
{
	return parse_flags<SaveOptions>(args, "save",
					{{{"numeric", 'n', Arg::None, 0}, &SaveOptions::numeric},
					 {{"thresholds", 0, Arg::None, 0}, &SaveOptions::thresholds},
					 {{"timeouts", 0, Arg::None, 0}, &SaveOptions::timeouts}});
}

Parsed<RestoreOptions> parse_restore(const std::vector<std::string> &args)
{
	return parse_flags<RestoreOptions>(args, "restore",
					   {{{"flush", 0, Arg::None, 0}, &RestoreOptions::flush},
					    {{"check", 0, Arg::None, 0}, &RestoreOptions::check}});
}

Parsed<SwapOptions> parse_swap(const std::vector<std::string> &args)
{
	enum { W_KO, W_FROM_KO, W_YES, W_ALL, W_FILE, W_HELP };
	static const args::Spec specs[] = {{"ko", 0, Arg::One, W_KO},	      {"from-ko", 0, Arg::One, W_FROM_KO},
					   {"yes", 'y', Arg::None, W_YES},    {"all-netns", 0, Arg::None, W_ALL},
					   {"save-file", 0, Arg::One, W_FILE}, {"help", 'h', Arg::None, W_HELP}};
	auto w = read_args(args, specs, "swap-module");
	if (auto *e = std::get_if<UsageError>(&w))
		return *e;
	SwapOptions o;
	for (const args::Opt &opt : std::get<args::Words>(w).opts) {
		switch (opt.id) {
		case W_KO:
		case W_FROM_KO:
		case W_FILE:
			if (opt.value->empty())
				return UsageError{"Option '" + opt.spelled + "' needs a non-empty path."};
			(opt.id == W_KO ? o.ko : opt.id == W_FROM_KO ? o.from_ko : o.save_file) = *opt.value;
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

Parsed<MetricsOptions> parse_metrics(const std::vector<std::string> &args)
{
	enum { M_NETNS, M_DIR, M_HELP };
	static const args::Spec specs[] = {{"netns", 0, Arg::One, M_NETNS},
					   {"textfile-dir", 0, Arg::One, M_DIR},
					   {"help", 'h', Arg::None, M_HELP}};
	auto w = read_args(args, specs, "metrics");
	if (auto *e = std::get_if<UsageError>(&w))
		return *e;
	MetricsOptions o;
	for (const args::Opt &opt : std::get<args::Words>(w).opts) {
		switch (opt.id) {
		case M_NETNS:
			if (auto e = netns_error(*opt.value))
				return *e;
			o.netns.push_back(*opt.value);
			break;
		case M_DIR:
			if (opt.value->empty())
				return UsageError{"Option '--textfile-dir' needs a non-empty directory."};
			if (o.textfile_dir)
				return UsageError{"Option '--textfile-dir' is given more than once."};
			o.textfile_dir = *opt.value;
			break;
		default:
			o.help = true;
		}
	}
	return o;
}

} // namespace ipvs::options
