# SPDX-License-Identifier: GPL-2.0
# Guest-side helpers: IPVS module sets, TAP and dmesg for the scenario suite, whose runs are
# made by `ipvs-drain bench --lab` (scenario, at the end), and a shell lab for the suites
# whose director is not bench's: keepalived's (tests/keepalived), the counted benchmark's
# (tests/vm-bench/count.sh) and the stress test's (tests/stress):
#
#   netns cli                    netns dir (director)                      netns pa / pb
#  +-------------+   veth   +-------------------------------+   veth   +----------------+
#  | c0 10.0.0.2 |----------| d0 10.0.0.1                   |          | eth0           |
#  +-------------+          | vip0 (dummy) 10.96.0.10/32    |          | 10.244.1.10 (A)|
#                           | IPVS TCP VIP:80 rr masq       |--br0-----| 10.244.1.11 (B)|
#                           | br0 10.244.1.1/24             |  va, vb  +----------------+
#                           +-------------------------------+
#
# Every lab gets namespaces of its own with a unique prefix, so it never sees the state
# another one left, and the guest's init netns keeps its default sysctls.
# Sourced; expects `set -euo pipefail`.

readonly SCN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SCN_DIR/../.." && pwd)"
# The distribution's python, not a per-user shim: the guest runs with an empty env.
readonly PY=${SCN_PYTHON:-/usr/bin/python3}
# The tool whose `bench --lab` makes every scenario run (scenario, at the end).
readonly BENCH_BIN=${IPVS_DRAIN_BIN:-$REPO_ROOT/build/userspace/ipvs-drain}

readonly VPORT=80

# topo_select nat|dr: the addresses and forwarding of the topology.
#   nat   the picture above (kube-proxy's masquerading director);
#   dr    direct routing: the client sits on the pods' bridge (10.244.1.2) and reaches
#         the VIP through the director, the pods hold the VIP on lo (arp_ignore=1,
#         arp_announce=2) and answer the client directly, so the director sees only
#         the client's half of each connection.
# FWD is the ipvsadm forwarding flag, VIP_SVC/POD_*_SVC the ipvsadm addresses.
topo_select() {
	TOPO=$1 FWD=-m
	VIP=10.96.0.10 CLIENT_IP=10.0.0.2 DIR_CLIENT_IP=10.0.0.1
	DIR_POD_IP=10.244.1.1 POD_A_IP=10.244.1.10 POD_B_IP=10.244.1.11
	case $TOPO in
	nat) ;;
	dr) FWD=-g CLIENT_IP=10.244.1.2 DIR_CLIENT_IP=$DIR_POD_IP ;;
	*) return 1 ;;
	esac
	VIP_SVC=$VIP:$VPORT POD_A_SVC=$POD_A_IP:$VPORT POD_B_SVC=$POD_B_IP:$VPORT
	FTP_SVC=$VIP:21 POD_A_FTP=$POD_A_IP:21
}

topo_select nat

# Port sets: counts, not volume, decide the outcome; 50 per set keeps one scenario run
# well inside IPVS's 120 s TIME_WAIT, which every later phase depends on.
readonly PORTS_PER_SET=${SCN_PORTS:-50}
readonly CLIENT_THREADS=${SCN_THREADS:-25}
readonly CONNECT_TIMEOUT=${SCN_CONNECT_TIMEOUT:-3}

readonly OUT_DIR=${IPVS_VM_OUT:-/tmp/scenarios-out}
readonly FIG_DIR=$OUT_DIR/figures
readonly WORK=$(mktemp -d /tmp/scn.XXXXXX)
mkdir -p "$FIG_DIR"

# ---------------------------------------------------------------------------------------
# Printing and running

# With SCN_TIMESTAMPS=1 every line carries the seconds since start, to find slow steps.
readonly SCN_T0=$EPOCHREALTIME
stamp() {
	[[ ${SCN_TIMESTAMPS:-0} == 1 ]] || return 0
	local us=$((${EPOCHREALTIME/./} - ${SCN_T0/./}))
	printf '[%4d.%02d] ' $((us / 1000000)) $((us % 1000000 / 10000))
}
say() { printf '%s%s\n' "$(stamp)" "$*"; }
# Diagnostics that TAP consumers must not take for results.
note() { printf '# %s%s\n' "$(stamp)" "$*"; }

