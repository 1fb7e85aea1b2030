#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of make check-upstream: the extended ipvs.sh selftest on Linux 7.3's stock IPVS
# modules (the new case must fail) and on the modules built from patches/upstream/ (all pass).
set -euo pipefail

UPSTREAM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly UPSTREAM_DIR
# run_selftest, check_origin, unload_ipvs, finish_case, parse_args and the TAP helper come
# from the selftest suite's own guest script, so both suites run ipvs.sh the same way.
# shellcheck source-path=SCRIPTDIR source=../selftest/guest.sh
. "$UPSTREAM_DIR/../selftest/guest.sh"

usage() {
	cat <<'USAGE'
Usage: tests/upstream/guest.sh --ko DIR SHIPPED_DIR EXTENDED_DIR

Runs in a guest booted by tests/vm/run.sh --ko DIR, so that modprobe gives the series'
modules. SHIPPED_DIR holds ipvs.sh as Linux 7.3 ships it (tests/selftest/prepare.sh),
EXTENDED_DIR the same with patches/upstream/'s selftest patch applied. Cases:
  1. stock modules, ipvs.sh as shipped: passes (the reference);
  2. stock modules, extended ipvs.sh: fails, in the new case only, because the reused
     port went to the quiesced server;
  3. the series' modules: conn_reuse_quiescent is 0 in a fresh netns, takes 0..3, refuses
     4, and is writable where conn_reuse_mode is (a netns of another user namespace);
  4. the series' modules, extended ipvs.sh: passes.
Each case also fails on a module of the wrong origin, a failed rmmod, or a kernel report
in dmesg. Prints TAP and "N passed, N failed, N skipped"; exits 1 if anything failed.
USAGE
}

# The image's own IPVS modules, loaded by path: modprobe would take the series' ones from
# updates/.
load_stock() {
	load_dir "/lib/modules/$(uname -r)/kernel/net/netfilter/ipvs"
}

# Reads or writes the knob in netns $1; prints the value or the error.
knob() {
	local ns=$1 value=${2:-}
	if [[ -n $value ]]; then
		ip netns exec "$ns" sh -c "echo $value >/proc/sys/net/ipv4/vs/conn_reuse_quiescent" 2>&1
	else
		ip netns exec "$ns" cat /proc/sys/net/ipv4/vs/conn_reuse_quiescent 2>&1
	fi
}

