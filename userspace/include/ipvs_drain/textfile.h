// SPDX-License-Identifier: GPL-2.0
// Replacing one file atomically, as node_exporter's textfile collector needs: it must never read half a file.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace ipvs::textfile {

// The system calls the writer makes; tests replace one to make it fail.
struct Io {
	std::function<int(char *tmpl)> mkstemp; // mkostemp(tmpl, O_CLOEXEC)
	std::function<ssize_t(int fd, const void *buf, std::size_t n)> write;
	std::function<int(int fd, mode_t mode)> fchmod;
	std::function<int(int fd)> fsync;
	std::function<int(int fd)> close;
	std::function<int(const char *from, const char *to)> rename;
	std::function<int(const char *path)> unlink;
};
Io system_io();

// Replaces @dir/@name with @content: a temporary file in @dir (so that rename(2) stays on one file
// system and is atomic), written fully, mode 0644, fsync'ed and closed, then renamed over @name. On any
// failure the temporary file is removed, @dir/@name is left as it was, and the result is one sentence
// naming the file, the step and the error.
std::optional<std::string> replace(const std::string &dir, const std::string &name, std::string_view content,
				   const Io &io = system_io());

} // namespace ipvs::textfile
