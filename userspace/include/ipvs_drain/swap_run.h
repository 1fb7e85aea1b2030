// SPDX-License-Identifier: GPL-2.0
// swap-module's I/O: namespaces, netlink, /proc, modules through libkmod; the decisions come from swap.h and rules.h.
#pragma once

#include <optional>
#include <string>

#include "ipvs_drain/options.h"
#include "ipvs_drain/swap.h"

namespace ipvs::swap {

// Prints progress on stdout and one-line refusals/failures on stderr; returns the exit status.
int run(const options::SwapOptions &opt);

// A module file's name, dependencies, vermagic and versions, read by libkmod (.ko, .ko.xz, .ko.zst...).
std::optional<KoFile> read_ko(const std::string &path, std::string &why);

} // namespace ipvs::swap
