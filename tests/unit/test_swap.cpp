// SPDX-License-Identifier: GPL-2.0
// swap-module's pure half: unload plans from the loaded modules, module info (read by libkmod from files),
// vermagic, load order, rollback identity, load errors (signing, lockdown), sysctl comparison, and the options.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <elf.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipvs_drain/options.h"
#include "ipvs_drain/swap.h"
#include "ipvs_drain/swap_run.h"

using namespace ipvs;
using namespace ipvs::swap;

namespace {

// The loaded modules of a Debian 6.1 guest with services on eight schedulers, sip and xt_ipvs.
const std::vector<LoadedModule> kLoaded{
	{"xt_ipvs", 0, {}},
	{"ip_vs_dh", 1, {}},
	{"ip_vs_pe_sip", 1, {}},
	{"nf_conntrack_sip", 1, {"ip_vs_pe_sip"}},
	{"ip_vs_rr", 2, {}},
	{"ip_vs", 24, {"xt_ipvs", "ip_vs_dh", "ip_vs_pe_sip", "ip_vs_rr"}},
	{"nf_conntrack", 3, {"nf_conntrack_sip", "ip_vs"}},
	{"libcrc32c", 2, {"nf_conntrack", "ip_vs"}},
};

std::size_t pos(const std::vector<std::string> &v, const std::string &s)
{
	return static_cast<std::size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

// A minimal ELF64 relocatable: null section, .shstrtab, .modinfo.
std::string make_elf(const std::string &modinfo)
{
	const std::string shstr = std::string("\0.shstrtab\0.modinfo\0", 20);
	Elf64_Ehdr eh{};
	std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 1;
	std::string body = shstr + modinfo;
	eh.e_shoff = sizeof(eh) + body.size();
	Elf64_Shdr sh[3]{};
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_STRTAB;
	sh[1].sh_offset = sizeof(eh);
	sh[1].sh_size = shstr.size();
	sh[2].sh_name = 11;
	sh[2].sh_type = SHT_PROGBITS;
	sh[2].sh_offset = sizeof(eh) + shstr.size();
	sh[2].sh_size = modinfo.size();
	std::string out(reinterpret_cast<const char *>(&eh), sizeof(eh));
	out += body;
	out.append(reinterpret_cast<const char *>(sh), sizeof(sh));
	return out;
}

KoFile ko(const std::string &name, std::vector<std::string> deps, const std::string &vermagic = "6.1.0-56-amd64 SMP")
{
	KoFile k;
	k.name = name;
	k.path = "/d/" + name + ".ko";
	k.depends = std::move(deps);
	k.vermagic = vermagic;
	return k;
}

// A file in a fresh temporary directory, removed with it.
struct TempFile {
	std::string dir, path;
	TempFile(const std::string &name, const std::string &bytes)
	{
		char tmpl[] = "/tmp/ipvsd-unit-XXXXXX";
		dir = ::mkdtemp(tmpl) ? tmpl : "";
		path = dir + "/" + name;
		std::ofstream(path, std::ios::binary) << bytes;
	}
	~TempFile()
	{
		std::remove(path.c_str());
		::rmdir(dir.c_str());
	}
};

const std::string kInfo = std::string("license=GPL\0version=0.1.0\0srcversion=ABC\0depends=nf_conntrack,libcrc32c\0"
				      "name=ip_vs\0vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions \0",
				      130);

} // namespace

TEST(Swap, PlanFollowsTheLoadedModulesOrder)
{
	// libkmod lists the newest module first; the plan does not depend on that order.
	std::vector<LoadedModule> reversed(kLoaded.rbegin(), kLoaded.rend());
	UnloadPlan a = plan_unload(kLoaded), b = plan_unload(reversed);
	EXPECT_EQ(a.order, b.order);
	EXPECT_EQ(a.ipvs, b.ipvs);
	EXPECT_EQ(a.foreign, b.foreign);
	EXPECT_EQ(b.order.back(), "ip_vs");
	EXPECT_EQ(b.ipvs.front(), "ip_vs");
}

TEST(Swap, UnloadPlanPutsHoldersFirstAndReloadsForeignModules)
{
	UnloadPlan p = plan_unload(kLoaded);
	EXPECT_TRUE(p.ipvs_loaded);
	EXPECT_EQ(p.foreign, std::vector<std::string>{"xt_ipvs"});
	EXPECT_TRUE(p.busy_foreign.empty());
	ASSERT_EQ(p.order.size(), 5u);
	EXPECT_EQ(p.order.back(), "ip_vs");
	EXPECT_LT(pos(p.order, "xt_ipvs"), pos(p.order, "ip_vs"));
	EXPECT_EQ(pos(p.order, "nf_conntrack"), p.order.size()); // dependencies stay
	EXPECT_EQ(p.ipvs.front(), "ip_vs");
	EXPECT_EQ(p.ipvs.size(), 4u);
}

TEST(Swap, ForeignModuleInUseIsNamed)
{
	std::vector<LoadedModule> mods = kLoaded;
	mods[0].refcount = 2; // xt_ipvs in an iptables rule
	UnloadPlan p = plan_unload(mods);
	EXPECT_EQ(p.busy_foreign, std::vector<std::string>{"xt_ipvs"});
	EXPECT_FALSE(plan_unload({{"nf_conntrack", 1, {}}}).ipvs_loaded);
}

TEST(Swap, ReadsModuleInfo)
{
	std::map<std::string, std::string> info{{"version", "0.1.0"}, {"srcversion", "ABC"}, {"name", "ip_vs"},
						{"depends", "nf_conntrack,libcrc32c"},
						{"vermagic", "6.1.0-56-amd64 SMP preempt mod_unload modversions "}};
	KoFile k = ko_from_modinfo("/x/ip_vs.ko", info);
	EXPECT_EQ(k.name, "ip_vs");
	EXPECT_EQ(k.depends, (std::vector<std::string>{"nf_conntrack", "libcrc32c"}));
	EXPECT_EQ(k.srcversion, "ABC");
	EXPECT_EQ(k.version, "0.1.0");
	EXPECT_FALSE(check_vermagic(k, "6.1.0-56-amd64"));
	EXPECT_EQ(*check_vermagic(k, "6.12.117+deb12-amd64"),
		  "/x/ip_vs.ko was built for kernel 6.1.0-56-amd64, but this kernel is 6.12.117+deb12-amd64: build the "
		  "set for it with 'make kmod KVER=6.12.117+deb12-amd64'");
	KoFile nameless = ko_from_modinfo("/x/ip_vs-rr.ko", {});
	EXPECT_EQ(nameless.name, "ip_vs_rr");
	EXPECT_EQ(*check_vermagic(nameless, "x"), "/x/ip_vs-rr.ko has no vermagic: it is not a kernel module");
	EXPECT_EQ(ko_from_modinfo("/x/ip_vs_wlc.ko.xz", {}).name, "ip_vs_wlc"); // Debian's compressed modules
	EXPECT_EQ(ko_from_modinfo("ip_vs_sh.ko.zst", {}).name, "ip_vs_sh");
}

TEST(Swap, ReadsModuleFilesThroughLibkmod)
{
	TempFile ko("ip_vs.ko", make_elf(kInfo));
	std::string why;
	auto k = read_ko(ko.path, why);
	ASSERT_TRUE(k) << why;
	EXPECT_EQ(k->path, ko.path);
	EXPECT_EQ(k->name, "ip_vs");
	EXPECT_EQ(k->depends, (std::vector<std::string>{"nf_conntrack", "libcrc32c"}));
	EXPECT_EQ(k->srcversion, "ABC");
	EXPECT_EQ(k->version, "0.1.0");
	EXPECT_FALSE(check_vermagic(*k, "6.1.0-56-amd64"));

	TempFile text("ip_vs_rr.ko", "hello");
	auto bad = read_ko(text.path, why);
	EXPECT_TRUE(!bad || check_vermagic(*bad, "6.1.0-56-amd64")); // no module info: refused either way
	EXPECT_FALSE(read_ko("/nonexistent/ip_vs.ko", why));
	EXPECT_EQ(why, "cannot read it: No such file or directory");
}

TEST(Swap, NeededModulesCoverSchedulersAndEngines)
{
	Service a, b;
	a.sched_name = "mh";
	b.sched_name = "rr";
	b.pe_name = "sip";
	auto n = needed_modules({"ip_vs_rr", "ip_vs", "ip_vs_ftp"}, {{a}, {b}});
	EXPECT_EQ(n, (std::vector<std::string>{"ip_vs", "ip_vs_ftp", "ip_vs_mh", "ip_vs_pe_sip", "ip_vs_rr"}));
}

TEST(Swap, LoadOrderFollowsDependencies)
{
	std::vector<KoFile> dir{ko("ip_vs_rr", {"ip_vs"}), ko("ip_vs_pe_sip", {"ip_vs", "nf_conntrack_sip"}),
				ko("ip_vs", {"nf_conntrack", "libcrc32c"}), ko("ip_vs_wlc", {"ip_vs"})};
	LoadOrder lo = load_order(dir, {"ip_vs", "ip_vs_pe_sip", "ip_vs_rr"});
	EXPECT_EQ(lo.error, "");
	ASSERT_EQ(lo.files.size(), 3u);
	EXPECT_EQ(lo.files[0]->name, "ip_vs");
	EXPECT_EQ(lo.external, (std::vector<std::string>{"nf_conntrack", "libcrc32c", "nf_conntrack_sip"}));

	lo = load_order(dir, {"ip_vs", "ip_vs_mh"});
	EXPECT_EQ(lo.error, "the directory has no ip_vs_mh.ko (the saved configuration or the loaded set uses it)");
	std::vector<KoFile> loop{ko("ip_vs", {"ip_vs_rr"}), ko("ip_vs_rr", {"ip_vs"})};
	EXPECT_EQ(load_order(loop, {"ip_vs"}).error, "the modules' dependencies loop through ip_vs");
}

TEST(Swap, SameBuildComparesSrcversionAndVersion)
{
	KoFile stock = ko("ip_vs", {});
	KoFile variant = stock;
	variant.srcversion = "64B6B0AB3101C90C91F76C9";
	variant.version = "0.1.0+gdabf2e9";
	EXPECT_TRUE(same_build(std::nullopt, std::nullopt, stock));
	EXPECT_FALSE(same_build(std::nullopt, std::nullopt, variant));
	EXPECT_TRUE(same_build(std::string("64B6B0AB3101C90C91F76C9"), std::string("0.1.0+gdabf2e9"), variant));
	EXPECT_FALSE(same_build(std::string("64B6B0AB3101C90C91F76C9"), std::string("0.1.0+gdabf2e9"), stock));
}

TEST(Swap, LoadErrorsNameSigningAndLockdown)
{
	EXPECT_NE(describe_load_error("ip_vs", EKEYREJECTED, "").find("Key was rejected by service"), std::string::npos);
	EXPECT_NE(describe_load_error("ip_vs", ENOKEY, "").find("Secure Boot"), std::string::npos);
	EXPECT_EQ(describe_load_error("ip_vs", EPERM, "none [integrity] confidentiality"),
		  "kernel lockdown (none [integrity] confidentiality) refused the unsigned module ip_vs. Sign the modules "
		  "with a key the kernel trusts (see 'Secure Boot' in README.md).");
	EXPECT_EQ(describe_load_error("ip_vs", EPERM, "[none] integrity confidentiality"),
		  "permission denied loading ip_vs: run as root (or kernel.modules_disabled is 1).");
	EXPECT_NE(describe_load_error("ip_vs_rr", ENOEXEC, "").find("Exec format error"), std::string::npos);
}

TEST(Swap, SysctlDiff)
{
	Sysctls before{{"conn_reuse_mode", "1"}, {"sync_threshold", "3 50"}, {"conn_reuse_quiescent", "1"}};
	Sysctls after{{"conn_reuse_mode", "1"}, {"sync_threshold", "3 51"}};
	EXPECT_EQ(sysctl_diff(before, after, {"conn_reuse_quiescent"}),
		  std::vector<std::string>{"net.ipv4.vs.sync_threshold: was 3 50, now 3 51"});
	EXPECT_EQ(sysctl_diff(before, after, {}).size(), 2u);
	EXPECT_EQ(normalize_sysctl("3\t50\n"), "3 50");
	EXPECT_TRUE(is_ipvs_controller("kube-proxy"));
	EXPECT_FALSE(is_ipvs_controller("bash"));
	EXPECT_EQ(controller_warning("bash", 7), "");
	EXPECT_EQ(controller_warning("kube-proxy", 7),
		  "warning: kube-proxy (pid 7) reprograms IPVS; stop it during the swap (the swap aborts if the table changes)");
	// keepalived must also be told to reload: it keeps the old generic netlink family id.
	EXPECT_NE(controller_warning("keepalived", 7).find("reload it afterwards (SIGHUP)"), std::string::npos);
}

TEST(Swap, Options)
{
	auto o = options::parse_swap({"--ko", "build/x", "--yes", "--all-netns", "--save-file=/tmp/s"});
	ASSERT_TRUE(std::holds_alternative<options::SwapOptions>(o));
	auto &s = std::get<options::SwapOptions>(o);
	EXPECT_EQ(*s.ko, "build/x");
	EXPECT_TRUE(s.yes && s.all_netns);
	EXPECT_EQ(*s.save_file, "/tmp/s");
	EXPECT_FALSE(s.from_ko);
	auto bad = options::parse_swap({"--ko"});
	ASSERT_TRUE(std::holds_alternative<options::UsageError>(bad));
	EXPECT_EQ(std::get<options::UsageError>(bad).message, "Option '--ko' needs a value.");
	EXPECT_TRUE(std::holds_alternative<options::UsageError>(options::parse_save({"-n", "extra"})));
	auto r = options::parse_restore({"--flush", "--check"});
	ASSERT_TRUE(std::holds_alternative<options::RestoreOptions>(r));
	EXPECT_TRUE(std::get<options::RestoreOptions>(r).flush);
}
