// SPDX-License-Identifier: GPL-2.0
// Small helpers on the plain IPVS model types.
#include "ipvs_drain/model.h"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace ipvs {

Addr addr_from_v4(std::uint32_t host_order)
{
	Addr a;
	std::uint32_t be = htonl(host_order);
	std::memcpy(a.bytes.data(), &be, 4);
	return a;
}

std::string addr_to_string(int af, const Addr &addr)
{
	char buf[INET6_ADDRSTRLEN];
	if (!inet_ntop(af, addr.bytes.data(), buf, sizeof(buf)))
		return "?";
	return buf;
}

std::uint16_t proto_from_name(const std::string &name)
{
	if (name == "TCP")
		return IPPROTO_TCP;
	if (name == "UDP")
		return IPPROTO_UDP;
	if (name == "SCTP")
		return IPPROTO_SCTP;
	return 0;
}

} // namespace ipvs