# ns_exec NS CMD...: run CMD in NS ("guest" is the guest's init namespace). nsenter only
# switches the network namespace; `ip netns exec` also remounts /sys, which costs half a
# second per command under TCG and is not needed by anything here.
ns_exec() {
	local ns=$1
	shift
	if [[ $ns == guest ]]; then
		"$@"
	elif [[ $1 == ip ]]; then
		shift
		ip -n "$ns" "$@"
	else
		nsenter --net="/run/netns/$ns" -- "$@"
	fi
}

# ns_spawn NS CMD...: start CMD in NS in the background, with $! set to CMD itself
# (nsenter execs it), so that killing $! kills CMD. `ns_exec ... &` would leave a
# subshell in $!, and killing that subshell leaves CMD running.
ns_spawn() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@" &
}

# run NS CMD...: print the command with the namespace it runs in, then run it there.
run() {
	say "[+] $1: ${*:2}"
	ns_exec "$@"
}

# ns_ip NS <<<LINES: several ip commands in one process (ip -batch), each printed.
ns_ip() {
	local ns=$1 line cmds
	cmds=$(cat)
	while IFS= read -r line; do
		[[ -n $line ]] && say "[+] $ns: ip $line"
	done <<<"$cmds"
	if [[ $ns == guest ]]; then
		ip -batch - <<<"$cmds"
	else
		ip -n "$ns" -batch - <<<"$cmds"
	fi
}

# ns_ipvsadm NS <<<RULES: several ipvsadm rules in one process (ipvsadm -R), each printed.
ns_ipvsadm() {
	local ns=$1 line rules
	rules=$(cat)
	while IFS= read -r line; do
		[[ -n $line ]] && say "[+] $ns: ipvsadm $line"
	done <<<"$rules"
	ns_exec "$ns" ipvsadm -R <<<"$rules"
}

# ns_sysctl NS KEY=VALUE...: print each setting, then apply them in one process.
ns_sysctl() {
	local ns=$1 kv
	shift
	for kv in "$@"; do say "[+] $ns: sysctl -w $kv"; done
	ns_exec "$ns" sysctl -qw "$@" >/dev/null
}

# ---------------------------------------------------------------------------------------
# TAP

# shellcheck source=tests/lib/tap.sh
source "$REPO_ROOT/tests/lib/tap.sh"
tap_emit() { say "$*"; }

# ---------------------------------------------------------------------------------------
# Module sets
#
# stock:   the image's own modules under kernel/net/netfilter/ipvs
# plain:   our out-of-tree build without the patch, build/<abi>-stock
# variant: our patched build, build/<abi>
# Sets are loaded by explicit path, never by `modprobe ip_vs`: with the harness' --ko the
# patched build sits in updates/ and would win over the image's own modules.

readonly ABI=$(uname -r)

ipvs_set_dir() {
	case $1 in
	stock) echo "/lib/modules/$ABI/kernel/net/netfilter/ipvs" ;;
	plain) echo "$REPO_ROOT/build/$ABI-stock" ;;
	variant) echo "$REPO_ROOT/build/$ABI" ;;
	*) return 1 ;;
	esac
}

# The module file of NAME in SET's directory (.ko or compressed), empty when absent.
ipvs_set_file() {
	local dir f
	dir=$(ipvs_set_dir "$1")
	for f in "$dir/$2.ko" "$dir/$2.ko.xz" "$dir/$2.ko.zst" "$dir/$2.ko.gz"; do
		[[ -f $f ]] && { echo "$f"; return 0; }
	done
	return 0
}

# Why SET cannot be loaded, or nothing when it can.
ipvs_set_missing() {
	local dir
	dir=$(ipvs_set_dir "$1")
	[[ -n $(ipvs_set_file "$1" ip_vs) ]] && return 0
	echo "$1 set not built: no ip_vs.ko in $dir"
}

