// SPDX-License-Identifier: GPL-2.0
// Replays printers on kernel state captured in a guest, against the bytes real ipvsadm printed for it.
//
// Each tests/unit/golden/<config>/ holds fixture.txt (what ipvs-drain read over netlink, in dump
// order), ip_vs_conn.txt (a /proc/net/ip_vs_conn snapshot), and cases.txt: "file<TAB>ipvsadm options".
// tests/vm-userspace/compare.sh --goldens writes them; every case here is numeric, so no name service is involved.
#include <gtest/gtest.h>

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <sstream>

#include "fixture.h"
#include "ipvs_drain/format.h"
#include "ipvs_drain/options.h"
#include "ipvs_drain/procfs.h"

using namespace ipvs;

namespace {

std::string slurp(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::ostringstream o;
	o << in.rdbuf();
	return o.str();
}

std::vector<std::string> split_ws(const std::string &s)
{
	std::istringstream in(s);
	std::vector<std::string> v;
	std::string t;
	while (in >> t)
		v.push_back(t);
	return v;
}

std::vector<std::string> golden_dirs()
{
	std::vector<std::string> out;
	std::string root = IPVS_DRAIN_GOLDEN_DIR;
	if (DIR *d = opendir(root.c_str())) {
		while (dirent *e = readdir(d))
			if (e->d_name[0] != '.' && e->d_type == DT_DIR)
				out.push_back(root + "/" + e->d_name);
		closedir(d);
	}
	std::sort(out.begin(), out.end());
	return out;
}

const Service *find(const fixture::Snapshot &s, const ServiceKey &k)
{
	for (const Service &v : s.services)
		if (v.fwmark == k.fwmark && v.af == k.af &&
		    (k.fwmark || (v.protocol == k.protocol && v.port == k.port && v.addr == k.addr)))
			return &v;
	return nullptr;
}

} // namespace

TEST(Golden, PrintersMatchRealIpvsadm)
{
	auto dirs = golden_dirs();
	if (dirs.empty())
		GTEST_SKIP() << "no goldens under " << IPVS_DRAIN_GOLDEN_DIR;
	format::NoResolver numeric;
	int cases = 0;
	for (const std::string &dir : dirs) {
		std::string err;
		auto snap = fixture::read(slurp(dir + "/fixture.txt"), err);
		ASSERT_TRUE(snap) << dir << ": " << err;
		std::vector<ConnEntry> conns;
		std::string conn_text = slurp(dir + "/ip_vs_conn.txt");
		ASSERT_TRUE(procfs::parse_conn_table(conn_text, conns, err)) << dir << ": " << err;

		std::istringstream idx(slurp(dir + "/cases.txt"));
		std::string line;
		while (std::getline(idx, line)) {
			auto tab = line.find('\t');
			ASSERT_NE(tab, std::string::npos) << dir << ": " << line;
			std::string file = line.substr(0, tab), opts = line.substr(tab + 1);
			std::string want = slurp(dir + "/" + file);
			auto parsed = options::parse_list(split_ws(opts), options::no_lookups());
			auto *o = std::get_if<options::ListOptions>(&parsed);
			ASSERT_NE(o, nullptr) << dir << ": options " << opts;
			std::string got;
			if (o->connections) {
				got = format::conn_header(o->fmt);
				for (const ConnEntry &c : conns)
					format::append_conn(got, c, o->fmt, numeric);
			} else if (o->service) {
				const Service *s = find(*snap, *o->service);
				if (!s)
					continue; // ipvsadm failed for it ("No such service"): no golden bytes
				got = format::list_one(*s, o->fmt, numeric);
			} else if (o->timeout) {
				got = format::timeouts(snap->timeouts);
			} else if (o->daemon) {
				continue; // daemons are not in the fixture
			} else {
				got = format::list_all(snap->info, snap->services, o->fmt, numeric);
			}
			EXPECT_EQ(got, want) << dir << ": ipvsadm -L " << opts;
			cases++;
		}
	}
	EXPECT_GT(cases, 0);
	std::printf("golden cases replayed: %d\n", cases);
}
