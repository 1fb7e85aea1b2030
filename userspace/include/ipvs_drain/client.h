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
	// Services in the kernel's dump order, each with its dests (also dump order) unless !with_dests:
	// then the caller asks get_dests itself, as ipvsadm does (it words that failure apart).
	std::error_code get_services(std::vector<Service> &out, bool with_dests = true);
	std::error_code get_dests(Service &svc);
	// One service (IPVS_CMD_GET_SERVICE without NLM_F_DUMP); ESRCH when the kernel has no such service.
	std::error_code get_service(const ServiceKey &key, Service &out, bool with_dests = true);
	std::error_code get_timeouts(Timeouts &out);
	std::error_code get_daemons(std::vector<Daemon> &out);

	// Writes, one request each, acknowledged by the kernel; its errno comes back in std::system_category.
	std::error_code add_service(const Service &svc); // svc.dests are not added
	std::error_code edit_service(const Service &svc);
	std::error_code del_service(const ServiceKey &key);
	std::error_code add_dest(const ServiceKey &key, const Dest &dest);
	std::error_code edit_dest(const ServiceKey &key, const Dest &dest);
	std::error_code del_dest(const ServiceKey &key, const Dest &dest);
	std::error_code set_timeouts(const Timeouts &t);
	std::error_code flush(); // every service of this netns

private:
	std::error_code dest_request(int cmd, const ServiceKey &key, const Dest &dest);
	nl::GenlSocket sock_;
};

} // namespace ipvs
