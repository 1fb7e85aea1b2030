// SPDX-License-Identifier: GPL-2.0
// Pure parser for `ipvs-drain bench`: argv in, BenchOptions or one sentence of error out (exit 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipvs_drain/options.h"

namespace ipvs::bench {

// The sysctl configurations of README.md ("Named sysctl configurations"), in the order they run.
inline constexpr const char *kConfigNames[] = {"legacy", "variant", "upstream", "modern"};

struct PortRange {
	std::uint16_t lo = 0, hi = 0; // both 0: the kernel's ephemeral range
	bool ephemeral() const { return lo == 0; }
	std::size_t size() const { return ephemeral() ? 0 : static_cast<std::size_t>(hi - lo) + 1; }
};

struct BenchOptions {
	bool lab = false;
	// --target: IPv4 address in network byte order and port in host order.
	std::uint32_t target_addr = 0;
	std::uint16_t target_port = 0;
	std::vector<std::string> configs; // lab: empty means every configuration the kernel supports
	PortRange ports;                   // lab default 20000-20299; target default ephemeral
	unsigned concurrency = 50;
	double rate = 0; // connections started per second at most; 0 = no cap
	double connect_timeout_s = 2.0;
	double read_timeout_s = 5.0;
	double duration_s = 10.0; // target mode only
	std::string send;         // target mode request; empty = HTTP/1.0 GET /
	std::string id_regex;     // target mode backend identification
	std::optional<std::string> json_path, svg_path;
	// lab: --set KEY=N, net.ipv4.vs sysctls written after the configuration's own, in order
	std::vector<std::pair<std::string, int>> set;
	std::string plan = "full";     // lab: full, short or lastdest (the phases after warm)
	std::string topology = "nat";  // lab: nat, dr or nat6
	std::uint32_t persistent = 0;  // lab: the service's persistence timeout in seconds, 0 = none
	bool help = false;
};

options::Parsed<BenchOptions> parse_bench(const std::vector<std::string> &args);

// "20000-20199", "20000" or "ephemeral". Empty with @why set when malformed.
std::optional<PortRange> parse_port_range(const std::string &text, std::string &why);

// The HTTP/1.0 request --target sends by default, for @host (dotted quad).
std::string default_request(const std::string &host);

} // namespace ipvs::bench
