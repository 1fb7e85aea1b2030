// SPDX-License-Identifier: GPL-2.0
// ipvs-drain-fixture: prints what the kernel reports over netlink as a fixture (tests/unit/fixture.h).
// Test-only: tests/vm-userspace/compare.sh runs it to hold the kernel state still and to write goldens.
#include <cstdio>

#include "fixture.h"
#include "ipvs_drain/client.h"
#include "ipvs_drain/errors.h"

namespace {

int failed(ipvs::Op op, const std::error_code &ec)
{
	std::fprintf(stderr, "ipvs-drain-fixture: %s.\n", ipvs::describe_error(op, ec).c_str());
	return 1;
}

} // namespace

int main(int argc, char **)
{
	if (argc != 1) {
		std::fputs("ipvs-drain-fixture: takes no arguments.\n", stderr);
		return 2;
	}
	ipvs::Client client;
	ipvs::fixture::Snapshot snap;
	if (auto ec = ipvs::Client::open(client))
		return failed(ipvs::Op::GetInfo, ec);
	if (auto ec = client.get_info(snap.info))
		return failed(ipvs::Op::GetInfo, ec);
	if (auto ec = client.get_timeouts(snap.timeouts))
		return failed(ipvs::Op::GetTimeouts, ec);
	if (auto ec = client.get_services(snap.services))
		return failed(ipvs::Op::GetServices, ec);
	const std::string text = ipvs::fixture::write(snap);
	return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0 ? 0 : 1;
}
