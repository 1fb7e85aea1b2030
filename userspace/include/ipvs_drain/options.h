// SPDX-License-Identifier: GPL-2.0
// Pure command-line parsers: argv in, an options struct or one sentence of error out (exit 2).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ipvs_drain/format.h"
#include "ipvs_drain/model.h"

namespace ipvs::options {

struct UsageError {
	std::string message;
};

template <class T> using Parsed = std::variant<T, UsageError>;

// Name lookups that ipvsadm performs on input; injected so parsing stays testable.
struct Lookups {
	std::function<std::optional<std::uint32_t>(const std::string &)> host_v4; // network order
	std::function<std::optional<std::uint16_t>(const std::string &, std::uint16_t proto)> port;
};
Lookups libc_lookups();
Lookups no_lookups();

struct ListOptions {
	format::ListFormat fmt;
	bool connections = false;
	bool timeout = false;
	bool daemon = false;
	std::optional<ServiceKey> service;
	bool help = false;
};

struct StatusOptions {
	bool json = false;
	std::optional<std::string> netns;
	bool help = false;
};

struct KnobOptions {
	std::optional<std::string> netns;
	int mode = 1;
	bool help = false;
};

// @args excludes the verb. Option syntax follows ipvsadm (popt): -nc clusters, -tADDR, --opt=value.
Parsed<ListOptions> parse_list(const std::vector<std::string> &args, const Lookups &lookups);
Parsed<StatusOptions> parse_status(const std::vector<std::string> &args);
Parsed<KnobOptions> parse_knob(const std::vector<std::string> &args, bool enable);

// ipvsadm's host[:port] / [v6]:port / v6 grammar. Empty on bad address or port, with @why set.
std::optional<ServiceKey> parse_service_address(const std::string &text, std::uint16_t proto, const Lookups &lookups,
						std::string &why);
std::optional<std::uint32_t> parse_fwmark(const std::string &text);
bool valid_netns_name(const std::string &name);

} // namespace ipvs::options
