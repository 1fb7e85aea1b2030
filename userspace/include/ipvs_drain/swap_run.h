// SPDX-License-Identifier: GPL-2.0
// swap-module's I/O: namespaces, netlink, /proc, module loading; the decisions come from swap.h and rules.h.
#pragma once

#include "ipvs_drain/options.h"

namespace ipvs::swap {

// Prints progress on stdout and one-line refusals/failures on stderr; returns the exit status.
int run(const options::SwapOptions &opt);

} // namespace ipvs::swap
