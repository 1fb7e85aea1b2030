#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest acceptance suite for 'ipvs-drain metrics': the Prometheus text on a real IPVS table, checked by
# promtool and against 'status --json' and the sysctls, on the variant and on Debian's stock modules,
# and the atomic file write against a read-only and a full directory.
#
#   client netns ipvsd-m-cl (10.0.0.2) --veth-- this netns, the director (10.0.0.1; VIP 10.96.0.1 on a
#   dummy; TCP :80 rr masq to A 10.244.1.2, then B 10.244.1.3) --veth-- pod netns ipvsd-m-pod, one
#   server on both addresses (tests/scenarios/podserver.py). netns ipvsd-m-two: services, no traffic.
#
# Run by: tests/vm/run.sh --abi ABI --ko build/ABI --timeout 600 --out DIR -- \
#             tests/vm-metrics/acceptance.sh --promtool "$(tests/vm-metrics/promtool.sh)"
# With --ko, modprobe loads the variant; the stock set is Debian's own, loaded with swap-module.
# Without --promtool the promtool checks are SKIPs. Prints TAP (tests/lib/tap.sh); exits 1 when
# anything failed.
set -eEuo pipefail

# shellcheck source=tests/lib/guest.sh
. "$(dirname "$0")/../lib/guest.sh"
readonly SCN="$REPO/tests/scenarios"
readonly PY=/usr/bin/python3
ABI=$(uname -r)
readonly ABI
readonly STOCK_KO="/lib/modules/$ABI/kernel/net/netfilter/ipvs"
readonly WORK="${TMPDIR:-/tmp}/ipvsd-metrics"
readonly OUT=$WORK/out PROM=$WORK/out/ipvs_drain.prom
readonly NS_CL=ipvsd-m-cl NS_POD=ipvsd-m-pod NS_TWO=ipvsd-m-two
readonly VS=/proc/sys/net/ipv4/vs
readonly SVC="TCP 10.96.0.1:80" SVC_TWO="TCP 192.0.2.1:80"
readonly PORTS=20000-20019

PROMTOOL=""
while [ $# -gt 0 ]; do
	case "$1" in
	--promtool) PROMTOOL=$2; shift 2 ;;
	*) echo "acceptance.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

tap_bail_on_error

cleanup() {
	trap - ERR
	[ -z "${POD_PID:-}" ] || kill "$POD_PID" 2>/dev/null || true
	local m ns
	for m in "$WORK/ro" "$WORK/full"; do
		if mountpoint -q "$m"; then umount "$m" || true; fi
	done
	if [ -d /sys/module/ip_vs ]; then ipvsadm -C 2>/dev/null || true; fi
	for ns in "$NS_CL" "$NS_POD" "$NS_TWO"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
	return 0
}
trap cleanup EXIT

in_two() { nsenter --net="/run/netns/$NS_TWO" -- "$@"; }

# prom_value FILE SERIES: the value of the sample written exactly as SERIES (name{labels}); empty if none.
prom_value() { awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print substr($0, length(s) + 2) }' "$1"; }

# expect_value NAME FILE SERIES WANT: the sample exists and holds WANT.
expect_value() {
	local got
	got=$(prom_value "$2" "$3")
	tap_result "$([ -n "$got" ] && [ "$got" = "$4" ] && echo 0 || echo 1)" "$1" "$3 is '${got:-absent}', want $4"
}

# promtool_clean NAME FILE: promtool check metrics exits 0 and prints nothing (it prints lint problems).
promtool_clean() {
	if [ -z "$PROMTOOL" ]; then
		tap_skip "$1" "no --promtool (tests/vm-metrics/promtool.sh prints its path)"
		return 0
	fi
	local out rc=0
	out=$("$PROMTOOL" check metrics <"$2" 2>&1) || rc=$?
	tap_result "$([ "$rc" = 0 ] && [ -z "$out" ] && echo 0 || echo 1)" "$1" "exit $rc: $out"
}

# The risk rows of status --json files: "NETNS<TAB>SERVICE<TAB>ENTRIES", NETNS empty for the caller's own.
status_risk() {
	"$PY" -S - "$@" <<-'PY' | LC_ALL=C sort
	import json, sys
	for f in sys.argv[1:]:
	    d = json.load(open(f))
	    for s in d["risk"]["services"]:
	        print(f'{d["netns"] or ""}\t{s["service"]}\t{s["entries"]}')
	PY
}

