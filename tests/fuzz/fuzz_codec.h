// SPDX-License-Identifier: GPL-2.0
// The input layout shared by the codec fuzz target and its seed-corpus generator.
#pragma once

#include <cstdint>

#include "ipvs_drain/uapi.h"

namespace ipvs::fuzz {

// The first input byte, modulo kCodecTargets, picks the decoder; bit 7 picks the service family for dests.
enum class CodecTarget : std::uint8_t {
	ServiceMsg = 0,
	DestMsg,
	InfoMsg,
	TimeoutsMsg,
	DaemonMsg,
	NestedService,
	NestedDest,
};
inline constexpr std::uint8_t kCodecTargets = 7;

inline std::uint8_t codec_cmd(CodecTarget t)
{
	switch (t) {
	case CodecTarget::ServiceMsg:
		return ipvs::uapi::CMD_NEW_SERVICE;
	case CodecTarget::DestMsg:
		return ipvs::uapi::CMD_NEW_DEST;
	case CodecTarget::InfoMsg:
		return ipvs::uapi::CMD_SET_INFO;
	case CodecTarget::TimeoutsMsg:
		return ipvs::uapi::CMD_SET_CONFIG;
	case CodecTarget::DaemonMsg:
		return ipvs::uapi::CMD_NEW_DAEMON;
	default:
		return ipvs::uapi::CMD_UNSPEC;
	}
}

} // namespace ipvs::fuzz
