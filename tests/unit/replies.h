// SPDX-License-Identifier: GPL-2.0
// Test-only encoders of IPVS replies, written the way the kernel fills them: the unit tests and the
// fuzz corpus generator feed them to the decoders.
#pragma once

#include <system_error>

#include "ipvs_drain/model.h"

struct nl_msg;

namespace ipvs::codec {

std::error_code put_service_reply(nl_msg *msg, const Service &svc);
std::error_code put_dest_reply(nl_msg *msg, const Dest &dest);
std::error_code put_info_reply(nl_msg *msg, const Info &info);
std::error_code put_timeouts_reply(nl_msg *msg, const Timeouts &t);
std::error_code put_daemon_reply(nl_msg *msg, const Daemon &d);

} // namespace ipvs::codec
