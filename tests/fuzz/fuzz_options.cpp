// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the command-line parsers on an argv split from the input at NUL bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <netinet/in.h>

#include "ipvs_drain/options.h"

namespace {

// Deterministic stand-ins for gethostbyname/getservbyname: no resolver traffic while fuzzing.
ipvs::options::Lookups fake_lookups()
{
	ipvs::options::Lookups l;
	l.host_v4 = [](const std::string &name) -> std::optional<std::uint32_t> {
		if (name == "localhost")
			return htonl(0x7f000001);
		return std::nullopt;
	};
	l.port = [](const std::string &name, std::uint16_t proto) -> std::optional<std::uint16_t> {
		if (name == "http" && proto == IPPROTO_TCP)
			return 80;
		if (name == "domain")
			return 53;
		return std::nullopt;
	};
	return l;
}

} // namespace

// Input: one selector byte, then the words, each ended by a NUL (the last one need not be).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size < 1)
		return 0;
	static const ipvs::options::Lookups lookups = fake_lookups();
	const std::uint8_t sel = data[0];
	std::vector<std::string> args;
	std::size_t start = 1;
	for (std::size_t i = 1; i <= size; i++) {
		if (i == size || data[i] == 0) {
			if (i > start || i < size)
				args.emplace_back(reinterpret_cast<const char *>(data + start), i - start);
			start = i + 1;
		}
	}

	switch (sel % 4) {
	case 0: {
		auto r = ipvs::options::parse_list(args, lookups);
		if (auto *e = std::get_if<ipvs::options::UsageError>(&r); e && e->message.empty())
			__builtin_trap();
		break;
	}
	case 1: {
		auto r = ipvs::options::parse_status(args);
		if (auto *e = std::get_if<ipvs::options::UsageError>(&r); e && e->message.empty())
			__builtin_trap();
		if (auto *o = std::get_if<ipvs::options::StatusOptions>(&r);
		    o && o->netns && !ipvs::options::valid_netns_name(*o->netns))
			__builtin_trap();
		break;
	}
	case 2: {
		auto r = ipvs::options::parse_knob(args, (sel & 4) != 0);
		if (auto *e = std::get_if<ipvs::options::UsageError>(&r); e && e->message.empty())
			__builtin_trap();
		break;
	}
	default:
		// The address grammars on their own, one word each.
		for (const auto &a : args) {
			std::string why;
			static const std::uint16_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, 0};
			auto key = ipvs::options::parse_service_address(a, protos[(sel >> 2) & 3], lookups, why);
			if (!key && why.empty())
				__builtin_trap();
			if (key && key->af != AF_INET && key->af != AF_INET6)
				__builtin_trap();
			(void)ipvs::options::parse_fwmark(a);
			(void)ipvs::options::valid_netns_name(a);
		}
		break;
	}
	return 0;
}
