// SPDX-License-Identifier: GPL-2.0
// Kernel errors worded as ipvsadm words them, per operation, falling back to strerror.
#pragma once

#include <string>
#include <system_error>

namespace ipvs {

enum class Op {
	GetInfo,
	GetServices,
	GetDests,
	GetService,
	GetTimeouts,
	GetDaemons,
	SetKnob,
	AddService,
	EditService,
	DelService,
	AddDest,
	EditDest,
	DelDest,
	SetTimeouts,
	Flush,
};

std::string describe_error(Op op, const std::error_code &ec);

} // namespace ipvs
