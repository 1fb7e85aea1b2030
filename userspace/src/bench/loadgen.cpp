// SPDX-License-Identifier: GPL-2.0
// Client connections for bench: each one connects, sends its request, and reads until the server closes.
#include "ipvs_drain/bench/loadgen.h"

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipvs_drain/util.h"

namespace ipvs::bench {

namespace {

constexpr std::size_t kMaxResponse = 8192;

using util::Fd;

struct Conn {
	Fd fd;
	ConnRecord rec;
	std::int64_t t_start = 0, t_connected = 0; // absolute µs
	bool connected = false;
	std::string response;
};

} // namespace

std::int64_t now_us()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

namespace {

void set_port(sockaddr_storage &sa, std::uint16_t port)
{
	if (sa.ss_family == AF_INET6)
		reinterpret_cast<sockaddr_in6 *>(&sa)->sin6_port = htons(port);
	else
		reinterpret_cast<sockaddr_in *>(&sa)->sin_port = htons(port);
}

} // namespace

sockaddr_storage sock_addr(int af, const char *ip, std::uint16_t port)
{
	sockaddr_storage sa{};
	sa.ss_family = static_cast<sa_family_t>(af);
	inet_pton(af, ip, af == AF_INET6 ? static_cast<void *>(&reinterpret_cast<sockaddr_in6 *>(&sa)->sin6_addr)
					 : static_cast<void *>(&reinterpret_cast<sockaddr_in *>(&sa)->sin_addr));
	set_port(sa, port);
	return sa;
}

socklen_t sockaddr_len(const sockaddr_storage &sa)
{
	return sa.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string errno_name(int err)
{
	if (const char *n = strerrorname_np(err))
		return n;
	return "errno " + std::to_string(err);
}

std::vector<ConnRecord> run_load(const LoadSpec &spec, std::string &fatal)
{
	std::vector<ConnRecord> done;
	Fd ep(epoll_create1(EPOLL_CLOEXEC));
	if (ep.get() < 0) {
		fatal = std::string("Cannot create an epoll instance: ") + std::strerror(errno) + ".";
		return done;
	}
	std::deque<std::uint16_t> free_ports(spec.ports.begin(), spec.ports.end());
	const std::size_t total = spec.ports.empty() ? spec.count : spec.ports.size();
	std::map<int, Conn> live; // by fd
	std::size_t started = 0;
	const std::int64_t t_begin = now_us();
	const std::int64_t t_end = t_begin + static_cast<std::int64_t>(spec.duration_s * 1e6);
	const auto connect_to = static_cast<std::int64_t>(spec.connect_timeout_s * 1e6);
	const auto read_to = static_cast<std::int64_t>(spec.read_timeout_s * 1e6);
	std::int64_t next_tick = t_begin + 100000;

	auto finish = [&](int fd, const std::string &outcome, bool client_first) {
		auto it = live.find(fd);
		Conn &c = it->second;
		c.rec.outcome = outcome;
		c.rec.client_closed_first = client_first;
		if (outcome == "ok" && spec.identify)
			c.rec.pod = spec.identify(c.response);
		epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
		if (c.rec.port && !spec.once)
			free_ports.push_back(c.rec.port);
		done.push_back(std::move(c.rec));
		live.erase(it);
	};

	auto more_to_start = [&](std::int64_t now) {
		if (spec.stop && *spec.stop)
			return false;
		if (spec.once)
			return started < total;
		return now < t_end;
	};

	auto start_one = [&](std::int64_t now) {
		std::uint16_t port = 0;
		if (!spec.ports.empty()) {
			port = free_ports.front();
			free_ports.pop_front();
		}
		started++;
		ConnRecord rec;
		rec.start_us = now - spec.t0_us;
		rec.port = port;
		Fd fd(socket(spec.dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (fd.get() < 0) {
			fatal = std::string("Cannot create a TCP socket: ") + std::strerror(errno) + ".";
			return;
		}
		int one = 1;
		setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		const socklen_t len = sockaddr_len(spec.dst);
		if (port || spec.src.ss_family) {
			sockaddr_storage ss = spec.src;
			ss.ss_family = spec.dst.ss_family;
			set_port(ss, port);
			if (bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) < 0) {
				rec.outcome = errno_name(errno);
				if (port && !spec.once)
					free_ports.push_back(port);
				done.push_back(std::move(rec));
				return;
			}
		}
		if (connect(fd.get(), reinterpret_cast<const sockaddr *>(&spec.dst), len) < 0 && errno != EINPROGRESS) {
			rec.outcome = errno_name(errno);
			if (port && !spec.once)
				free_ports.push_back(port);
			done.push_back(std::move(rec));
			return;
		}
		epoll_event ev{};
		ev.events = EPOLLOUT;
		ev.data.fd = fd.get();
		if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd.get(), &ev) < 0) {
			fatal = std::string("Cannot watch a socket with epoll: ") + std::strerror(errno) + ".";
			return;
		}
		int key = fd.get();
		Conn &c = live[key];
		c.fd = std::move(fd);
		c.rec = std::move(rec);
		c.t_start = now;
	};

	epoll_event events[256];
	while (fatal.empty()) {
		std::int64_t now = now_us();
		// Start as many as concurrency, free ports and the rate cap allow.
		while (fatal.empty() && more_to_start(now) && live.size() < spec.concurrency &&
		       (spec.ports.empty() || !free_ports.empty())) {
			if (spec.rate > 0 &&
			    static_cast<double>(started) >= spec.rate * static_cast<double>(now - t_begin) / 1e6 + 1)
				break;
			start_one(now);
		}
		if (live.empty() && !more_to_start(now))
			break;
		if (spec.stop && *spec.stop)
			break;
		int n = epoll_wait(ep.get(), events, static_cast<int>(std::size(events)), 5);
		if (n < 0 && errno != EINTR) {
			fatal = std::string("epoll_wait failed: ") + std::strerror(errno) + ".";
			break;
		}
		now = now_us();
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;
			auto it = live.find(fd);
			if (it == live.end())
				continue;
			Conn &c = it->second;
			if (!c.connected) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					finish(fd, errno_name(err), false);
					continue;
				}
				c.connected = true;
				c.t_connected = now;
				c.rec.connect_us = now - c.t_start;
				if (!spec.request.empty() &&
				    send(fd, spec.request.data(), spec.request.size(), MSG_NOSIGNAL) < 0) {
					finish(fd, errno_name(errno), false);
					continue;
				}
				epoll_event ev{};
				ev.events = EPOLLIN | EPOLLRDHUP;
				ev.data.fd = fd;
				epoll_ctl(ep.get(), EPOLL_CTL_MOD, fd, &ev);
				continue;
			}
			char buf[4096];
			for (;;) {
				ssize_t r = recv(fd, buf, sizeof(buf), 0);
				if (r > 0) {
					if (c.response.size() < kMaxResponse)
						c.response.append(buf, static_cast<std::size_t>(r));
					continue;
				}
				if (r == 0)
					finish(fd, "ok", false);
				else if (errno != EAGAIN && errno != EINTR)
					finish(fd, errno_name(errno), false);
				break;
			}
		}
		// Deadlines: our connect timeout, and a server that never closes (then we close first).
		std::vector<std::pair<int, bool>> expired;
		for (auto &[fd, c] : live) {
			if (!c.connected && now - c.t_start > connect_to)
				expired.emplace_back(fd, false);
			else if (c.connected && now - c.t_connected > read_to)
				expired.emplace_back(fd, true);
		}
		for (auto [fd, connected] : expired) {
			if (connected) {
				bool got = !live[fd].response.empty();
				finish(fd, got ? "ok" : "ENODATA", true);
			} else {
				finish(fd, "ETIMEDOUT", false);
			}
		}
		if (spec.tick && now >= next_tick) {
			spec.tick(done);
			next_tick = now + 100000;
		}
	}
	// Interrupted or failed: what is still in flight is dropped, not counted.
	return done;
}

} // namespace ipvs::bench
