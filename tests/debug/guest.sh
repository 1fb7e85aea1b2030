#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of make check-debug, on the debug kernel: the scenario suite, the stress test,
# then a kmemleak scan. Every part's splat checks apply (KASAN, lockdep and atomic-sleep
# reports all carry "BUG:" or "WARNING:"); this adds the leak check and one summary line.
#   tests/debug/guest.sh --hammer PATH [--only REGEX] [--seconds N]
set -uo pipefail

readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly KMEMLEAK=/sys/kernel/debug/kmemleak
hammer= only=. secs=60
while [[ $# -gt 0 ]]; do
	case $1 in
	--hammer) hammer=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	--seconds) secs=${2:?}; shift 2 ;;
	*) echo "debug/guest.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

passed=0 failed=0 skipped=0
count() {
	local line
	line=$(grep -E '^(\[[ 0-9.]+\] )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [[ -z $line ]]; then
		echo "not ok - $2 ended without a result line"
		failed=$((failed + 1))
		return
	fi
	line=${line#*] }
	read -r p _ f _ s _ <<<"${line//,/}"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

# A run on a kernel without the checkers would prove nothing: their boot banners must be there.
checkers=()
dmesg | grep -q 'KernelAddressSanitizer initialized' && checkers+=(KASAN)
dmesg | grep -q 'Lock dependency validator' && checkers+=(lockdep)
[[ -e $KMEMLEAK ]] && checkers+=(kmemleak)
echo "# kernel $(uname -r), checkers: ${checkers[*]:-none}"
if [[ ${#checkers[@]} -eq 3 ]]; then
	echo "ok - the kernel runs KASAN, lockdep and kmemleak"
	passed=$((passed + 1))
else
	echo "not ok - the kernel runs KASAN, lockdep and kmemleak (found: ${checkers[*]:-none})"
	failed=$((failed + 1))
fi
[[ -w $KMEMLEAK ]] && echo clear >"$KMEMLEAK"

# At the default 25 client threads and 3 s connect timeout, the instrumented kernel under TCG
# drops warm-phase SYNs until connects time out and the phases find too few entries to hit.
SCN_THREADS=${SCN_THREADS:-5} SCN_CONNECT_TIMEOUT=${SCN_CONNECT_TIMEOUT:-10} \
	"$HERE/../scenarios/run-all.sh" --only "$only" 2>&1 | tee /tmp/debug-scenarios.log
count /tmp/debug-scenarios.log "scenario suite"
"$HERE/../stress/guest.sh" --hammer "$hammer" --seconds "$secs" --knob0-seconds 30 2>&1 | tee /tmp/debug-stress.log
count /tmp/debug-stress.log "stress"

# Objects unreferenced for a while are only reported by a scan after that; two scans, as
# the kmemleak documentation advises, so that young objects are not taken for leaks.
if [[ -w $KMEMLEAK ]]; then
	echo scan >"$KMEMLEAK"
	sleep 6
	echo scan >"$KMEMLEAK"
	leaks=$(grep -c '^unreferenced object' "$KMEMLEAK" || true)
	cp "$KMEMLEAK" "${IPVS_VM_OUT:-/tmp}/kmemleak.txt" 2>/dev/null || true
	if [[ $leaks -eq 0 ]]; then
		echo "ok - kmemleak: no unreferenced objects"
		passed=$((passed + 1))
	else
		echo "not ok - kmemleak: $leaks unreferenced objects (kmemleak.txt in the output directory)"
		grep -A12 '^unreferenced object' "$KMEMLEAK" | head -60 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
else
	echo "not ok - kmemleak: $KMEMLEAK is missing (is this the debug kernel?)"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
