// SPDX-License-Identifier: GPL-2.0
// /proc text parsers, written to read each field the way ipvsadm's sscanf reads it.
#include "ipvs_drain/procfs.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipvs_drain/args.h"

namespace ipvs::procfs {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::size_t split(std::string_view line, std::string_view *tok, std::size_t max)
{
	std::size_t n = 0, i = 0;
	while (n < max) {
		while (i < line.size() && is_space(line[i]))
			i++;
		if (i >= line.size())
			break;
		std::size_t start = i;
		while (i < line.size() && !is_space(line[i]))
			i++;
		tok[n++] = line.substr(start, i - start);
	}
	return n;
}

bool parse_hex16(std::string_view t, std::uint16_t &out)
{
	if (t.empty() || t.size() > 8)
		return false;
	std::uint32_t v = 0;
	for (char c : t) {
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v * 16 + static_cast<std::uint32_t>(d);
	}
	out = static_cast<std::uint16_t>(v);
	return true;
}

// The kernel prints IPv4 as 8 hex digits and IPv6 in full colon form (%pI6).
bool parse_addr(std::string_view t, int &af, Addr &out)
{
	char buf[64];
	if (t.empty() || t.size() >= sizeof(buf))
		return false;
	out = Addr{};
	// The common case first: eight hex digits, an IPv4 address in host order.
	if (t.size() == 8 && t.find(':') == std::string_view::npos) {
		std::uint32_t v = 0;
		bool hex = true;
		for (char c : t) {
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0) {
				hex = false;
				break;
			}
			v = v << 4 | static_cast<std::uint32_t>(d);
		}
		if (hex) {
			out = addr_from_v4(v);
			af = AF_INET;
			return true;
		}
	}
	std::memcpy(buf, t.data(), t.size());
	buf[t.size()] = '\0';
	if (inet_pton(AF_INET6, buf, out.bytes.data()) > 0) {
		af = AF_INET6;
		return true;
	}
	if (inet_pton(AF_INET, buf, out.bytes.data()) > 0) {
		af = AF_INET;
		return true;
	}
	char *end = nullptr;
	errno = 0;
	unsigned long v = std::strtoul(buf, &end, 16);
	if (end == buf || *end || errno)
		return false;
	out = addr_from_v4(static_cast<std::uint32_t>(v));
	af = AF_INET;
	return true;
}

} // namespace

std::optional<ConnEntry> parse_conn_line(std::string_view line)
{
	std::string_view tok[12];
	std::size_t n = split(line, tok, 12);
	if (n < 9 || n == 10 || n > 11)
		return std::nullopt;
	ConnEntry c;
	c.protocol = std::string(tok[0]);
	int vaf = 0;
	if (!parse_addr(tok[1], c.af, c.caddr) || !parse_hex16(tok[2], c.cport) || !parse_addr(tok[3], vaf, c.vaddr) ||
	    !parse_hex16(tok[4], c.vport) || !parse_addr(tok[5], c.daf, c.daddr) || !parse_hex16(tok[6], c.dport))
		return std::nullopt;
	if (vaf != c.af)
		return std::nullopt;
	c.state = std::string(tok[7]);
	auto e = args::parse_uint(tok[8], 0, 0xffffffffu);
	if (!e)
		return std::nullopt;
	c.expires = static_cast<std::uint32_t>(*e);
	if (n == 11) {
		c.pe_name = std::string(tok[9]);
		c.pe_data = std::string(tok[10]);
	}
	return c;
}

bool parse_conn_table(std::string_view text, std::vector<ConnEntry> &out, std::string &error)
{
	std::vector<ConnEntry> entries;
	entries.reserve(text.size() / 70);
	if (!for_each_conn(text, [&](ConnEntry &c) { entries.push_back(std::move(c)); }, error))
		return false;
	out = std::move(entries);
	return true;
}

std::optional<std::map<std::string, std::uint64_t>> parse_counters(std::string_view text)
{
	std::map<std::string, std::uint64_t> out;
	std::size_t pos = 0;
	while (pos < text.size()) {
		std::string_view line = args::next_line(text, pos);
		std::string_view tok[3];
		std::size_t n = split(line, tok, 3);
		if (n == 0)
			continue;
		if (n != 2)
			return std::nullopt;
		auto value = args::parse_uint(tok[1], 0, UINT64_MAX);
		if (!value)
			return std::nullopt;
		out[std::string(tok[0])] = *value;
	}
	return out;
}

std::optional<std::string> read_file(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return std::nullopt;
	std::string data;
	data.reserve(1 << 20);
	char buf[65536];
	for (;;) {
		ssize_t n = ::read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			::close(fd);
			errno = saved;
			return std::nullopt;
		}
		if (n == 0)
			break;
		data.append(buf, static_cast<std::size_t>(n));
	}
	::close(fd);
	return data;
}

std::optional<std::string> read_trimmed(const std::string &path)
{
	auto v = read_file(path);
	while (v && !v->empty() && (v->back() == '\n' || v->back() == ' '))
		v->pop_back();
	return v;
}

} // namespace ipvs::procfs
