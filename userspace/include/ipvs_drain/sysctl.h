// SPDX-License-Identifier: GPL-2.0
// The IPVS sysctls under /proc/sys/net/ipv4/vs, the knob, and entering a named network namespace.
#pragma once

#include <optional>
#include <string>
#include <system_error>

namespace ipvs::sysctl {

inline constexpr const char *kDir = "/proc/sys/net/ipv4/vs";
inline constexpr const char *kRelDir = "net/ipv4/vs"; // kDir under /proc/sys
inline constexpr const char *kKnob = "conn_reuse_quiescent";
inline constexpr const char *kCountersFile = "/proc/net/ip_vs_reuse_stats";

// The five sysctls status reports, in the order it prints them.
inline constexpr const char *kReported[] = {"conn_reuse_mode", "expire_nodest_conn", "expire_quiescent_template",
					    "conntrack", "conn_reuse_quiescent"};

// Empty when the sysctl does not exist or cannot be read; @err gets errno.
std::optional<int> read_int(const std::string &name, std::error_code *err = nullptr);
// Writes VALUE and a newline to /proc/sys/PATH (PATH like "net/ipv4/ip_forward"), in this thread's netns.
std::error_code write(const std::string &path, const std::string &value);
std::error_code write_int(const std::string &name, int value); // net.ipv4.vs.NAME
bool ipvs_sysctls_present();
bool knob_present();

// Moves this process into /run/netns/NAME for the rest of the run (sysctls and /proc/net follow).
std::error_code enter_netns(const std::string &name);

} // namespace ipvs::sysctl