# The same rows from a metrics file, for the caller's namespace and NS_TWO: status names a service
# "PROTOCOL ADDRESS:PORT", or "FWM MARK" plus " IPv6"; the metric has them as labels.
metrics_risk() {
	awk -F'"' -v two="$NS_TWO" '
		/^ipvs_drain_risk_entries\{netns="/ && ($2 == "" || $2 == two) {
			name = $4 == "FWM" ? "FWM " $8 ($6 == "ipv6" ? " IPv6" : "") : $4 " " $8
			print $2 "\t" name "\t" substr($9, 3)
		}' "$1" | LC_ALL=C sort
}

# risk_agrees TAG: status --json, metrics, status --json again; retried while the two status reads
# differ (a CLOSE entry lives 10 s); then the metrics must say what status said, service by service.
risk_agrees() {
	local tag=$1 try before after
	for try in 1 2 3; do
		"$BIN" status --json >"$WORK/s1.json"
		"$BIN" status --json --netns "$NS_TWO" >"$WORK/s1two.json"
		"$BIN" metrics >"$WORK/$tag.prom"
		"$BIN" status --json >"$WORK/s2.json"
		"$BIN" status --json --netns "$NS_TWO" >"$WORK/s2two.json"
		before=$(status_risk "$WORK/s1.json" "$WORK/s1two.json")
		after=$(status_risk "$WORK/s2.json" "$WORK/s2two.json")
		[ "$before" = "$after" ] && break
		echo "# try $try: the table moved between the two status reads; again"
	done
	echo "$before" >"$WORK/risk.status"
	diff <(echo "$before") <(metrics_risk "$WORK/$tag.prom")
}

# The entries status counted for SERVICE in NETNS at the last risk_agrees.
status_entries() { awk -F'\t' -v ns="$1" -v s="$2" '$1 == ns && $2 == s { print $3 }' "$WORK/risk.status"; }

# The netns label values of one per-namespace family, sorted.
netns_labels() { { grep "^$2{" "$1" || true; } | cut -d'"' -f2 | LC_ALL=C sort; }

# absent FILE ERE: no line of FILE matches ERE (the matches are the detail).
absent() {
	local hits
	hits=$(grep -E "$2" "$1" || true)
	[ -z "$hits" ] || { echo "$hits"; return 1; }
}
expected_labels() { { echo; ip netns list | awk '{ print $1 }'; } | LC_ALL=C sort; }

no_series_twice() {
	local dup
	dup=$(grep -v '^#' "$1" | sed 's/ [^ ]*$//' | sort | uniq -d)
	[ -z "$dup" ] || { echo "$dup"; return 1; }
}

mkdir -p "$OUT"

# ---- a table with TIME_WAIT entries on a weight-0 destination, in this netns ---------------------------
echo "# === table ($(date +%T))"
modprobe ip_vs
tap_check "the variant is loaded (modprobe, --ko)" test -e "$VS/conn_reuse_quiescent"
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
ip netns add "$NS_CL"
ip netns add "$NS_POD"
ip netns add "$NS_TWO"
ip -batch - <<EOF
link add d0 type veth peer name c0 netns $NS_CL
link add d1 type veth peer name p0 netns $NS_POD
addr add 10.0.0.1/24 dev d0
addr add 10.244.1.1/24 dev d1
link set d0 up
link set d1 up
link add ipvs0 type dummy
link set ipvs0 up
addr add 10.96.0.1/32 dev ipvs0
EOF
ip -n "$NS_CL" -batch - <<EOF
addr add 10.0.0.2/24 dev c0
link set c0 up
link set lo up
route add default via 10.0.0.1
EOF
ip -n "$NS_POD" -batch - <<EOF
addr add 10.244.1.2/24 dev p0
addr add 10.244.1.3/24 dev p0
link set p0 up
link set lo up
route add default via 10.244.1.1
EOF
ip -n "$NS_TWO" link set lo up
# One server for A and B; it closes first, so the director's entries end in TIME_WAIT.
nsenter --net="/run/netns/$NS_POD" -- "$PY" -S "$SCN/podserver.py" --name pod --addr 0.0.0.0 \
	--ready "$WORK/pod.ready" &