# insmod cannot read every compression the image may use, so compressed files are
# unpacked to /tmp first; the module is the same bytes either way.
insmod_file() {
	local file=$1
	shift
	local plain=$file
	case $file in
	*.xz) plain=$WORK/$(basename "${file%.xz}") && xz -dc "$file" >"$plain" ;;
	*.zst) plain=$WORK/$(basename "${file%.zst}") && zstd -qdc "$file" >"$plain" ;;
	*.gz) plain=$WORK/$(basename "${file%.gz}") && gzip -dc "$file" >"$plain" ;;
	esac
	run guest insmod "$plain" "$@"
}

# Modules of SET, ip_vs first, then every scheduler and helper, so that no scheduler is
# ever autoloaded from another set behind the test's back.
ipvs_set_modules() {
	local dir f name
	dir=$(ipvs_set_dir "$1")
	echo ip_vs
	for f in "$dir"/ip_vs_*.ko*; do
		[[ -e $f ]] || continue
		name=$(basename "$f")
		echo "${name%%.ko*}"
	done | sort -u
}

# ipvs_load SET [PARAM=VALUE...]: load the whole set; parameters go to ip_vs.
ipvs_load() {
	local set=$1
	shift
	local why mod files=() deps=()
	why=$(ipvs_set_missing "$set")
	[[ -z $why ]] || { note "$why"; return 1; }
	[[ ! -d /sys/module/ip_vs ]] || ipvs_unload
	for mod in $(ipvs_set_modules "$set"); do
		files+=("$(ipvs_set_file "$set" "$mod")")
	done
	# Dependencies outside IPVS are the kernel's own and come through modprobe: ip_vs's
	# (what `modprobe --show-depends ip_vs` lists besides ip_vs: nf_conntrack,
	# nf_defrag_ipv6, libcrc32c) and the helpers' (nf_nat for ftp, nf_conntrack_sip for
	# pe_sip), read from the set's own files in one modinfo call.
	read -r -a deps <<<"$(modinfo -F depends "${files[@]}" | tr ',' '\n' | grep -v '^ip_vs' |
		sort -u | tr '\n' ' ')"
	[[ ${#deps[@]} -eq 0 ]] || run guest modprobe -a "${deps[@]}"
	insmod_file "${files[0]}" "$@"
	for mod in "${files[@]:1}"; do
		insmod_file "$mod"
	done
	note "loaded the $set set from $(dirname "${files[0]}")${*:+ with $*}"
	return 0
}

# Remove every ip_vs* module. Namespaces die asynchronously (cleanup_net runs from a
# workqueue), and until they are gone their services hold scheduler references, so a
# busy module is retried for a while before it counts as a failure. An rmmod that blocks
# (a leaked reference can leave cleanup_net, and with it every pernet unregister, stuck
# for good) is abandoned after a deadline, so the run still reports instead of hanging.
ipvs_unload() {
	local tries mods m pid waited
	for tries in $(seq 1 100); do
		mods=$(awk '$1 ~ /^ip_vs/ { print $1 }' /proc/modules | grep -vx ip_vs || true)
		[[ -d /sys/module/ip_vs ]] && mods="$mods ip_vs"
		[[ -n ${mods// /} ]] || return 0
		for m in $mods; do
			rmmod "$m" 2>/dev/null &
			pid=$!
			for waited in $(seq 1 300); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				note "rmmod $m is blocked in the kernel (see the hung-task report in dmesg)"
				return 1
			fi
			if wait "$pid"; then say "[+] guest: rmmod $m"; fi
		done
		sleep 0.1
	done
	note "rmmod failed; still loaded: $(awk '$1 ~ /^ip_vs/ { print $1 "(" $3 ")" }' /proc/modules | tr '\n' ' ')"
	return 1
}

# ---------------------------------------------------------------------------------------
# dmesg

DMESG_SEEN=0
# Lines that mean the kernel is unhappy: a splat, a lockdep report, a refcount warning,
# a netns teardown stuck on a leaked device reference, or a task hung in the kernel.
readonly SPLAT_RE='BUG:|WARNING:|Oops|lockdep|possible circular locking|possible recursive locking|refcount_t|refcount:|unregister_netdevice: waiting|general protection fault|blocked for more than|Call Trace:'

dmesg_mark() { DMESG_SEEN=$(dmesg | wc -l); }

# Prints the new splat lines since the last mark and returns 1 if there are any.
dmesg_splats() {
	local total new
	total=$(dmesg | wc -l)
	new=$(dmesg | tail -n "+$((DMESG_SEEN + 1))" | grep -E "$SPLAT_RE" || true)
	DMESG_SEEN=$total
	[[ -z $new ]] && return 0
	printf '%s\n' "$new" | sed 's/^/# dmesg: /'
	return 1
}

# ---------------------------------------------------------------------------------------
# Topology

NS_SEQ=0
# Names of the current case's namespaces; set by topo_up.
NS_DIR= NS_CLI= NS_A= NS_B=
declare -A POD_PID=()

# The caller bumps NS_SEQ before each case, outside any subshell, so names never repeat.
new_ns_prefix() {
	echo "scn$$x$NS_SEQ"
}

# Director sysctls for a named configuration (README.md, "Named sysctl configurations").
config_sysctls() {
	case $1 in
	legacy) echo "conntrack=1 conn_reuse_mode=0 expire_nodest_conn=0" ;;
	legacy-ct0) echo "conntrack=0 conn_reuse_mode=0 expire_nodest_conn=0" ;;
	upstream) echo "conntrack=1 conn_reuse_mode=0 expire_nodest_conn=1" ;;
	modern) echo "conntrack=1 conn_reuse_mode=1 expire_nodest_conn=1 expire_quiescent_template=1" ;;
	# The kernel's defaults but conn_reuse_mode: a plain director's (keepalived, ldirectord).
	defaults-mode[0-3]) echo "conntrack=0 conn_reuse_mode=${1#defaults-mode} expire_nodest_conn=0" ;;
	*) return 1 ;;
	esac
}

