#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench`: counted work, never wall-clock time. Run in a guest booted with
# `tests/vm/run.sh --icount`, where, while the vCPU runs, one guest nanosecond is one executed instruction.
#
#   hooks  instructions per call of IPVS's in hook (ip_vs_in_hook; ip_vs_remote_request4 before
#          6.1) and out hook, for three traffic classes through a NAT VIP, with the stock
#          modules, the variant at knob 0 and the variant at knob 1, ROUNDS rounds in rotated
#          order. ftrace's function_graph tracer is restricted to the two hooks
#          (set_ftrace_filter and set_graph_function, max_graph_depth 1), so only they pay for
#          the tracer and each call's duration is its instructions, nested calls included.
#   tools  the process's own runtime (taskclock.py), user and kernel together: instructions per
#          completed connection of `ipvs-drain bench --target` and of `ab` at equal concurrency,
#          and per listing of `ipvs-drain list -n` / `ipvsadm -Ln` (2,000 services x 4) and
#          `list -c -n` / `ipvsadm -Lnc` (100,000 entries), by tests/vm-userspace/perf.sh.
#
# Run by: tests/vm/run.sh --icount --abi ABI --ko build/ABI --timeout 5400 --out DIR -- \
#             tests/vm-bench/count.sh [ROUNDS]
# Writes DIR/bench-count/count.json (raw per-round figures; tests/vm-bench/report.py turns it
# into the table) and prints "# ..." progress. Exits 1 when a figure could not be measured: a
# tool missing, traffic that did not take the path the class is about, a trace that overflowed.
set -euo pipefail

readonly B_HERE="$(cd "$(dirname "$0")" && pwd)"
# REPO and BIN, as every guest suite has them.
# shellcheck source=tests/lib/guest.sh
source "$B_HERE/../lib/guest.sh"
readonly B_OUT="${IPVS_VM_OUT:-/tmp}/bench-count"
readonly ROUNDS=${1:-5}
# COUNT_PARTS="hooks" runs only that part.
readonly PARTS=" ${COUNT_PARTS:-hooks tools} "
part() { [[ $PARTS == *" $1 "* ]]; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "count.sh: ROUNDS must be a positive number, not '$ROUNDS'" >&2; exit 2; }
mkdir -p "$B_OUT"
# The scenario library brings module-set swapping (ipvs_load/ipvs_unload), note and $PY; its
# own scratch output stays in the guest's tmpfs.
IPVS_VM_OUT=/tmp/bench-count-lib source "$REPO/tests/scenarios/lib.sh"

readonly B_VIP=198.19.0.10 B_CLI=198.18.0.2 B_DIRC=198.18.0.1 B_DIRP=198.18.1.1
readonly B_PODA=198.18.1.10 B_PODB=198.18.1.11
# Per class and round: HTTP requests (established) and SYNs (fresh, reused).
readonly AB_N=${COUNT_REQUESTS:-600} SYNS=${COUNT_SYNS:-2000} PPS=${COUNT_PPS:-2000}
# A connection table of 2^20 buckets (ip_vs conn_tab_bits, 12 by default): with 4,096
# buckets the few thousand entries of a round collide, by a hash seed drawn at every
# load, often enough to move a round's mean by 0.2%.
readonly TAB_BITS=${COUNT_TAB_BITS:-20}
readonly TR=/sys/kernel/tracing
RAW=$B_OUT/raw.tsv
: >"$RAW"
rm -rf "$B_OUT/calls"
mkdir -p "$B_OUT/calls"
CALLS=
SEQ=0
NS_CLI='' NS_DIR='' NS_POD='' HTTPD_PID=''

topo_down() {
	[[ -z $HTTPD_PID ]] || { kill "$HTTPD_PID" 2>/dev/null || true; wait "$HTTPD_PID" 2>/dev/null || true; }
	HTTPD_PID=
	local ns
	for ns in "$NS_CLI" "$NS_POD" "$NS_DIR"; do
		[[ -z $ns || ! -e /run/netns/$ns ]] || ip netns del "$ns"
	done
	NS_CLI='' NS_DIR='' NS_POD=''
	return 0
}
trap 'topo_down; [[ ! -e $TR/tracing_on ]] || echo 0 >"$TR/tracing_on"' EXIT

dir() { nsenter --net="/run/netns/$NS_DIR" "$@"; }

