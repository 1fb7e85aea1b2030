# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# TAP for every suite: "ok N - name", "not ok N - name" (its detail below as "#   " lines),
# "ok N - name # SKIP why", the plan "1..N", "Bail out! why" on a fatal error, and a closing
# "N passed, N failed, N skipped" line for people. tests/check.sh counts the ok / not ok lines
# against the plan. Sourced; a skip is counted apart and never as a pass.

TAP_N=0 TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0 TAP_PLANNED=0

# Writes one line; a suite may redefine it after sourcing (the scenario suite stamps times).
tap_emit() {
	echo "$*"
}

tap_ok() {
	TAP_N=$((TAP_N + 1)) TAP_PASS=$((TAP_PASS + 1))
	tap_emit "ok $TAP_N - $1"
}

# tap_not_ok NAME [DETAIL]: DETAIL's first 40 lines follow as comments.
tap_not_ok() {
	local line
	TAP_N=$((TAP_N + 1)) TAP_FAIL=$((TAP_FAIL + 1))
	tap_emit "not ok $TAP_N - $1"
	[[ -z ${2:-} ]] || while IFS= read -r line; do tap_emit "#   $line"; done < <(head -n 40 <<<"$2")
}

# tap_skip NAME REASON
tap_skip() {
	TAP_N=$((TAP_N + 1)) TAP_SKIP=$((TAP_SKIP + 1))
	tap_emit "ok $TAP_N - $1 # SKIP $2"
}

# tap_result STATUS NAME [DETAIL]: 0 passes, anything else fails with DETAIL. STATUS comes
# first: NAME and DETAIL may hold command substitutions, which overwrite $? before it expands.
tap_result() {
	if [[ $1 == 0 ]]; then tap_ok "$2"; else tap_not_ok "$2" "${3:-}"; fi
}

# tap_check NAME CMD...: passes when CMD exits 0; its output is the detail of a failure.
tap_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then tap_ok "$name"; else tap_not_ok "$name" "$out"; fi
}

# tap_plan N: the plan up front, for a suite that knows its count; tap_end then checks it.
tap_plan() {
	TAP_PLANNED=$1
	tap_emit "1..$1"
}

tap_counts() {
	tap_emit "$TAP_PASS passed, $TAP_FAIL failed, $TAP_SKIP skipped"
}

# tap_bail WHY: a fatal error: one failure, "Bail out!" and the counts; exits 1.
tap_bail() {
	trap - ERR
	tap_not_ok "$1"
	tap_emit "Bail out! $1"
	tap_counts
	exit 1
}

# Under set -eE: any command that fails unchecked bails out, naming its line.
tap_bail_on_error() {
	trap 'tap_bail "suite aborted: line $LINENO: $BASH_COMMAND (exit $?)"' ERR
}

# tap_end: the plan (unless tap_plan gave it) and the counts; returns non-zero when anything
# failed or the plan was not met.
tap_end() {
	trap - ERR
	if ((TAP_PLANNED == 0)); then
		tap_emit "1..$TAP_N"
	elif ((TAP_N != TAP_PLANNED)); then
		tap_not_ok "planned $TAP_PLANNED tests, ran $TAP_N"
	fi
	tap_counts
	((TAP_FAIL == 0))
}
