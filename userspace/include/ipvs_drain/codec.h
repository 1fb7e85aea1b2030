// SPDX-License-Identifier: GPL-2.0
// Encoding and decoding of IPVS generic-netlink attributes on libnl messages, with no socket involved.
#pragma once

#include <system_error>

#include "ipvs_drain/model.h"

struct nl_msg;
struct nlattr;

namespace ipvs::codec {

// Request side: the nested IPVS_CMD_ATTR_SERVICE that names one service (as ipvsadm sends it).
std::error_code put_service_key(nl_msg *msg, const ServiceKey &key);
// A whole service or dest as IPVS_CMD_NEW_*/SET_* want it: no counters, no HASHED bit.
std::error_code put_service_request(nl_msg *msg, const Service &svc);
std::error_code put_dest_request(nl_msg *msg, const Dest &dest);
// IPVS_CMD_SET_CONFIG: a zero timeout leaves that timeout as it is, as with ipvsadm --set.
std::error_code put_timeouts_request(nl_msg *msg, const Timeouts &t);

// The nested service or dest attribute with what a request carries (@flags as the service's), left
// open for the caller to add to and close with nla_nest_end; null when the message is full.
// The test encoders of replies (tests/unit/replies.h) add the counters the kernel sends.
nlattr *open_service(nl_msg *msg, const Service &svc, std::uint32_t flags);
nlattr *open_dest(nl_msg *msg, const Dest &dest);

// Decoders take a whole generic-netlink reply message. EPROTO means a reply we cannot trust.
std::error_code decode_service_msg(nl_msg *msg, Service &out);
std::error_code decode_dest_msg(nl_msg *msg, int svc_af, Dest &out);
std::error_code decode_info_msg(nl_msg *msg, Info &out);
std::error_code decode_timeouts_msg(nl_msg *msg, Timeouts &out);
std::error_code decode_daemon_msg(nl_msg *msg, Daemon &out);

// Lower level: a nested service or dest attribute.
std::error_code decode_service(nlattr *nested, Service &out);
std::error_code decode_dest(nlattr *nested, int svc_af, Dest &out);

} // namespace ipvs::codec