# topo_up KNOB: client, director (KNOB, or "-" for the stock modules), one pod with two
# addresses. VIP:80 is served by busybox httpd on pod A; nothing listens on 81 and 82, so
# the pod answers every SYN there with a RST, which closes the entry (state CLOSE, 10 s).
topo_up() {
	local knob=$1
	SEQ=$((SEQ + 1))
	NS_CLI=bc$$x$SEQ-cli NS_DIR=bc$$x$SEQ-dir NS_POD=bc$$x$SEQ-pod
	ip netns add "$NS_CLI"
	ip netns add "$NS_DIR"
	ip netns add "$NS_POD"
	client_veth "$NS_CLI" "$NS_DIR" d0 "$B_CLI" "default via $B_DIRC" >/dev/null
	ip -n "$NS_DIR" -batch - <<-EOF
		link set lo up
		addr add $B_DIRC/24 dev d0
		link set d0 up
		link add vip0 type dummy
		addr add $B_VIP/32 dev vip0
		link set vip0 up
		link add p0 type veth peer name eth0 netns $NS_POD
		addr add $B_DIRP/24 dev p0
		link set p0 up
	EOF
	ip -n "$NS_POD" -batch - <<-EOF
		link set lo up
		addr add $B_PODA/24 dev eth0
		addr add $B_PODB/24 dev eth0
		link set eth0 up
		route add default via $B_DIRP
	EOF
	dir sysctl -qw net.ipv4.ip_forward=1
	[[ $knob == - ]] || dir sysctl -qw "net.ipv4.vs.conn_reuse_quiescent=$knob"
	dir ipvsadm -R <<-EOF
		-A -t $B_VIP:80 -s rr
		-a -t $B_VIP:80 -r $B_PODA:80 -m -w 1
		-A -t $B_VIP:81 -s rr
		-a -t $B_VIP:81 -r $B_PODA:81 -m -w 1
		-A -t $B_VIP:82 -s rr
		-a -t $B_VIP:82 -r $B_PODA:82 -m -w 1
		-a -t $B_VIP:82 -r $B_PODB:82 -m -w 0
	EOF
	mkdir -p "$WORK/www"
	echo "pod-a" >"$WORK/www/index.html"
	nsenter --net="/run/netns/$NS_POD" busybox httpd -f -p "$B_PODA:80" -h "$WORK/www" &
	HTTPD_PID=$!
	local _
	for _ in $(seq 1 50); do
		nsenter --net="/run/netns/$NS_POD" ss -Hltn "sport = :80" | grep -q . && return 0
		sleep 0.1
	done
	note "busybox httpd did not start listening on $B_PODA:80"
	return 1
}