# pod_net NAME IP NS BRPORT: the pod's netns and veth on the director's bridge.
pod_net() {
	local name=$1 ip=$2 ns=$3 brport=$4
	run guest ip netns add "$ns"
	ns_ip "$ns" <<-EOF
		link set lo up
		link add eth0 type veth peer name $brport netns $NS_DIR
		addr add $ip/24 dev eth0
		link set eth0 up
		route add default via $DIR_POD_IP
	EOF
	if [[ $TOPO == dr ]]; then
		# A direct-routing real server: the VIP is local, but never announced.
		ns_ip "$ns" <<<"addr add $VIP/32 dev lo"
		ns_sysctl "$ns" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
	fi
	run "$NS_DIR" ip link set "$brport" master br0 up
}

# pod_start NAME IP NS: the pod's server, in the background; pod_wait waits for it.
pod_start() {
	local name=$1 ip=$2 ns=$3
	# With direct routing the packets still carry the VIP.
	[[ $TOPO == dr ]] && ip=$VIP
	say "[+] $ns: podserver.py --name $name --addr $ip &"
	ns_spawn "$ns" "$PY" -S "$SCN_DIR/podserver.py" --name "$name" --addr "$ip" \
		--ready "$WORK/$ns.ready"
	POD_PID[$name]=$!
}

pod_wait() {
	local name=$1 ns=$2 tries
	for tries in $(seq 1 600); do
		[[ -f $WORK/$ns.ready ]] && return 0
		kill -0 "${POD_PID[$name]}" 2>/dev/null || break
		sleep 0.05
	done
	note "pod $name did not start"
	return 1
}

# Destroy a pod the way a node does: the process dies, the CNI deletes the veth (at once,
# from the director's side), then the netns goes (asynchronously, which no longer matters).
pod_destroy() {
	local name=$1 ns=$2 brport=$3
	if [[ -n ${POD_PID[$name]:-} ]]; then
		say "[+] guest: kill pod $name server (pid ${POD_PID[$name]})"
		kill "${POD_PID[$name]}" 2>/dev/null || true
		wait "${POD_PID[$name]}" 2>/dev/null || true
		unset "POD_PID[$name]"
	fi
	run "$NS_DIR" ip link del "$brport"
	run guest ip netns del "$ns"
}

