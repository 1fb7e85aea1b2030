#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side: run the kernel's own IPVS selftest against the stock modules and against our module set with conn_reuse_quiescent at 0 and 1, as TAP.
set -euo pipefail

readonly SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SELF_DIR/../.." && pwd)"
# shellcheck source=tests/lib/tap.sh
source "$REPO_ROOT/tests/lib/tap.sh"
readonly KSFT_SKIP=4
readonly SELFTEST_TIMEOUT=${SELFTEST_TIMEOUT:-300}
# Seconds the selftest's client waits for its server to listen (see adapt_listen_wait).
readonly LISTEN_WAIT=${LISTEN_WAIT:-2}
readonly PARAMS=(0 1)
# The last selftest's output, for the reason of a skip.
readonly SELFTEST_LOG=/tmp/ipvs-selftest.log
# What a kernel prints when something went wrong inside it.
readonly SPLAT_RE='BUG:|WARNING:|Oops|lockdep|refcount|possible circular locking|INFO: task .* blocked'

usage() {
	cat <<'EOF'
Usage: tests/selftest/guest.sh [--ko DIR] [--no-reference] SELFTEST_DIR

Runs in a guest booted by tests/vm/run.sh (without --ko, so that modprobe gives the stock
modules). SELFTEST_DIR is what tests/selftest/prepare.sh printed. DIR holds our module
set for the running kernel (default: build/$(uname -r) of this repository).

Prints TAP: one line for the stock modules (the reference run, left out with
--no-reference), one per conn_reuse_quiescent value for ours, then "N passed, N failed,
N skipped". Exits 1 if anything failed, 2 on bad usage.
A skip is counted as a skip, never as a pass.
EOF
}

die() {
	echo "guest.sh: $*" >&2
	exit 2
}

log() {
	echo "# $*"
}

ko_dir=""
selftest_dir=""
reference=1

