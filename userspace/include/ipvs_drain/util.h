// SPDX-License-Identifier: GPL-2.0
// Small owners shared by the tool: a file descriptor, this thread inside another network namespace, and a
// directory listing.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ipvs::util {

// Owns one file descriptor (-1: none); closes it when it goes.
class Fd {
public:
	explicit Fd(int fd = -1) : fd_(fd) {}
	Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
	Fd &operator=(Fd &&o) noexcept
	{
		if (this != &o)
			reset(std::exchange(o.fd_, -1));
		return *this;
	}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd() { reset(); }
	int get() const { return fd_; }
	explicit operator bool() const { return fd_ >= 0; }
	void reset(int fd = -1);

private:
	int fd_;
};

// This thread inside the network namespace @target for the guard's lifetime. The constructor throws
// std::system_error when it cannot enter (the thread is then where it was). If the destructor cannot
// switch back, the process ends with a message: going on in the wrong namespace could change the
// node's own state.
class NetnsGuard {
public:
	explicit NetnsGuard(int target);
	NetnsGuard(const NetnsGuard &) = delete;
	NetnsGuard &operator=(const NetnsGuard &) = delete;
	~NetnsGuard();

private:
	Fd saved_;
};

// The names in directory @path but "." and "..", sorted; nullopt, errno set, when it cannot be opened.
std::optional<std::vector<std::string>> dir_names(const std::string &path);

} // namespace ipvs::util
