// SPDX-License-Identifier: GPL-2.0
// swap-module's pure half: unload plans from /proc/modules, .modinfo from ELF bytes, vermagic, load order,
// rollback identity, load errors (signing, lockdown), sysctl comparison, and the verb's options.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include <elf.h>
#include <sys/socket.h>

#include "ipvs_drain/options.h"
#include "ipvs_drain/swap.h"

using namespace ipvs;
using namespace ipvs::swap;

namespace {

// /proc/modules of a Debian 6.1 guest with services on eight schedulers, sip and xt_ipvs.
const char kProcModules[] =
	"xt_ipvs 16384 0 - Live 0xffffffffc0a6e000\n"
	"ip_vs_dh 16384 1 - Live 0xffffffffc0a69000\n"
	"ip_vs_pe_sip 16384 1 - Live 0xffffffffc0a5f000\n"
	"nf_conntrack_sip 45056 1 ip_vs_pe_sip, Live 0xffffffffc0a4e000\n"
	"ip_vs_rr 16384 2 - Live 0xffffffffc0a44000\n"
	"ip_vs 188416 24 xt_ipvs,ip_vs_dh,ip_vs_pe_sip,ip_vs_rr, Live 0xffffffffc09e1000\n"
	"nf_conntrack 188416 3 nf_conntrack_sip,ip_vs, Live 0xffffffffc0990000\n"
	"libcrc32c 16384 2 nf_conntrack,ip_vs, Live 0xffffffffc0980000\n";

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

} // namespace

TEST(Swap, ParsesProcModules)
{
	auto m = parse_proc_modules(kProcModules);
	ASSERT_EQ(m.size(), 8u);
	EXPECT_EQ(m[5].name, "ip_vs");
	EXPECT_EQ(m[5].refcount, 24);
	EXPECT_EQ(m[5].holders, (std::vector<std::string>{"xt_ipvs", "ip_vs_dh", "ip_vs_pe_sip", "ip_vs_rr"}));
	EXPECT_TRUE(m[0].holders.empty());
}

TEST(Swap, UnloadPlanPutsHoldersFirstAndReloadsForeignModules)
{
	UnloadPlan p = plan_unload(parse_proc_modules(kProcModules));
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
	std::string text = kProcModules;
	text.replace(text.find("xt_ipvs 16384 0"), 15, "xt_ipvs 16384 2");
	UnloadPlan p = plan_unload(parse_proc_modules(text));
	EXPECT_EQ(p.busy_foreign, std::vector<std::string>{"xt_ipvs"});
	EXPECT_FALSE(plan_unload(parse_proc_modules("nf_conntrack 1 0 - Live 0x0\n")).ipvs_loaded);
}

TEST(Swap, ReadsModinfoFromElf)
{
	const std::string info = std::string("license=GPL\0version=0.1.0\0srcversion=ABC\0depends=nf_conntrack,libcrc32c\0"
					     "name=ip_vs\0vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions \0",
					     130);
	std::string why;
	auto section = elf_modinfo(make_elf(info), why);
	ASSERT_TRUE(section) << why;
	KoFile k = ko_from_modinfo("/x/ip_vs.ko", parse_modinfo(*section));
	EXPECT_EQ(k.name, "ip_vs");
	EXPECT_EQ(k.depends, (std::vector<std::string>{"nf_conntrack", "libcrc32c"}));
	EXPECT_EQ(k.srcversion, "ABC");
	EXPECT_EQ(k.version, "0.1.0");
	EXPECT_FALSE(check_vermagic(k, "6.1.0-56-amd64"));
	EXPECT_EQ(*check_vermagic(k, "6.12.117+deb12-amd64"),
		  "/x/ip_vs.ko was built for kernel 6.1.0-56-amd64, but this kernel is 6.12.117+deb12-amd64: build the "
		  "set for it with 'make kmod KVER=6.12.117+deb12-amd64'");

	EXPECT_FALSE(elf_modinfo("hello", why));
	EXPECT_EQ(why, "not an ELF file");
	std::string cut = make_elf(info);
	cut.resize(cut.size() - 10);
	EXPECT_FALSE(elf_modinfo(cut, why));
	EXPECT_EQ(why, "its section table is damaged");
	// A section-name table of type NOBITS has no bytes in the file, whatever its offset says.
	std::string nobits = make_elf(info);
	Elf64_Ehdr eh;
	std::memcpy(&eh, nobits.data(), sizeof(eh));
	Elf64_Shdr names;
	const std::size_t at = eh.e_shoff + sizeof(Elf64_Shdr);
	std::memcpy(&names, nobits.data() + at, sizeof(names));
	names.sh_type = SHT_NOBITS;
	names.sh_offset = 0x7fffffffffffULL;
	std::memcpy(nobits.data() + at, &names, sizeof(names));
	EXPECT_FALSE(elf_modinfo(nobits, why));
	EXPECT_EQ(why, "its section table is damaged");
	KoFile nameless = ko_from_modinfo("/x/ip_vs-rr.ko", {});
	EXPECT_EQ(nameless.name, "ip_vs_rr");
	EXPECT_EQ(*check_vermagic(nameless, "x"), "/x/ip_vs-rr.ko has no vermagic: it is not a kernel module");
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