# persist_split PERSIST: a run's PERSIST field, "TIMEOUT" or "TIMEOUT/EQT", into
# PERSIST_TIMEOUT (the service's -p, empty without persistence) and PERSIST_EQT
# (expire_quiescent_template: 0 unless given, empty without persistence).
persist_split() {
	PERSIST_TIMEOUT=${1%%/*} PERSIST_EQT=
	[[ -z $1 ]] && return 0
	PERSIST_EQT=0
	[[ $1 == */* ]] && PERSIST_EQT=${1#*/}
	return 0
}

# topo_up CONFIG KNOB: namespaces, addresses, both pods (B is not in the service yet), the
# IPVS service with A alone at weight 1, and the director's sysctls. KNOB is "-" to leave
# conn_reuse_quiescent alone (stock has none), else its value.
# B's pod exists from the start, as a replacement pod does before kube-proxy drains the old
# one. The stress test's lab.
topo_up() {
	local config=$1 knob=$2
	topo_net "$config" "$knob"
	pod_start A "$POD_A_IP" "$NS_A"
	pod_start B "$POD_B_IP" "$NS_B"
	# Conntrack hooks only run in a netns that asked for them; on a node kube-proxy's
	# iptables rules do. A masquerading service on the FTP port is IPVS's own way of
	# asking (ip_vs_register_conntrack), with no iptables/nft binary needed in the guest.
	# No traffic ever goes to it.
	ns_ipvsadm "$NS_DIR" <<-EOF
		-A -t $VIP_SVC -s rr
		-a -t $VIP_SVC -r $POD_A_SVC $FWD -w 1
		-A -t $FTP_SVC -s rr
		-a -t $FTP_SVC -r $POD_A_FTP -m -w 1
	EOF
	pod_wait A "$NS_A"
	pod_wait B "$NS_B"
}

# client_veth NS PEER_NS PEER ADDR ROUTE: a lab's client end in NS: lo up, a veth c0 whose
# peer PEER goes to PEER_NS, ADDR/24 on c0 and the route ROUTE ("default via GW").
client_veth() {
	ns_ip "$1" <<-EOF
		link set lo up
		link add c0 type veth peer name $3 netns $2
		addr add $4/24 dev c0
		link set c0 up
		route add $5
	EOF
}

# topo_net CONFIG KNOB: topo_up's network without its processes and IPVS service: the
# namespaces, links and addresses of TOPO, the director's sysctls (CONFIG and KNOB) and
# both pods' netns on br0.
topo_net() {
	local config=$1 knob=$2
	local prefix kv ns
	prefix=$(new_ns_prefix)
	NS_DIR=$prefix-dir NS_CLI=$prefix-cli NS_A=$prefix-pa NS_B=$prefix-pb
	for ns in "$NS_DIR" "$NS_CLI"; do
		run guest ip netns add "$ns"
	done
	if [[ $TOPO == dr ]]; then
		# The client hangs off the pods' bridge; only its way to the VIP goes through
		# the director, and the pods' answers come straight back over the bridge.
		client_veth "$NS_CLI" "$NS_DIR" vc "$CLIENT_IP" "$VIP/32 via $DIR_POD_IP"
	else
		client_veth "$NS_CLI" "$NS_DIR" d0 "$CLIENT_IP" "default via $DIR_CLIENT_IP"
	fi
	# br0 gets a MAC of its own: a bridge otherwise takes its lowest port's, so deleting
	# pod A's port can change it.
	ns_ip "$NS_DIR" <<-EOF
		link set lo up
		link add vip0 type dummy
		addr add $VIP/32 dev vip0
		link set vip0 up
		link add br0 address 02:00:0a:f4:01:01 type bridge
		addr add $DIR_POD_IP/24 dev br0
		link set br0 up
	EOF
	if [[ $TOPO == dr ]]; then
		run "$NS_DIR" ip link set vc master br0 up
	else
		ns_ip "$NS_DIR" <<-EOF
			addr add $DIR_CLIENT_IP/24 dev d0
			link set d0 up
		EOF
	fi
	# Fast, unthrottled failure once a pod is gone: otherwise each "No route to host"
	# waits ~1 s for ARP and ICMP errors are rate-limited, and the figures would show
	# the defaults of the neighbour code rather than what IPVS decided.
	local settings=(net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0)
	for kv in mcast_solicit=1 ucast_solicit=1 app_solicit=0 retrans_time_ms=100 \
		delay_first_probe_time=1 base_reachable_time_ms=1000; do
		settings+=("net.ipv4.neigh.br0.$kv")
	done
	# The director's IPVS sysctls exist once ip_vs is loaded, which happened before this
	# netns was created, so the knob starts at the module parameter's value.
	if [[ $knob != - ]]; then
		note "conn_reuse_quiescent in the new director netns: $(ns_exec "$NS_DIR" cat /proc/sys/net/ipv4/vs/conn_reuse_quiescent 2>&1)"
	fi
	for kv in $(config_sysctls "$config"); do
		settings+=("net.ipv4.vs.$kv")
	done
	[[ $knob == - ]] || settings+=("net.ipv4.vs.conn_reuse_quiescent=$knob")
	ns_sysctl "$NS_DIR" "${settings[@]}"

	pod_net A "$POD_A_IP" "$NS_A" va
	pod_net B "$POD_B_IP" "$NS_B" vb
}

