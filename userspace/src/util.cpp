// SPDX-License-Identifier: GPL-2.0
#include "ipvs_drain/util.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace ipvs::util {

void Fd::reset(int fd)
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = fd;
}

NetnsGuard::NetnsGuard(int target) : saved_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
{
	if (!saved_)
		throw std::system_error(errno, std::system_category(), "cannot open /proc/thread-self/ns/net");
	if (::setns(target, CLONE_NEWNET) < 0)
		throw std::system_error(errno, std::system_category(), "cannot enter the network namespace");
}

NetnsGuard::~NetnsGuard()
{
	if (::setns(saved_.get(), CLONE_NEWNET) == 0)
		return;
	std::fprintf(stderr, "ipvs-drain: cannot return to the original network namespace (%s); stopping rather than "
			     "going on in the wrong one.\n", std::strerror(errno));
	std::abort();
}

std::optional<std::vector<std::string>> dir_names(const std::string &path)
{
	std::unique_ptr<DIR, int (*)(DIR *)> d(::opendir(path.c_str()), ::closedir);
	if (!d)
		return std::nullopt;
	std::vector<std::string> names;
	while (dirent *e = ::readdir(d.get()))
		if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
			names.push_back(e->d_name);
	std::sort(names.begin(), names.end());
	return names;
}

} // namespace ipvs::util
