// SPDX-License-Identifier: GPL-2.0
// Pure command-line parsers: argv in, an options struct or one sentence of error out (exit 2).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ipvs_drain/args.h"
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

struct SaveOptions {
	bool numeric = false;
	bool thresholds = false;
	bool timeouts = false;
	std::optional<std::string> netns;
	bool help = false;
};

struct RestoreOptions {
	bool flush = false;
	bool check = false;
	std::optional<std::string> netns;
	bool help = false;
};

struct MetricsOptions {
	std::vector<std::string> netns;          // empty: this namespace and every one in /run/netns
	std::optional<std::string> textfile_dir; // empty: standard output
	bool help = false;
};

struct SwapOptions {
	std::optional<std::string> ko;      // load the new set from here (insmod); else modprobe
	std::optional<std::string> from_ko; // where the loaded set's files are, to put it back on failure
	bool yes = false;
	bool all_netns = false;
	std::optional<std::string> save_file;
	bool help = false;
};

// popt over @words with @specs; its errors and any word no option takes become one sentence naming @verb.
std::variant<args::Words, UsageError> read_args(const std::vector<std::string> &words, std::span<const args::Spec> specs,
						const std::string &verb);

// @args excludes the verb. Option syntax follows ipvsadm (popt): -nc clusters, -tADDR, --opt=value.
Parsed<ListOptions> parse_list(const std::vector<std::string> &args, const Lookups &lookups);
Parsed<StatusOptions> parse_status(const std::vector<std::string> &args);
Parsed<KnobOptions> parse_knob(const std::vector<std::string> &args, bool enable);
Parsed<SaveOptions> parse_save(const std::vector<std::string> &args);
Parsed<RestoreOptions> parse_restore(const std::vector<std::string> &args);
Parsed<SwapOptions> parse_swap(const std::vector<std::string> &args);
Parsed<MetricsOptions> parse_metrics(const std::vector<std::string> &args);

// ipvsadm's host[:port] / [v6]:port / v6 grammar. Empty on bad address or port, with @why set.
std::optional<ServiceKey> parse_service_address(const std::string &text, std::uint16_t proto, const Lookups &lookups,
						std::string &why);
std::optional<std::uint32_t> parse_fwmark(const std::string &text);
bool valid_netns_name(const std::string &name);

} // namespace ipvs::options
