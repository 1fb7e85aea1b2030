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

// libipvs's ipvs_strerror (ipvsadm 1.31) for a failed read request, word for word and without a period.
// Errors that never reached the kernel (libnl, a reply we cannot parse) read as libipvs's default, EINVAL.
std::string ipvsadm_strerror(Op op, const std::error_code &ec);

// What 'ipvsadm -L' writes to stderr and the status it exits with when request @op fails: GetInfo is
// ipvsadm's ipvs_init (exit 2); GetService/GetServices/GetDests print the sentence alone (exit 1);
// GetTimeouts/GetDaemons exit 1 without a word, as ipvsadm's list_timeout/list_daemon do.
struct ListFailure {
	std::string stderr_text;
	int exit_status;
};
ListFailure ipvsadm_list_failure(Op op, const std::error_code &ec);

} // namespace ipvs
