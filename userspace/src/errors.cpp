// SPDX-License-Identifier: GPL-2.0
// The (operation, errno) -> sentence table, after libipvs's ipvs_strerror.
#include "ipvs_drain/errors.h"

#include <cerrno>
#include <cstring>

#include "ipvs_drain/nl.h"

namespace ipvs {

namespace {

// libipvs's sentences for the errno values whatever the operation; nullptr for the others.
const char *any_op_text(int err)
{
	switch (err) {
	case EPERM:
		return "Permission denied (you must be root)";
	case EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ...";
	case ENOPROTOOPT:
		return "Protocol not available";
	case ENOMEM:
		return "Memory allocation problem";
	case EOPNOTSUPP:
		return "Operation not supported with IPv6";
	case EAFNOSUPPORT:
		return "Operation not supported with specified address family";
	case EMSGSIZE:
		return "Module is wrong version";
	default:
		return nullptr;
	}
}

} // namespace

std::string describe_error(Op op, const std::error_code &ec)
{
	if (ec.category() == nl::libnl_category())
		return "netlink: " + ec.message();
	switch (ec.value()) {
	case EEXIST:
		if (op == Op::AddService)
			return "Service already exists";
		if (op == Op::AddDest)
			return "Destination already exists";
		break;
	case ENOENT:
		if (op == Op::AddService || op == Op::EditService)
			return "Scheduler or persistence engine not found (no ip_vs_<name> module)";
		if (op == Op::EditDest || op == Op::DelDest)
			return "No such destination";
		break;
	case ERANGE:
		if (op == Op::AddDest || op == Op::EditDest)
			return "Lower threshold (-y) above upper threshold (-x), or weight out of range";
		break;
	case ESRCH:
		if (op == Op::EditService || op == Op::DelService || op == Op::AddDest || op == Op::EditDest ||
		    op == Op::DelDest)
			return "No such service";
		if (op == Op::GetServices || op == Op::GetDests || op == Op::GetService)
			return "No such service";
		break;
	case EPROTO:
		return "The kernel sent a reply this tool cannot parse";
	default:
		break;
	}
	if (const char *text = any_op_text(ec.value()))
		return text;
	return std::strerror(ec.value());
}

std::string ipvsadm_strerror(Op op, const std::error_code &ec)
{
	// ipvs_nl_send_message leaves errno at EINVAL unless the kernel answered with an error; our
	// EPROTO is a reply the decoder refused, where libipvs's parse callback fails the same way.
	int err = EINVAL;
	if (ec.category() == std::system_category() && ec.value() != EPROTO)
		err = ec.value();
	// Over netlink ipvs_get_services never sets ipvs_func (it stays ipvs_init), so its ESRCH entry
	// never matches; ipvs_get_service and ipvs_get_dests set theirs before sending.
	if (err == ESRCH && (op == Op::GetService || op == Op::GetDests))
		return "No such service";
	if (const char *text = any_op_text(err))
		return text;
	return std::strerror(err);
}

ListFailure ipvsadm_list_failure(Op op, const std::error_code &ec)
{
	switch (op) {
	case Op::GetInfo:
		// main(): ipvs_init failed (twice, around a modprobe), then fail(2, ...).
		return {"Can't initialize ipvs: " + ipvsadm_strerror(op, ec) +
				"\nAre you sure that IP Virtual Server is built in the kernel or as module?\n",
			2};
	case Op::GetTimeouts:
	case Op::GetDaemons:
		return {"", 1};
	default:
		// list_service/list_all/print_service_entry: fprintf(stderr, "%s\n", ipvs_strerror(errno)); exit(1).
		return {ipvsadm_strerror(op, ec) + "\n", 1};
	}
}

} // namespace ipvs
