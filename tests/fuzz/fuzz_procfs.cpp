// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the /proc/net/ip_vs_conn table parser and the counters parser on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs_drain/procfs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	// An exact-size copy, so ASan sees any read past the end of the text.
	std::vector<char> buf(data, data + size);
	std::string_view text(buf.data(), buf.size());

	std::vector<ipvs::ConnEntry> table;
	std::string error;
	bool ok = ipvs::procfs::parse_conn_table(text, table, error);

	// The streaming form must agree with the table form entry for entry.
	std::size_t streamed = 0;
	std::string error2;
	bool ok2 = ipvs::procfs::for_each_conn(text, [&](const ipvs::ConnEntry &) { streamed++; }, error2);
	if (ok != ok2 || (ok && streamed != table.size()) || (!ok && error != error2))
		__builtin_trap();
	for (const auto &c : table) {
		if (c.af == 0 || c.daf == 0 || c.protocol.empty() || c.state.empty() ||
		    c.pe_name.has_value() != c.pe_data.has_value())
			__builtin_trap();
		if (ipvs::addr_to_string(c.af, c.caddr).empty() || ipvs::addr_to_string(c.daf, c.daddr).empty())
			__builtin_trap();
	}

	// Every line on its own, header included.
	std::size_t pos = 0;
	while (pos <= text.size()) {
		std::size_t e = text.find('\n', pos);
		if (e == std::string_view::npos)
			e = text.size();
		(void)ipvs::procfs::parse_conn_line(text.substr(pos, e - pos));
		pos = e + 1;
	}

	(void)ipvs::procfs::parse_counters(text);
	return 0;
}
