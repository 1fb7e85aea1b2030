// SPDX-License-Identifier: GPL-2.0
// popt does the reading so that every quirk of ipvsadm's command line (also in -R lines) is ours too.
#include "ipvs_drain/args.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <memory>

#include <popt.h>

namespace ipvs::args {

std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t min, std::uint64_t max)
{
	std::size_t i = 0;
	while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
		i++;
	if (i < text.size() && text[i] == '+')
		i++;
	std::uint64_t v = 0;
	const char *end = text.data() + text.size();
	auto [p, ec] = std::from_chars(text.data() + i, end, v);
	if (ec != std::errc() || p != end || v < min || v > max)
		return std::nullopt;
	return v;
}

std::variant<Words, Error> parse(const std::vector<std::string> &words, std::span<const Spec> specs)
{
	std::vector<poptOption> table;
	for (std::size_t i = 0; i < specs.size(); i++) {
		const Spec &s = specs[i];
		unsigned info = s.arg == Arg::None ? POPT_ARG_NONE
			      : s.arg == Arg::One  ? POPT_ARG_STRING
						   : POPT_ARG_STRING | POPT_ARGFLAG_OPTIONAL;
		// poptGetNextOpt returns val, where 0 would mean "handled, go on": val is the index plus one.
		table.push_back({s.long_name, s.short_name, info, nullptr, static_cast<int>(i + 1), nullptr, nullptr});
	}
	table.push_back(POPT_TABLEEND);
	std::vector<const char *> argv{"ipvs-drain"};
	for (const auto &w : words)
		argv.push_back(w.c_str());
	argv.push_back(nullptr);
	std::unique_ptr<std::remove_pointer_t<poptContext>, decltype(&poptFreeContext)> con(
		poptGetContext(nullptr, static_cast<int>(argv.size() - 1), argv.data(), table.data(), 0), poptFreeContext);
	Words out;
	int rc;
	while ((rc = poptGetNextOpt(con.get())) > 0) {
		const Spec &s = specs[static_cast<std::size_t>(rc - 1)];
		std::unique_ptr<char, decltype(&std::free)> value(poptGetOptArg(con.get()), std::free);
		Opt o{s.id, {}, s.short_name ? std::string("-") + s.short_name : std::string("--") + s.long_name};
		if (value)
			o.value = value.get();
		out.opts.push_back(std::move(o));
	}
	if (rc != -1) {
		std::string word = poptBadOption(con.get(), POPT_BADOPTION_NOALIAS);
		return Error{rc == POPT_ERROR_NOARG ? Error::NeedsValue
			     : rc == POPT_ERROR_UNWANTEDARG ? Error::TakesNoValue
							    : Error::Unknown,
			     word};
	}
	while (const char *w = poptGetArg(con.get()))
		out.rest.emplace_back(w);
	return out;
}

} // namespace ipvs::args
