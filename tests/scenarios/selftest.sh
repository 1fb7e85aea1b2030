#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host-side checks of the scenario suite's own bookkeeping, without a guest: every case is
# judged by a verdict, and a case that no verdict covers fails instead of passing.
set -euo pipefail

# shellcheck source=tests/scenarios/run-all.sh disable=SC2034 # RUN_STATE and CASE_RUNS are read by judge()
source "$(dirname "${BASH_SOURCE[0]}")/run-all.sh"
trap 'rm -rf "$WORK"' EXIT
# judge() runs in a subshell below, so its TAP lines never count here; these are plain.
tap_emit() { echo "$*"; }

# judge_line CASE: the TAP line judge prints for CASE, with the suite's counters kept.
judge_line() {
	local out
	out=$(judge "$1" 2>&1 | grep -E '^(\S+ )?(not )?ok ' | sed -E 's/^[0-9.:+]+ //')
	echo "$out"
}

# Every case the suite runs, but the sysctl case (its own function), has a verdict.
for case in "${CASE_ORDER[@]}"; do
	[[ $case == case7-sysctl ]] && continue
	read -r -a runs <<<"${CASE_RUNS[$case]}"
	got=$(case_verdicts "$case" "${runs[@]}" | wc -l)
	tap_result "$((got == 0))" "$case is judged by $got verdict(s)"
done

# A case name that no verdict pattern covers, whose run was made: not ok, never ok.
CASE_RUNS["case99-unjudged-example"]="stock-legacy"
RUN_STATE["stock-legacy"]="done"
line=$(judge_line case99-unjudged-example)
echo "# judge printed: $line"
[[ $line == "not ok "*" - case99-unjudged-example" ]]
tap_result $? "a case no verdict covers is not ok"

# The same name with its run skipped is a skip, so the check above is about the verdict.
RUN_STATE["stock-legacy"]="skip:not built"
line=$(judge_line case99-unjudged-example)
echo "# judge printed: $line"
[[ $line == "ok "*" - case99-unjudged-example # SKIP not built" ]]
tap_result $? "a case whose run was skipped is a skip"

# figures.py from-bench: bench's names become the verdicts' (pods A/B, ETIMEDOUT as timeout),
# the hold goes to the phase it was checked after, and a skipped configuration is exit 3.
bench_json() { # SKIPPED
	cat <<-EOF
		{"schema": 1, "mode": "lab", "plan": "full", "topology": "nat6", "persistent_s": null, "configs": [
		 {"name": "legacy", "skipped": $1, "failed": null, "sysctls": {"conntrack": 1, "conn_reuse_quiescent": 0},
		  "hold": {"pod": "pod-a", "alive_after_draining": true, "closed": false},
		  "phases": [
		   {"phase": "warm", "attempts": 2, "ok": 2, "errors": {}, "pods": {"pod-a": 2}, "connect_us": {"p50": 1500},
		    "wall_s": 0.1, "conn_per_s": 20, "ports": null, "old_pod_entries": null, "entries_before_change": null,
		    "counters_delta": null},
		   {"phase": "draining", "attempts": 2, "ok": 1, "errors": {"ETIMEDOUT": 1}, "pods": {"pod-b": 1},
		    "connect_us": null, "wall_s": 0.1, "conn_per_s": 20, "ports": "20000-20001", "old_pod_entries": 1,
		    "entries_before_change": 2, "counters_delta": {"rescheduled": 1, "dropped_old_conntrack": 0}}]}]}
	EOF
}
bench_json null >"$WORK/bench.json"
"$PY" -S "$SCN_DIR/figures.py" from-bench --json "$WORK/bench.json" --meta '{"label": "x", "set": "variant"}' \
	--out "$WORK/x.json" >/dev/null
st=0
"$PY" -S - "$WORK/x.json" <<-'EOF' || st=1
	import json, sys
	r = json.load(open(sys.argv[1]))
	w, d = r["phases"]["warm"], r["phases"]["draining"]
	assert (r["label"], r["set"], r["topo"], r["plan"], r["short"]) == ("x", "variant", "nat6", "full", False), r
	assert r["sysctls"] == "conntrack=1 conn_reuse_quiescent=0", r["sysctls"]
	assert w["client"]["pods"] == {"A": 2} and w["client"]["connect_ms"]["p50"] == 1.5 and "hold" not in w, w
	assert d["client"]["errors"] == {"timeout": 1} and d["client"]["pods"] == {"B": 1}, d
	assert (d["entries_before_change"], d["entries_hit"], d["ports"]) == (2, 1, "20000-20001"), d
	assert d["reuse_stats_delta"] == {"rescheduled": 1, "dropped_old_conntrack": 0}, d
	assert d["hold"] == {"pod": "A", "closed": False, "alive_after_weight_change": True, "error": None}, d
EOF
tap_result "$st" "from-bench maps pods, errors, entries and the long-lived connection"
rc=0
"$PY" -S "$SCN_DIR/figures.py" judge hold "$WORK/x.json" >/dev/null || rc=$?
tap_result "$((rc == 1 ? 0 : 1))" "the hold verdict fails when the long-lived connection did not close cleanly"
bench_json '"kernel predates 5.16"' >"$WORK/bench.json"
rc=0
why=$("$PY" -S "$SCN_DIR/figures.py" from-bench --json "$WORK/bench.json" --meta '{}' --out "$WORK/y.json") || rc=$?
echo "# from-bench printed: $why (exit $rc)"
st=0
[[ $rc == 3 && $why == "kernel predates 5.16" && ! -e $WORK/y.json ]] || st=1
tap_result "$st" "a configuration bench skipped is exit 3 with bench's reason, and no figures"
rc=0
"$PY" -S "$SCN_DIR/figures.py" from-bench --json "$WORK/bench.json" --config modern --meta '{}' \
	--out "$WORK/y.json" 2>/dev/null || rc=$?
tap_result "$((rc == 1 ? 0 : 1))" "a configuration the JSON does not hold is an error (exit 1), not a skip"

tap_end
