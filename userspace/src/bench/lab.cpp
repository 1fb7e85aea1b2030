// SPDX-License-Identifier: GPL-2.0
// bench's I/O edge: namespaces and links (through ip(8)), pod servers, IPVS through our Client, phases.
//
//  netns ...-cli                 netns ...-dir (private director)                 netns ...-pa / -pb
//  c0 198.18.0.2 --veth-- d0 198.18.0.1
//                          vip0 (dummy) 198.19.0.10/32, IPVS TCP :80 rr masq
//                          br0 198.18.1.1/24 --- va, vb --veth-- eth0 198.18.1.10 (pod-a) / .11 (pod-b)
//
// Nothing here touches the caller's namespace: sysctls are written with this thread inside the
// director netns, and every socket is created inside the namespace it belongs to.
#include "ipvs_drain/bench/run.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipvs_drain/bench/figures.h"
#include "ipvs_drain/bench/loadgen.h"
#include "ipvs_drain/bench/options.h"
#include "ipvs_drain/client.h"
#include "ipvs_drain/procfs.h"
#include "ipvs_drain/status.h"
#include "ipvs_drain/sysctl.h"
#include "ipvs_drain/uapi.h"
#include "ipvs_drain/util.h"

extern char **environ;

namespace ipvs::bench {

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

// One sentence for the user; everything built so far is undone before it is printed.
struct BenchError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

struct Interrupted {};

// The lab's addresses and forwarding, per --topology: benchmarking ranges (198.18.0.0/15, RFC 2544;
// 2001:2::/48, RFC 5180), never a node's own.
struct Topology {
	int af;
	const char *client, *dir_client, *vip, *dir_pod, *pod_a, *pod_b;
	int plen; // prefix length of every link
	bool dr;  // direct routing: the client sits on the pods' bridge, the pods hold the VIP
};
constexpr Topology kNat{AF_INET, "198.18.0.2", "198.18.0.1", "198.19.0.10", "198.18.1.1", "198.18.1.10", "198.18.1.11",
			24, false};
constexpr Topology kDr{AF_INET, "198.18.1.2", "198.18.1.1", "198.19.0.10", "198.18.1.1", "198.18.1.10", "198.18.1.11",
		       24, true};
constexpr Topology kNat6{AF_INET6, "2001:2:0:1::2", "2001:2:0:1::1", "2001:2:0:ff::10", "2001:2:0:2::1",
			 "2001:2:0:2::10", "2001:2:0:2::11", 64, false};

const Topology &topology(const std::string &name)
{
	return name == "dr" ? kDr : name == "nat6" ? kNat6 : kNat;
}

constexpr std::uint16_t kVport = 80;
constexpr std::uint16_t kFtpPort = 21;

// @ip as IPVS's address of family @af.
Addr ipvs_addr(int af, const char *ip)
{
	Addr a;
	if (af == AF_INET6) {
		inet_pton(AF_INET6, ip, a.bytes.data());
	} else {
		in_addr v4{};
		inet_pton(AF_INET, ip, &v4);
		a = addr_from_v4(ntohl(v4.s_addr));
	}
	return a;
}

using util::Fd;

// This thread inside another network namespace for the guard's lifetime.
struct NetnsGuard : util::NetnsGuard {
	explicit NetnsGuard(int target) try : util::NetnsGuard(target) {
	} catch (const std::system_error &e) {
		throw BenchError(std::string("Cannot enter a lab network namespace: ") + std::strerror(e.code().value()) +
				 (e.code().value() == EPERM ? " (bench needs root: CAP_SYS_ADMIN and CAP_NET_ADMIN)." : "."));
	}
};

Fd open_netns(const std::string &name)
{
	Fd fd(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
	if (fd.get() < 0)
		throw BenchError("Cannot open /run/netns/" + name + ": " + std::strerror(errno) + ".");
	return fd;
}

const char *ip_binary()
{
	static const char *const candidates[] = {"/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"};
	for (const char *c : candidates)
		if (::access(c, X_OK) == 0)
			return c;
	return nullptr;
}

// Runs `ip [-n NS] -batch -` with @lines on stdin. Returns ip's first error line, empty on success.
std::string run_ip_batch(const std::string &ns, const std::vector<std::string> &lines)
{
	const char *ip = ip_binary();
	if (!ip)
		return "ip(8) not found: install iproute2";
	int in[2], err[2];
	if (::pipe2(in, O_CLOEXEC) < 0)
		return std::string("pipe: ") + std::strerror(errno);
	if (::pipe2(err, O_CLOEXEC) < 0) {
		::close(in[0]);
		::close(in[1]);
		return std::string("pipe: ") + std::strerror(errno);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	std::vector<std::string> argv_s = {"ip"};
	if (!ns.empty()) {
		argv_s.push_back("-n");
		argv_s.push_back(ns);
	}
	argv_s.push_back("-batch");
	argv_s.push_back("-");
	std::vector<char *> argv;
	for (auto &a : argv_s)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	pid_t pid = 0;
	int rc = posix_spawn(&pid, ip, &fa, nullptr, argv.data(), environ);
	posix_spawn_file_actions_destroy(&fa);
	::close(in[0]);
	::close(err[1]);
	if (rc != 0) {
		::close(in[1]);
		::close(err[0]);
		return std::string("cannot run ip: ") + std::strerror(rc);
	}
	std::string text;
	for (const auto &l : lines)
		text += l + "\n";
	std::size_t off = 0;
	while (off < text.size()) {
		ssize_t n = ::write(in[1], text.data() + off, text.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += static_cast<std::size_t>(n);
	}
	::close(in[1]);
	std::string errtext;
	char buf[512];
	for (;;) {
		ssize_t n = ::read(err[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		errtext.append(buf, static_cast<std::size_t>(n));
	}
	::close(err[0]);
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return "";
	std::string first = errtext.substr(0, errtext.find('\n'));
	return first.empty() ? "ip exited with status " + std::to_string(WEXITSTATUS(status)) : first;
}

void ip_batch(const std::string &ns, const std::vector<std::string> &lines)
{
	auto e = run_ip_batch(ns, lines);
	if (!e.empty())
		throw BenchError("Lab setup failed" + (ns.empty() ? std::string() : " in netns " + ns) + ": " + e + ".");
}

// Writes /proc/sys/PATH in the calling thread's netns.
void write_proc_sys(const std::string &path, int value)
{
	if (auto ec = sysctl::write(path, std::to_string(value)))
		throw BenchError("Cannot set /proc/sys/" + path + " in the lab's director netns: " + ec.message() + ".");
}

// A pod: a listener in the pod's netns served by a thread. A request line gets the pod's name back,
// and the server closes first. "HOLD" keeps the connection open, answering every further line.
class PodServer {
public:
	PodServer(int netns_fd, int af, const char *addr, std::uint16_t port, std::string name) : name_(std::move(name))
	{
		{
			NetnsGuard g(netns_fd);
			listen_ = Fd(::socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		}
		int one = 1;
		const sockaddr_storage sa = sock_addr(af, addr, port);
		if (listen_.get() < 0 || ::setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    ::bind(listen_.get(), reinterpret_cast<const sockaddr *>(&sa), sockaddr_len(sa)) < 0 ||
		    ::listen(listen_.get(), 4096) < 0)
			throw BenchError("Cannot start the " + name_ + " server on " + addr + ":" + std::to_string(port) +
					 ": " + std::strerror(errno) + ".");
		wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		ep_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
		if (wake_.get() < 0 || ep_.get() < 0)
			throw BenchError(std::string("Cannot start a pod server: ") + std::strerror(errno) + ".");
		watch(listen_.get());
		watch(wake_.get());
		thread_ = std::thread([this] { loop(); });
	}
	PodServer(const PodServer &) = delete;
	PodServer &operator=(const PodServer &) = delete;
	~PodServer()
	{
		std::uint64_t one = 1;
		if (::write(wake_.get(), &one, sizeof(one)) < 0) {
			// The loop also polls its stop flag.
		}
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
		for (auto &[fd, c] : conns_)
			::close(fd);
	}

private:
	struct Peer {
		std::string buf;
		bool hold = false;
	};

	void watch(int fd)
	{
		epoll_event ev{};
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
	}

	void drop(int fd)
	{
		::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
		::close(fd);
		conns_.erase(fd);
	}

	void loop()
	{
		epoll_event events[128];
		const std::string reply = name_ + "\n";
		while (!stop_) {
			int n = ::epoll_wait(ep_.get(), events, 128, 200);
			for (int i = 0; i < n; i++) {
				int fd = events[i].data.fd;
				if (fd == wake_.get())
					return;
				if (fd == listen_.get()) {
					for (;;) {
						int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
						if (c < 0)
							break;
						conns_[c] = Peer{};
						watch(c);
					}
					continue;
				}
				auto it = conns_.find(fd);
				if (it == conns_.end())
					continue;
				char buf[1024];
				ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
				if (r <= 0) {
					if (r == 0 || (errno != EAGAIN && errno != EINTR))
						drop(fd);
					continue;
				}
				Peer &p = it->second;
				p.buf.append(buf, static_cast<std::size_t>(r));
				bool closed = false;
				std::size_t nl;
				while (!closed && (nl = p.buf.find('\n')) != std::string::npos) {
					std::string line = p.buf.substr(0, nl);
					p.buf.erase(0, nl + 1);
					if (line.rfind("HOLD", 0) == 0)
						p.hold = true;
					if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0 || !p.hold) {
						drop(fd); // the server closes first, as pods do
						closed = true;
					}
				}
			}
		}
	}

	std::string name_;
	Fd listen_, wake_, ep_;
	std::map<int, Peer> conns_;
	std::atomic<bool> stop_{false};
	std::thread thread_;
};

// Waits until a TCP connect from the netns @netns_fd to @ip:80 is answered, by the pod's server or
// (direct routing: it listens on the VIP only) by its kernel's reset; up to 10 s.
void wait_reachable(int netns_fd, int af, const char *ip, const char *name)
{
	const sockaddr_storage sa = sock_addr(af, ip, kVport);
	int err = 0;
	for (int tries = 0; tries < 100 && !g_stop; tries++) {
		Fd s;
		{
			NetnsGuard g(netns_fd);
			s = Fd(::socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0));
		}
		timeval tv{0, 100000};
		::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (::connect(s.get(), reinterpret_cast<const sockaddr *>(&sa), sockaddr_len(sa)) == 0 || errno == ECONNREFUSED)
			return;
		err = errno;
		if (err != EINPROGRESS && err != EAGAIN)
			::usleep(100000);
	}
	throw BenchError(std::string("Pod ") + name + " (" + ip + ") does not answer the director in the lab: " +
			 std::strerror(err) + ".");
}

// Undo steps run in reverse, whatever happened: a half-built lab is removed like a whole one.
class Undo {
public:
	void push(std::function<void()> f) { steps_.push_back(std::move(f)); }
	void run()
	{
		while (!steps_.empty()) {
			auto f = std::move(steps_.back());
			steps_.pop_back();
			try {
				f();
			} catch (...) {
			}
		}
	}
	~Undo() { run(); }

private:
	std::vector<std::function<void()>> steps_;
};

std::vector<std::pair<std::string, int>> config_sysctls(const std::string &cfg)
{
	if (cfg == "legacy")
		return {{"conntrack", 1}, {"conn_reuse_mode", 0}, {"expire_nodest_conn", 0}};
	if (cfg == "variant")
		return {{"conntrack", 1}, {"conn_reuse_mode", 0}, {"expire_nodest_conn", 0}, {"conn_reuse_quiescent", 1}};
	if (cfg == "upstream")
		return {{"conntrack", 1}, {"conn_reuse_mode", 0}, {"expire_nodest_conn", 1}};
	return {{"conntrack", 1}, {"conn_reuse_mode", 1}, {"expire_nodest_conn", 1}, {"expire_quiescent_template", 1}};
}

ServiceKey vip_key(const Topology &t, std::uint16_t port)
{
	ServiceKey k;
	k.af = t.af;
	k.protocol = IPPROTO_TCP;
	k.addr = ipvs_addr(t.af, t.vip);
	k.port = port;
	return k;
}

// The FTP-port service masquerades in every topology.
Dest pod_dest(const Topology &t, const char *ip, std::uint16_t port, std::uint32_t weight)
{
	Dest d;
	d.af = t.af;
	d.addr = ipvs_addr(t.af, ip);
	d.port = port;
	d.conn_flags = t.dr && port == kVport ? uapi::CONN_F_DROUTE : uapi::CONN_F_MASQ;
	d.weight = weight;
	return d;
}

std::string trim(std::string_view s)
{
	while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
		s.remove_suffix(1);
	return std::string(s);
}

std::vector<std::uint16_t> port_list(std::uint16_t lo, std::size_t n)
{
	std::vector<std::uint16_t> v;
	for (std::size_t i = 0; i < n; i++)
		v.push_back(static_cast<std::uint16_t>(lo + i));
	return v;
}

class Progress {
public:
	Progress() : tty_(::isatty(1) == 1) {}
	void show(const std::string &what, const std::vector<ConnRecord> &recs)
	{
		if (!tty_)
			return;
		std::size_t ok = 0;
		for (const auto &r : recs)
			ok += r.outcome == "ok";
		std::printf("\r\033[K%s: %zu done, %zu ok, %zu failed", what.c_str(), recs.size(), ok, recs.size() - ok);
		std::fflush(stdout);
	}
	void clear()
	{
		if (tty_) {
			std::printf("\r\033[K");
			std::fflush(stdout);
		}
	}

private:
	bool tty_;
};

// The lab for one configuration, from nothing back to nothing.
ConfigResult run_config(const std::string &cfg, int index, const BenchOptions &o, Progress &progress)
{
	ConfigResult res;
	res.name = cfg;
	const Topology &T = topology(o.topology);
	// The states a reused port meets: a NAT director sees the whole close; with direct routing the
	// replies bypass it and its entries stop in FIN_WAIT.
	auto reuse_state = [&](const std::string &st) {
		return T.dr ? st == "FIN_WAIT" : st == "TIME_WAIT" || st == "CLOSE";
	};
	const std::string prefix = "ipvsd-bench-" + std::to_string(::getpid()) + "-" + std::to_string(index);
	const std::string ns_dir = prefix + "-dir", ns_cli = prefix + "-cli", ns_a = prefix + "-pa", ns_b = prefix + "-pb";
	const std::vector<std::string> all_ns = {ns_dir, ns_cli, ns_a, ns_b};

	// Declared before the undo stack, so they outlive every step that uses them.
	Fd fd_dir, fd_cli, fd_a, fd_b;
	std::unique_ptr<PodServer> srv_a, srv_b;
	Client client;
	bool client_open = false;
	Fd hold;
	Undo undo;

	try {
		for (const auto &ns : all_ns) {
			ip_batch("", {"netns add " + ns});
			undo.push([ns] { run_ip_batch("", {"netns del " + ns}); });
		}
		fd_dir = open_netns(ns_dir);
		fd_cli = open_netns(ns_cli);
		fd_a = open_netns(ns_a);
		fd_b = open_netns(ns_b);
		undo.push([&] { fd_dir.reset(); fd_cli.reset(); fd_a.reset(); fd_b.reset(); });
		// IPv6 addresses skip duplicate address detection, which would hold them back for seconds.
		const std::string plen = "/" + std::to_string(T.plen), host = T.af == AF_INET6 ? "/128" : "/32",
				  nodad = T.af == AF_INET6 ? " nodad" : "";
		auto addr = [&](const char *ip, const std::string &len, const char *dev) {
			return std::string("addr add ") + ip + len + " dev " + dev + nodad;
		};
		// With direct routing the client hangs off the pods' bridge; only its way to the VIP goes
		// through the director, and the pods answer it straight over the bridge.
		ip_batch(ns_cli, {"link set lo up",
				  "link add c0 type veth peer name " + std::string(T.dr ? "vc" : "d0") + " netns " + ns_dir,
				  addr(T.client, plen, "c0"), "link set c0 up",
				  T.dr ? std::string("route add ") + T.vip + host + " via " + T.dir_pod
				       : std::string("route add default via ") + T.dir_client});
		// br0 has a MAC of its own: a bridge otherwise takes its lowest port's, which changes when pod
		// A's port goes, and IPv6 tells no neighbour of it.
		ip_batch(ns_dir, {"link set lo up", "link add vip0 type dummy", addr(T.vip, host, "vip0"), "link set vip0 up",
				  "link add br0 address 02:00:c6:12:01:01 type bridge", addr(T.dir_pod, plen, "br0"),
				  "link set br0 up"});
		ip_batch(ns_dir, T.dr ? std::vector<std::string>{"link set vc master br0 up"}
				      : std::vector<std::string>{addr(T.dir_client, plen, "d0"), "link set d0 up"});
		for (auto [ns, port, ip] : {std::tuple{ns_a, "va", T.pod_a}, std::tuple{ns_b, "vb", T.pod_b}}) {
			std::vector<std::string> lines{"link set lo up",
						       std::string("link add eth0 type veth peer name ") + port + " netns " + ns_dir,
						       addr(ip, plen, "eth0"), "link set eth0 up",
						       std::string("route add default via ") + T.dir_pod};
			// A direct-routing real server: the VIP is local, but never announced.
			if (T.dr)
				lines.push_back(addr(T.vip, host, "lo"));
			ip_batch(ns, lines);
			ip_batch(ns_dir, {std::string("link set ") + port + " master br0 up"});
		}
		if (T.dr) {
			for (int fd : {fd_a.get(), fd_b.get()}) {
				NetnsGuard g(fd);
				for (const char *dev : {"all", "eth0"}) {
					write_proc_sys(std::string("net/ipv4/conf/") + dev + "/arp_ignore", 1);
					write_proc_sys(std::string("net/ipv4/conf/") + dev + "/arp_announce", 2);
				}
			}
		}

		{
			NetnsGuard g(fd_dir.get());
			if (!sysctl::ipvs_sysctls_present())
				throw BenchError("IPVS sysctls are missing in the lab's director netns: load ip_vs with 'modprobe ip_vs'.");
			// A dead pod must fail fast and visibly: unthrottled ICMP errors, one quick ARP probe.
			write_proc_sys("net/ipv4/ip_forward", 1);
			write_proc_sys("net/ipv4/icmp_ratelimit", 0);
			if (T.af == AF_INET6) {
				write_proc_sys("net/ipv6/conf/all/forwarding", 1);
				write_proc_sys("net/ipv6/icmp/ratelimit", 0);
			}
			const std::string neigh = T.af == AF_INET6 ? "net/ipv6/neigh/br0/" : "net/ipv4/neigh/br0/";
			for (auto [k, v] : {std::pair{"mcast_solicit", 1}, {"ucast_solicit", 1}, {"app_solicit", 0},
					    {"retrans_time_ms", 100}, {"delay_first_probe_time", 1},
					    {"base_reachable_time_ms", 1000}})
				write_proc_sys(neigh + k, v);
			res.sysctls = config_sysctls(cfg);
			if (cfg != "variant" && sysctl::knob_present())
				res.sysctls.emplace_back("conn_reuse_quiescent", 0);
			for (const auto &[k, v] : o.set) {
				auto it = std::find_if(res.sysctls.begin(), res.sysctls.end(),
						       [&](const auto &kv) { return kv.first == k; });
				if (it != res.sysctls.end())
					it->second = v;
				else
					res.sysctls.emplace_back(k, v);
			}
			for (const auto &[k, v] : res.sysctls)
				write_proc_sys(std::string("net/ipv4/vs/") + k, v);
			if (auto ec = Client::open(client))
				throw BenchError(Client::is_family_missing(ec)
							 ? "IPVS is not loaded: load it with 'modprobe ip_vs' (bench never loads modules)."
							 : "Cannot open a generic netlink socket in the lab: " + ec.message() + ".");
			client_open = true;
		}

		// With direct routing the packets still carry the VIP.
		srv_a = std::make_unique<PodServer>(fd_a.get(), T.af, T.dr ? T.vip : T.pod_a, kVport, "pod-a");
		srv_b = std::make_unique<PodServer>(fd_b.get(), T.af, T.dr ? T.vip : T.pod_b, kVport, "pod-b");
		undo.push([&] { srv_a.reset(); srv_b.reset(); });
		// Readiness, as a kubelet probes before a pod becomes an endpoint: the director reaches each
		// pod. Right after setup a neighbour solicitation can still be lost, and with one solicit the
		// first SYNs would fail for reasons that have nothing to do with IPVS.
		for (auto [name, ip] : {std::pair{"A", T.pod_a}, std::pair{"B", T.pod_b}})
			wait_reachable(fd_dir.get(), T.af, ip, name);

		auto ipvs_call = [&](const char *what, std::error_code ec) {
			if (ec)
				throw BenchError(std::string("IPVS refused to ") + what + " in the lab: " + ec.message() + ".");
		};
		Service svc;
		svc.af = T.af;
		svc.protocol = IPPROTO_TCP;
		svc.addr = vip_key(T, kVport).addr;
		svc.port = kVport;
		svc.sched_name = "rr";
		svc.netmask = T.af == AF_INET6 ? 128 : 0xffffffff;
		if (o.persistent) {
			svc.flags |= uapi::SVC_F_PERSISTENT;
			svc.timeout = o.persistent;
		}
		ipvs_call("add the service", client.add_service(svc));
		undo.push([&] { (void)client.del_service(vip_key(T, kVport)); });
		ipvs_call("add pod A", client.add_dest(vip_key(T, kVport), pod_dest(T, T.pod_a, kVport, 1)));
		// A masquerading service on the FTP port makes IPVS register conntrack hooks in this netns,
		// as kube-proxy's iptables rules do on a node. No traffic goes to it.
		svc.port = kFtpPort;
		svc.flags = 0;
		svc.timeout = 0;
		ipvs_call("add the FTP-port service", client.add_service(svc));
		undo.push([&] { (void)client.del_service(vip_key(T, kFtpPort)); });
		ipvs_call("add pod A to the FTP-port service", client.add_dest(vip_key(T, kFtpPort), pod_dest(T, T.pod_a, kFtpPort, 1)));

		const std::int64_t t0 = now_us();
		const std::size_t per_set = o.ports.size() / 3;
		const auto p1 = port_list(o.ports.lo, per_set), p2 = port_list(static_cast<std::uint16_t>(o.ports.lo + per_set), per_set),
			   p3 = port_list(static_cast<std::uint16_t>(o.ports.lo + 2 * per_set), per_set);

		std::optional<std::int64_t> t_weight0, t_drained;
		std::int64_t last_poll = 0;
		bool watching = false;
		auto poll_drain = [&](std::int64_t now) {
			if (!watching || t_drained || now - last_poll < 100000)
				return;
			last_poll = now;
			Service s;
			if (client.get_service(vip_key(T, kVport), s))
				return;
			for (const auto &d : s.dests)
				if (d.addr == pod_dest(T, T.pod_a, kVport, 0).addr && d.active_conns + d.inact_conns == 0)
					t_drained = now;
		};

		auto read_counters = [&]() -> std::optional<std::map<std::string, std::uint64_t>> {
			NetnsGuard g(fd_dir.get());
			auto text = procfs::read_file("/proc/thread-self/net/ip_vs_reuse_stats");
			if (!text)
				return std::nullopt;
			return procfs::parse_counters(*text);
		};
		auto old_pod_entries = [&](const std::vector<std::uint16_t> &ports) -> std::uint64_t {
			std::string text;
			{
				NetnsGuard g(fd_dir.get());
				auto t = procfs::read_file("/proc/thread-self/net/ip_vs_conn");
				if (!t)
					throw BenchError(std::string("Cannot read the lab's /proc/net/ip_vs_conn: ") +
							 std::strerror(errno) + ".");
				text = std::move(*t);
			}
			std::vector<ConnEntry> conns;
			std::string why;
			if (!procfs::parse_conn_table(text, conns, why))
				throw BenchError("Cannot parse the lab's connection table: " + why + ".");
			const Addr a = pod_dest(T, T.pod_a, kVport, 0).addr;
			std::uint64_t n = 0;
			for (const auto &c : conns)
				if (c.protocol == "TCP" && c.daddr == a && c.vport == kVport &&
				    reuse_state(c.state) && c.cport >= ports.front() &&
				    c.cport <= ports.back())
					n++;
			return n;
		};

		// A reuse phase counts the entries its ports will hit twice: before its state change (what it
		// was built to hit) and at its burst (what the SYNs meet; expire_nodest_conn=1 flushes a removed
		// destination's entries in between).
		auto pass = [&](const std::string &phase, const std::vector<std::uint16_t> &ports,
				std::optional<std::uint64_t> before_change) {
			if (g_stop)
				throw Interrupted{};
			PhaseResult p;
			p.ports = std::to_string(ports.front()) + "-" + std::to_string(ports.back());
			p.entries_before_change = before_change;
			if (before_change)
				p.old_pod_entries = old_pod_entries(ports);
			auto before = read_counters();
			LoadSpec spec;
			spec.dst = sock_addr(T.af, T.vip, kVport);
			spec.src = sock_addr(T.af, T.client, 0);
			spec.ports = ports;
			spec.once = true;
			spec.concurrency = o.concurrency;
			spec.rate = o.rate;
			spec.connect_timeout_s = o.connect_timeout_s;
			spec.read_timeout_s = o.read_timeout_s;
			spec.request = "HELLO\n";
			spec.identify = trim;
			spec.t0_us = t0;
			spec.stop = &g_stop;
			const std::string label = cfg + " " + phase;
			spec.tick = [&](const std::vector<ConnRecord> &recs) {
				progress.show(label, recs);
				poll_drain(now_us());
			};
			std::string fatal;
			p.start_us = now_us() - t0;
			std::vector<ConnRecord> recs;
			{
				NetnsGuard g(fd_cli.get());
				recs = run_load(spec, fatal);
			}
			p.end_us = now_us() - t0;
			progress.clear();
			if (!fatal.empty())
				throw BenchError(fatal);
			if (g_stop)
				throw Interrupted{};
			poll_drain(now_us());
			auto after = read_counters();
			if (before && after) {
				std::map<std::string, std::int64_t> d;
				for (const auto &[k, v] : *after)
					d[k] = static_cast<std::int64_t>(v) -
					       static_cast<std::int64_t>(before->count(k) ? before->at(k) : 0);
				p.counters_delta = d;
			}
			p.fig = summarize(phase, recs, static_cast<double>(p.end_us - p.start_us) / 1e6);
			res.records.insert(res.records.end(), recs.begin(), recs.end());
			res.phases.push_back(std::move(p));
		};
		auto mark = [&](const std::string &label) { res.markers.push_back({now_us() - t0, label}); };

		// The long-lived connection, opened while pod A serves alone.
		{
			NetnsGuard g(fd_cli.get());
			hold = Fd(::socket(T.af, SOCK_STREAM | SOCK_CLOEXEC, 0));
		}
		timeval tv{3, 0};
		::setsockopt(hold.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		::setsockopt(hold.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		auto hold_ask = [&](const char *line) -> std::optional<std::string> {
			if (::send(hold.get(), line, std::strlen(line), MSG_NOSIGNAL) < 0)
				return std::nullopt;
			std::string got;
			char c;
			while (::recv(hold.get(), &c, 1, 0) == 1 && c != '\n')
				got += c;
			if (got.empty())
				return std::nullopt;
			return got;
		};
		const sockaddr_storage vip = sock_addr(T.af, T.vip, kVport);
		if (::connect(hold.get(), reinterpret_cast<const sockaddr *>(&vip), sockaddr_len(vip)) < 0)
			throw BenchError(std::string("The lab's VIP does not answer (long-lived connection): ") +
					 std::strerror(errno) + ".");
		res.hold_pod = hold_ask("HOLD\n");

		// The plan's phases after warm: full (draining, destroyed, removed), short (draining
		// only) or lastdest (quiesced, emptied: no pod B ever comes).
		const bool full = o.plan == "full", lastdest = o.plan == "lastdest";
		auto warm_ports = p1;
		if (o.plan != "short")
			warm_ports.insert(warm_ports.end(), p2.begin(), p2.end());
		if (full)
			warm_ports.insert(warm_ports.end(), p3.begin(), p3.end());
		pass("warm", warm_ports, std::nullopt);

		// draining: kube-proxy's graceful termination; pod A stays alive at weight 0 beside B.
		// quiesced: A, the only server, goes to weight 0 and nothing else has weight.
		auto built = old_pod_entries(p1);
		if (!lastdest)
			ipvs_call("add pod B", client.add_dest(vip_key(T, kVport), pod_dest(T, T.pod_b, kVport, 1)));
		ipvs_call("set pod A's weight to 0", client.edit_dest(vip_key(T, kVport), pod_dest(T, T.pod_a, kVport, 0)));
		mark("weight 0");
		t_weight0 = now_us();
		watching = true;
		pass(lastdest ? "quiesced" : "draining", p1, built);
		auto pong = hold_ask("PING\n");
		res.hold_alive = pong.has_value() && res.hold_pod && *pong == *res.hold_pod;
		// Graceful to the end: our FIN, then the pod's (a timeout or a reset is not a clean close).
		if (*res.hold_alive) {
			char c;
			res.hold_closed = ::shutdown(hold.get(), SHUT_WR) == 0 && ::recv(hold.get(), &c, 1, 0) == 0;
		}
		hold.reset();

		// The pod's process and veth go, IPVS keeps its entries.
		auto destroy_a = [&] {
			mark("pod A destroyed");
			srv_a.reset();
			fd_a.reset();
			ip_batch(ns_dir, {"link del va"});
			ip_batch("", {"netns del " + ns_a});
		};
		// kube-proxy deletes the real server once draining ends.
		auto remove_a = [&] {
			ipvs_call("delete pod A", client.del_dest(vip_key(T, kVport), pod_dest(T, T.pod_a, kVport, 0)));
			mark("dest A removed");
		};
		auto stop_watching = [&] {
			res.drain_watched_s = static_cast<double>(now_us() - *t_weight0) / 1e6;
			watching = false;
			if (t_drained)
				res.drain_s = static_cast<double>(*t_drained - *t_weight0) / 1e6;
		};
		if (full) {
			built = old_pod_entries(p2);
			destroy_a();
			pass("destroyed", p2, built);
			built = old_pod_entries(p3);
			remove_a();
			stop_watching();
			pass("removed", p3, built);
		} else if (lastdest) {
			// emptied: the last server is gone and deleted; the service has no destination.
			built = old_pod_entries(p2);
			destroy_a();
			remove_a();
			stop_watching();
			pass("emptied", p2, built);
		} else {
			stop_watching();
		}
	} catch (const BenchError &e) {
		// A signal also reaches ip(8) children, whose failure is then only a symptom.
		res.failed = g_stop ? "interrupted" : e.what();
	} catch (const Interrupted &) {
		res.failed = "interrupted";
	}

	hold.reset();
	undo.run();
	if (client_open) {
		// The director netns lives on while our socket does, so this is the table the lab left.
		std::vector<Service> left;
		if (!client.get_services(left))
			res.service_gone = left.empty();
	}
	bool gone = true;
	struct stat st{};
	for (const auto &ns : all_ns)
		if (::stat(("/run/netns/" + ns).c_str(), &st) == 0)
			gone = false;
	res.namespaces_gone = gone;
	return res;
}

std::string kernel_release()
{
	utsname u{};
	::uname(&u);
	return u.release;
}

const char kHelp[] =
	"Usage: ipvs-drain bench --lab [options]\n"
	"       ipvs-drain bench --target VIP:PORT [options]\n"
	"\n"
	"Modes (give exactly one):\n"
	"  --lab                    (root) build the rolling-update scenario in private network namespaces\n"
	"                           (ipvsd-bench-PID-*; a director netns of its own, addresses from\n"
	"                           198.18.0.0/15, or 2001:2::/48 for nat6) and run its phases under each\n"
	"                           sysctl configuration. The node's own namespace, sysctls and IPVS\n"
	"                           table are never touched; everything is removed at the end, on\n"
	"                           Ctrl-C too.\n"
	"  --target VIP:PORT        run only the client against an existing service, e.g. during a rollout\n"
	"\n"
	"Lab phases:\n"
	"  warm       pod A alone fills every source port's IPVS entry (TIME_WAIT, to A)\n"
	"  draining   pod B added, A set to weight 0; the first port set is reused\n"
	"  destroyed  A's netns and veth deleted; the second port set is reused\n"
	"  removed    A deleted from the service; the third port set is reused\n"
	"Configurations (default: all the kernel supports):\n"
	"  legacy     conntrack=1 conn_reuse_mode=0 expire_nodest_conn=0 (the affected kernels' decision)\n"
	"  variant    legacy + conn_reuse_quiescent=1 (needs the ipvs-drain modules)\n"
	"  upstream   legacy + expire_nodest_conn=1 (upstream's remedy, 5.16+; before 5.16 it runs only\n"
	"             when named in --configs, for kernels with a backport)\n"
	"  modern     conn_reuse_mode=1 expire_nodest_conn=1 expire_quiescent_template=1 (kube-proxy today)\n"
	"\n"
	"Lab options:\n"
	"  --configs LIST           comma-separated configurations from the list above\n"
	"  --plan PLAN              the phases after warm: full (the default: draining, destroyed,\n"
	"                           removed), short (draining only), lastdest (no pod B: quiesced, A\n"
	"                           alone at weight 0, then emptied, A destroyed and deleted)\n"
	"  --topology T             nat (the default: the client reaches the VIP through the director,\n"
	"                           which masquerades), dr (direct routing: the client on the pods'\n"
	"                           bridge, the pods hold the VIP and answer it directly, so the old\n"
	"                           entries are FIN_WAIT) or nat6 (nat over IPv6, 2001:2::/48)\n"
	"  --persistent S           make the lab's service persistent with timeout S (ipvsadm -p S)\n"
	"  --set KEY=N              also set net.ipv4.vs.KEY=N in the lab's director, after the\n"
	"                           configuration's own values (repeatable; KEY: conntrack,\n"
	"                           conn_reuse_mode, expire_nodest_conn, expire_quiescent_template,\n"
	"                           conn_reuse_quiescent), e.g. --configs legacy --set conntrack=0\n"
	"\n"
	"Target options:\n"
	"  --duration S             how long to run (default 10)\n"
	"  --send STRING            raw request (default: HTTP/1.0 GET /); the server must close first\n"
	"  --id-regex RE            names the backend from the response (first group, else the match)\n"
	"\n"
	"Load options (both modes):\n"
	"  --ports LO-HI|ephemeral  source ports, reused with SO_REUSEADDR (lab default 20000-20299,\n"
	"                           split into three sets; target default ephemeral)\n"
	"  --concurrency N          connections in flight (default 50)\n"
	"  --rate N                 at most N new connections per second (default: no cap)\n"
	"  --connect-timeout S      our connect timeout (default 2)\n"
	"  --read-timeout S         a server that has not closed S seconds after the connect is closed\n"
	"                           by us and counted as client_closed_first (default 5)\n"
	"\n"
	"Output (the table goes to standard output in both modes):\n"
	"  --json FILE              every figure (keys in userspace/README.md)\n"
	"  --svg FILE               a timeline chart\n"
	"\n"
	"Examples:\n"
	"  ipvs-drain bench --lab --json bench.json --svg bench.svg\n"
	"  ipvs-drain bench --lab --configs legacy,variant --ports 30000-30149\n"
	"  ipvs-drain bench --target 10.96.0.10:80 --ports 20000-20099 --duration 60 \\\n"
	"      --id-regex 'Hostname: (\\S+)'\n"
	"\n"
	"Exit status: 0 ran, 1 system failure (not root, no ip_vs, busy port), 2 bad usage, 130 interrupted.\n";

int fail(int code, const std::string &msg)
{
	std::fprintf(stderr, "ipvs-drain: %s\n", msg.c_str());
	return code;
}

bool write_file(const std::string &path, const std::string &text, std::string &why)
{
	FILE *f = std::fopen(path.c_str(), "w");
	if (!f) {
		why = "Cannot write " + path + ": " + std::strerror(errno) + ".";
		return false;
	}
	bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
	ok = std::fclose(f) == 0 && ok;
	if (!ok)
		why = "Cannot write " + path + ": " + std::strerror(errno) + ".";
	return ok;
}

std::string range_text(const PortRange &p)
{
	return p.ephemeral() ? "ephemeral" : std::to_string(p.lo) + "-" + std::to_string(p.hi);
}

// Fails when a source port is already bound by someone else (a listener, or a connection of theirs).
std::optional<std::uint16_t> busy_port(const PortRange &p)
{
	for (unsigned port = p.lo; !p.ephemeral() && port <= p.hi; port++) {
		Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
		int one = 1;
		::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sockaddr_in sa{};
		sa.sin_family = AF_INET;
		sa.sin_port = htons(static_cast<std::uint16_t>(port));
		if (::bind(s.get(), reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0 && errno == EADDRINUSE)
			return static_cast<std::uint16_t>(port);
	}
	return std::nullopt;
}

} // namespace

int run_bench(const std::vector<std::string> &args)
{
	auto parsed = parse_bench(args);
	if (auto *e = std::get_if<options::UsageError>(&parsed))
		return fail(2, e->message);
	const auto &o = std::get<BenchOptions>(parsed);
	if (o.help) {
		std::fputs(kHelp, stdout);
		return 0;
	}

	struct sigaction sa{};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	::sigaction(SIGINT, &sa, nullptr);
	::sigaction(SIGTERM, &sa, nullptr);
	::signal(SIGPIPE, SIG_IGN);

	Report rep;
	rep.kernel = kernel_release();
	rep.variant_loaded = sysctl::knob_present();
	rep.ports = range_text(o.ports);
	rep.concurrency = o.concurrency;
	rep.rate = o.rate;
	rep.connect_timeout_s = o.connect_timeout_s;
	Progress progress;

	if (o.lab) {
		rep.mode = "lab";
		rep.plan = o.plan;
		rep.topology = o.topology;
		rep.persistent = o.persistent;
		if (::geteuid() != 0)
			return fail(1, "bench --lab creates network namespaces and IPVS services: run it as root.");
		if (!ip_binary())
			return fail(1, "bench --lab needs ip(8) to create namespaces and links: install iproute2.");
		if (!sysctl::ipvs_sysctls_present())
			return fail(1, "IPVS is not loaded in this kernel: load it with 'modprobe ip_vs' (bench never loads modules).");
		rep.kernel_has_upstream_fix = status::kernel_has_nodest_fix(rep.kernel);
		std::vector<std::string> configs = o.configs;
		if (configs.empty())
			configs.assign(std::begin(kConfigNames), std::end(kConfigNames));
		int index = 0;
		for (const auto &cfg : configs) {
			if (g_stop)
				break;
			if (cfg == "variant" && !rep.variant_loaded) {
				ConfigResult skipped;
				skipped.name = cfg;
				skipped.skipped = "the loaded ip_vs has no net.ipv4.vs.conn_reuse_quiescent (stock module; "
						  "install the ipvs-drain modules and reload ip_vs)";
				rep.configs.push_back(skipped);
				continue;
			}
			// Named explicitly, it runs anyway: a distribution may have backported the remedy.
			if (cfg == "upstream" && rep.kernel_has_upstream_fix != true && o.configs.empty()) {
				ConfigResult skipped;
				skipped.name = cfg;
				skipped.skipped = "kernel " + rep.kernel + " predates 5.16 (c95c07836fa4); the remedy exists only if backported";
				rep.configs.push_back(skipped);
				continue;
			}
			if (::isatty(1))
				std::printf("%s: building the lab...\n", cfg.c_str());
			rep.configs.push_back(run_config(cfg, index++, o, progress));
			const auto &c = rep.configs.back();
			if (c.failed && *c.failed != "interrupted")
				std::fprintf(stderr, "ipvs-drain: %s: %s\n", cfg.c_str(), c.failed->c_str());
		}
	} else {
		rep.mode = "target";
		char host[INET_ADDRSTRLEN] = {};
		in_addr a{o.target_addr};
		inet_ntop(AF_INET, &a, host, sizeof(host));
		rep.target = std::string(host) + ":" + std::to_string(o.target_port);
		if (auto p = busy_port(o.ports))
			return fail(1, "Source port " + std::to_string(*p) + " is in use on this host: pick a free --ports range "
					   "(see 'ss -tan') or use --ports ephemeral.");
		std::optional<std::regex> re;
		if (!o.id_regex.empty())
			re.emplace(o.id_regex);
		LoadSpec spec;
		spec.dst = sock_addr(AF_INET, host, o.target_port);
		for (unsigned port = o.ports.lo; !o.ports.ephemeral() && port <= o.ports.hi; port++)
			spec.ports.push_back(static_cast<std::uint16_t>(port));
		spec.once = false;
		spec.duration_s = o.duration_s;
		spec.concurrency = o.concurrency;
		spec.rate = o.rate;
		spec.connect_timeout_s = o.connect_timeout_s;
		spec.read_timeout_s = o.read_timeout_s;
		spec.request = o.send.empty() ? default_request(host) : o.send;
		spec.identify = [&re](std::string_view resp) -> std::string {
			if (!re)
				return "";
			std::match_results<std::string_view::const_iterator> m;
			if (!std::regex_search(resp.begin(), resp.end(), m, *re))
				return "";
			return m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
		};
		const std::int64_t t0 = now_us();
		spec.t0_us = t0;
		spec.stop = &g_stop;
		spec.tick = [&](const std::vector<ConnRecord> &recs) { progress.show(rep.target, recs); };
		std::string fatal;
		auto recs = run_load(spec, fatal);
		progress.clear();
		if (!fatal.empty())
			return fail(1, fatal);
		ConfigResult c;
		c.name = "target";
		PhaseResult p;
		p.start_us = 0;
		p.end_us = now_us() - t0;
		p.fig = summarize("target", recs, static_cast<double>(p.end_us) / 1e6);
		c.phases.push_back(p);
		c.records = std::move(recs);
		rep.configs.push_back(std::move(c));
	}

	std::fputs(render_table(rep).c_str(), stdout);
	std::fflush(stdout);
	std::string why;
	if (o.json_path && !write_file(*o.json_path, render_json(rep), why))
		return fail(1, why);
	if (o.svg_path && !write_file(*o.svg_path, render_svg(rep), why))
		return fail(1, why);
	if (g_stop)
		return fail(130, "interrupted; the lab was removed.");
	for (const auto &c : rep.configs)
		if (c.failed)
			return 1;
	return 0;
}

} // namespace ipvs::bench
