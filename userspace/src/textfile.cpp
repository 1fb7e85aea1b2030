// SPDX-License-Identifier: GPL-2.0
// Temporary file, full write, fsync, rename: a reader sees the old file or the new one, never a mix.
#include "ipvs_drain/textfile.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipvs::textfile {

Io system_io()
{
	Io io;
	io.mkstemp = [](char *tmpl) { return ::mkostemp(tmpl, O_CLOEXEC); };
	io.write = [](int fd, const void *buf, std::size_t n) { return ::write(fd, buf, n); };
	io.fchmod = [](int fd, mode_t mode) { return ::fchmod(fd, mode); };
	io.fsync = [](int fd) { return ::fsync(fd); };
	io.close = [](int fd) { return ::close(fd); };
	io.rename = [](const char *from, const char *to) { return ::rename(from, to); };
	io.unlink = [](const char *path) { return ::unlink(path); };
	return io;
}

std::optional<std::string> replace(const std::string &dir_in, const std::string &name, std::string_view content,
				   const Io &io)
{
	std::string dir = dir_in;
	while (dir.size() > 1 && dir.back() == '/')
		dir.pop_back();
	const std::string target = (dir == "/" ? "" : dir) + "/" + name;
	auto failure = [&](const std::string &step, int err) {
		return "Cannot update " + target + " (" + step + ": " + std::strerror(err) + "); it is left as it was.";
	};

	// Not NAME.prom: node_exporter reads only *.prom, so it never sees the file half written.
	std::string tmp = (dir == "/" ? "" : dir) + "/." + name + ".XXXXXX";
	std::vector<char> buf(tmp.begin(), tmp.end());
	buf.push_back('\0');
	int fd = io.mkstemp(buf.data());
	if (fd < 0)
		return failure("creating a temporary file in " + dir, errno);
	tmp = buf.data();

	// Any step below that fails: close, remove the temporary file, keep errno of the step.
	auto abandon = [&](const std::string &step, int err, bool open) {
		if (open)
			io.close(fd);
		io.unlink(tmp.c_str());
		return failure(step, err);
	};
	for (std::size_t done = 0; done < content.size();) {
		ssize_t n = io.write(fd, content.data() + done, content.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return abandon("writing " + tmp, n < 0 ? errno : EIO, true);
		done += static_cast<std::size_t>(n);
	}
	if (io.fchmod(fd, 0644) < 0)
		return abandon("setting mode 0644 on " + tmp, errno, true);
	if (io.fsync(fd) < 0)
		return abandon("syncing " + tmp, errno, true);
	// close can report a deferred write error (NFS): the file is not known good until it succeeds.
	if (io.close(fd) < 0)
		return abandon("closing " + tmp, errno, false);
	if (io.rename(tmp.c_str(), target.c_str()) < 0)
		return abandon("renaming " + tmp + " over it", errno, false);
	return std::nullopt;
}

} // namespace ipvs::textfile