topo_down() {
	local name ns
	for name in "${!POD_PID[@]}"; do
		kill "${POD_PID[$name]}" 2>/dev/null || true
		wait "${POD_PID[$name]}" 2>/dev/null || true
	done
	POD_PID=()
	agent_stop
	for ns in "$NS_CLI" "$NS_A" "$NS_B" "$NS_DIR"; do
		[[ -n $ns ]] && [[ -e /run/netns/$ns ]] && run guest ip netns del "$ns"
	done
	NS_DIR= NS_CLI= NS_A= NS_B=
	return 0
}

cleanup() {
	local status=$?
	topo_down >/dev/null 2>&1 || true
	rm -rf "$WORK"
	return "$status"
}

# ---------------------------------------------------------------------------------------
# Snapshots and the client agent

# snapshot NAME: the director's connection table, our counters (when the module has
# them) and the conntrack count, copied by one process.
snapshot() {
	ns_exec "$NS_DIR" sh -c '
		cat /proc/net/ip_vs_conn >"$1.conn"
		cat /proc/net/ip_vs_reuse_stats >"$1.stats" 2>/dev/null || rm -f "$1.stats"
		cat /proc/sys/net/netfilter/nf_conntrack_count >"$1.ct" 2>/dev/null || true
	' _ "$RUN_DIR/$1"
}

# The client agent: one python process per lab serves every burst (client.py agent),
# because under TCG each python start takes seconds and every second between filling the
# table and the last reuse eats into IPVS's 120 s TIME_WAIT.
AGENT_PID= AGENT_CTL= AGENT_REPLY=
agent_start() {
	mkfifo "$RUN_DIR/agent.ctl" "$RUN_DIR/agent.reply"
	say "[+] $NS_CLI: client.py agent &"
	ns_spawn "$NS_CLI" "$PY" -S "$SCN_DIR/client.py" --src "$CLIENT_IP" --dst "$VIP" \
		--timeout "$CONNECT_TIMEOUT" \
		--threads "$CLIENT_THREADS" agent --ctl "$RUN_DIR/agent.ctl" \
		--reply "$RUN_DIR/agent.reply"
	AGENT_PID=$!
}

# Opening the FIFOs in the agent's order (ctl, then reply) blocks until it is up.
agent_wait() {
	exec {AGENT_CTL}>"$RUN_DIR/agent.ctl"
	exec {AGENT_REPLY}<"$RUN_DIR/agent.reply"
}

