#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host side of `make bench`: counted figures on each kernel, the wall-clock stall figure on the
# first, one table.
set -euo pipefail

readonly HERE="$(cd "$(dirname "$0")" && pwd)"
readonly REPO="$(cd "$HERE/../.." && pwd)"

usage() {
	cat <<'EOF'
Usage: tests/vm-bench/run.sh [--rounds N] [--kernels "SEL ..."] [--out DIR] [--update FILE] [--no-stall]

The performance figures of ipvs-drain, measured in Debian guests under QEMU (make bench).

For every kernel (SEL as `kmod/kernel.sh resolve` takes it; default "6.1 7"):
  - builds the variant modules (make kmod KVER=ABI);
  - boots the kernel with `tests/vm/run.sh --icount`, where one guest nanosecond is one
    executed instruction, and runs tests/vm-bench/count.sh ROUNDS: instructions per call of
    IPVS's in and out hooks for established, fresh and reused-port traffic with the stock
    modules, knob 0 and knob 1 (rounds in rotated order); instructions per connection of the
    load generator and of ab; instructions per listing of ipvs-drain and ipvsadm.
On the first kernel it also boots without icount and runs tests/vm-bench/stall.sh ROUNDS,
the one figure that stays on the wall clock (connect p99 while a pod is destroyed).

Then tests/vm-bench/report.py prints the table: medians over the rounds, each figure's
spread, and each ratio's range, which says whether a difference is resolved.

Options:
  --rounds N       rounds per figure (default 5; the spreads are judged against 0.3%)
  --kernels SELS   kernels to count on (default "6.1 7")
  --out DIR        where the JSON and guest logs go (default build/bench)
  --update FILE    also write the table into FILE between its bench-count markers
                   (RESULTS.md)
  --no-stall       skip the wall-clock stall figure
  -h, --help       show this text

Needs what `make bench` installs: qemu, ab (apache2-utils), trafgen (netsniff-ng), busybox.
Outputs: DIR/count-ABI.json (raw), DIR/stall-ABI.json (raw), DIR/bench.json (summary).
EOF
}

die() {
	echo "bench: $*" >&2
	exit 1
}

main() {
	local rounds=5 kernels="6.1 7" out="$REPO/build/bench" update="" stall=1
	while (($#)); do
		case $1 in
		--rounds | --kernels | --out | --update)
			(($# >= 2)) || die "$1 needs a value (see --help)"
			;;&
		--rounds) rounds=$2 ;;
		--kernels) kernels=$2 ;;
		--out) out=$2 ;;
		--update) update=$2 ;;
		--no-stall)
			stall=0
			shift
			continue
			;;
		-h | --help)
			usage
			exit 0
			;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
		shift 2
	done
	[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number, not '$rounds'"
	[[ -n ${kernels// /} ]] || die "--kernels is empty"
	[[ -z $update || -f $update ]] || die "--update $update: no such file"
	[[ -x $REPO/build/userspace/ipvs-drain ]] || die "build/userspace/ipvs-drain is not built (make userspace)"
	mkdir -p "$out"
	out=$(cd "$out" && pwd)

	local sel abi first="" step=0 total
	local -a inputs=()
	total=$(wc -w <<<"$kernels")
	for sel in $kernels; do
		step=$((step + 1))
		abi=$("$REPO/kmod/kernel.sh" resolve "$sel") || die "cannot resolve kernel '$sel'"
		[[ -n $first ]] || first=$abi
		echo "bench: [$step/$total] $abi: building the variant modules"
		make -C "$REPO" --no-print-directory kmod KVER="$abi" >"$out/kmod-$abi.log" 2>&1 ||
			die "make kmod KVER=$abi failed (see $out/kmod-$abi.log)"
		echo "bench: [$step/$total] $abi: counting, $rounds rounds (guest log: $out/vm-count-$abi/output.log)"
		# The guest runs several times slower under icount; a round takes a few minutes.
		"$REPO/tests/vm/run.sh" --icount --abi "$abi" --ko "$REPO/build/$abi" \
			--timeout $((1800 + 600 * rounds)) --out "$out/vm-count-$abi" -- \
			"$HERE/count.sh" "$rounds" | sed -u 's/^/  | /' ||
			die "$abi: the counting run failed (see $out/vm-count-$abi/)"
		cp "$out/vm-count-$abi/bench-count/count.json" "$out/count-$abi.json"
		inputs+=("$out/count-$abi.json")
	done
	if ((stall)); then
		echo "bench: $first: the stall figure on the wall clock, $rounds rounds"
		"$REPO/tests/vm/run.sh" --abi "$first" --ko "$REPO/build/$first" --timeout $((600 + 300 * rounds)) \
			--out "$out/vm-stall-$first" -- "$HERE/stall.sh" "$rounds" | sed -u 's/^/  | /' ||
			die "$first: the stall run failed (see $out/vm-stall-$first/)"
		cp "$out/vm-stall-$first/bench-stall/stall.json" "$out/stall-$first.json"
		inputs+=("$out/stall-$first.json")
	fi
	echo
	"$HERE/report.py" --json "$out/bench.json" ${update:+--update "$update"} "${inputs[@]}"
	echo "bench: summary in $out/bench.json${update:+; table written into $update}"
}

main "$@"
