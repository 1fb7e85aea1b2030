// SPDX-License-Identifier: GPL-2.0
// /proc/sys access for IPVS knobs; the netns switch happens before any socket or /proc file is opened.
#include "ipvs_drain/sysctl.h"

#include <cerrno>
#include <climits>
#include <string>

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipvs_drain/args.h"
#include "ipvs_drain/procfs.h"
#include "ipvs_drain/util.h"

namespace ipvs::sysctl {

namespace {
std::string path_of(const std::string &name) { return std::string(kDir) + "/" + name; }
} // namespace

std::optional<int> read_int(const std::string &name, std::error_code *err)
{
	auto text = procfs::read_file(path_of(name));
	if (!text) {
		if (err)
			*err = {errno, std::system_category()};
		return std::nullopt;
	}
	auto v = args::parse_uint(text->substr(0, text->find_last_not_of(" \t\n") + 1), 0, INT_MAX);
	if (!v) {
		if (err)
			*err = {EPROTO, std::system_category()};
		return std::nullopt;
	}
	return static_cast<int>(*v);
}

std::error_code write(const std::string &path, const std::string &value)
{
	util::Fd fd(::open(("/proc/sys/" + path).c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd)
		return {errno, std::system_category()};
	const std::string text = value + "\n";
	// proc_dointvec_minmax refuses out-of-range values with EINVAL at write time.
	ssize_t n = ::write(fd.get(), text.data(), text.size());
	if (n < 0)
		return {errno, std::system_category()};
	if (static_cast<std::size_t>(n) != text.size())
		return {EIO, std::system_category()};
	return {};
}

std::error_code write_int(const std::string &name, int value) { return write(std::string(kRelDir) + "/" + name, std::to_string(value)); }

bool ipvs_sysctls_present()
{
	struct stat st{};
	return ::stat(kDir, &st) == 0 && S_ISDIR(st.st_mode);
}

bool knob_present()
{
	struct stat st{};
	return ::stat(path_of(kKnob).c_str(), &st) == 0;
}

std::error_code enter_netns(const std::string &name)
{
	std::string path = "/run/netns/" + name;
	util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd || ::setns(fd.get(), CLONE_NEWNET) < 0)
		return {errno, std::system_category()};
	return {};
}

} // namespace ipvs::sysctl
