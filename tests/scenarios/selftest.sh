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

tap_end
