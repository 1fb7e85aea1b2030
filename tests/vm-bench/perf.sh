#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest benchmark for bench (make bench; not in CI). Three figures, each a ratio of runs made side by
# side in one boot, never an absolute time:
#   1. load generator: conn/s of `ipvs-drain bench --target` against `ab` at equal concurrency, one
#      VIP, one forking HTTP server (busybox httpd), order alternated each round;
#   2. fast-path cost: TCP SYNs from 200 reused source ports, crafted by trafgen at a fixed rate,
#      through a legacy director (pod at weight 1, so the knob only adds its check); what IPVS
#      forwarded per second (its InPkts counter) with the variant at knob 1, at knob 0 and with the
#      stock modules, order rotated each round;
#   3. no stall: `bench --lab --configs variant`: connect p99 of destroyed over warm, and connects
#      slower than 900 ms.
#
# Run by: tests/vm/run.sh --abi ABI --ko build/ABI --timeout 1500 --out DIR -- tests/vm-bench/perf.sh [ROUNDS]
# Prints "# ..." progress and a final block of "figure: ..." lines; exits 1 when a figure could not
# be measured (a tool missing, no traffic forwarded).
set -euo pipefail

readonly B_HERE="$(cd "$(dirname "$0")" && pwd)"
readonly B_REPO="$(cd "$B_HERE/../.." && pwd)"
readonly B_BIN="${IPVS_DRAIN_BIN:-$B_REPO/build/userspace/ipvs-drain}"
readonly B_OUT="${IPVS_VM_OUT:-/tmp}/bench-perf"
readonly ROUNDS=${1:-5}
# PERF_PARTS="2 3" runs only those figures.
readonly PARTS=" ${PERF_PARTS:-1 2 3} "
part() { [[ $PARTS == *" $1 "* ]]; }
mkdir -p "$B_OUT"
# The scenario library brings module-set swapping (ipvs_load/ipvs_unload) and the printers; its
# own scratch output stays in the guest's tmpfs.
IPVS_VM_OUT=/tmp/bench-perf-lib source "$B_REPO/tests/scenarios/lib.sh"

readonly B_VIP=198.19.0.10 B_CLI=198.18.0.2 B_DIRC=198.18.0.1 B_DIRP=198.18.1.1 B_POD=198.18.1.10
SEQ=0
PNS_CLI= PNS_DIR= PNS_POD= HTTPD_PID=

perf_down() {
	[[ -n $HTTPD_PID ]] && { kill "$HTTPD_PID" 2>/dev/null || true; wait "$HTTPD_PID" 2>/dev/null || true; }
	HTTPD_PID=
	local ns
	for ns in "$PNS_CLI" "$PNS_POD" "$PNS_DIR"; do
		[[ -n $ns && -e /run/netns/$ns ]] && ip netns del "$ns"
	done
	PNS_CLI= PNS_DIR= PNS_POD=
	return 0
}
trap 'perf_down; rm -rf "$WORK"' EXIT

