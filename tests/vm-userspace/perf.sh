#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side: the work of `ipvs-drain list -n` against `ipvsadm -Ln` (2,000 services x 4 destinations)
# and of `list -c -n` against `ipvsadm -Lnc` (a synthetic /proc/net/ip_vs_conn), median of ROUNDS
# runs each. Each run's figure is its process's own CPU time, user and kernel together
# (tests/vm-bench/taskclock.py), never the wall clock; in a guest booted with `run.sh --icount`
# that is its instruction count.
#
# Run by: tests/vm/run.sh [--icount] --abi ABI --timeout 900 --out DIR -- tests/vm-userspace/perf.sh [ROUNDS] [CONNS]
# Not part of `make check`: a cost says nothing about pass or fail. Prints one table of medians;
# with PERF_RAW=FILE it also appends each run to FILE as tests/vm-bench/count.sh's "tool" lines.
set -euo pipefail

readonly HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/lib/guest.sh
source "$HERE/../lib/guest.sh"
readonly ROUNDS="${1:-7}"
readonly CONNS="${2:-100000}"
readonly WORK="$(mktemp -d)"
readonly SERVICES=2000 DESTS=4
readonly TASKCLOCK="$REPO/tests/vm-bench/taskclock.py"
readonly RAW="${PERF_RAW:-}"

[ -x "$BIN" ] || { echo "perf: $BIN is not built" >&2; exit 1; }
modprobe ip_vs

# 2,000 TCP services on distinct VIPs, each with 4 masqueraded destinations, loaded in one ipvsadm -R.
make_rules() {
	local i j
	for ((i = 0; i < SERVICES; i++)); do
		local vip="10.$((100 + i / 250)).$((i % 250)).1"
		echo "-A -t $vip:80 -s rr"
		for ((j = 0; j < DESTS; j++)); do
			echo "-a -t $vip:80 -r 10.244.$((i % 250)).$((j + 2)):8080 -m -w 1"
		done
	done
}

# A /proc/net/ip_vs_conn in the kernel's own format (ip_vs_conn_seq_show): 90% IPv4, 10% IPv6, mixed states.
make_conns() {
	awk -v n="$CONNS" 'BEGIN {
		print "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData"
		split("TIME_WAIT ESTABLISHED FIN_WAIT CLOSE SYN_RECV", st, " ")
		for (i = 0; i < n; i++) {
			s = st[i % 5 + 1]; e = (i * 7) % 900
			if (i % 10 == 9) {
				printf "TCP fd00:0000:0000:0000:0000:0000:%04x:%04x %04X fd96:0000:0000:0000:0000:0000:0000:0010 0050 fd01:0000:0000:0000:0000:0000:0000:%04x 1F90 %-11s %7u\n",
					int(i / 65536), i % 65536, 1024 + i % 60000, 2 + i % 4, s, e
			} else if (i % 10 == 8) {
				printf "UDP %08X %04X %08X %04X %08X %04X %-11s %7u\n",
					167772162 + i % 200, 1024 + i % 60000, 174063626, 53, 183763202 + i % 4, 53, "UDP", e
			} else {
				printf "TCP %08X %04X %08X %04X %08X %04X %-11s %7u\n",
					167772162 + i % 200, 1024 + i % 60000, 174063626 + i % 2000, 80, 183763202 + i % 4, 8080, s, e
			}
		}
	}'
}

echo "perf: loading $SERVICES services x $DESTS destinations"
make_rules | ipvsadm -R
make_conns >"$WORK/ip_vs_conn"
echo "perf: synthetic connection table of $(($(wc -l <"$WORK/ip_vs_conn") - 1)) entries"

# The timing loop runs in one private mount namespace where /proc/net/ip_vs_conn is the synthetic
# file (with-conn-table.sh), so both tools read the same bytes; each round alternates which goes first.
cat >"$WORK/inner.sh" <<'EOF'
set -euo pipefail
bin=$1 rounds=$2 work=$3 taskclock=$4
cmp -s "$work/ip_vs_conn" /proc/net/ip_vs_conn || { echo "perf: /proc/net/ip_vs_conn is not the synthetic table" >&2; exit 1; }
time_one() { # prints the CPU nanoseconds of one run of "$@", output to /dev/null
	python3 "$taskclock" "$work/tc" "$@" >/dev/null
	cat "$work/tc"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for kind in svc conn; do
	if [ "$kind" = svc ]; then ours=("$bin" list -n); theirs=(ipvsadm -Ln); else ours=("$bin" list -c -n); theirs=(ipvsadm -Lnc); fi
	# Same bytes first, so the race is between equal work.
	"${ours[@]}" >"$work/ours.$kind"; "${theirs[@]}" >"$work/theirs.$kind"
	cmp -s "$work/ours.$kind" "$work/theirs.$kind" || { echo "perf: outputs differ for $kind" >&2; exit 1; }
	lines=$(wc -l <"$work/ours.$kind")
	echo "perf: $kind output identical, $lines lines"
	[ "$lines" -gt 10000 ] || { echo "perf: $kind listed only $lines lines" >&2; exit 1; }
	: >"$work/t.ours.$kind"; : >"$work/t.theirs.$kind"
	for ((r = 0; r < rounds; r++)); do
		if ((r % 2)); then
			time_one "${theirs[@]}" >>"$work/t.theirs.$kind"; time_one "${ours[@]}" >>"$work/t.ours.$kind"
		else
			time_one "${ours[@]}" >>"$work/t.ours.$kind"; time_one "${theirs[@]}" >>"$work/t.theirs.$kind"
		fi
	done
	echo "$kind $(median <"$work/t.ours.$kind") $(median <"$work/t.theirs.$kind") $(tr '\n' ' ' <"$work/t.ours.$kind")| $(tr '\n' ' ' <"$work/t.theirs.$kind")" >>"$work/result"
done
EOF
: >"$WORK/result"
"$HERE/with-conn-table.sh" "$WORK/ip_vs_conn" bash "$WORK/inner.sh" "$BIN" "$ROUNDS" "$WORK" "$TASKCLOCK"

echo
echo "median of $ROUNDS runs, process CPU time in ms (million instructions under --icount), $(uname -r)"
printf '%-34s %10s %10s %7s\n' "comparison" "ipvs-drain" "ipvsadm" "ratio"
while read -r kind o t rest; do
	if [ "$kind" = svc ]; then label="list -n vs -Ln ($SERVICES x $DESTS)"; else label="list -c -n vs -Lnc ($CONNS)"; fi
	awk -v l="$label" -v o="$o" -v t="$t" 'BEGIN { printf "%-34s %10.1f %10.1f %7.2f\n", l, o / 1e6, t / 1e6, o / t }'
	echo "  raw ns: $rest"
	if [ -n "$RAW" ]; then
		read -r -a ours <<<"${rest%|*}"
		read -r -a theirs <<<"${rest#*|}"
		for ((r = 0; r < ${#ours[@]}; r++)); do
			printf 'tool\t%d\tlist_%s\tours\t1\t%s\n' $((r + 1)) "$kind" "${ours[r]}"
			printf 'tool\t%d\tlist_%s\tipvsadm\t1\t%s\n' $((r + 1)) "$kind" "${theirs[r]}"
		done >>"$RAW"
	fi
done <"$WORK/result"
ipvsadm -C
rm -rf "$WORK"
