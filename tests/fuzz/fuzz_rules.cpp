// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the rules parser, with a save/parse round-trip invariant.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ipvs_drain/options.h"
#include "ipvs_drain/rules.h"

namespace {

// No resolver traffic while fuzzing: every name is unknown.
std::vector<ipvs::Service> replay(const std::string &text, bool &ok)
{
	std::vector<ipvs::Service> table;
	ipvs::Timeouts t;
	auto r = ipvs::rules::parse(text, ipvs::options::no_lookups());
	ok = std::holds_alternative<std::vector<ipvs::rules::Command>>(r);
	if (ok)
		for (const auto &c : std::get<std::vector<ipvs::rules::Command>>(r))
			(void)ipvs::rules::apply(table, t, c);
	return table;
}

} // namespace

// Input: rules text.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string in(reinterpret_cast<const char *>(data), size);
	bool ok = false;
	auto table = replay(in, ok);
	if (!ok)
		return 0;
	for (const auto &s : table)
		if (s.fwmark > INT_MAX) // ipvsadm prints such marks negative, and cannot read them back
			return 0;
	static const ipvs::format::NoResolver numeric;
	ipvs::rules::SaveOptions o;
	o.thresholds = true;
	const std::string saved = ipvs::rules::save(table, o, numeric);
	bool again = false;
	auto back = replay(saved, again);
	// What save writes, restore must read, into the same configuration.
	if (!again || !ipvs::rules::config_diff(table, back).empty())
		std::abort();
	return 0;
}
