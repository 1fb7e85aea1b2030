// SPDX-License-Identifier: GPL-2.0
// The one way the tool writes JSON (nlohmann-json): keys in insertion order, as documented.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ipvs {

using Json = nlohmann::ordered_json;

// A value, or null when absent.
template <class T> Json or_null(const std::optional<T> &v) { return v ? Json(*v) : Json(); }

// Two-space indent, UTF-8 kept as is; a byte that is not UTF-8 (a netns or pod name) becomes U+FFFD.
inline std::string dump(const Json &j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

} // namespace ipvs
