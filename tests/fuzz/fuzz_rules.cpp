// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the rules parser (with a save/parse round-trip invariant) and swap-module's parsers.
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
#include "ipvs_drain/swap.h"

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

// Input: byte 0 picks the parser (0 rules, 1 .ko bytes, 2 /proc/modules), the rest is its input.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size < 1)
		return 0;
	const std::string in(reinterpret_cast<const char *>(data) + 1, size - 1);
	switch (data[0] % 3) {
	case 0: {
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
		break;
	}
	case 1: {
		std::string why;
		if (auto section = ipvs::swap::elf_modinfo(in, why)) {
			auto ko = ipvs::swap::ko_from_modinfo("/x/m.ko", ipvs::swap::parse_modinfo(*section));
			(void)ipvs::swap::check_vermagic(ko, "6.1.0-56-amd64");
			(void)ipvs::swap::load_order({ko}, {ko.name, "ip_vs"});
		}
		break;
	}
	default: {
		auto plan = ipvs::swap::plan_unload(ipvs::swap::parse_proc_modules(in));
		(void)plan;
		break;
	}
	}
	return 0;
}