# load_dir DIR [IP_VS ARGS...]: loads the IPVS set in DIR (.ko, or compressed where kmod's
# insmod reads it) by path: outside dependencies through modprobe (stock), then ip_vs with
# ARGS, then every other module of the set, so that nothing autoloads from another set.
load_dir() {
	local dir=$1 ko dep
	shift
	local -A deps=()
	for ko in "$dir"/*.ko*; do
		IFS=, read -ra list <<<"$(modinfo -F depends "$ko")"
		for dep in "${list[@]}"; do
			[[ -n $dep ]] && ! compgen -G "$dir/$dep.ko*" >/dev/null && deps[$dep]=1
		done
	done
	for dep in "${!deps[@]}"; do
		modprobe "$dep" || {
			log "modprobe $dep failed"
			return 1
		}
	done
	insmod "$(compgen -G "$dir/ip_vs.ko*" | head -n 1)" "$@" || {
		log "insmod of $dir's ip_vs${*:+ $*} failed"
		return 1
	}
	for ko in "$dir"/*.ko*; do
		[[ $(basename "$ko") == ip_vs.ko* ]] && continue
		insmod "$ko" || {
			log "insmod $ko failed"
			return 1
		}
	done
}

# Our set, with the knob's initial value.
load_variant() {
	load_dir "$ko_dir" "conn_reuse_quiescent=$1"
}

loaded_ipvs_modules() {
	awk '$1 ~ /^ip_vs/ { print $1 }' /proc/modules
}

# Every loaded ip_vs* module must be one from KO_DIR (WANT=ours) or must not (WANT=stock).
# Ours are built out of tree, so the kernel taints with O on loading them; only ip_vs.ko
# carries a srcversion, which then has to match too.
check_origin() {
	local want=$1 mod taint origin have ours bad=0
	for mod in $(loaded_ipvs_modules); do
		taint=$(cat "/sys/module/$mod/taint" 2>/dev/null || true)
		origin=stock
		[[ $taint == *O* ]] && origin=ours
		if [[ $origin == ours && -r /sys/module/$mod/srcversion && -e $ko_dir/$mod.ko ]]; then
			have=$(<"/sys/module/$mod/srcversion")
			ours=$(modinfo -F srcversion "$ko_dir/$mod.ko")
			[[ $have == "$ours" ]] || origin="another out-of-tree build"
		fi
		if [[ $origin != "$want" ]]; then
			log "$mod is not the $want module: it is $origin (taint '$taint')"
			bad=1
		fi
	done
	return "$bad"
}

# A fresh netns takes its knob from the module parameter.
check_knob() {
	local want=$1 ns=knobcheck got
	ip netns add "$ns"
	got=$(ip netns exec "$ns" cat /proc/sys/net/ipv4/vs/conn_reuse_quiescent 2>&1) || true
	ip netns del "$ns"
	if [[ $got != "$want" ]]; then
		log "conn_reuse_quiescent in a fresh netns is '$got', want $want"
		return 1
	fi
	log "conn_reuse_quiescent in a fresh netns: $got"
}

# Removes every ip_vs* module, ip_vs last. Netns teardown is asynchronous, so a module
# still in use gets a few seconds before this counts as a failure.
unload_ipvs() {
	local mod
	for _ in $(seq 1 10); do
		for mod in $(loaded_ipvs_modules); do
			[[ $mod == ip_vs ]] && continue
			rmmod "$mod" 2>/dev/null || true
		done
		if [[ $(loaded_ipvs_modules) == ip_vs ]]; then
			rmmod ip_vs 2>/dev/null || true
		fi
		[[ -z $(loaded_ipvs_modules) ]] && return 0
		sleep 1
	done
	log "rmmod failed; still loaded: $(loaded_ipvs_modules | tr '\n' ' ')"
	local -a left
	mapfile -t left < <(loaded_ipvs_modules)
	rmmod "${left[@]}" 2>&1 | sed 's/^/# /' || true
	return 1
}

# The selftest starts its server in the background and connects 0.2 s later. Under TCG on
# a loaded host, starting the server through `ip netns exec` takes longer than that: the
# client's SYN then meets no listener (socat: "Connection refused"), and up to 6.1, where
# the server has no timeout, `wait` hangs for good. This happened with the stock module
# too. So the copy waits LISTEN_WAIT seconds instead; the test is otherwise unchanged.
# LISTEN_WAIT=0.2 runs it exactly as upstream ships it.
adapt_listen_wait() {
	local script=$1 count
	[[ $LISTEN_WAIT == 0.2 ]] && return 0
	count=$(awk '/^server_listen\(\)/ { f = 1 } f && /^\tsleep 0\.2$/ { n++ } f && /^}/ { f = 0 } END { print n + 0 }' "$script")
	if [[ $count != 1 ]]; then
		echo "# cannot adapt: server_listen() of $script has $count 'sleep 0.2' lines, want 1"
		return 1
	fi
	sed -i "/^server_listen()/,/^}/ s/^\tsleep 0\.2\$/\tsleep $LISTEN_WAIT/" "$script"
	echo "# note: server_listen() waits ${LISTEN_WAIT}s (upstream 0.2s) before the client connects"
}

# Runs the selftest from a private writable copy; prints its exit status.
run_selftest() {
	local work status
	work=$(mktemp -d /tmp/ipvs-selftest.XXXXXX)
	cp -a "$selftest_dir/tools" "$work/"
	local script="$work/$SELFTEST_SCRIPT"
	adapt_listen_wait "$script" >&2 || {
		rm -rf "$work"
		echo 125
		return 0
	}
	# 6.12's script sources lib.sh by a bare name, so it must run from its own directory.
	local -a st
	(cd "$(dirname "$script")" && timeout -k 5 "$SELFTEST_TIMEOUT" "./$(basename "$script")") </dev/null 2>&1 |
		tee "$SELFTEST_LOG" | sed 's/^/# | /' >&2 && st=("${PIPESTATUS[@]}") || st=("${PIPESTATUS[@]}")
	status=${st[0]}
	rm -rf "$work"
	echo "$status"
}

# after_case: unloads the set, and adds to the caller's problems array what went wrong
# there or what the kernel reported in dmesg.
after_case() {
	unload_ipvs || problems+=("rmmod failed")
	local splat
	splat=$(dmesg | grep -E "$SPLAT_RE" || true)
	if [[ -n $splat ]]; then
		problems+=("kernel report in dmesg")
		printf '%s\n' "$splat" | sed 's/^/# dmesg: /'
	fi
}

# status_problem STATUS: adds to the caller's problems what a failed selftest run's exit
# status says.
status_problem() {
	case $1 in
	124) problems+=("selftest timed out after ${SELFTEST_TIMEOUT}s") ;;
	125) problems+=("selftest could not be adapted to TCG") ;;
	*) problems+=("selftest exit status $1") ;;
	esac
}

# finish_case DESC [SKIP_REASON]: after_case, then the case's TAP line: not ok with the
# caller's problems, else skipped with SKIP_REASON when given, else ok.
finish_case() {
	after_case
	if ((${#problems[@]})); then
		tap_not_ok "$1" "$(printf '%s\n' "${problems[@]}")"
	elif [[ -n ${2:-} ]]; then
		tap_skip "$1" "$2"
	else
		tap_ok "$1"
	fi
}

# One TAP line: load (KIND=stock or PARAM for ours), check, run, unload, scan dmesg.
run_case() {
	local kind=$1 desc=$2 problems=() status start
	dmesg -C
	unload_ipvs >/dev/null 2>&1 || true
	if [[ $kind == stock ]]; then
		modprobe ip_vs || problems+=("modprobe ip_vs failed")
	else
		load_variant "$kind" || problems+=("loading our set failed")
	fi
	if ((${#problems[@]} == 0)); then
		if [[ $kind == stock ]]; then
			check_origin stock || problems+=("stock run loaded our modules")
		else
			check_origin ours || problems+=("a stock module was loaded")
			check_knob "$kind" || problems+=("knob not $kind in a fresh netns")
		fi
	fi
	status=none
	if ((${#problems[@]} == 0)); then
		start=$SECONDS
		status=$(run_selftest)
		log "selftest exit status $status after $((SECONDS - start))s"
		# ipvsadm autoloads schedulers: for ours they are all loaded already, so any
		# module that appeared must still be ours.
		if [[ $kind == stock ]]; then
			check_origin stock || problems+=("stock run loaded our modules")
		else
			check_origin ours || problems+=("a stock module was autoloaded during the selftest")
		fi
		case $status in
		0 | "$KSFT_SKIP") ;;
		*) status_problem "$status" ;;
		esac
	fi
	local skip=''
	if [[ $status == "$KSFT_SKIP" ]]; then
		skip=$(grep -i 'skip' "$SELFTEST_LOG" | tail -n 1 || true)
		skip="selftest exited with kselftest skip (4)${skip:+: $skip}"
	fi
	finish_case "$desc" "$skip"
}

# parse_args ARGS...: --ko DIR into ko_dir, --no-reference, -h; the directories into the
# caller's dirs array. tests/upstream/guest.sh parses its own arguments with it.
parse_args() {
	while (($#)); do
		case $1 in
		--ko)
			(($# >= 2)) || die "--ko needs a directory"
			ko_dir=$2
			shift 2
			;;
		--no-reference)
			reference=0
			shift
			;;
		-h | --help)
			usage
			exit 0
			;;
		-*) die "unknown option '$1'" ;;
		*)
			dirs+=("$1")
			shift
			;;
		esac
	done
}

main() {
	local dirs=()
	parse_args "$@"
	((${#dirs[@]} == 1)) || {
		usage >&2
		exit 2
	}
	selftest_dir=${dirs[0]}
	[[ -r $selftest_dir/selftest.env ]] || die "$selftest_dir/selftest.env missing: run tests/selftest/prepare.sh ABI on the host"
	# shellcheck disable=SC1091
	. "$selftest_dir/selftest.env"
	[[ -f $selftest_dir/$SELFTEST_SCRIPT ]] || die "$selftest_dir/$SELFTEST_SCRIPT missing"
	: "${ko_dir:=$REPO_ROOT/build/$(uname -r)}"
	[[ -e $ko_dir/ip_vs.ko ]] || die "no ip_vs.ko in $ko_dir"
	[[ -z $(modinfo -F intree "$ko_dir/ip_vs.ko") ]] ||
		die "$ko_dir/ip_vs.ko is marked in-tree, so its origin cannot be checked"
	[[ $(modinfo -F vermagic "$ko_dir/ip_vs.ko") == "$(uname -r) "* ]] ||
		die "$ko_dir/ip_vs.ko is not built for $(uname -r)"

	echo "TAP version 13"
	tap_plan $((reference + ${#PARAMS[@]}))
	log "kernel $(uname -r); selftest $SELFTEST_SCRIPT from $SELFTEST_SOURCE"
	log "our module set: $ko_dir"
	((reference == 0)) || run_case stock "kernel ipvs selftest, stock modules (reference)"
	local p
	for p in "${PARAMS[@]}"; do
		run_case "$p" "kernel ipvs selftest, conn_reuse_quiescent=$p"
	done
	tap_end
}

# tests/upstream/guest.sh sources this file for its functions.
[[ ${BASH_SOURCE[0]} != "$0" ]] || main "$@"
