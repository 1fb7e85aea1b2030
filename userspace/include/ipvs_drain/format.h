// SPDX-License-Identifier: GPL-2.0
// Pure printers that turn IPVS data into exactly the bytes ipvsadm 1.31 prints for the same data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipvs_drain/model.h"

namespace ipvs::format {

// The FMT_* switches of ipvsadm's list command.
struct ListFormat {
	bool numeric = false;
	bool rule = false; // -S save format
	bool stats = false;
	bool rate = false;
	bool thresholds = false;
	bool persistent_conn = false;
	bool nosort = false;
	bool exact = false;
	bool tun_info = false;
	bool rule_thresholds = false; // -S: append -x/-y to -a lines (ipvsadm never does; ipvsadm -R reads them)
};

// Name lookups are injected so printers stay pure; without -n ipvsadm asks libc for both.
class Resolver {
public:
	virtual ~Resolver() = default;
	virtual std::optional<std::string> host(int af, const Addr &addr) const = 0;
	virtual std::optional<std::string> service(std::uint16_t port, std::uint16_t proto) const = 0;
};

// Never resolves anything: what -n would show, and what tests use.
class NoResolver final : public Resolver {
public:
	std::optional<std::string> host(int, const Addr &) const override { return std::nullopt; }
	std::optional<std::string> service(std::uint16_t, std::uint16_t) const override { return std::nullopt; }
};

// gethostbyaddr/getservbyport, as ipvsadm calls them, with answers cached for the run.
const Resolver &libc_resolver();

// A counter in ipvsadm's 9-column form: K/M/G/T scaling, or --exact widths.
std::string largenum(std::uint64_t value, bool exact);

// "host:port" or "[v6]:port", numeric or resolved, capped as ipvsadm caps it (59 bytes).
std::string addrport(int af, const Addr &addr, std::uint16_t port, std::uint16_t proto, bool numeric,
		     const Resolver &resolver);

// The IPVS version line that heads a full listing (not printed in -S mode).
std::string version_line(const Info &info);
std::string title(const ListFormat &fmt);
void append_service(std::string &out, const Service &svc, const ListFormat &fmt, const Resolver &resolver);

// ipvsadm -L[n] [options]: version line, title and every service, sorted as ipvsadm sorts.
std::string list_all(const Info &info, const std::vector<Service> &services, const ListFormat &fmt,
		     const Resolver &resolver);
// ipvsadm -L -t/-u/--sctp-service/-f SVC: title and one service.
std::string list_one(const Service &svc, const ListFormat &fmt, const Resolver &resolver);
std::string timeouts(const Timeouts &t);
std::string daemons(const std::vector<Daemon> &d);

// ipvsadm -Lc: the two header lines, then one line per connection.
std::string conn_header(const ListFormat &fmt);
void append_conn(std::string &out, const ConnEntry &c, const ListFormat &fmt, const Resolver &resolver);

// ipvsadm's sort orders, including their integer wrap-around, so equal inputs sort identically.
int compare_services(const Service &a, const Service &b);
int compare_dests(const Dest &a, const Dest &b);
std::vector<const Service *> sorted_services(const std::vector<Service> &services);
std::vector<const Dest *> sorted_dests(const std::vector<Dest> &dests);

const char *protocol_name(std::uint16_t proto);
const char *fwd_name(std::uint32_t conn_flags);

} // namespace ipvs::format