# perf_up KNOB: client, director (legacy sysctls, KNOB or "-" for stock), one pod at weight 1.
perf_up() {
	local knob=$1
	SEQ=$((SEQ + 1))
	PNS_CLI=bp$$x$SEQ-cli PNS_DIR=bp$$x$SEQ-dir PNS_POD=bp$$x$SEQ-pod
	ip netns add "$PNS_CLI"
	ip netns add "$PNS_DIR"
	ip netns add "$PNS_POD"
	ip -n "$PNS_CLI" -batch - <<-EOF
		link set lo up
		link add c0 type veth peer name d0 netns $PNS_DIR
		addr add $B_CLI/24 dev c0
		link set c0 up
		route add default via $B_DIRC
	EOF
	ip -n "$PNS_DIR" -batch - <<-EOF
		link set lo up
		addr add $B_DIRC/24 dev d0
		link set d0 up
		link add vip0 type dummy
		addr add $B_VIP/32 dev vip0
		link set vip0 up
		link add p0 type veth peer name eth0 netns $PNS_POD
		addr add $B_DIRP/24 dev p0
		link set p0 up
	EOF
	ip -n "$PNS_POD" -batch - <<-EOF
		link set lo up
		addr add $B_POD/24 dev eth0
		link set eth0 up
		route add default via $B_DIRP
	EOF
	local s=(net.ipv4.ip_forward=1 net.ipv4.vs.conntrack=1 net.ipv4.vs.conn_reuse_mode=0
		net.ipv4.vs.expire_nodest_conn=0)
	[[ $knob == - ]] || s+=("net.ipv4.vs.conn_reuse_quiescent=$knob")
	nsenter --net="/run/netns/$PNS_DIR" sysctl -qw "${s[@]}" >/dev/null
	nsenter --net="/run/netns/$PNS_DIR" ipvsadm -R <<-EOF
		-A -t $B_VIP:80 -s rr
		-a -t $B_VIP:80 -r $B_POD:80 -m -w 1
	EOF
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f\n", a / b; else print "nan" }'; }

for tool in ab trafgen busybox; do
	command -v "$tool" >/dev/null || { note "missing $tool (apt-get install apache2-utils netsniff-ng busybox)"; exit 1; }
done
ulimit -n 4096
FIGURES=()
STATUS=0

# ---- 1. load generator against ab ---------------------------------------------------------------
# busybox httpd listens with a backlog of 9: more in flight would measure its SYN drops.
ipvs_load variant >/dev/null
if part 1; then
readonly CONC=8 AB_N=1000 OUR_S=5
perf_up 0
mkdir -p "$WORK/www"
echo "pod-a" >"$WORK/www/index.html"
nsenter --net="/run/netns/$PNS_POD" busybox httpd -f -p "$B_POD:80" -h "$WORK/www" &
HTTPD_PID=$!
sleep 1
ours=() theirs=() r1=()
for round in $(seq 1 "$ROUNDS"); do
	for who in $( ((round % 2)) && echo "ours ab" || echo "ab ours"); do
		if [[ $who == ab ]]; then
			out=$(nsenter --net="/run/netns/$PNS_CLI" ab -q -n "$AB_N" -c "$CONC" "http://$B_VIP/" 2>&1)
			failed=$(awk '/^Failed requests:/ { print $3 }' <<<"$out")
			rps=$(awk '/^Requests per second:/ { print $4 }' <<<"$out")
			[[ $failed == 0 && -n $rps ]] || { note "ab: $out"; STATUS=1; break 2; }
			theirs+=("$rps")
		else
			nsenter --net="/run/netns/$PNS_CLI" "$B_BIN" bench --target "$B_VIP:80" --concurrency "$CONC" \
				--duration "$OUR_S" --json "$WORK/t.json" >/dev/null
			read -r rps errs < <("$PY" -S -c 'import json,sys; p=json.load(open(sys.argv[1]))["configs"][0]["phases"][0]; print(p["conn_per_s"], sum(p["errors"].values()))' "$WORK/t.json")
			[[ $errs == 0 ]] || { note "bench --target had $errs errors"; STATUS=1; break 2; }
			ours+=("$rps")
		fi
	done
	r1+=("$(ratio "${ours[-1]}" "${theirs[-1]}")")
	note "round $round: bench --target ${ours[-1]} conn/s, ab ${theirs[-1]} req/s, ratio ${r1[-1]}"
done
[[ ${#r1[@]} -eq 0 ]] || FIGURES+=("figure: load generator / ab at concurrency $CONC: median ratio $(printf '%s\n' "${r1[@]}" | median), spread $(printf '%s\n' "${r1[@]}" | spread) over $ROUNDS rounds (bench ${OUR_S} s runs, ab -n $AB_N)")
perf_down
fi

# ---- 2. fast-path cost --------------------------------------------------------------------------
readonly PPS=${PERF_PPS:-20000} WINDOW=${PERF_WINDOW:-4}
# One SYN per packet, source ports cycling 20000-20199; checksums computed by trafgen.
syn_conf() {
	local dmac=$1 smac=$2
	cat <<-EOF
		{
		  eth(da=$dmac, sa=$smac),
		  ipv4(saddr=$B_CLI, daddr=$B_VIP, ttl=64),
		  tcp(sp=dinc(20000, 20199), dp=80, seq=drnd(), syn, win=64240)
		}
	EOF
}
inpkts() {
	nsenter --net="/run/netns/$PNS_DIR" ipvsadm -Ln -t "$B_VIP:80" --stats --exact |
		awk -v vip="$B_VIP:80" '$1 == "TCP" && $2 == vip { print $4 }'
}
# measure CONFIG: fresh topology, 200 warm SYNs (one entry per port), then WINDOW seconds at PPS.
measure() {
	local cfg=$1 set knob dmac smac before after t0 t1
	case $cfg in
	stock) set=stock knob=- ;;
	knob0) set=variant knob=0 ;;
	knob1) set=variant knob=1 ;;
	esac
	[[ $LOADED_SET == "$set" ]] || { note "measure: $set set not loaded" >&2; return 1; }
	perf_up "$knob"
	# nsenter --net keeps the guest's /sys, so the MACs come from ip.
	dmac=$(ip -n "$PNS_DIR" -o link show d0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	smac=$(ip -n "$PNS_CLI" -o link show c0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	syn_conf "$dmac" "$smac" >"$WORK/syn.cfg"
	# ip netns exec, not nsenter: trafgen reads the device from /sys, which must be this netns's.
	# trafgen writes a temporary file into its working directory: the guest's / is read-only.
	cd "$WORK"
	ip netns exec "$PNS_CLI" trafgen -Q -C -P 1 --dev c0 --conf "$WORK/syn.cfg" -n 200 >"$WORK/trafgen.log" 2>&1 ||
		{ note "trafgen failed: $(grep -v 'system socket memory' "$WORK/trafgen.log" | tail -3)" >&2; return 1; }
	sleep 0.5
	before=$(inpkts)
	t0=$EPOCHREALTIME
	ip netns exec "$PNS_CLI" trafgen -Q -C -P 1 --dev c0 --conf "$WORK/syn.cfg" \
		-b "${PPS}pps" -n $((PPS * WINDOW)) >"$WORK/trafgen.log" 2>&1 ||
		{ note "trafgen failed: $(grep -v 'system socket memory' "$WORK/trafgen.log" | tail -3)" >&2; return 1; }
	t1=$EPOCHREALTIME
	sleep 0.2
	after=$(inpkts)
	perf_down
	awk -v a="$after" -v b="$before" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f\n", (a - b) / (t1 - t0) }'
}
LOADED_SET=variant
# use_set SET: swap module sets in this shell (measure runs in a subshell).
use_set() {
	[[ $LOADED_SET == "$1" ]] && return 0
	ipvs_unload >/dev/null
	ipvs_load "$1" >/dev/null
	LOADED_SET=$1
}
declare -A PPS_OF=()
if part 2; then
r_k1k0=() r_k1st=() r_k0st=()
orders=("stock knob0 knob1" "knob0 knob1 stock" "knob1 stock knob0")
for round in $(seq 1 "$ROUNDS"); do
	order=${orders[$(((round - 1) % 3))]}
	for cfg in $order; do
		if [[ $cfg == stock ]]; then use_set stock; else use_set variant; fi
		PPS_OF[$cfg]=$(measure "$cfg") || PPS_OF[$cfg]=0
	done
	if [[ ${PPS_OF[knob0]%.*} -le 0 || ${PPS_OF[stock]%.*} -le 0 ]]; then
		note "no SYN forwarded (stock ${PPS_OF[stock]}, knob0 ${PPS_OF[knob0]}): the fast-path figure is not measurable"
		STATUS=1
		break
	fi
	r_k1k0+=("$(ratio "${PPS_OF[knob1]}" "${PPS_OF[knob0]}")")
	r_k1st+=("$(ratio "${PPS_OF[knob1]}" "${PPS_OF[stock]}")")
	r_k0st+=("$(ratio "${PPS_OF[knob0]}" "${PPS_OF[stock]}")")
	note "round $round ($order): forwarded SYN/s stock ${PPS_OF[stock]}, knob0 ${PPS_OF[knob0]}, knob1 ${PPS_OF[knob1]}"
done
[[ ${#r_k1k0[@]} -eq 0 ]] || FIGURES+=("figure: fast path, forwarded SYN/s at offered ${PPS}/s: knob1/knob0 median $(printf '%s\n' "${r_k1k0[@]}" | median) spread $(printf '%s\n' "${r_k1k0[@]}" | spread); knob1/stock median $(printf '%s\n' "${r_k1st[@]}" | median) spread $(printf '%s\n' "${r_k1st[@]}" | spread); knob0/stock median $(printf '%s\n' "${r_k0st[@]}" | median) spread $(printf '%s\n' "${r_k0st[@]}" | spread); $ROUNDS rounds")
fi

# ---- 3. no stall with knob 1 --------------------------------------------------------------------
if part 3; then
use_set variant
p99r=()
for round in $(seq 1 "$ROUNDS"); do
	"$B_BIN" bench --lab --configs variant --json "$WORK/lab.json" >"$WORK/lab.txt" 2>&1 ||
		{ note "bench --lab failed: $(cat "$WORK/lab.txt")"; STATUS=1; break; }
	read -r r over < <("$PY" -S -c '
import json, sys
c = json.load(open(sys.argv[1]))["configs"][0]
ph = {p["phase"]: p for p in c["phases"]}
print("%.4f" % (ph["destroyed"]["connect_us"]["p99"] / ph["warm"]["connect_us"]["p99"]), ph["destroyed"]["over_900ms"])' "$WORK/lab.json")
	p99r+=("$r")
	note "round $round: connect p99 destroyed/warm $r, destroyed connects over 900 ms: $over"
	OVER_TOTAL=$(( ${OVER_TOTAL:-0} + over ))
done
[[ ${#p99r[@]} -eq 0 ]] || FIGURES+=("figure: knob 1, connect p99 destroyed/warm: median $(printf '%s\n' "${p99r[@]}" | median), spread $(printf '%s\n' "${p99r[@]}" | spread); connects over 900 ms in destroyed: ${OVER_TOTAL} in $ROUNDS runs")
fi

echo "# kernel $(uname -r), QEMU TCG, $(nproc) vCPUs"
printf '%s\n' "${FIGURES[@]}" | tee "$B_OUT/figures.txt"
exit "$STATUS"