# The sysctl as the series defines it; prints a reason and fails on the first mismatch.
check_sysctl() {
	local ns=upstreamknob got v
	ip netns add "$ns"
	got=$(knob "$ns") || true
	if [[ $got != 0 ]]; then
		log "conn_reuse_quiescent in a fresh netns is '$got', want 0"
		ip netns del "$ns"
		return 1
	fi
	for v in 1 2 3 0; do
		knob "$ns" "$v" >/dev/null || true
		got=$(knob "$ns") || true
		if [[ $got != "$v" ]]; then
			log "conn_reuse_quiescent is '$got' after writing $v"
			ip netns del "$ns"
			return 1
		fi
	done
	knob "$ns" 2 >/dev/null
	if knob "$ns" 4 >/dev/null; then
		log "conn_reuse_quiescent accepted 4"
		ip netns del "$ns"
		return 1
	fi
	got=$(knob "$ns") || true
	# The netns goes away with the knob set: its count in the static key goes with it.
	ip netns del "$ns"
	if [[ $got != 2 ]]; then
		log "conn_reuse_quiescent is '$got' after refusing 4, want 2 (the old value)"
		return 1
	fi
	log "conn_reuse_quiescent: 0 in a fresh netns, takes 0..3, refuses 4 and keeps its value"
	# Where conn_reuse_mode is writable, so is the knob: root of a user namespace of its own.
	local uns
	# shellcheck disable=SC2016 # expanded by the inner shell
	uns=$(unshare --user --map-root-user --net sh -c '
		f=/proc/sys/net/ipv4/vs
		echo 0 >$f/conn_reuse_mode && m=rw || m=ro
		echo 1 >$f/conn_reuse_quiescent && q=rw || q=ro
		echo "conn_reuse_mode=$m conn_reuse_quiescent=$q value=$(cat $f/conn_reuse_quiescent)"' 2>&1) || true
	log "netns of another user namespace: $uns"
	[[ $uns == "conn_reuse_mode=rw conn_reuse_quiescent=rw value=1" ]] || {
		log "want conn_reuse_mode=rw conn_reuse_quiescent=rw value=1"
		return 1
	}
}

# Loads KIND's modules, runs CHECK (a selftest directory, or check_sysctl), unloads, scans
# dmesg, and reports one TAP line. EXPECT is pass (exit 0) or newcase (exit 1 with the new
# case's failure and no other: the shipped cases pass on the same modules in case 1).
upstream_case() {
	local kind=$1 what=$2 expect=$3 desc=$4 problems=() status=none
	dmesg -C
	unload_ipvs >/dev/null 2>&1 || true
	if [[ $kind == stock ]]; then
		load_stock || problems+=("loading the stock modules failed")
	else
		modprobe ip_vs || problems+=("modprobe ip_vs failed")
	fi
	((${#problems[@]})) || check_origin "$kind" || problems+=("a module of the wrong origin is loaded")
	if ((${#problems[@]} == 0)); then
		if [[ $what == sysctl ]]; then
			check_sysctl || problems+=("conn_reuse_quiescent does not behave as documented")
		else
			selftest_dir=$what
			# shellcheck disable=SC1091
			. "$selftest_dir/selftest.env"
			local start=$SECONDS
			status=$(run_selftest)
			log "selftest exit status $status after $((SECONDS - start))s"
			check_origin "$kind" || problems+=("a module of the wrong origin was autoloaded")
			case $expect:$status in
			pass:0) ;;
			newcase:1)
				if grep -q '^FAIL: the reused port went to ' "$SELFTEST_LOG"; then
					log "as expected: $(grep '^FAIL: ' "$SELFTEST_LOG" | tr '\n' ' ')"
				else
					problems+=("the selftest failed, but not on the reused port")
				fi
				;;
			newcase:0) problems+=("the new case passed on the stock modules") ;;
			*) status_problem "$status" ;;
			esac
		fi
	fi
	finish_case "$desc"
}

upstream_main() {
	local dirs=()
	parse_args "$@"
	[[ -n $ko_dir && ${#dirs[@]} == 2 && $reference == 1 ]] || {
		usage >&2
		exit 2
	}
	local shipped=${dirs[0]} extended=${dirs[1]}
	local d
	for d in "$shipped" "$extended"; do
		[[ -r $d/selftest.env ]] || die "$d/selftest.env missing"
	done
	[[ -e $ko_dir/ip_vs.ko ]] || die "no ip_vs.ko in $ko_dir"
	[[ $(modinfo -F vermagic "$ko_dir/ip_vs.ko") == "$(uname -r) "* ]] ||
		die "$ko_dir/ip_vs.ko is not built for $(uname -r)"
	[[ $(modinfo -n ip_vs) == */updates/* ]] ||
		die "modprobe ip_vs would not load the series' module (boot with tests/vm/run.sh --ko)"

	echo "TAP version 13"
	tap_plan 4
	log "kernel $(uname -r); series modules: $ko_dir"
	upstream_case stock "$shipped" pass "stock 7.3 modules: ipvs.sh as 7.3 ships it passes"
	upstream_case stock "$extended" newcase \
		"stock 7.3 modules: the extended ipvs.sh fails its new case (reused port sent to the quiesced server)"
	upstream_case ours sysctl pass \
		"series modules: conn_reuse_quiescent defaults to 0, takes 0..3, refuses 4, is writable where conn_reuse_mode is"
	upstream_case ours "$extended" pass "series modules: the extended ipvs.sh passes every case"
	tap_end
}

upstream_main "$@"
