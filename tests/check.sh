#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs every test (what CI runs), or with --lab only the QEMU lab that shows
# the bug on stock IPVS and its absence with the variant.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: tests/check.sh [--kernels "6.1 ..."] [--lab] [--skip-unit]

Installs what it needs (Debian packages, kernel headers, linux-source,
kernel images into .cache/), builds the tool and, per kernel series, the
patched and the stock IPVS module sets, then boots each kernel under QEMU
and runs the guest scenario suite in it.

  --kernels LIST  kernel selectors to cover (default: "6.1 6.1:oldest
                  6.12+deb12 6.12+deb13 5.10 7", see kmod/kernel.sh
                  resolve). The first kernel runs every scenario case, the
                  stress test, the tool's guest suites and the keepalived
                  suite; every kernel runs the core scenario cases and the
                  kernel's own ipvs.sh
  --lab           run only the lab: stock against variant under `legacy`,
                  printed side by side
  --skip-unit     skip the userspace unit tests

Ends with one line "total: N passed, N failed, N skipped" and exits
non-zero when anything failed.
EOF
}

kernels="6.1 6.1:oldest 6.12+deb12 6.12+deb13 5.10 7"
lab=0
unit=1
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=${2:?--kernels needs a list}; shift 2 ;;
	--lab) lab=1; shift ;;
	--skip-unit) unit=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; echo "check: unknown option '$1'" >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

passed=0
failed=0
skipped=0
failures=()

step() {
	echo
	echo "=== $* ($(date +%H:%M:%S))"
}

fail_step() {
	failed=$((failed + 1))
	failures+=("$1")
	echo "FAILED: $1" >&2
}

# count_suite TITLE LOG STATUS: adds the suite's TAP results in LOG ("ok N", "ok N ... # SKIP",
# "not ok N", each maybe behind a "[ seconds] " stamp) to the totals. The step fails when LOG
# has no plan "1..N", a "Bail out!", other than N results, or when the suite exited non-zero
# without a "not ok".
count_suite() {
	local p f s plan bail
	read -r p f s plan bail < <(awk '
		{ sub(/^\[[ 0-9.]+\] /, "") }
		/^not ok [0-9]+/ { f++; next }
		/^ok [0-9]+.*# SKIP/ { s++; next }
		/^ok [0-9]+/ { p++; next }
		/^1\.\.[0-9]+$/ { plan = substr($0, 4) }
		/^Bail out!/ { bail = 1 }
		END { print p + 0, f + 0, s + 0, (plan == "" ? -1 : plan), bail + 0 }' "$2")
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ "$bail" = 1 ]; then
		fail_step "$1 bailed out (exit $3)"
	elif [ "$plan" = -1 ]; then
		fail_step "$1 ended without a TAP plan (exit $3)"
	elif [ $((p + f + s)) != "$plan" ]; then
		fail_step "$1 planned $plan results but gave $((p + f + s)) (exit $3)"
	elif [ "$3" != 0 ] && [ "$f" = 0 ]; then
		fail_step "$1 exited $3"
	fi
}

# run_logged TITLE LOG CMD...: runs a suite that prints TAP, keeps its output in LOG and
# counts it.
run_logged() {
	local title=$1 log=$2 l
	shift 2
	step "$title"
	"$@" 2>&1 | tee "$log"
	count_suite "$title" "$log" "${PIPESTATUS[0]}"
	while read -r l; do failures+=("$l"); done < <(grep -E '^not ok' "$log" | sed "s/^/$title: /")
}

# run_guest_suite TITLE ABI OUT [--ko DIR] CMD...: one boot of ABI running the guest suite
# CMD; with --ko, DIR's modules are what `modprobe ip_vs` loads in the guest.
run_guest_suite() {
	local title=$1 abi=$2 out=$3 ko=()
	shift 3
	if [ "$1" = --ko ]; then
		ko=(--ko "$2")
		shift 2
	fi
	rm -rf "$out"
	mkdir -p "$out"
	run_logged "$title on $abi (QEMU TCG)" "build/logs/$(basename "$out").log" \
		tests/vm/run.sh --abi "$abi" "${ko[@]}" --timeout 1500 --out "$out" -- "$@"
}

