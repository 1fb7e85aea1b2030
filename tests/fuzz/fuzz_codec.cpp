// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the IPVS netlink reply decoders on arbitrary attribute streams, no kernel involved.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "ipvs_drain/codec.h"
#include "ipvs_drain/uapi.h"
#include "fuzz_codec.h"

namespace {

// What the printers do first with a decoded address: it must cope with any family the kernel claims.
void use(int af, const ipvs::Addr &a)
{
	if (ipvs::addr_to_string(af, a).empty())
		__builtin_trap();
}

// Wraps @attrs as the payload of a generic-netlink message, as the kernel's reply would carry it.
nl_msg *wrap_message(std::uint8_t cmd, const std::uint8_t *attrs, std::size_t len)
{
	std::size_t total = NLMSG_HDRLEN + GENL_HDRLEN + NLMSG_ALIGN(len);
	// Exactly the message's size, so reads past its end land outside the allocation.
	nl_msg *msg = nlmsg_alloc_size(total);
	if (!msg)
		return nullptr;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 0x20, 0, 0, cmd, ipvs::uapi::kGenlVersion) ||
	    (len && nlmsg_append(msg, const_cast<std::uint8_t *>(attrs), len, NLMSG_ALIGNTO) < 0)) {
		nlmsg_free(msg);
		return nullptr;
	}
	return msg;
}

} // namespace

// Input: one selector byte (which decoder), then the attribute stream.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size < 1)
		return 0;
	const auto sel = static_cast<ipvs::fuzz::CodecTarget>(data[0] % ipvs::fuzz::kCodecTargets);
	const std::uint8_t *attrs = data + 1;
	std::size_t len = size - 1;
	const int svc_af = (data[0] & 0x80) ? AF_INET6 : AF_INET;

	using T = ipvs::fuzz::CodecTarget;
	if (sel == T::NestedService || sel == T::NestedDest) {
		// A raw nested attribute, header included, in a heap block of exactly its size.
		if (len > 0xffff - NLA_HDRLEN)
			return 0;
		std::size_t n = NLA_HDRLEN + len;
		auto *buf = static_cast<std::uint8_t *>(std::malloc(n));
		if (!buf)
			return 0;
		nlattr hdr{};
		hdr.nla_len = static_cast<std::uint16_t>(n);
		hdr.nla_type = NLA_F_NESTED |
			       (sel == T::NestedService ? ipvs::uapi::CMD_ATTR_SERVICE : ipvs::uapi::CMD_ATTR_DEST);
		std::memcpy(buf, &hdr, sizeof(hdr));
		if (len)
			std::memcpy(buf + NLA_HDRLEN, attrs, len);
		auto *nla = reinterpret_cast<nlattr *>(buf);
		if (sel == T::NestedService) {
			ipvs::Service s;
			if (!ipvs::codec::decode_service(nla, s))
				use(s.af, s.addr);
		} else {
			ipvs::Dest d;
			if (!ipvs::codec::decode_dest(nla, svc_af, d))
				use(d.af, d.addr);
		}
		std::free(buf);
		return 0;
	}

	nl_msg *msg = wrap_message(ipvs::fuzz::codec_cmd(sel), attrs, len);
	if (!msg)
		return 0;
	switch (sel) {
	case T::ServiceMsg: {
		ipvs::Service s;
		if (!ipvs::codec::decode_service_msg(msg, s))
			use(s.af, s.addr);
		break;
	}
	case T::DestMsg: {
		ipvs::Dest d;
		if (!ipvs::codec::decode_dest_msg(msg, svc_af, d))
			use(d.af, d.addr);
		break;
	}
	case T::InfoMsg: {
		ipvs::Info i;
		(void)ipvs::codec::decode_info_msg(msg, i);
		break;
	}
	case T::TimeoutsMsg: {
		ipvs::Timeouts t;
		(void)ipvs::codec::decode_timeouts_msg(msg, t);
		break;
	}
	case T::DaemonMsg: {
		ipvs::Daemon d;
		if (!ipvs::codec::decode_daemon_msg(msg, d) && d.mcast_af)
			use(d.mcast_af, d.mcast_group);
		break;
	}
	default:
		break;
	}
	nlmsg_free(msg);
	return 0;
}
