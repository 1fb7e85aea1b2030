// SPDX-License-Identifier: GPL-2.0
// Stress client: threads that connect to one VIP as fast as they can, cycling a small set of
// source ports with SO_REUSEADDR, and count every outcome by errno name. Prints one JSON line.
//
//   hammer --src IP --dst IP [--dport 80] --ports LO-HI [--threads N] --seconds S [--timeout-ms T]
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

struct Config {
	std::string src, dst;
	int dport = 80, lo = 0, hi = -1, threads = 8, timeout_ms = 2000;
	double seconds = 0;
};

class Fd {
public:
	explicit Fd(int fd) : fd_(fd) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	int get() const { return fd_; }

private:
	int fd_;
};

struct Tally {
	std::mutex mu;
	std::map<std::string, unsigned long> outcomes;
	std::atomic<unsigned long> attempts{0}, ok{0};
};

const char *errno_name(int e)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPIPE: return "EPIPE";
	default: return nullptr;
	}
}

std::string outcome_of(int e)
{
	const char *n = errno_name(e);
	return n ? n : "errno" + std::to_string(e);
}

// Waits for @events on @fd; false on timeout.
bool wait_for(int fd, short events, int timeout_ms)
{
	pollfd p{fd, events, 0};
	int rc;
	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc > 0;
}

// One connection: connect, send a line, read until the server closes. "" means success.
std::string one(const Config &c, const sockaddr_storage &src, const sockaddr_storage &dst, socklen_t len, int port)
{
	Fd s(socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (s.get() < 0)
		return outcome_of(errno);
	int on = 1;
	setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	sockaddr_storage b = src;
	if (b.ss_family == AF_INET)
		reinterpret_cast<sockaddr_in &>(b).sin_port = htons(static_cast<uint16_t>(port));
	else
		reinterpret_cast<sockaddr_in6 &>(b).sin6_port = htons(static_cast<uint16_t>(port));
	if (bind(s.get(), reinterpret_cast<sockaddr *>(&b), len) < 0)
		return outcome_of(errno);
	if (connect(s.get(), reinterpret_cast<const sockaddr *>(&dst), len) < 0 && errno != EINPROGRESS)
		return outcome_of(errno);
	if (!wait_for(s.get(), POLLOUT, c.timeout_ms))
		return "timeout";
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &el);
	if (err)
		return outcome_of(err);
	static const char hello[] = "HELLO\n";
	if (send(s.get(), hello, sizeof(hello) - 1, MSG_NOSIGNAL) < 0)
		return outcome_of(errno);
	char buf[256];
	for (;;) {
		if (!wait_for(s.get(), POLLIN, c.timeout_ms))
			return "read-timeout";
		ssize_t n = recv(s.get(), buf, sizeof(buf), 0);
		if (n == 0)
			return "";
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return outcome_of(errno);
	}
}

bool parse_addr(const std::string &text, int port, sockaddr_storage &out, socklen_t &len)
{
	std::memset(&out, 0, sizeof(out));
	auto *v4 = reinterpret_cast<sockaddr_in *>(&out);
	auto *v6 = reinterpret_cast<sockaddr_in6 *>(&out);
	if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(static_cast<uint16_t>(port));
		len = sizeof(*v4);
		return true;
	}
	if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(static_cast<uint16_t>(port));
		len = sizeof(*v6);
		return true;
	}
	return false;
}

[[noreturn]] void usage(const char *why)
{
	std::fprintf(stderr, "hammer: %s\nusage: hammer --src IP --dst IP [--dport 80] --ports LO-HI "
			     "[--threads N] --seconds S [--timeout-ms T]\n", why);
	std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	Config c;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (i + 1 >= argc)
			usage(("missing value for " + a).c_str());
		std::string v = argv[++i];
		if (a == "--src")
			c.src = v;
		else if (a == "--dst")
			c.dst = v;
		else if (a == "--dport")
			c.dport = std::atoi(v.c_str());
		else if (a == "--threads")
			c.threads = std::atoi(v.c_str());
		else if (a == "--seconds")
			c.seconds = std::atof(v.c_str());
		else if (a == "--timeout-ms")
			c.timeout_ms = std::atoi(v.c_str());
		else if (a == "--ports") {
			if (std::sscanf(v.c_str(), "%d-%d", &c.lo, &c.hi) != 2)
				usage("--ports wants LO-HI");
		} else
			usage(("unknown option " + a).c_str());
	}
	sockaddr_storage src, dst;
	socklen_t slen, dlen;
	if (!parse_addr(c.src, 0, src, slen) || !parse_addr(c.dst, c.dport, dst, dlen) || slen != dlen)
		usage("--src and --dst want addresses of one family");
	if (c.lo < 1 || c.hi > 65535 || c.lo > c.hi || c.threads < 1 || c.hi - c.lo + 1 < c.threads)
		usage("--ports wants 1 <= LO <= HI <= 65535 with at least one port per thread");
	if (c.seconds <= 0 || c.timeout_ms < 1 || c.dport < 1 || c.dport > 65535)
		usage("--seconds, --timeout-ms and --dport want positive values");

	Tally t;
	const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(c.seconds);
	std::vector<std::thread> workers;
	for (int w = 0; w < c.threads; w++) {
		workers.emplace_back([&, w] {
			std::map<std::string, unsigned long> mine;
			int port = c.lo + w;
			while (std::chrono::steady_clock::now() < end) {
				std::string r = one(c, src, dst, slen, port);
				t.attempts++;
				if (r.empty())
					t.ok++;
				else
					mine[r]++;
				port += c.threads;
				if (port > c.hi)
					port = c.lo + w;
			}
			std::lock_guard<std::mutex> g(t.mu);
			for (auto &[k, n] : mine)
				t.outcomes[k] += n;
		});
	}
	for (auto &th : workers)
		th.join();
	std::printf("{\"attempts\": %lu, \"ok\": %lu, \"errors\": {", t.attempts.load(), t.ok.load());
	const char *sep = "";
	for (auto &[k, n] : t.outcomes) {
		std::printf("%s\"%s\": %lu", sep, k.c_str(), n);
		sep = ", ";
	}
	std::printf("}}\n");
	return 0;
}
