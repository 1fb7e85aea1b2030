// SPDX-License-Identifier: GPL-2.0
// Error wording: 'list' fails with ipvsadm 1.31's bytes and exit status; the other verbs keep their own.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include <netlink/errno.h>

#include "ipvs_drain/errors.h"
#include "ipvs_drain/nl.h"

using namespace ipvs;

namespace {

std::error_code sys(int e) { return {e, std::system_category()}; }

} // namespace

TEST(ListErrors, MissingServiceIsIpvsadmsLineWithoutPrefixOrPeriod)
{
	// ipvsadm -Ln -t 10.99.9.9:80 (also -f, -u, --sctp-service, --stats, --rate): stderr, exit 1.
	ListFailure f = ipvsadm_list_failure(Op::GetService, sys(ESRCH));
	EXPECT_EQ(f.stderr_text, "No such service\n");
	EXPECT_EQ(f.exit_status, 1);
	EXPECT_EQ(ipvsadm_list_failure(Op::GetDests, sys(ESRCH)).stderr_text, "No such service\n");
}

TEST(ListErrors, ServiceDumpHasNoEsrchSentenceOverNetlink)
{
	// libipvs's netlink ipvs_get_services never sets ipvs_func, so its table entry never matches.
	EXPECT_EQ(ipvsadm_list_failure(Op::GetServices, sys(ESRCH)).stderr_text, std::string(std::strerror(ESRCH)) + "\n");
}

TEST(ListErrors, RefusedFirstRequestIsIpvsInitFailure)
{
	// ipvsadm as a user without CAP_NET_ADMIN, whatever it lists (-c included): exit 2.
	ListFailure f = ipvsadm_list_failure(Op::GetInfo, sys(EPERM));
	EXPECT_EQ(f.stderr_text, "Can't initialize ipvs: Permission denied (you must be root)\n"
				 "Are you sure that IP Virtual Server is built in the kernel or as module?\n");
	EXPECT_EQ(f.exit_status, 2);
}

TEST(ListErrors, TimeoutAndDaemonFailuresAreSilent)
{
	for (Op op : {Op::GetTimeouts, Op::GetDaemons}) {
		ListFailure f = ipvsadm_list_failure(op, sys(ENOMEM));
		EXPECT_EQ(f.stderr_text, "");
		EXPECT_EQ(f.exit_status, 1);
	}
}

TEST(ListErrors, GenericTableAndStrerrorFallback)
{
	EXPECT_EQ(ipvsadm_strerror(Op::GetServices, sys(EPERM)), "Permission denied (you must be root)");
	EXPECT_EQ(ipvsadm_strerror(Op::GetService, sys(ENOMEM)), "Memory allocation problem");
	EXPECT_EQ(ipvsadm_strerror(Op::GetService, sys(EMSGSIZE)), "Module is wrong version");
	EXPECT_EQ(ipvsadm_strerror(Op::GetService, sys(EBUSY)), std::strerror(EBUSY));
}

TEST(ListErrors, FailuresBeforeTheKernelReadAsLibipvsDefaultEinval)
{
	const std::string einval = "Invalid operation.  Possibly wrong module version, address not unicast, ...";
	EXPECT_EQ(ipvsadm_strerror(Op::GetService, nl::make_libnl_error(NLE_SEQ_MISMATCH)), einval);
	// EPROTO: a reply our decoder refused, where libipvs's parse callback fails.
	EXPECT_EQ(ipvsadm_strerror(Op::GetServices, sys(EPROTO)), einval);
}

TEST(OtherVerbErrors, KeepTheirOwnWording)
{
	EXPECT_EQ(describe_error(Op::DelService, sys(ESRCH)), "No such service");
	EXPECT_EQ(describe_error(Op::GetServices, sys(EPROTO)), "The kernel sent a reply this tool cannot parse");
}
