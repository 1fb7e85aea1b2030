// SPDX-License-Identifier: GPL-2.0
// A line-based text form of what the kernel reported, so golden tests replay printers without a kernel.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ipvs_drain/model.h"

namespace ipvs::fixture {

struct Snapshot {
	Info info;
	Timeouts timeouts;
	std::vector<Service> services; // kernel dump order, which the sort depends on
};

std::string write(const Snapshot &s);
std::optional<Snapshot> read(const std::string &text, std::string &error);

} // namespace ipvs::fixture
