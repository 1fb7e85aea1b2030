// SPDX-License-Identifier: GPL-2.0
// Move-only owners of libnl sockets and messages, and libnl's error codes as a std::error_category.
#pragma once

#include <functional>
#include <system_error>
#include <utility>

struct nl_sock;
struct nl_msg;

namespace nl {

// libnl's negative NLE_* codes, stored positive; kernel errnos travel in std::system_category instead.
const std::error_category &libnl_category();
inline std::error_code make_libnl_error(int nle) { return {nle < 0 ? -nle : nle, libnl_category()}; }

// Owns one nl_msg; freeing it is the destructor's job, handing it to libnl is release()'s.
class Message {
public:
	Message() = default;
	explicit Message(nl_msg *m) : msg_(m) {}
	Message(Message &&o) noexcept : msg_(std::exchange(o.msg_, nullptr)) {}
	Message &operator=(Message &&o) noexcept;
	Message(const Message &) = delete;
	Message &operator=(const Message &) = delete;
	~Message();

	static Message allocate(); // empty on allocation failure
	nl_msg *get() const { return msg_; }
	explicit operator bool() const { return msg_ != nullptr; }

private:
	nl_msg *msg_ = nullptr;
};

// One generic-netlink socket, connected, with the family id of one family resolved.
class GenlSocket {
public:
	using Handler = std::function<int(nl_msg *)>;

	GenlSocket() = default;
	GenlSocket(GenlSocket &&o) noexcept : sock_(std::exchange(o.sock_, nullptr)), family_(o.family_) {}
	GenlSocket &operator=(GenlSocket &&o) noexcept;
	GenlSocket(const GenlSocket &) = delete;
	GenlSocket &operator=(const GenlSocket &) = delete;
	~GenlSocket();

	// Connects and resolves @family. A family the kernel does not know gives NLE_OBJ_NOTFOUND.
	static std::error_code open(const char *family, GenlSocket &out);

	// Builds a request header for this family.
	std::error_code start(Message &msg, int cmd, int version, int flags) const;

	// Sends @msg and feeds every valid reply to @handler until the kernel acks or ends the dump.
	// A kernel error returns its errno in std::system_category, so callers can word it as ipvsadm does.
	std::error_code transact(Message msg, const Handler &handler);

private:
	nl_sock *sock_ = nullptr;
	int family_ = -1;
};

} // namespace nl
