// SPDX-License-Identifier: GPL-2.0
// Option parsing for `bench`; every value is range-checked here so the I/O code never sees nonsense.
#include "ipvs_drain/bench/options.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>

#include <arpa/inet.h>

#include "ipvs_drain/args.h"

namespace ipvs::bench {

namespace {

using args::parse_uint;
using options::UsageError;

std::optional<double> parse_number(const std::string &text)
{
	if (text.empty() || text.find_first_not_of("0123456789.") != std::string::npos)
		return std::nullopt;
	char *end = nullptr;
	errno = 0;
	double v = std::strtod(text.c_str(), &end);
	if (errno || *end || !std::isfinite(v))
		return std::nullopt;
	return v;
}

// The IPVS sysctls --set may change, with the largest value each takes.
constexpr std::pair<const char *, int> kSettable[] = {{"conntrack", 1},
						     {"conn_reuse_mode", 3},
						     {"expire_nodest_conn", 1},
						     {"expire_quiescent_template", 1},
						     {"conn_reuse_quiescent", 3}};

bool known_config(const std::string &name)
{
	for (const char *c : kConfigNames)
		if (name == c)
			return true;
	return false;
}

} // namespace

std::optional<PortRange> parse_port_range(const std::string &text, std::string &why)
{
	if (text == "ephemeral")
		return PortRange{};
	std::string lo_s = text, hi_s = text;
	if (auto dash = text.find('-'); dash != std::string::npos) {
		lo_s = text.substr(0, dash);
		hi_s = text.substr(dash + 1);
	}
	auto lo = parse_uint(lo_s, 1, 65535), hi = parse_uint(hi_s, 1, 65535);
	if (!lo || !hi) {
		why = "Invalid port range '" + text + "': give LO-HI with ports 1-65535 (e.g. 20000-20199), or 'ephemeral'.";
		return std::nullopt;
	}
	if (*lo > *hi) {
		why = "Invalid port range '" + text + "': the first port is above the last.";
		return std::nullopt;
	}
	return PortRange{static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi)};
}

std::string default_request(const std::string &host)
{
	return "GET / HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: ipvs-drain-bench\r\n\r\n";
}

