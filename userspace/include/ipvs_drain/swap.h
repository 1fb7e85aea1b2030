// SPDX-License-Identifier: GPL-2.0
// The pure half of swap-module: which modules to unload and load, in which order, what may refuse, what changed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ipvs_drain/model.h"

namespace ipvs::swap {

// One loaded module, as libkmod reports it.
struct LoadedModule {
	std::string name;
	int refcount = 0;
	std::vector<std::string> holders; // the "used by" column: modules that depend on this one
};

bool is_ipvs_module(const std::string &name); // ip_vs and ip_vs_*

struct UnloadPlan {
	bool ipvs_loaded = false;
	std::vector<std::string> foreign;      // non-IPVS modules that hold an IPVS module (xt_ipvs): out first, back last
	std::vector<std::string> busy_foreign; // ...of which in use by something other than modules: refuse
	std::vector<std::string> order;        // foreign then IPVS modules, every module after all its holders
	std::vector<std::string> ipvs;         // the IPVS modules loaded now, in load order (ip_vs first)
};
UnloadPlan plan_unload(const std::vector<LoadedModule> &mods);

struct KoFile {
	std::string name; // module name (modinfo "name", else the file name without .ko, .ko.xz...)
	std::string path;
	std::vector<std::string> depends;
	std::string vermagic, srcversion, version;
};
// From a module file's info fields (libkmod's kmod_module_get_info; repeated keys keep the first).
KoFile ko_from_modinfo(const std::string &path, const std::map<std::string, std::string> &info);

// Empty when the module was built for @release; else the sentence that refuses it.
std::optional<std::string> check_vermagic(const KoFile &ko, const std::string &release);

// What the new set must hold: ip_vs, every IPVS module loaded before, and every scheduler and
// persistence engine the saved services name (ip_vs_<sched>, ip_vs_pe_<pe>).
std::vector<std::string> needed_modules(const std::vector<std::string> &loaded_ipvs,
					const std::vector<std::vector<Service>> &tables);

struct LoadOrder {
	std::vector<std::string> external; // dependencies outside the directory (nf_conntrack...): modprobe them
	std::vector<const KoFile *> files; // insmod in this order, every file after its dependencies
	std::string error;                 // non-empty: a needed module is missing or the dependencies loop
};
LoadOrder load_order(const std::vector<KoFile> &dir, const std::vector<std::string> &needed);

// Whether the loaded module and a file are one build: srcversion and version equal, an absent value equal
// only to an absent one. Used to be sure that a rollback would load back what runs now.
bool same_build(const std::optional<std::string> &loaded_srcversion, const std::optional<std::string> &loaded_version,
		const KoFile &file);

// One sentence for a failed module load (an errno from libkmod), naming module signing and lockdown when they are why.
// @lockdown is the text of /sys/kernel/security/lockdown (empty when absent).
std::string describe_load_error(const std::string &module, int err, const std::string &lockdown);

using Sysctls = std::vector<std::pair<std::string, std::string>>; // name -> value, whitespace collapsed
// Sysctls whose value differs in @after, or that @after lacks; @ignore_missing names that may vanish.
std::vector<std::string> sysctl_diff(const Sysctls &before, const Sysctls &after,
				     const std::vector<std::string> &ignore_missing);
std::string normalize_sysctl(const std::string &raw);

// Process names of controllers that reprogram IPVS behind our back.
bool is_ipvs_controller(const std::string &comm);

// The plan's warning about controller COMM running as PID, empty when COMM is none.
std::string controller_warning(const std::string &comm, int pid);

} // namespace ipvs::swap