POD_PID=$!

# The legacy configuration (README.md): reused ports follow old entries unless the knob is on.
sysctl -qw net.ipv4.vs.conntrack=1 net.ipv4.vs.conn_reuse_mode=0 net.ipv4.vs.expire_nodest_conn=0 \
	net.ipv4.vs.conn_reuse_quiescent=1
ipvsadm -R <<EOF
-A -t 10.96.0.1:80 -s rr
-a -t 10.96.0.1:80 -r 10.244.1.2:80 -m -w 1
-A -u 10.96.0.2:53 -s rr
-a -u 10.96.0.2:53 -r 10.244.1.2:53 -m -w 1
-A -f 7 -s rr
-a -f 7 -r 10.244.1.3:0 -m -w 0
-A -t [fd00:96::1]:443 -s wlc
EOF
in_two sh -c "echo 3 > $VS/conn_reuse_quiescent && echo 1 > $VS/conn_reuse_mode"
in_two ipvsadm -R <<EOF
-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 192.0.2.2:80 -m -w 0
EOF
for _ in $(seq 1 600); do [ -f "$WORK/pod.ready" ] && break; sleep 0.05; done
[ -f "$WORK/pod.ready" ] || tap_bail "the pod server did not start"

nsenter --net="/run/netns/$NS_CL" -- "$PY" -S "$SCN/client.py" --src 10.0.0.2 --dst 10.96.0.1 \
	--threads 10 burst --phase warm --ports "$PORTS" >"$WORK/warm.json"
sed 's/^/# client: /' "$WORK/warm.json"
tap_check "warm: every connection from $PORTS went through A" grep -q '"attempts": 20, "ok": 20,' "$WORK/warm.json"
# A drains: B takes the new connections, A's entries stay until they expire.
ipvsadm -a -t 10.96.0.1:80 -r 10.244.1.3:80 -m -w 1
ipvsadm -e -t 10.96.0.1:80 -r 10.244.1.2:80 -m -w 0
ipvsadm -Lnc | awk 'NR > 2 { n[$3]++ } END { for (s in n) printf "# entries %s: %d\n", s, n[s] }'

# ---- metrics on the variant ----------------------------------------------------------------------------
echo "# === variant ($(date +%T))"
rc=0
"$BIN" metrics --textfile-dir "$OUT" 2>"$WORK/err" || rc=$?
tap_result "$rc" "metrics --textfile-dir $OUT: exit 0" "exit $rc: $(cat "$WORK/err")"
[ -s "$PROM" ] || tap_bail "metrics wrote $PROM"
sed -n 's/^ipvs_drain_/# &/p' "$PROM"
tap_check "the directory holds ipvs_drain.prom alone (no temporary file left)" \
	test "$(ls -A "$OUT")" = ipvs_drain.prom
tap_check "ipvs_drain.prom has mode 0644" test "$(stat -c %a "$PROM")" = 644
promtool_clean "promtool check metrics passes, silently (variant, two netns, traffic)" "$PROM"
tap_check "no series is written twice" no_series_twice "$PROM"
expect_value "variant gauge is 1" "$PROM" ipvs_drain_variant_loaded 1
expect_value "variant version from /sys/module/ip_vs/version" "$PROM" \
	"ipvs_drain_variant_info{version=\"$(cat /sys/module/ip_vs/version)\"}" 1
expect_value "ipvs_loaded is 1" "$PROM" ipvs_drain_ipvs_loaded 1
# 5.16 and later have upstream's weight-0 fix; below, only a backport could tell.
IFS=. read -r major minor _ <<<"$ABI"
fix=0
if [ "$major" -gt 5 ] || { [ "$major" = 5 ] && [ "$minor" -ge 16 ]; }; then fix=1; fi
expect_value "$ABI: weight-0 fix state yes is $fix" "$PROM" 'ipvs_drain_kernel_weight0_fix{state="yes"}' "$fix"
expect_value "$ABI: weight-0 fix state unknown is $((1 - fix))" "$PROM" \
	'ipvs_drain_kernel_weight0_fix{state="unknown"}' $((1 - fix))
