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
	int family = AF_INET;    // AF_INET: dst and src; AF_INET6: dst6 and src6
	std::uint32_t dst = 0;   // network byte order
	std::uint16_t dport = 0; // host order
	std::uint32_t src = 0;   // network byte order, 0 = any
	in6_addr dst6{}, src6{}; // src6 all zero = any
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

// Runs the connections in the calling thread's network namespace. Empty @fatal on success;
// otherwise one sentence (epoll or socket creation failed).
std::vector<ConnRecord> run_load(const LoadSpec &spec, std::string &fatal);

// errno as its symbolic name ("EHOSTUNREACH"); "errno N" when glibc has no name.
std::string errno_name(int err);

} // namespace ipvs::bench
