// SPDX-License-Identifier: GPL-2.0
// Bench results as plain data, and the pure functions that turn them into figures, a table, JSON and SVG.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ipvs::bench {

// One client connection, as the load generator saw it. Times are µs since the run's start.
struct ConnRecord {
	std::int64_t start_us = 0;
	std::int64_t connect_us = -1; // connect latency; -1 when the connect never completed
	std::string outcome;          // "ok" or an errno name (ETIMEDOUT for our own connect timeout)
	std::string pod;              // serving backend, empty when unknown
	std::uint16_t port = 0;       // client source port, 0 for ephemeral
	bool client_closed_first = false;
};

struct Latency {
	std::int64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0; // µs
};

struct PhaseFigures {
	std::string phase;
	std::uint64_t attempts = 0, ok = 0;
	std::map<std::string, std::uint64_t> errors; // errno name -> count
	std::map<std::string, std::uint64_t> pods;   // serving pod -> count of ok connections
	std::optional<Latency> connect_us;           // over connects that completed; empty when none did
	std::uint64_t over_900ms = 0;                // completed connects slower than 900 ms (SYN retransmits)
	std::uint64_t client_closed_first = 0;
	double wall_s = 0, conn_per_s = 0;
};

// Nearest-rank percentile of sorted @v (q in 0..1); 0 for an empty vector.
std::int64_t percentile(const std::vector<std::int64_t> &sorted, double q);
PhaseFigures summarize(const std::string &phase, const std::vector<ConnRecord> &records, double wall_s);

struct PhaseResult {
	PhaseFigures fig;
	std::string ports;                            // the source ports reused, "LO-HI"
	std::optional<std::uint64_t> old_pod_entries; // entries to the old pod on this phase's ports in the states a reused port meets
	std::optional<std::uint64_t> entries_before_change; // the same, counted before the phase's state change
	std::optional<std::map<std::string, std::int64_t>> counters_delta; // /proc/net/ip_vs_reuse_stats
	std::int64_t start_us = 0, end_us = 0;
};

struct Marker {
	std::int64_t t_us = 0;
	std::string label;
};

struct ConfigResult {
	std::string name;
	std::vector<std::pair<std::string, int>> sysctls; // as set in the director netns
	std::optional<std::string> skipped;             // reason, when the configuration did not run
	std::optional<std::string> failed;              // reason, when it stopped half way
	std::vector<PhaseResult> phases;
	std::optional<std::string> hold_pod;  // who answered the long-lived connection at first
	std::optional<bool> hold_alive;       // it still answered at the end of draining
	std::optional<bool> hold_closed;      // then our FIN got the pod's FIN back
	std::optional<double> drain_s;        // weight 0 -> ActiveConn+InActConn of the old pod == 0
	double drain_watched_s = 0;           // how long that was watched
	std::optional<bool> service_gone, namespaces_gone;
	std::vector<Marker> markers;
	std::vector<ConnRecord> records; // every connection, for the timeline
};

struct Report {
	std::string mode; // "lab" or "target"
	std::string kernel;
	bool variant_loaded = false;
	std::optional<bool> kernel_has_upstream_fix;
	std::string target; // VIP:PORT, target mode
	std::string ports;  // "20000-20299" or "ephemeral"
	unsigned concurrency = 0;
	double rate = 0, connect_timeout_s = 0;
	std::string plan;            // lab: full, short or lastdest; empty in target mode
	std::string topology;        // lab: nat, dr or nat6; empty in target mode
	std::uint32_t persistent = 0; // lab: the service's persistence timeout, 0 = none
	std::vector<ConfigResult> configs;
};

std::string render_json(const Report &r);
std::string render_table(const Report &r);

// A timeline per configuration: connections started per 100 ms, stacked by outcome and serving pod,
// markers as dashed vertical lines.
std::string render_svg(const Report &r);

// Shared with the printers' tests.
std::string xml_escape(const std::string &s);

} // namespace ipvs::bench
