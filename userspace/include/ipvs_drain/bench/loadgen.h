// SPDX-License-Identifier: GPL-2.0
// The bench load generator: non-blocking connects on one epoll, from a small set of reused source ports.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>

#include "ipvs_drain/bench/figures.h"

namespace ipvs::bench {

// Microseconds on CLOCK_MONOTONIC.
std::int64_t now_us();

struct LoadSpec {
	// The service (address and port), and our own address in its family (port unused); src with
	// ss_family 0 binds no address.
	sockaddr_storage dst{}, src{};
	// Fixed source ports, bound with SO_REUSEADDR; never two in flight on one port. Empty: ephemeral.
	std::vector<std::uint16_t> ports;
	// true: each port once (or @count ephemeral connections); false: cycle until @duration_s.
	bool once = true;
	std::size_t count = 0;
	double duration_s = 0;
	unsigned concurrency = 50;
	double rate = 0;
	double connect_timeout_s = 2, read_timeout_s = 5;
	std::string request;
	// The serving backend from the whole response; "" when unknown.
	std::function<std::string(std::string_view)> identify;
	// Called about every 100 ms with the records so far (progress line, drain watch).
	std::function<void(const std::vector<ConnRecord> &)> tick;
	std::int64_t t0_us = 0; // records' times are relative to this
	const volatile std::sig_atomic_t *stop = nullptr;
};

// @ip (text, of family @af) and @port as a socket address.
sockaddr_storage sock_addr(int af, const char *ip, std::uint16_t port);
// The length of @sa's family's address (sockaddr_in or sockaddr_in6).
socklen_t sockaddr_len(const sockaddr_storage &sa);

// Runs the connections in the calling thread's network namespace. Empty @fatal on success;
// otherwise one sentence (epoll or socket creation failed).
std::vector<ConnRecord> run_load(const LoadSpec &spec, std::string &fatal);

// errno as its symbolic name ("EHOSTUNREACH"); "errno N" when glibc has no name.
std::string errno_name(int err);

} // namespace ipvs::bench