# agent COMMAND...: send one command, print its one-line JSON answer.
agent() {
	local answer
	printf '%s\n' "$*" >&"$AGENT_CTL"
	if ! IFS= read -r -t 600 answer <&"$AGENT_REPLY"; then
		note "the client agent did not answer '$*'"
		return 1
	fi
	printf '%s\n' "$answer"
}

agent_stop() {
	[[ -n $AGENT_PID ]] || return 0
	if [[ -n $AGENT_CTL ]]; then
		{ printf 'quit\n' >&"$AGENT_CTL"; } 2>/dev/null || true
		exec {AGENT_CTL}>&- {AGENT_REPLY}<&-
	fi
	kill "$AGENT_PID" 2>/dev/null || true
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID= AGENT_CTL= AGENT_REPLY=
}

# What is loaded, not what modprobe would pick: the variant has a version.
loaded_ip_vs() {
	local v
	v=$(cat /sys/module/ip_vs/version 2>/dev/null) || v=
	echo "ip_vs ${v:+variant $v }srcversion $(cat /sys/module/ip_vs/srcversion 2>/dev/null)"
}

# scenario LABEL SET CONFIG KNOB [PERSIST] [TOPO] [PLAN]: one run, made by the tool's own lab,
# `ipvs-drain bench --lab`, in namespaces of its own with the set already loaded; its JSON
# becomes the run's figures ($FIG_DIR/LABEL.json). CONFIG is a bench configuration, or
# legacy-ct0 (legacy with --set conntrack=0); KNOB is "-" to leave conn_reuse_quiescent at
# bench's choice (stock has none), else its value; PERSIST is "TIMEOUT[/EQT]"
# (persist_split); TOPO is bench's --topology (default nat); PLAN is bench's --plan, by
# default full, or short with persistence or direct routing, where the question is only
# where a reused port goes. Returns 3 when bench skipped the configuration (BENCH_WHY says
# why), 1 when it failed.
BENCH_WHY=
scenario() {
	local label=$1 set=$2 config=$3 knob=$4 topo=${6:-nat} plan=${7:-} dir=$WORK/$1 rc=0 meta
	BENCH_WHY=
	persist_split "${5:-}"
	if [[ -z $plan ]]; then
		plan=full
		[[ -z $PERSIST_TIMEOUT && $topo != dr ]] || plan=short
	fi
	local args=(--configs "${config%-ct0}" --topology "$topo" --plan "$plan"
		--ports "20000-$((20000 + 3 * PORTS_PER_SET - 1))" --concurrency "$CLIENT_THREADS"
		--connect-timeout "$CONNECT_TIMEOUT" --json "$dir/bench.json")
	[[ $config == *-ct0 ]] && args+=(--set conntrack=0)
	[[ $knob == - ]] || args+=(--set "conn_reuse_quiescent=$knob")
	[[ -z $PERSIST_TIMEOUT ]] ||
		args+=(--persistent "$PERSIST_TIMEOUT" --set "expire_quiescent_template=$PERSIST_EQT")
	mkdir -p "$dir"
	note "scenario $label: $set set, $topo topology, $plan plan${PERSIST_TIMEOUT:+, persistent service -p $PERSIST_TIMEOUT}"
	say "[+] guest: ipvs-drain bench --lab ${args[*]}"
	"$BENCH_BIN" bench --lab "${args[@]}" 2>&1 | sed 's/^/# bench: /'
	rc=${PIPESTATUS[0]}
	[[ -s $dir/bench.json ]] || { BENCH_WHY="bench --lab exited $rc without its JSON"; return 1; }
	meta=$(printf '{"label": "%s", "set": "%s", "module": "%s", "config": "%s", "ports_per_set": %s}' \
		"$label" "$set" "$(loaded_ip_vs)" "$config" "$PORTS_PER_SET")
	BENCH_WHY=$("$PY" -S "$SCN_DIR/figures.py" from-bench --json "$dir/bench.json" --meta "$meta" \
		--out "$FIG_DIR/$label.json") || rc=$?
	grep '^#' <<<"$BENCH_WHY" || true
	BENCH_WHY=$(grep -v '^#' <<<"$BENCH_WHY" || true)
	return "$rc"
}
