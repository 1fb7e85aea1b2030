// SPDX-License-Identifier: GPL-2.0
// 'metrics': the status reports of several network namespaces as Prometheus text exposition format 0.0.4
// (pure), for node_exporter's textfile collector. The metric names are documented in userspace/README.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ipvs_drain/status.h"

namespace ipvs::metrics {

struct NetnsReport {
	std::string label; // the netns label: "" for the tool's own namespace, else the /run/netns name
	status::Report report;
};

struct Snapshot {
	std::string kernel;             // uname -r
	bool ipvs_loaded = false;       // false: no namespace could be read, since ip_vs is not loaded
	std::vector<NetnsReport> netns; // in output order, labels distinct
};

// The whole exposition: HELP and TYPE before each family that has samples, families in a fixed order,
// every sample of a family together, lines ending in '\n'.
std::string render(const Snapshot &s);

// A label value as the text format wants it between its quotes: '\' '"' and newline escaped, and any
// byte that is not part of valid UTF-8 replaced by U+FFFD (Prometheus rejects invalid UTF-8).
std::string escape_label_value(std::string_view v);

// HELP text: '\' and newline escaped.
std::string escape_help(std::string_view v);

} // namespace ipvs::metrics
