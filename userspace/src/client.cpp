// SPDX-License-Identifier: GPL-2.0
// IPVS requests on a single socket; unlike libipvs, no socket per call and no global error state.
#include "ipvs_drain/client.h"

#include <cerrno>

#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "ipvs_drain/codec.h"
#include "ipvs_drain/uapi.h"

namespace ipvs {

namespace u = ipvs::uapi;

namespace {

// One T per reply of a dump, each decoded by @decode; @out is set only when every reply decoded.
template <class T, class Decode>
std::error_code collect(nl::GenlSocket &sock, nl::Message msg, std::vector<T> &out, Decode decode)
{
	std::vector<T> items;
	auto ec = sock.transact(std::move(msg), [&](nl_msg *m) {
		T item;
		if (decode(m, item))
			return -EPROTO;
		items.push_back(std::move(item));
		return static_cast<int>(NL_OK);
	});
	if (!ec)
		out = std::move(items);
	return ec;
}

// Sends @cmd with the attributes @put writes and waits for the kernel's acknowledgement.
template <class Put> std::error_code command(nl::GenlSocket &sock, int cmd, Put put)
{
	nl::Message msg;
	if (auto ec = sock.start(msg, cmd, u::kGenlVersion, NLM_F_ACK))
		return ec;
	if (auto ec = put(msg.get()))
		return ec;
	return sock.transact(std::move(msg), [](nl_msg *) { return static_cast<int>(NL_OK); });
}

} // namespace

std::error_code Client::open(Client &out)
{
	return nl::GenlSocket::open(u::kGenlName, out.sock_);
}

bool Client::is_family_missing(const std::error_code &ec)
{
	return ec.category() == nl::libnl_category() && ec.value() == NLE_OBJ_NOTFOUND;
}

std::error_code Client::get_info(Info &out)
{
	nl::Message msg;
	if (auto ec = sock_.start(msg, u::CMD_GET_INFO, u::kGenlVersion, 0))
		return ec;
	return sock_.transact(std::move(msg), [&](nl_msg *m) {
		return codec::decode_info_msg(m, out) ? -EPROTO : NL_OK;
	});
}

std::error_code Client::get_dests(Service &svc)
{
	nl::Message msg;
	if (auto ec = sock_.start(msg, u::CMD_GET_DEST, u::kGenlVersion, NLM_F_DUMP))
		return ec;
	ServiceKey key{svc.af, svc.protocol, svc.addr, svc.port, svc.fwmark};
	if (auto ec = codec::put_service_key(msg.get(), key))
		return ec;
	return collect(sock_, std::move(msg), svc.dests,
		       [&](nl_msg *m, Dest &d) { return codec::decode_dest_msg(m, svc.af, d); });
}

std::error_code Client::get_services(std::vector<Service> &out, bool with_dests)
{
	nl::Message msg;
	if (auto ec = sock_.start(msg, u::CMD_GET_SERVICE, u::kGenlVersion, NLM_F_DUMP))
		return ec;
	std::vector<Service> services;
	if (auto ec = collect(sock_, std::move(msg), services, codec::decode_service_msg))
		return ec;
	if (with_dests)
		for (auto &s : services)
			if (auto dec = get_dests(s))
				return dec;
	out = std::move(services);
	return {};
}

std::error_code Client::get_service(const ServiceKey &key, Service &out, bool with_dests)
{
	nl::Message msg;
	if (auto ec = sock_.start(msg, u::CMD_GET_SERVICE, u::kGenlVersion, 0))
		return ec;
	if (auto ec = codec::put_service_key(msg.get(), key))
		return ec;
	bool got = false;
	auto ec = sock_.transact(std::move(msg), [&](nl_msg *m) {
		if (codec::decode_service_msg(m, out))
			return -EPROTO;
		got = true;
		return static_cast<int>(NL_OK);
	});
	if (ec)
		return ec;
	if (!got)
		return {ESRCH, std::system_category()};
	return with_dests ? get_dests(out) : std::error_code{};
}

std::error_code Client::get_timeouts(Timeouts &out)
{
	nl::Message msg;
	if (auto ec = sock_.start(msg, u::CMD_GET_CONFIG, u::kGenlVersion, 0))
		return ec;
	return sock_.transact(std::move(msg), [&](nl_msg *m) {
		return codec::decode_timeouts_msg(m, out) ? -EPROTO : NL_OK;
	});
}

std::error_code Client::get_daemons(std::vector<Daemon> &out)
{
	nl::Message msg;
	if (auto ec = sock_.start(msg, u::CMD_GET_DAEMON, u::kGenlVersion, NLM_F_DUMP))
		return ec;
	return collect(sock_, std::move(msg), out, codec::decode_daemon_msg);
}

std::error_code Client::add_service(const Service &svc)
{
	return command(sock_, u::CMD_NEW_SERVICE, [&](nl_msg *m) { return codec::put_service_request(m, svc); });
}

std::error_code Client::edit_service(const Service &svc)
{
	return command(sock_, u::CMD_SET_SERVICE, [&](nl_msg *m) { return codec::put_service_request(m, svc); });
}

std::error_code Client::del_service(const ServiceKey &key)
{
	return command(sock_, u::CMD_DEL_SERVICE, [&](nl_msg *m) { return codec::put_service_key(m, key); });
}

std::error_code Client::dest_request(int cmd, const ServiceKey &key, const Dest &dest)
{
	return command(sock_, cmd, [&](nl_msg *m) {
		auto ec = codec::put_service_key(m, key);
		return ec ? ec : codec::put_dest_request(m, dest);
	});
}

std::error_code Client::add_dest(const ServiceKey &key, const Dest &dest)
{
	return dest_request(u::CMD_NEW_DEST, key, dest);
}

std::error_code Client::edit_dest(const ServiceKey &key, const Dest &dest)
{
	return dest_request(u::CMD_SET_DEST, key, dest);
}

std::error_code Client::del_dest(const ServiceKey &key, const Dest &dest)
{
	return dest_request(u::CMD_DEL_DEST, key, dest);
}

std::error_code Client::set_timeouts(const Timeouts &t)
{
	return command(sock_, u::CMD_SET_CONFIG, [&](nl_msg *m) { return codec::put_timeouts_request(m, t); });
}

std::error_code Client::flush()
{
	return command(sock_, u::CMD_FLUSH, [](nl_msg *) { return std::error_code{}; });
}

} // namespace ipvs
