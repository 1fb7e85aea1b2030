// SPDX-License-Identifier: GPL-2.0
// Reads IPVS state over one generic-netlink socket per run: info, services, dests, timeouts, daemons.
#pragma once

#include <system_error>
#include <vector>

#include "ipvs_drain/model.h"
#include "ipvs_drain/nl.h"

namespace ipvs {

class Client {
public:
	// Fails with libnl's NLE_OBJ_NOTFOUND when the IPVS family is absent (ip_vs not loaded).
	static std::error_code open(Client &out);
	static bool is_family_missing(const std::error_code &ec);

	std::error_code get_info(Info &out);
	// Services in the kernel's dump order, each with its dests (also dump order).
	std::error_code get_services(std::vector<Service> &out);
	std::error_code get_dests(Service &svc);
	std::error_code get_service(const ServiceKey &key, Service &out);
	std::error_code get_timeouts(Timeouts &out);
	std::error_code get_daemons(std::vector<Daemon> &out);

private:
	nl::GenlSocket sock_;
};

} // namespace ipvs
