// SPDX-License-Identifier: GPL-2.0
// libnl socket/message ownership and error mapping for the rest of the tool.
#include "ipvs_drain/nl.h"

#include <cerrno>
#include <string>

#include <netlink/errno.h>
#include <netlink/cache.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

namespace nl {

namespace {

class LibnlCategory final : public std::error_category {
public:
	const char *name() const noexcept override { return "libnl"; }
	std::string message(int code) const override { return nl_geterror(code); }
};

struct TransactState {
	const GenlSocket::Handler *handler;
	int kernel_errno = 0;
	int handler_error = 0;
	bool acked = false;
};

int valid_cb(nl_msg *msg, void *arg)
{
	auto *st = static_cast<TransactState *>(arg);
	int rc = (*st->handler)(msg);
	if (rc < 0) {
		// Stop at the first reply we cannot use: a partial listing must never look complete.
		st->handler_error = -rc;
		return NL_STOP;
	}
	return NL_OK;
}

int ack_cb(nl_msg *, void *arg)
{
	static_cast<TransactState *>(arg)->acked = true;
	return NL_STOP;
}

int error_cb(sockaddr_nl *, nlmsgerr *err, void *arg)
{
	auto *st = static_cast<TransactState *>(arg);
	// Keep the kernel's own errno: libnl's NLE_* mapping loses the distinctions ipvsadm words.
	st->kernel_errno = -err->error;
	return NL_STOP;
}

} // namespace

const std::error_category &libnl_category()
{
	static const LibnlCategory cat;
	return cat;
}

Message &Message::operator=(Message &&o) noexcept
{
	if (this != &o) {
		if (msg_)
			nlmsg_free(msg_);
		msg_ = std::exchange(o.msg_, nullptr);
	}
	return *this;
}

Message::~Message()
{
	if (msg_)
		nlmsg_free(msg_);
}

Message Message::allocate() { return Message(nlmsg_alloc()); }

GenlSocket &GenlSocket::operator=(GenlSocket &&o) noexcept
{
	if (this != &o) {
		if (sock_)
			nl_socket_free(sock_);
		sock_ = std::exchange(o.sock_, nullptr);
		family_ = o.family_;
	}
	return *this;
}

GenlSocket::~GenlSocket()
{
	if (sock_)
		nl_socket_free(sock_);
}

std::error_code GenlSocket::open(const char *family, GenlSocket &out)
{
	GenlSocket s;
	s.sock_ = nl_socket_alloc();
	if (!s.sock_)
		return make_libnl_error(NLE_NOMEM);
	if (int rc = genl_connect(s.sock_); rc < 0)
		return make_libnl_error(rc);
	// Look the family up in a dump of all families: a lookup by name (genl_ctrl_resolve) makes the
	// kernel autoload ip_vs through its genl alias, and this tool must never load a module.
	nl_cache *families = nullptr;
	if (int rc = genl_ctrl_alloc_cache(s.sock_, &families); rc < 0)
		return make_libnl_error(rc);
	genl_family *fam = genl_ctrl_search_by_name(families, family);
	int id = fam ? genl_family_get_id(fam) : -NLE_OBJ_NOTFOUND;
	if (fam)
		genl_family_put(fam);
	nl_cache_free(families);
	if (id < 0)
		return make_libnl_error(id);
	s.family_ = id;
	out = std::move(s);
	return {};
}

std::error_code GenlSocket::start(Message &msg, int cmd, int version, int flags) const
{
	msg = Message::allocate();
	if (!msg)
		return make_libnl_error(NLE_NOMEM);
	if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, flags,
			 static_cast<std::uint8_t>(cmd), static_cast<std::uint8_t>(version)))
		return make_libnl_error(NLE_NOMEM);
	return {};
}

std::error_code GenlSocket::transact(Message msg, const Handler &handler)
{
	TransactState st{&handler};
	nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return make_libnl_error(NLE_NOMEM);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &st);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, &st);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &st);

	int rc = nl_send_auto(sock_, msg.get());
	if (rc >= 0) {
		// Requests without NLM_F_DUMP end in an ack, which a write's first read may already be;
		// dumps end in NLMSG_DONE.
		rc = nl_recvmsgs(sock_, cb);
		if (rc >= 0 && !st.kernel_errno && !st.handler_error && !st.acked &&
		    !(nlmsg_hdr(msg.get())->nlmsg_flags & NLM_F_DUMP))
			rc = nl_wait_for_ack(sock_);
	}
	nl_cb_put(cb);

	if (st.kernel_errno)
		return {st.kernel_errno, std::system_category()};
	if (st.handler_error)
		return {st.handler_error, std::system_category()};
	if (rc < 0)
		return make_libnl_error(rc);
	return {};
}

} // namespace nl