# syns PORT0 VPORT: one trafgen run of $SYNS SYNs from the client, source ports PORT0 upwards,
# one packet per port, at $PPS packets/s.
syns() {
	local port0=$1 vport=$2 dmac smac
	# nsenter --net keeps the guest's /sys, so the MACs come from ip.
	dmac=$(ip -n "$NS_DIR" -o link show d0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	smac=$(ip -n "$NS_CLI" -o link show c0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	cat >"$WORK/syn.cfg" <<-EOF
		{
		  eth(da=$dmac, sa=$smac),
		  ipv4(saddr=$B_CLI, daddr=$B_VIP, ttl=64),
		  tcp(sp=dinc($port0, $((port0 + SYNS - 1))), dp=$vport, seq=drnd(), syn, win=64240)
		}
	EOF
	# ip netns exec, not nsenter: trafgen reads the device from /sys, which must be this
	# netns's. It writes a temporary file into its working directory, and / is read-only.
	(cd "$WORK" && ip netns exec "$NS_CLI" trafgen -Q -C -P 1 --dev c0 --conf "$WORK/syn.cfg" \
		-b "${PPS}pps" -n "$SYNS" >"$WORK/trafgen.log" 2>&1) ||
		{ note "trafgen failed: $(grep -v 'system socket memory' "$WORK/trafgen.log" | tail -3)"; return 1; }
	# Let the pod's RSTs pass the director before anything looks at the table.
	sleep 0.5
}

# entries VPORT DEST: how many connection entries of VIP:VPORT point at DEST.
entries() {
	dir ipvsadm -Lnc | awk -v v="$B_VIP:$1" -v d="$2:$1" '$5 == v && $6 == d { n++ } END { print n + 0 }'
}

# rescheduled: the variant's own count of SYNs it sent to the scheduler, in the director.
rescheduled() {
	dir awk '$1 == "rescheduled" { print $2 }' /proc/net/ip_vs_reuse_stats
}

# ---- tracing -------------------------------------------------------------------------------------
HOOK_IN='' HOOK_OUT=''
trace_arm() {
	[[ -e $TR/trace ]] || mount -t tracefs nodev "$TR"
	if grep -q '^ip_vs_in_hook ' "$TR/available_filter_functions"; then
		HOOK_IN=ip_vs_in_hook HOOK_OUT=ip_vs_out_hook
	else
		HOOK_IN=ip_vs_remote_request4 HOOK_OUT=ip_vs_reply4
	fi
	echo 0 >"$TR/tracing_on"
	echo nop >"$TR/current_tracer"
	# Module functions leave the filter when their module unloads: set it after every load.
	echo "$HOOK_IN $HOOK_OUT" >"$TR/set_ftrace_filter"
	echo "$HOOK_IN $HOOK_OUT" >"$TR/set_graph_function"
	echo 1 >"$TR/max_graph_depth"
	echo 16384 >"$TR/buffer_size_kb"
	echo 1 >"$TR/options/funcgraph-tail"
	echo function_graph >"$TR/current_tracer"
	local f
	for f in $HOOK_IN $HOOK_OUT; do
		grep -qx "$f \[ip_vs\]" "$TR/set_ftrace_filter" || { note "ftrace cannot filter on $f"; return 1; }
	done
}

# traced CMD...: runs CMD with the tracer on; prints "IN_CALLS IN_SUM OUT_CALLS OUT_SUM" (sums in
# guest nanoseconds, that is instructions).
traced() {
	echo >"$TR/trace"
	echo 1 >"$TR/tracing_on"
	local rc=0
	"$@" >&2 || rc=$?
	echo 0 >"$TR/tracing_on"
	((rc == 0)) || return "$rc"
	local lost
	lost=$(awk '/^(overrun|dropped events):/ { n += $NF } END { print n + 0 }' "$TR"/per_cpu/cpu*/stats)
	((lost == 0)) || { note "the trace buffer lost $lost events"; return 1; }
	# A call is one line: "fn();" for a leaf, or "} /* fn */" closing one whose children
	# showed; its duration is the figure before "us". Each call's figure is kept in
	# $CALLS ("in N" or "out N") for the trimmed means.
	awk -v fi="$HOOK_IN" -v fo="$HOOK_OUT" -v calls="$CALLS" '
		!match($0, /[0-9]+\.[0-9]+ us/) { next }
		{ d = substr($0, RSTART, RLENGTH - 3) * 1000 }
		$0 ~ "[ |]" fi "( \\[ip_vs\\])?\\(\\);|/\\* " fi "( \\[ip_vs\\])? \\*/" { ni++; si += d; printf "in %.0f\n", d > calls; next }
		$0 ~ "[ |]" fo "( \\[ip_vs\\])?\\(\\);|/\\* " fo "( \\[ip_vs\\])? \\*/" { no++; so += d; printf "out %.0f\n", d > calls }
		END { printf "%d %.0f %d %.0f\n", ni, si, no, so }' "$TR/trace"
}

# record ROUND CLASS CONFIG "IN_CALLS IN_SUM OUT_CALLS OUT_SUM"
record() {
	local round=$1 class=$2 cfg=$3 ni si no so
	read -r ni si no so <<<"$4"
	printf 'hook\t%s\t%s\t%s\tin\t%s\t%s\t%s\n' "$round" "$class" "$cfg" "$HOOK_IN" "$ni" "$si" >>"$RAW"
	printf 'hook\t%s\t%s\t%s\tout\t%s\t%s\t%s\n' "$round" "$class" "$cfg" "$HOOK_OUT" "$no" "$so" >>"$RAW"
	note "round $round $class $cfg: $HOOK_IN $ni calls, $(awk -v s="$si" -v n="$ni" 'BEGIN { printf "%.1f", n ? s / n : 0 }') per call; $HOOK_OUT $no calls, $(awk -v s="$so" -v n="$no" 'BEGIN { printf "%.1f", n ? s / n : 0 }') per call"
}

# shellcheck disable=SC2317 # run through traced
ab_run() {
	local out
	out=$(ip netns exec "$NS_CLI" ab -q -n "$AB_N" -c 1 "http://$B_VIP/" 2>&1) || { note "ab: $out"; return 1; }
	if ! grep -q "^Complete requests: *$AB_N\$" <<<"$out" || ! grep -q '^Failed requests: *0$' <<<"$out"; then
		note "ab did not complete $AB_N requests: $out"
		return 1
	fi
}

# measure ROUND CONFIG: the three classes in one fresh topology.
measure() {
	local round=$1 cfg=$2 knob figures n
	case $cfg in
	stock) knob=- ;;
	knob0) knob=0 ;;
	knob1) knob=1 ;;
	esac
	topo_up "$knob"

	# established: short HTTP connections, conntrack on (as kube-proxy sets it), reuse mode 1.
	dir sysctl -qw net.ipv4.vs.conntrack=1 net.ipv4.vs.conn_reuse_mode=1
	CALLS=$B_OUT/calls/$round-established-$cfg
	figures=$(traced ab_run) || return 1
	record "$round" established "$cfg" "$figures"

	# fresh: SYNs on ports no entry has seen; each creates an entry.
	CALLS=$B_OUT/calls/$round-fresh-$cfg
	figures=$(traced syns 30000 81) || return 1
	n=$(entries 81 "$B_PODA")
	((n == SYNS)) || { note "fresh: $n entries on $B_PODA:81 after $SYNS SYNs"; return 1; }
	record "$round" fresh "$cfg" "$figures"

	# reused: entries of pod A closed by its RSTs, then A quiesced and B given weight; the
	# same ports again. Stock and knob 0 reschedule through conn_reuse_mode=1; knob 1 runs
	# with conn_reuse_mode=0, where only the variant's path reschedules. Conntrack is off,
	# so both paths reschedule at once instead of dropping the first SYN.
	local mode=1
	[[ $cfg != knob1 ]] || mode=0
	dir sysctl -qw net.ipv4.vs.conntrack=0 "net.ipv4.vs.conn_reuse_mode=$mode"
	syns 20000 82 || return 1
	n=$(entries 82 "$B_PODA")
	((n == SYNS)) || { note "reused: $n entries on $B_PODA:82 after the first $SYNS SYNs"; return 1; }
	dir ipvsadm -e -t "$B_VIP:82" -r "$B_PODA:82" -m -w 0
	dir ipvsadm -e -t "$B_VIP:82" -r "$B_PODB:82" -m -w 1
	# The entries must still be there (CLOSE lasts 10 s), or the SYNs would be new ones.
	n=$(entries 82 "$B_PODA")
	((n == SYNS)) || { note "reused: $n entries left on $B_PODA:82 before the reused-port SYNs"; return 1; }
	local before=0 after
	[[ $cfg != knob1 ]] || before=$(rescheduled)
	CALLS=$B_OUT/calls/$round-reused-$cfg
	figures=$(traced syns 20000 82) || return 1
	n=$(entries 82 "$B_PODB")
	((n == SYNS)) || { note "reused: only $n of $SYNS reused-port SYNs were rescheduled to $B_PODB:82"; return 1; }
	if [[ $cfg == knob1 ]]; then
		after=$(rescheduled)
		((after - before == SYNS)) ||
			{ note "reused: the variant rescheduled $((after - before)) of $SYNS SYNs"; return 1; }
	fi
	record "$round" reused "$cfg" "$figures"
	topo_down
}

