// SPDX-License-Identifier: GPL-2.0
// The status report: risk per service, the advice line, and its text and JSON renderings (all pure).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ipvs_drain/model.h"

namespace ipvs::status {

struct DestRisk {
	int af = 0;
	Addr addr;
	std::uint16_t port = 0;
	bool present = false;          // false: removed from the service while entries remain
	std::uint32_t weight = 0;      // meaningful when present
	std::uint32_t conn_flags = 0;  // meaningful when present
	std::uint64_t time_wait = 0, close = 0, fin_wait_nooutput = 0;
	std::uint64_t total() const { return time_wait + close + fin_wait_nooutput; }
};

struct ServiceRisk {
	std::string name; // "TCP 10.96.0.10:80", "TCP [2001:db8::1]:80" or "FWM 7"
	int af = 0;
	std::uint16_t protocol = 0;
	Addr addr;
	std::uint16_t port = 0;
	std::uint32_t fwmark = 0;
	std::vector<DestRisk> dests; // only destinations with at-risk entries
	std::uint64_t entries() const;
};

// The entries a reused client port would hit: TCP TIME_WAIT/CLOSE, and FIN_WAIT when replies bypass
// the director (Route/Tunnel), whose destination has weight 0 or is gone. One row per service.
std::vector<ServiceRisk> compute_risk(const std::vector<Service> &services, const std::vector<ConnEntry> &conns);

struct Report {
	std::string kernel;
	std::optional<std::string> netns;
	std::string ipvs_version; // e.g. "1.2.1"
	bool variant_loaded = false;
	std::optional<std::string> variant_version;
	std::vector<std::pair<std::string, std::optional<int>>> sysctls;
	std::optional<std::map<std::string, std::uint64_t>> counters;
	std::vector<ServiceRisk> risk;
	std::string advice;
};

// True when the release is 5.16 or later (upstream c95c07836fa4); empty when only a backport could tell.
std::optional<bool> kernel_has_nodest_fix(const std::string &release);

// One line that follows from the sysctls, the kernel and the risk.
std::string advise(const Report &r);

std::string render_text(const Report &r);
std::string render_json(const Report &r);

} // namespace ipvs::status
