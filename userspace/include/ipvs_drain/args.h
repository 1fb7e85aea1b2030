// SPDX-License-Identifier: GPL-2.0
// The one option reader (popt, as ipvsadm) and the one number parser, shared by every verb and by -R lines.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ipvs::args {

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