# load_set SET: a fresh load of the stock or the variant set for every measurement. IPVS's
# connection table is one for all namespaces, and a deleted netns's entries leave it only
# when its cleanup has run, some time after `ip netns del` returned; until then they
# lengthen the hash chains the next measurement walks (seen as a round whose every
# configuration cost 1.2% more on established traffic). The set unloads only once every
# namespace that used it is gone, so each measurement starts from an empty table.
LOADED_SET=
load_set() {
	[[ -z $LOADED_SET ]] || ipvs_unload >/dev/null
	ipvs_load "$1" "conn_tab_bits=$TAB_BITS" >/dev/null
	LOADED_SET=$1
	trace_arm
}

for tool in ab trafgen busybox; do
	command -v "$tool" >/dev/null || { note "missing $tool (make bench installs apache2-utils and netsniff-ng)"; exit 1; }
done
ulimit -n 4096
STATUS=0

if part hooks; then
	orders=("stock knob0 knob1" "knob0 knob1 stock" "knob1 stock knob0")
	# Round 0 warms the guest up (slab caches, the first netns, the tools' pages): the
	# first measurement of a boot was seen 0.3% above the same configuration's later ones.
	# Its figures are logged but left out of count.json.
	load_set stock
	measure 0 stock || STATUS=1
	for round in $(seq 1 "$ROUNDS"); do
		((STATUS == 0)) || break
		order=${orders[$(((round - 1) % 3))]}
		for cfg in $order; do
			if [[ $cfg == stock ]]; then load_set stock; else load_set variant; fi
			measure "$round" "$cfg" || { STATUS=1; break 2; }
		done
	done
fi

