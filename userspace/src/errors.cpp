// SPDX-License-Identifier: GPL-2.0
// The (operation, errno) -> sentence table, after libipvs's ipvs_strerror.
#include "ipvs_drain/errors.h"

#include <cerrno>
#include <cstring>

#include "ipvs_drain/nl.h"

namespace ipvs {

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
	case EPROTO:
		return "The kernel sent a reply this tool cannot parse";
	default:
		break;
	}
	return std::strerror(ec.value());
}

} // namespace ipvs
