// SPDX-License-Identifier: GPL-2.0
// The one collector behind 'status' and 'metrics': one network namespace's IPVS state as a status::Report,
// and the namespaces 'metrics' reports on.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ipvs_drain/status.h"
#include "ipvs_drain/util.h"

namespace ipvs::status {

struct CollectError {
	enum class Kind {
		NotLoaded, // the IPVS generic netlink family is absent: ip_vs is not loaded (in any namespace)
		Failed,
	} kind;
	std::string message; // one sentence with its period, no "ipvs-drain:" prefix
};

// Reads the Report of the network namespace the calling thread is in: kernel, IPVS version, whether
// the variant is loaded and its version, the five sysctls, the variant's counters, the risk per
// service and the advice. @netns only names the namespace in the report.
std::variant<Report, CollectError> collect(const std::optional<std::string> &netns);

// One namespace to report on: label "" is the caller's own (fd not set), any other is /run/netns/LABEL.
struct Target {
	std::string label;
	util::Fd fd;
};

struct ScopeError {
	std::string message; // one sentence with its period
};

// The namespaces of 'metrics': with @names empty, the caller's own namespace and then every entry of
// /run/netns in name order, an entry that is the caller's own namespace counted once (as the caller's),
// and entries that vanish while being opened or are no network namespace skipped; otherwise exactly the
// namespaces /run/netns/NAME in the order given (a repeated name once), where one that cannot be opened
// is an error.
std::variant<std::vector<Target>, ScopeError> scope(const std::vector<std::string> &names);

} // namespace ipvs::status