# ---- the load generator against ab -----------------------------------------------------------------
# Instructions of the client process per completed connection, at concurrency 8 (busybox httpd
# listens with a backlog of 9), order alternated.
if part tools && ((STATUS == 0)); then
	readonly CONC=8 LG_N=${COUNT_CONNECTIONS:-1000} LG_S=${COUNT_SECONDS:-2}
	load_set variant
	topo_up 0
	dir sysctl -qw net.ipv4.vs.conntrack=1 net.ipv4.vs.conn_reuse_mode=1
	for round in $(seq 1 "$ROUNDS"); do
		for who in $( ((round % 2)) && echo "ours ab" || echo "ab ours"); do
			if [[ $who == ab ]]; then
				out=$(ip netns exec "$NS_CLI" "$PY" "$B_HERE/taskclock.py" "$WORK/tc" ab -q -n "$LG_N" -c "$CONC" "http://$B_VIP/" 2>&1) ||
					{ note "ab: $out"; STATUS=1; break 2; }
				done_n=$(awk '/^Complete requests:/ { print $3 }' <<<"$out")
				failed=$(awk '/^Failed requests:/ { print $3 }' <<<"$out")
				[[ $failed == 0 && $done_n == "$LG_N" ]] || { note "ab: $out"; STATUS=1; break 2; }
			else
				ip netns exec "$NS_CLI" "$PY" "$B_HERE/taskclock.py" "$WORK/tc" "$BIN" bench --target "$B_VIP:80" \
					--concurrency "$CONC" --duration "$LG_S" --json "$WORK/t.json" >/dev/null ||
					{ note "bench --target failed"; STATUS=1; break 2; }
				read -r done_n errs < <("$PY" -S -c 'import json,sys; p=json.load(open(sys.argv[1]))["configs"][0]["phases"][0]; print(p["ok"], sum(p["errors"].values()))' "$WORK/t.json")
				[[ $errs == 0 && $done_n -gt 0 ]] || { note "bench --target: $done_n ok, $errs errors"; STATUS=1; break 2; }
			fi
			printf 'tool\t%s\tloadgen\t%s\t%s\t%s\n' "$round" "$who" "$done_n" "$(<"$WORK/tc")" >>"$RAW"
			note "round $round loadgen $who: $done_n connections, $(awk -v s="$(<"$WORK/tc")" -v n="$done_n" 'BEGIN { printf "%.0f", s / n }') instructions each"
		done
	done
	topo_down
	# The listings against ipvsadm, on the same table and bytes (tests/vm-userspace/perf.sh).
	PERF_RAW=$RAW IPVS_DRAIN_BIN=$BIN "$REPO/tests/vm-userspace/perf.sh" "$ROUNDS" ||
		{ note "the listing comparison failed"; STATUS=1; }
fi

# raw.tsv to JSON; report.py computes medians, spreads and ratios on the host.
"$PY" - "$RAW" "$B_OUT/count.json" "$ROUNDS" "$AB_N" "$SYNS" <<'EOF'
import json, os, sys
raw, out, rounds, ab_n, syns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
calls_dir = os.path.join(os.path.dirname(out), "calls")
TRIM = 0.005


def trimmed(path, hook):
    """Calls and instructions without the costliest 0.5% of the calls."""
    d = sorted(int(l.split()[1]) for l in open(path) if l.startswith(hook + " "))
    keep = d[:len(d) - int(len(d) * TRIM)]
    return len(keep), sum(keep)
import time
doc = {"schema": 1, "kernel": os.uname().release, "rounds": rounds, "date": time.strftime("%Y-%m-%d", time.gmtime()),
       "instrument": "QEMU -icount shift=0,sleep=on, one vCPU: while it runs, one guest ns is one instruction",
       "requests_per_round": ab_n, "syns_per_round": syns, "trim": TRIM, "hooks": [], "tools": []}
for line in open(raw):
    f = line.rstrip("\n").split("\t")
    if f[1] == "0":
        continue  # the warm-up round
    if f[0] == "hook":
        tc, ti = trimmed(os.path.join(calls_dir, f"{f[1]}-{f[2]}-{f[3]}"), f[4])
        doc["hooks"].append({"round": int(f[1]), "class": f[2], "config": f[3], "hook": f[4],
                             "function": f[5], "calls": int(f[6]), "instructions": int(f[7]),
                             "trimmed_calls": tc, "trimmed_instructions": ti})
    else:
        doc["tools"].append({"round": int(f[1]), "figure": f[2], "tool": f[3],
                             "units": int(f[4]), "instructions": int(f[5])})
json.dump(doc, open(out, "w"), indent=1)
EOF
note "wrote $B_OUT/count.json"
exit "$STATUS"
