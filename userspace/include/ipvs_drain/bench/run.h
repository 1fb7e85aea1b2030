// SPDX-License-Identifier: GPL-2.0
// `ipvs-drain bench`: the lab (private namespaces, pods, IPVS through our Client) and the client-only mode.
#pragma once

#include <string>
#include <vector>

namespace ipvs::bench {

// The whole verb: parses @args, runs, prints; returns the exit status (0, 1 failure, 2 usage, 130 interrupted).
int run_bench(const std::vector<std::string> &args);

} // namespace ipvs::bench
