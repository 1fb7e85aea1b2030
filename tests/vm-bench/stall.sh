#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench`: the one figure that stays on the wall clock, because what it
# claims is a latency. `ipvs-drain bench --lab --configs variant`, ROUNDS times: the connect p99
# of the destroyed phase over the warm one, and how many destroyed-phase connects took longer
# than 900 ms (that is, waited for a SYN retransmit). Everything else `make bench` reports is
# counted work (count.sh).
#
# Run by: tests/vm/run.sh --abi ABI --ko build/ABI --timeout 1500 --out DIR -- tests/vm-bench/stall.sh [ROUNDS]
# Prints "# ..." progress and writes DIR/bench-stall/stall.json: {"kernel", "rounds": [{"p99_ratio",
# "over_900ms"}]}. Exits 1 when a round could not be measured.
set -euo pipefail

readonly B_HERE="$(cd "$(dirname "$0")" && pwd)"
# REPO and BIN, as every guest suite has them.
# shellcheck source=tests/lib/guest.sh
source "$B_HERE/../lib/guest.sh"
readonly B_OUT="${IPVS_VM_OUT:-/tmp}/bench-stall"
readonly ROUNDS=${1:-5}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "stall.sh: ROUNDS must be a positive number, not '$ROUNDS'" >&2; exit 2; }
mkdir -p "$B_OUT"
IPVS_VM_OUT=/tmp/bench-stall-lib source "$REPO/tests/scenarios/lib.sh"

ipvs_load variant >/dev/null
: >"$WORK/rounds"
for round in $(seq 1 "$ROUNDS"); do
	"$BIN" bench --lab --configs variant --json "$WORK/lab.json" >"$WORK/lab.txt" 2>&1 ||
		{ note "bench --lab failed: $(cat "$WORK/lab.txt")"; exit 1; }
	"$PY" -S - "$WORK/lab.json" >>"$WORK/rounds" <<-'PYEOF'
		import json, sys
		c = json.load(open(sys.argv[1]))["configs"][0]
		ph = {p["phase"]: p for p in c["phases"]}
		r = ph["destroyed"]["connect_us"]["p99"] / ph["warm"]["connect_us"]["p99"]
		print(json.dumps({"p99_ratio": round(r, 4), "over_900ms": ph["destroyed"]["over_900ms"]}))
	PYEOF
	note "round $round: $(tail -n 1 "$WORK/rounds")"
done
"$PY" -S - "$WORK/rounds" "$B_OUT/stall.json" <<-'PYEOF'
	import json, os, sys
	rounds = [json.loads(l) for l in open(sys.argv[1])]
	json.dump({"schema": 1, "kernel": os.uname().release, "clock": "wall, QEMU TCG", "rounds": rounds},
	          open(sys.argv[2], "w"), indent=1)
PYEOF
note "wrote $B_OUT/stall.json"