summary() {
	echo
	if [ ${#failures[@]} -gt 0 ]; then
		echo "failed steps or cases:"
		printf '  %s\n' "${failures[@]}"
	fi
	echo "total: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}

readonly CORE_CASES='^(case1-stock-legacy|case2|case3-variant-knob0-modern|case7)'
first=${kernels%% *}
first_abi=
dkms_abis=()
start=$(date +%s)
mkdir -p build/logs

step "dependencies"
tests/install-deps.sh || { fail_step "install-deps"; summary; exit 1; }

if [ "$lab" = 0 ]; then
	run_logged "scenario suite self-test (host)" build/logs/scenario-selftest.log tests/scenarios/selftest.sh
	run_logged "bench report arithmetic (host)" build/logs/bench-report.log tests/vm-bench/test_report.py
fi

step "userspace build"
if ! make --no-print-directory userspace >build/logs/userspace.log 2>&1; then
	tail -30 build/logs/userspace.log
	fail_step "userspace build"
fi
# The guest suite against ipvsadm needs the test-only ipvs-drain-fixture, which the unit step builds.
if [ "$unit" = 0 ] && [ "$lab" = 0 ] && ! tests/run-unit.sh --build-only >>build/logs/userspace.log 2>&1; then
	fail_step "test-only tools build"
fi

# The man page and the bash completion against the tool's --help; groff's warnings.
if [ "$lab" = 0 ]; then
	run_logged "man page and completion against --help (host)" build/logs/doc.log tests/doc/check.sh
fi

if [ "$unit" = 1 ] && [ "$lab" = 0 ]; then
	step "unit tests (ASan+UBSan)"
	tests/run-unit.sh 2>&1 | tee build/logs/unit.log
	if [ "${PIPESTATUS[0]}" != 0 ]; then
		fail_step "unit tests"
	fi
	# ctest: "100% tests passed, 0 tests failed out of 42", where the 42 include the
	# tests it then lists as "NN - Name (Skipped)" under "did not run".
	line=$(grep -E 'tests passed, [0-9]+ tests failed out of' build/logs/unit.log | tail -1)
	if [ -n "$line" ]; then
		total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
		nf=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
		ns=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' build/logs/unit.log || true)
		passed=$((passed + total - nf - ns))
		failed=$((failed + nf))
		skipped=$((skipped + ns))
	else
		fail_step "unit tests ended without ctest's summary line"
	fi
fi

# make kmod's refusals against real package states, and a build that installs nothing.
if [ "$lab" = 0 ]; then
	run_logged "make kmod refusals and the cache path (host)" build/logs/kmod-errors.log tests/kmod/errors.sh
fi

# The Debian packages: make deb and lintian here, then apt install to purge in a brand-new
# Debian root, DKMS refusing and building the newest 6.1 (tests/deb/).
if [ "$lab" = 0 ]; then
	run_logged "Debian packages (host, then a fresh root)" build/logs/deb.log tests/deb/run.sh --build
fi

if [ "$unit" = 1 ] && [ "$lab" = 0 ]; then
	step "fuzzing the parsers (libFuzzer, 10 s per target)"
	tests/fuzz/run.sh --seconds 10 2>&1 | tee build/logs/fuzz.log
	count_suite "fuzz run" build/logs/fuzz.log "${PIPESTATUS[0]}"
fi

for series in $kernels; do
	step "kernel $series"
	if ! abi=$(kmod/kernel.sh resolve "$series"); then
		fail_step "resolve kernel $series"
		continue
	fi
	echo "Debian ABI selected by $series: $abi"
	if ! kdir=$(kmod/kernel.sh headers "$abi") ||
		! tarball=$(kmod/kernel.sh source "$abi") ||
		! kmod/kernel.sh fetch "$abi" >/dev/null; then
		fail_step "fetch kernel, headers or sources of $abi"
		continue
	fi

	step "module sets for $abi"
	built=1
	for flavour in variant stock; do
		args=(--kver "$abi" --kdir "$kdir" --tarball "$tarball")
		[ "$flavour" = stock ] && args+=(--stock)
		log=build/logs/kmod-$abi-$flavour.log
		if ! kmod/build.sh "${args[@]}" >"$log" 2>&1; then
			tail -30 "$log"
			fail_step "$flavour module build for $abi"
			built=0
			break
		fi
		tail -1 "$log"
	done
	[ "$built" = 1 ] || continue

	guest=(tests/scenarios/run-all.sh)
	# Every case on the first kernel; the core cases (stock and variant under
	# legacy, knob 0 under modern, the sysctl) on the others.
	[ "$series" = "$first" ] || guest+=(--only "$CORE_CASES")
	[ "$lab" = 1 ] && guest=(tests/scenarios/run-all.sh --lab)
	run_guest_suite "scenario suite" "$abi" "build/vm/$abi" "${guest[@]}"
	echo "scenario figures of $abi on this host: $top/build/vm/$abi/figures"

	# The kernel's own IPVS selftest, from the same linux-source: stock, knob 0, knob 1.
	if [ "$lab" = 0 ]; then
		# The run on the stock modules is the reference: on the first kernel only.
		ref=()
		[ "$series" = "$first" ] || ref=(--no-reference)
		run_logged "kernel IPVS selftest on $abi (QEMU TCG)" "build/logs/selftest-$abi.log" \
			tests/selftest/run.sh "$abi" "build/vm/selftest-$abi" "${ref[@]}"
	fi

	# Full-rate port reuse under a fault loop, 60 s with the knob toggling, 30 s held at 0,
	# on the first kernel: the code under stress is one source on every kernel.
	if [ "$lab" = 0 ] && [ "$series" = "$first" ]; then
		run_logged "stress with faults on $abi (QEMU TCG)" "build/logs/stress-$abi.log" \
			tests/stress/run.sh "$abi" "build/vm/stress-$abi"
	fi

	[ "$series" = "$first" ] && first_abi=$abi
	# DKMS builds on a node for the node's own kernel, with the node's compiler.
	[ -z "$(kmod/kernel.sh tools "$abi" 2>/dev/null)" ] && dkms_abis+=("$abi")
done

# The tool's guest suites, on the first kernel, once every module set is built (swap-module
# must also refuse a set built for another kernel).
if [ "$lab" = 0 ] && [ -n "$first_abi" ]; then
	abi=$first_abi
	# The tool against ipvsadm, byte for byte.
	run_guest_suite "ipvs-drain against ipvsadm" "$abi" "build/vm/$abi-userspace" \
		tests/vm-userspace/compare.sh
	# bench --lab: the rollout in private namespaces, judged on its JSON.
	run_guest_suite "ipvs-drain bench acceptance" "$abi" "build/vm/$abi-bench" --ko "build/$abi" \
		"$top/tests/vm-bench/acceptance.sh"
	# save/restore against ipvsadm, swap-module round trips and forced failures.
	run_guest_suite "save, restore and swap-module" "$abi" "build/vm/$abi-swap" --ko "build/$abi" \
		"$top/tests/vm-swap/acceptance.sh"
	# metrics: the Prometheus text on a real table, judged by promtool (unpacked from Debian's
	# prometheus package into the cache, never installed); without it its checks are SKIPs.
	promtool=()
	if p=$(tests/vm-metrics/promtool.sh 2>build/logs/promtool.log); then
		promtool=(--promtool "$p")
	else
		tail -3 build/logs/promtool.log
		fail_step "fetch promtool (tests/vm-metrics/promtool.sh)"
	fi
	run_guest_suite "ipvs-drain metrics" "$abi" "build/vm/$abi-metrics" --ko "build/$abi" \
		"$top/tests/vm-metrics/acceptance.sh" "${promtool[@]}"
	# make install / uninstall in a guest that starts from Debian's own modules.
	run_guest_suite "make install and uninstall" "$abi" "build/vm/$abi-install" \
		"$top/tests/vm-install/acceptance.sh"
	# keepalived as the director (Debian's binary, unpacked into the cache, never installed):
	# NAT and DR, stock against the variant, side by side; swap-module under keepalived.
	if kad=$(tests/keepalived/fetch.sh 2>build/logs/keepalived-fetch.log); then
		run_guest_suite "keepalived directors" "$abi" "build/vm/$abi-keepalived" --ko "build/$abi" \
			"$top/tests/keepalived/guest.sh" --keepalived "$kad"
		echo "keepalived table of $abi on this host: $top/build/vm/$abi-keepalived/keepalived/table.txt"
	else
		cat build/logs/keepalived-fetch.log
		fail_step "fetch keepalived (tests/keepalived/fetch.sh)"
	fi
fi

# DKMS, on the host in private trees: the same set as make kmod, for every kernel built with
# this machine's own compiler (a node's DKMS builds for the node's kernel).
if [ "$lab" = 0 ] && [ ${#dkms_abis[@]} -gt 0 ]; then
	run_logged "DKMS builds" build/logs/dkms.log tests/dkms/run.sh --kernels "${dkms_abis[*]}"
fi

echo
echo "wall time: $(( $(date +%s) - start )) s"
summary