options::Parsed<BenchOptions> parse_bench(const std::vector<std::string> &args)
{
	static const char *const with_value[] = {"target", "configs", "ports", "concurrency", "rate",
						 "connect-timeout", "read-timeout", "duration", "send",
						 "id-regex", "json", "svg", "set", "plan", "persistent", "topology"};
	std::vector<args::Spec> specs{{"lab", 0, args::Arg::None, 0}, {"help", 'h', args::Arg::None, 0}};
	for (const char *name : with_value)
		specs.push_back({name, 0, args::Arg::One, 0});
	auto w = options::read_args(args, specs, "bench");
	if (auto *e = std::get_if<UsageError>(&w))
		return *e;
	BenchOptions o;
	bool ports_set = false, duration_set = false, send_set = false, regex_set = false;
	std::string lab_only; // the last lab-only option given
	std::optional<std::string> target;
	for (const args::Opt &opt : std::get<args::Words>(w).opts) {
		const std::string name = opt.spelled == "-h" ? "help" : opt.spelled.substr(2);
		const std::string value = opt.value.value_or("");
		if (name == "help") {
			o.help = true;
		} else if (name == "lab") {
			o.lab = true;
		} else if (name == "target") {
			target = value;
		} else if (name == "configs") {
			o.configs.clear();
			std::size_t pos = 0;
			while (pos <= value.size()) {
				std::size_t comma = value.find(',', pos);
				if (comma == std::string::npos)
					comma = value.size();
				std::string c = value.substr(pos, comma - pos);
				if (!known_config(c))
					return UsageError{"Unknown configuration '" + c +
							  "': choose from legacy, variant, upstream, modern."};
				for (const auto &seen : o.configs)
					if (seen == c)
						return UsageError{"Configuration '" + c + "' is given twice."};
				o.configs.push_back(c);
				pos = comma + 1;
			}
		} else if (name == "ports") {
			std::string why;
			auto r = parse_port_range(value, why);
			if (!r)
				return UsageError{why};
			o.ports = *r;
			ports_set = true;
		} else if (name == "concurrency") {
			auto n = parse_uint(value, 1, 10000);
			if (!n)
				return UsageError{"Invalid concurrency '" + value + "': give 1 to 10000 connections in flight."};
			o.concurrency = static_cast<unsigned>(*n);
		} else if (name == "rate") {
			auto r = parse_number(value);
			if (!r || *r <= 0 || *r > 1e6)
				return UsageError{"Invalid rate '" + value + "': give connections per second, above 0 and at most 1000000."};
			o.rate = *r;
		} else if (name == "connect-timeout" || name == "read-timeout") {
			auto t = parse_number(value);
			if (!t || *t < 0.01 || *t > 120)
				return UsageError{"Invalid --" + name + " '" + value + "': give seconds, 0.01 to 120."};
			(name == "connect-timeout" ? o.connect_timeout_s : o.read_timeout_s) = *t;
		} else if (name == "duration") {
			auto d = parse_number(value);
			if (!d || *d <= 0 || *d > 86400)
				return UsageError{"Invalid duration '" + value + "': give seconds, above 0 and at most 86400."};
			o.duration_s = *d;
			duration_set = true;
		} else if (name == "send") {
			if (value.empty())
				return UsageError{"--send needs a non-empty payload."};
			o.send = value;
			send_set = true;
		} else if (name == "id-regex") {
			try {
				std::regex re(value);
			} catch (const std::regex_error &) {
				return UsageError{"Invalid --id-regex '" + value + "': not an ECMAScript regular expression."};
			}
			o.id_regex = value;
			regex_set = true;
		} else if (name == "set") {
			const auto eq = value.find('=');
			const std::string key = value.substr(0, eq);
			const auto known = std::find_if(std::begin(kSettable), std::end(kSettable),
							[&](const auto &k) { return key == k.first; });
			if (eq == std::string::npos || known == std::end(kSettable))
				return UsageError{"Invalid --set '" + value + "': give KEY=N with KEY one of conntrack, "
						  "conn_reuse_mode, expire_nodest_conn, expire_quiescent_template, "
						  "conn_reuse_quiescent."};
			auto n = parse_uint(value.substr(eq + 1), 0, static_cast<std::uint64_t>(known->second));
			if (!n)
				return UsageError{"Invalid --set '" + value + "': " + key + " takes 0 to " +
						  std::to_string(known->second) + "."};
			for (const auto &[k, v] : o.set)
				if (k == key)
					return UsageError{"--set " + key + " is given twice."};
			o.set.emplace_back(key, static_cast<int>(*n));
			lab_only = "--set";
		} else if (name == "plan") {
			if (value != "full" && value != "short" && value != "lastdest")
				return UsageError{"Unknown plan '" + value + "': choose from full, short, lastdest."};
			o.plan = value;
			lab_only = "--plan";
		} else if (name == "topology") {
			if (value != "nat" && value != "dr" && value != "nat6")
				return UsageError{"Unknown topology '" + value + "': choose from nat, dr, nat6."};
			o.topology = value;
			lab_only = "--topology";
		} else if (name == "persistent") {
			auto n = parse_uint(value, 1, 86400 * 31);
			if (!n)
				return UsageError{"Invalid --persistent '" + value + "': give the timeout in seconds, 1 to 2678400."};
			o.persistent = static_cast<std::uint32_t>(*n);
			lab_only = "--persistent";
		} else if (name == "json" || name == "svg") {
			if (value.empty())
				return UsageError{"--" + name + " needs a file name."};
			(name == "json" ? o.json_path : o.svg_path) = value;
		}
	}
	if (o.help)
		return o;
	if (o.lab == target.has_value())
		return UsageError{"Give exactly one of --lab or --target VIP:PORT; see 'ipvs-drain bench --help'."};
	if (target) {
		auto colon = target->rfind(':');
		in_addr a{};
		std::string host = colon == std::string::npos ? *target : target->substr(0, colon);
		if (colon == std::string::npos || inet_pton(AF_INET, host.c_str(), &a) != 1 || a.s_addr == 0 ||
		    a.s_addr == INADDR_BROADCAST)
			return UsageError{"Invalid target '" + *target + "': give an IPv4 VIP:PORT, e.g. 10.96.0.10:80."};
		auto port = parse_uint(target->substr(colon + 1), 1, 65535);
		if (!port)
			return UsageError{"Invalid target port in '" + *target + "': give 1 to 65535."};
		o.target_addr = a.s_addr;
		o.target_port = static_cast<std::uint16_t>(*port);
		if (!o.configs.empty())
			return UsageError{"--configs applies to --lab only."};
		if (!lab_only.empty())
			return UsageError{lab_only + " applies to --lab only: bench never changes the node's own IPVS "
						     "table or sysctls."};
	} else {
		if (duration_set)
			return UsageError{"--duration applies to --target only: lab phases use each port of their set once."};
		if (send_set || regex_set)
			return UsageError{"--send and --id-regex apply to --target only: lab pods answer with their name."};
		if (!ports_set)
			o.ports = PortRange{20000, 20299};
		if (o.ports.ephemeral() || o.ports.size() < 3)
			return UsageError{"--lab needs a fixed --ports range of at least 3 ports: it is split into the three "
					  "sets that draining, destroyed and removed reuse."};
	}
	return o;
}

} // namespace ipvs::bench
