#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the libFuzzer targets and runs each for a fixed time on a copy of its seed corpus, reporting in TAP style.
set -euo pipefail

usage() {
	echo "usage: tests/fuzz/run.sh [--seconds N] [TARGET...]   (targets: procfs codec options rules; default all)" >&2
	exit 2
}

seconds=10
only=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
	--seconds=*) seconds=${1#--seconds=}; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) only+=("$1"); shift ;;
	esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage

top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/fuzz"
# shellcheck source=tests/lib/tap.sh
source "$top/tests/lib/tap.sh"
"$top/tests/fuzz/build.sh"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

targets=(procfs codec options rules)
for t in "${targets[@]}"; do
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $t "* ]]; then
		tap_skip "fuzz $t" "not selected"
		continue
	fi
	work="$out/work/$t"
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$top/tests/fuzz/corpus/$t/." "$work/corpus/" -r
	log="$work/fuzz.log"
	rc=0
	(cd "$work" && "$out/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" corpus >"$log" 2>&1) || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	crash=$(find "$work/artifacts" -type f | head -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$crash" ] && [ -n "$execs" ]; then
		tap_ok "fuzz $t ($execs executions)"
	else
		tap_not_ok "fuzz $t" "exit status $rc; crash input: ${crash:-none written}; log: $log
$(grep -m 5 -E 'ERROR: |runtime error:|SUMMARY:' "$log")"
	fi
done
tap_end
