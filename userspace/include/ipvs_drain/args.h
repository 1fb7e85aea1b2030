// SPDX-License-Identifier: GPL-2.0
// The one option reader (popt, as ipvsadm), the one number parser and the one line splitter, shared by every
// verb, by -R lines and by /proc readers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ipvs::args {

// The line of @text that starts at @pos, without its '\n'; @pos moves past it (beyond the end after the last).
inline std::string_view next_line(std::string_view text, std::size_t &pos)
{
	std::size_t end = text.find('\n', pos);
	if (end == std::string_view::npos)
		end = text.size();
	std::string_view line = text.substr(pos, end - pos);
	pos = end + 1;
	return line;
}

// ipvsadm's string_to_number (strtol, whole string, [min, max]) for values that are never negative:
// leading blanks and a '+' pass; empty, a sign '-', trailing junk, overflow or out of range give nothing.
std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t min, std::uint64_t max);

enum class Arg { None, One, Optional }; // Optional: popt's optional argument, never a word starting with '-'

struct Spec {
	const char *long_name; // nullptr when none
	char short_name;       // 0 when none
	Arg arg;
	int id;
};

struct Opt {
	int id;
	std::optional<std::string> value;
	std::string spelled; // the spec's short form if it has one, else its long form: for messages
};

struct Words {
	std::vector<Opt> opts;         // in command-line order
	std::vector<std::string> rest; // words that belong to no option (popt's leftovers)
};

struct Error {
	enum Kind { Unknown, NeedsValue, TakesNoValue } kind;
	std::string word; // the offending word as written
};

// popt over @words (no program name): clustered short flags, -xVALUE, --name=value, '--' ends options.
std::variant<Words, Error> parse(const std::vector<std::string> &words, std::span<const Spec> specs);

} // namespace ipvs::args
