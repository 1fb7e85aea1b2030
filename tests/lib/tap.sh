# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# TAP lines and the closing "N passed, N failed, N skipped" line that tests/check.sh adds up.
# Sourced; a skip is counted apart and never as a pass.

TAP_N=0 TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0

# Writes one line; a suite may redefine it after sourcing (the scenario suite stamps times).
tap_emit() {
	echo "$*"
}

tap_ok() {
	TAP_N=$((TAP_N + 1)) TAP_PASS=$((TAP_PASS + 1))
	tap_emit "ok $TAP_N - $1"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1)) TAP_FAIL=$((TAP_FAIL + 1))
	tap_emit "not ok $TAP_N - $1"
}

# tap_skip NAME REASON
tap_skip() {
	TAP_N=$((TAP_N + 1)) TAP_SKIP=$((TAP_SKIP + 1))
	tap_emit "ok $TAP_N - $1 # SKIP $2"
}

# tap_result NAME STATUS: 0 passes, anything else fails.
tap_result() {
	if [[ $2 -eq 0 ]]; then tap_ok "$1"; else tap_not_ok "$1"; fi
}

# tap_end: the plan and the closing line; returns non-zero when anything failed.
tap_end() {
	tap_emit "1..$TAP_N"
	tap_emit "$TAP_PASS passed, $TAP_FAIL failed, $TAP_SKIP skipped"
	((TAP_FAIL == 0))
}