for f in conn_reuse_quiescent conn_reuse_mode; do
	expect_value "$f here equals the sysctl ($(cat "$VS/$f"))" "$PROM" \
		"ipvs_drain_sysctl_$f{netns=\"\"}" "$(cat "$VS/$f")"
	expect_value "$f in $NS_TWO equals its sysctl ($(in_two cat "$VS/$f"))" "$PROM" \
		"ipvs_drain_sysctl_$f{netns=\"$NS_TWO\"}" "$(in_two cat "$VS/$f")"
done
tap_check "default scope: this netns (\"\") and every /run/netns name, once each" \
	diff <(expected_labels) <(netns_labels "$PROM" ipvs_drain_sysctl_conn_reuse_quiescent)
for c in rescheduled dropped_old_conntrack; do
	for ns in "" "$NS_TWO"; do
		tap_check "counter ipvs_drain_${c}_total{netns=\"$ns\"} present" \
			test -n "$(prom_value "$PROM" "ipvs_drain_${c}_total{netns=\"$ns\"}")"
	done
done

tap_check "risk per service equals status --json, in both netns" risk_agrees variant
n=$(status_entries "" "$SVC")
tap_result "$([ "${n:-0}" -gt 0 ] && echo 0 || echo 1)" \
	"risk of $SVC is above 0: ${n:-no} TIME_WAIT/CLOSE entries to weight-0 A" "$(cat "$WORK/risk.status")"

"$BIN" metrics --netns "$NS_TWO" >"$WORK/two.prom"
tap_check "--netns $NS_TWO: that namespace alone" \
	test "$(netns_labels "$WORK/two.prom" ipvs_drain_sysctl_conn_reuse_quiescent)" = "$NS_TWO"
rc=0
err=$("$BIN" metrics --netns ipvsd-nosuch 2>&1 >/dev/null) || rc=$?
tap_result "$([ "$rc" = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && [[ $err == *ipvsd-nosuch* ]] && echo 0 || echo 1)" \
	"--netns of a missing namespace: exit 1, one line" "exit $rc: $err"

# The same ports again: the variant reschedules them away from A, and the counters follow.
nsenter --net="/run/netns/$NS_CL" -- "$PY" -S "$SCN/client.py" --src 10.0.0.2 --dst 10.96.0.1 \
	--threads 10 burst --phase reuse --ports "$PORTS" >"$WORK/reuse.json"
sed 's/^/# client: /' "$WORK/reuse.json"
"$BIN" metrics --textfile-dir "$OUT"
read -r _ resched < <(grep '^rescheduled ' /proc/net/ip_vs_reuse_stats)
read -r _ dropped < <(grep '^dropped_old_conntrack ' /proc/net/ip_vs_reuse_stats)
echo "# /proc/net/ip_vs_reuse_stats: rescheduled $resched, dropped_old_conntrack $dropped"
tap_result "$([ $((resched + dropped)) -gt 0 ] && echo 0 || echo 1)" "reused ports moved the variant's counters" \
	"rescheduled $resched, dropped_old_conntrack $dropped"
expect_value "rescheduled_total here equals /proc/net/ip_vs_reuse_stats" "$PROM" \
	'ipvs_drain_rescheduled_total{netns=""}' "$resched"
expect_value "dropped_old_conntrack_total here equals /proc/net/ip_vs_reuse_stats" "$PROM" \
	'ipvs_drain_dropped_old_conntrack_total{netns=""}' "$dropped"
expect_value "rescheduled_total in $NS_TWO, which saw no traffic, is 0" "$PROM" \
	"ipvs_drain_rescheduled_total{netns=\"$NS_TWO\"}" 0
tap_check "after the reuse, risk still equals status --json" risk_agrees reuse

