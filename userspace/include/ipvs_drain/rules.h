// SPDX-License-Identifier: GPL-2.0
// ipvsadm's -S/-R rule format: a pure parser (text to commands) and a pure printer (table to text).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "ipvs_drain/format.h"
#include "ipvs_drain/model.h"
#include "ipvs_drain/options.h"

namespace ipvs::rules {

enum class Verb { AddService, EditService, DelService, Clear, AddDest, EditDest, DelDest, SetTimeouts };

// One rule line. @svc carries the service key and, for -A/-E, every service attribute with ipvsadm's
// defaults filled in; @dest is the -r destination of -a/-e/-d; @timeouts the values of --set.
struct Command {
	int line = 0;
	Verb verb = Verb::Clear;
	Service svc;
	Dest dest;
	Timeouts timeouts;
};

struct ParseError {
	int line = 0;
	std::string message; // one sentence, without the line number
	std::string text() const { return "line " + std::to_string(line) + ": " + message; }
};

// Every non-empty line that is not a '#' comment is one ipvsadm command line (as 'ipvsadm -R' reads them).
// Names are resolved through @lookups, as ipvsadm would; the first bad line stops the parse.
std::variant<std::vector<Command>, ParseError> parse(const std::string &text, const options::Lookups &lookups);

ServiceKey key_of(const Service &svc);

struct SaveOptions {
	bool numeric = true;
	// Extras that 'ipvsadm -S' never writes but 'ipvsadm -R' accepts: -x/-y on destinations, a --set line.
	bool thresholds = false;
	const Timeouts *timeouts = nullptr;
};

// With no extras this is byte for byte 'ipvsadm -S[n]'.
std::string save(const std::vector<Service> &services, const SaveOptions &opt, const format::Resolver &resolver);

// Applies @cmd to an in-memory table the way the kernel would; empty on success, else a sentence.
// Used to check that a rules file means the same table before anything touches the kernel.
std::string apply(std::vector<Service> &table, Timeouts &timeouts, const Command &cmd);

// The configuration of a table (no counters, order-independent) as sorted rule lines with every
// attribute spelled out; two tables are the same configuration when these are equal.
std::vector<std::string> config_lines(const std::vector<Service> &services);
// Lines in @before but not @after ("- ...") and in @after but not @before ("+ ...").
std::vector<std::string> config_diff(const std::vector<Service> &before, const std::vector<Service> &after);

} // namespace ipvs::rules
