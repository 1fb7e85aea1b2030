// SPDX-License-Identifier: GPL-2.0
// Gathers what 'status' and 'metrics' report, from netlink, /proc and /sys, in the calling thread's netns.
#include "ipvs_drain/collect.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "ipvs_drain/client.h"
#include "ipvs_drain/errors.h"
#include "ipvs_drain/procfs.h"
#include "ipvs_drain/sysctl.h"

namespace ipvs::status {

namespace {

// /proc/thread-self/net is this thread's namespace; /proc/net follows the thread group's leader.
constexpr const char *kConnFile = "/proc/thread-self/net/ip_vs_conn";
constexpr const char *kCountersHere = "/proc/thread-self/net/ip_vs_reuse_stats";

std::optional<std::string> variant_version()
{
	auto v = procfs::read_trimmed("/sys/module/ip_vs/version");
	return v && !v->empty() ? v : std::nullopt;
}

CollectError failed(std::string sentence) { return {CollectError::Kind::Failed, std::move(sentence)}; }

bool is_netns(int fd) { return ::ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET; }

bool same_file(int fd, const struct stat &other)
{
	struct stat st{};
	return ::fstat(fd, &st) == 0 && st.st_dev == other.st_dev && st.st_ino == other.st_ino;
}

} // namespace

std::variant<Report, CollectError> collect(const std::optional<std::string> &netns)
{
	Client client;
	if (auto ec = Client::open(client)) {
		if (Client::is_family_missing(ec))
			return CollectError{CollectError::Kind::NotLoaded, "IPVS is not loaded."};
		return failed("Cannot open a generic netlink socket: " + ec.message() + ".");
	}
	Info info;
	if (auto ec = client.get_info(info))
		return failed(describe_error(Op::GetInfo, ec) + ".");
	std::vector<Service> services;
	if (auto ec = client.get_services(services))
		return failed(describe_error(Op::GetServices, ec) + ".");
	auto text = procfs::read_file(kConnFile);
	if (!text)
		return failed(std::string("Cannot read /proc/net/ip_vs_conn: ") + std::strerror(errno) + ".");
	std::vector<ConnEntry> conns;
	std::string why;
	if (!procfs::parse_conn_table(*text, conns, why))
		return failed("Cannot read connections: " + why + ".");

	Report r;
	utsname u{};
	::uname(&u);
	r.kernel = u.release;
	r.netns = netns;
	r.ipvs_version = std::to_string((info.version >> 16) & 0xff) + "." + std::to_string((info.version >> 8) & 0xff) +
			 "." + std::to_string(info.version & 0xff);
	r.variant_loaded = sysctl::knob_present();
	if (r.variant_loaded)
		r.variant_version = variant_version();
	for (const char *name : sysctl::kReported)
		r.sysctls.emplace_back(name, sysctl::read_int(name));
	if (auto c = procfs::read_file(kCountersHere))
		r.counters = procfs::parse_counters(*c);
	r.risk = compute_risk(services, conns);
	r.advice = advise(r);
	return r;
}

std::variant<std::vector<Target>, ScopeError> scope(const std::vector<std::string> &names)
{
	std::vector<Target> out;
	if (names.empty()) {
		struct stat self{};
		if (::stat("/proc/thread-self/ns/net", &self) < 0)
			return ScopeError{std::string("Cannot read this process's network namespace: ") + std::strerror(errno) +
					  "."};
		out.push_back(Target{"", util::Fd()});
		for (const std::string &n : util::dir_names("/run/netns").value_or(std::vector<std::string>{})) {
			util::Fd fd(::open(("/run/netns/" + n).c_str(), O_RDONLY | O_CLOEXEC));
			// Gone since the listing (a pod deleted meanwhile), or a stale name that is no namespace.
			if (!fd || !is_netns(fd.get()) || same_file(fd.get(), self))
				continue;
			out.push_back(Target{n, std::move(fd)});
		}
		return out;
	}
	for (const std::string &n : names) {
		if (std::any_of(out.begin(), out.end(), [&](const Target &t) { return t.label == n; }))
			continue;
		const std::string path = "/run/netns/" + n;
		util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
		if (!fd) {
			if (errno == ENOENT)
				return ScopeError{"No network namespace named '" + n + "' (" + path + " does not exist)."};
			if (errno == EACCES || errno == EPERM)
				return ScopeError{"Permission denied opening " + path + ": run as root."};
			return ScopeError{"Cannot open " + path + ": " + std::strerror(errno) + "."};
		}
		if (!is_netns(fd.get()))
			return ScopeError{path + " is not a network namespace (a stale name: 'ip netns delete " + n +
					  "' removes it)."};
		out.push_back(Target{n, std::move(fd)});
	}
	return out;
}

} // namespace ipvs::status
