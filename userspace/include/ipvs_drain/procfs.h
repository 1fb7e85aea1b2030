// SPDX-License-Identifier: GPL-2.0
// Pure parsers for IPVS's /proc text: the connection table and our `name value` counters file.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs_drain/args.h"
#include "ipvs_drain/model.h"

namespace ipvs::procfs {

// One data line of /proc/net/ip_vs_conn (no header). Empty when the line is malformed.
std::optional<ConnEntry> parse_conn_line(std::string_view line);

// The whole file: the header line, then entries. On a malformed line @error names it.
bool parse_conn_table(std::string_view text, std::vector<ConnEntry> &out, std::string &error);

// The same, handing each entry to @fn as it is parsed (no table of 100,000 entries in memory).
// Stops at the first malformed line, with @error naming it.
template <class Fn> bool for_each_conn(std::string_view text, Fn &&fn, std::string &error);

// /proc/net/ip_vs_reuse_stats: `name value` per line. Empty on any malformed line.
std::optional<std::map<std::string, std::uint64_t>> parse_counters(std::string_view text);

// Reads a whole file; empty when it cannot be opened, with errno left set.
std::optional<std::string> read_file(const std::string &path);

// read_file without the trailing newlines and blanks (one-value files of /proc and /sys).
std::optional<std::string> read_trimmed(const std::string &path);

template <class Fn> bool for_each_conn(std::string_view text, Fn &&fn, std::string &error)
{
	if (text.empty()) {
		error = "the connection table has no header line";
		return false;
	}
	std::size_t pos = 0;
	args::next_line(text, pos); // the header
	std::size_t lineno = 1;
	while (pos < text.size()) {
		std::string_view line = args::next_line(text, pos);
		lineno++;
		auto c = parse_conn_line(line);
		if (!c) {
			error = "line " + std::to_string(lineno) + " of the connection table is malformed";
			return false;
		}
		fn(*c);
	}
	return true;
}

} // namespace ipvs::procfs