# ---- the file is replaced atomically or not at all ------------------------------------------------------
echo "# === atomic ($(date +%T))"
# kept NAME DIR: metrics into DIR fails with exit 1 and one line naming WHY; the old file and nothing else.
kept() {
	local name=$1 dir=$2 why=$3 rc=0 err
	err=$("$BIN" metrics --textfile-dir "$dir" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && [[ $err == *"$why"* ]] &&
		[ "$(cat "$dir/ipvs_drain.prom")" = "old 1" ] && [ "$(ls -A "$dir")" = ipvs_drain.prom ]; then
		tap_ok "$name: exit 1, one line ($why), the old file kept, no temporary file"
		echo "#   $err"
	else
		tap_not_ok "$name: exit 1, one line ($why), the old file kept, no temporary file" \
			"exit $rc: $err; $(ls -A "$dir"); $(head -c 200 "$dir/ipvs_drain.prom")"
	fi
}
mkdir -p "$WORK/ro" "$WORK/full"
echo "old 1" >"$WORK/ro/ipvs_drain.prom"
mount --bind "$WORK/ro" "$WORK/ro"
mount -o remount,bind,ro "$WORK/ro"
kept "a read-only directory" "$WORK/ro" "Read-only file system"
umount "$WORK/ro"
# One page: the old file fills it, so the new one fails while being written.
mount -t tmpfs -o size=4k tmpfs "$WORK/full"
echo "old 1" >"$WORK/full/ipvs_drain.prom"
kept "a full file system" "$WORK/full" "No space left on device"
umount "$WORK/full"
rc=0
err=$("$BIN" metrics 2>&1 >/dev/full) || rc=$?
tap_result "$([ "$rc" = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && echo 0 || echo 1)" \
	"standard output that fails (/dev/full): exit 1, one line" "exit $rc: $err"

# ---- Debian's stock modules: no variant, no knob --------------------------------------------------------
echo "# === stock ($(date +%T))"
kill "$POD_PID"
wait "$POD_PID" 2>/dev/null || true
POD_PID=
rc=0
"$BIN" swap-module --ko "$STOCK_KO" --all-netns --yes --save-file "$WORK/swap.rules" >"$WORK/swap.log" 2>&1 || rc=$?
tap_result "$rc" "swap-module to the stock set in $STOCK_KO" "$(tail -5 "$WORK/swap.log")"
"$BIN" metrics --textfile-dir "$OUT"
sed -n 's/^ipvs_drain_/# &/p' "$PROM"
promtool_clean "promtool check metrics passes, silently (stock)" "$PROM"
expect_value "stock: variant gauge is 0" "$PROM" ipvs_drain_variant_loaded 0
tap_check "stock: no knob, no counter and no version family" \
	absent "$PROM" 'ipvs_drain_sysctl_conn_reuse_quiescent|ipvs_drain_[a-z_]+_total|ipvs_drain_variant_info'
tap_check "stock: default scope still covers every netns" \
	diff <(expected_labels) <(netns_labels "$PROM" ipvs_drain_sysctl_conn_reuse_mode)
tap_check "stock: risk equals status --json (the services came back)" risk_agrees stock
tap_check "stock: $SVC_TWO is reported in $NS_TWO, with 0" test "$(status_entries "$NS_TWO" "$SVC_TWO")" = 0

# ---- IPVS not loaded: still a valid file, saying so ----------------------------------------------------
echo "# === unloaded ($(date +%T))"
ipvsadm -C
in_two ipvsadm -C
# Services go away through RCU: a module still busy right after the flush is tried again.
for _ in $(seq 1 100); do
	mods=$(awk '$1 ~ /^ip_vs/ { print $1 }' /proc/modules | sort -r) # ip_vs_* before ip_vs
	[ -n "$mods" ] || break
	for m in $mods; do rmmod "$m" 2>/dev/null || true; done
	sleep 0.1
done
[ ! -d /sys/module/ip_vs ] || tap_bail "cannot unload ip_vs: $(awk '$1 ~ /^ip_vs/' /proc/modules)"
rc=0
"$BIN" metrics --textfile-dir "$OUT" 2>"$WORK/err" || rc=$?
tap_result "$rc" "IPVS not loaded: exit 0" "exit $rc: $(cat "$WORK/err")"
sed -n 's/^ipvs_drain_/# &/p' "$PROM"
expect_value "IPVS not loaded: ipvs_loaded is 0" "$PROM" ipvs_drain_ipvs_loaded 0
tap_check "IPVS not loaded: no per-namespace sample" absent "$PROM" 'netns='
promtool_clean "promtool check metrics passes, silently (IPVS not loaded)" "$PROM"

echo "# === end ($(date +%T))"
tap_end
