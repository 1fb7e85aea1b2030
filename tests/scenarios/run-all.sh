#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the scenario tests (cases 1-13) in one guest boot and reports them TAP-like.
#
# Usage (inside the guest, as root):  tests/scenarios/run-all.sh [--only REGEX] [--lab] [--list]
# From the host:  tests/vm/run.sh --abi "$(kmod/kernel.sh resolve 6.1)" -- \
#                     tests/scenarios/run-all.sh
#
# Scenario runs are data and cases are judges: the runs the selected cases need are made
# first, grouped by module set so that each set is loaded once, then every case judges the
# figures ($IPVS_VM_OUT/figures/RUN.json). A run whose module set is not built is skipped,
# and so is every case that needs it; a skip is counted and shown, never a pass.
# Exit status: 0 when nothing failed, 1 otherwise (skips do not fail the run).
set -euo pipefail

# shellcheck source=tests/scenarios/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------------------
# Runs: label -> "SET|IP_VS PARAMS|CONFIG|KNOB|PERSIST|TOPO|PLAN" (PERSIST: the service's
# -p timeout, "/1" appended for expire_quiescent_template=1, else 0, see persist_split;
# TOPO: bench's --topology, nat by default; PLAN: bench's --plan, see scenario in lib.sh).
# Runs that share a set and its parameters are made one after the other, without reloading
# the modules.
declare -A RUNS=(
	[stock-legacy]="stock||legacy|-|"
	[stock-modern]="stock||modern|-|"
	[stock-persist]="stock||legacy|-|60"
	[stock-persist-eqt1]="stock||legacy|-|60/1"
	[stock-lastdest]="stock||legacy|-|||lastdest"
	[stock-legacy-ct0]="stock||legacy-ct0|-|"
	[stock-upstream]="stock||upstream|-|"
	[plain-legacy]="plain||legacy|-|"
	[variant-knob0-legacy]="variant||legacy|0|"
	[variant-knob0-modern]="variant||modern|0|"
	[variant-legacy]="variant|conn_reuse_quiescent=1|legacy|1|"
	[variant-knob1-modern]="variant|conn_reuse_quiescent=1|modern|1|"
	[variant-persist]="variant|conn_reuse_quiescent=1|legacy|1|60"
	[variant-persist-eqt1]="variant|conn_reuse_quiescent=1|legacy|1|60/1"
	[variant-lastdest]="variant|conn_reuse_quiescent=1|legacy|1|||lastdest"
	[variant-legacy-ct0]="variant|conn_reuse_quiescent=1|legacy-ct0|1|"
	[dr-stock-legacy]="stock||legacy|-||dr"
	[dr-variant-knob1-ct0]="variant|conn_reuse_quiescent=1|legacy-ct0|1||dr"
	[dr-variant-knob2-ct0]="variant|conn_reuse_quiescent=1|legacy-ct0|2||dr"
	[dr-variant-knob3-legacy]="variant|conn_reuse_quiescent=1|legacy|3||dr"
	[v6-stock-legacy]="stock||legacy|-||nat6"
	[v6-variant-legacy]="variant|conn_reuse_quiescent=1|legacy|1||nat6"
)
readonly RUN_ORDER=(stock-legacy stock-modern stock-persist stock-persist-eqt1 stock-lastdest
	stock-legacy-ct0 stock-upstream dr-stock-legacy v6-stock-legacy plain-legacy
	variant-knob0-legacy variant-knob0-modern variant-legacy variant-knob1-modern
	variant-persist variant-persist-eqt1 variant-lastdest variant-legacy-ct0
	dr-variant-knob1-ct0 dr-variant-knob2-ct0 dr-variant-knob3-legacy v6-variant-legacy)

# Cases: name -> runs it judges. The sysctl case (7) and the splat checks (8) are made
# by their own functions.
readonly CASE_ORDER=(
	case1-stock-legacy-bug-reproduces
	case1-plain-legacy-bug-reproduces
	case2-variant-knob1-legacy-fixed
	case3-variant-knob0-legacy-same-as-stock
	case3-variant-knob0-modern-same-as-stock
	case4-variant-knob1-modern-no-worse-than-stock
	case5-persistence-eqt0-stays-like-stock
	case5-persistence-eqt1-leaves-quiescent-pod
	case6-conntrack0-stock-legacy-bug-reproduces
	case6-conntrack0-variant-knob1-fixed
	case7-sysctl
	case9-upstream-remedy-no-errors
	case10-dr-stock-legacy-bug-reproduces
	case10-dr-variant-knob1-leaves-fin-wait-alone
	case10-dr-variant-knob2-fixed
	case11-dr-conntrack-drop-path
	case12-ipv6-stock-legacy-bug-reproduces
	case12-ipv6-variant-knob1-fixed
	case13-all-weight0-reused-port-served-like-stock
	case13-all-removed-reused-port-refused-not-stalled
)
declare -A CASE_RUNS=(
	[case1-stock-legacy-bug-reproduces]="stock-legacy"
	[case1-plain-legacy-bug-reproduces]="plain-legacy"
	[case2-variant-knob1-legacy-fixed]="variant-legacy"
	[case3-variant-knob0-legacy-same-as-stock]="variant-knob0-legacy stock-legacy"
	[case3-variant-knob0-modern-same-as-stock]="variant-knob0-modern stock-modern"
	[case4-variant-knob1-modern-no-worse-than-stock]="variant-knob1-modern stock-modern"
	[case5-persistence-eqt0-stays-like-stock]="variant-persist stock-persist"
	[case5-persistence-eqt1-leaves-quiescent-pod]="variant-persist-eqt1 stock-persist-eqt1"
	[case6-conntrack0-stock-legacy-bug-reproduces]="stock-legacy-ct0"
	[case6-conntrack0-variant-knob1-fixed]="variant-legacy-ct0"
	[case7-sysctl]=""
	[case9-upstream-remedy-no-errors]="stock-upstream"
	[case10-dr-stock-legacy-bug-reproduces]="dr-stock-legacy"
	[case10-dr-variant-knob1-leaves-fin-wait-alone]="dr-variant-knob1-ct0"
	[case10-dr-variant-knob2-fixed]="dr-variant-knob2-ct0"
	[case11-dr-conntrack-drop-path]="dr-variant-knob3-legacy"
	[case12-ipv6-stock-legacy-bug-reproduces]="v6-stock-legacy"
	[case12-ipv6-variant-knob1-fixed]="v6-variant-legacy"
	[case13-all-weight0-reused-port-served-like-stock]="variant-lastdest stock-lastdest"
	[case13-all-removed-reused-port-refused-not-stalled]="variant-lastdest stock-lastdest"
)

declare -A RUN_STATE=() # label -> done | skip:REASON | fail:REASON
LOADED=                 # "SET|PARAMS" currently loaded

usage() {
	sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

# ensure_loaded SET PARAMS: the set with those ip_vs parameters, loaded once. Not to be
# called in a subshell (it keeps LOADED); on failure WHY says why.
# MISSING=1 when the set is not built (a skip); anything else is a failure.
WHY= MISSING=0
ensure_loaded() {
	local key="$1|$2"
	WHY= MISSING=0
	[[ $LOADED == "$key" ]] && return 0
	WHY=$(ipvs_set_missing "$1")
	[[ -z $WHY ]] || { MISSING=1; return 1; }
	if ! ipvs_unload; then
		WHY="rmmod of the previous set failed"
		return 1
	fi
	LOADED=
	# shellcheck disable=SC2086 # PARAMS is a list of words
	if ! ipvs_load "$1" $2; then
		WHY="loading the $1 set failed"
		return 1
	fi
	LOADED=$key
}

# dmesg after a run or case: every check is its own case-8 assertion.
check_splats() {
	if dmesg_splats; then
		tap_ok "case8 no kernel splats: $1"
	else
		tap_not_ok "case8 no kernel splats: $1"
	fi
}

do_run() {
	local label=$1 set params config knob persist topo plan rc
	IFS='|' read -r set params config knob persist topo plan <<<"${RUNS[$label]}"
	if ! ensure_loaded "$set" "$params"; then
		if ((MISSING)); then
			RUN_STATE[$label]="skip:$WHY"
		else
			RUN_STATE[$label]="fail:$WHY"
		fi
		note "run $label not made: $WHY"
		return 0
	fi
	NS_SEQ=$((NS_SEQ + 1))
	local t0=$SECONDS
	set +e
	scenario "$label" "$set" "$config" "$knob" "$persist" "${topo:-nat}" "$plan"
	rc=$?
	set -e
	note "run $label took $((SECONDS - t0)) s"
	if [[ $rc -eq 0 && -f $FIG_DIR/$label.json ]]; then
		RUN_STATE[$label]="done"
	elif [[ $rc -eq 3 ]]; then
		RUN_STATE[$label]="skip:ipvs-drain bench skipped it: $BENCH_WHY"
	else
		RUN_STATE[$label]="fail:the run itself broke (status $rc)${BENCH_WHY:+: $BENCH_WHY}"
	fi
	check_splats "run $label"
}

# case_verdicts CASE RUN...: prints the verdicts ("KIND RUN [RUN]") that decide CASE, one
# per line; fails when no pattern covers CASE, so that a new case can never pass unjudged.
case_verdicts() {
	local case=$1 v=()
	shift
	local runs=("$@")
	case $case in
	case1-*-bug-reproduces | case6-*-bug-reproduces | case1[02]-*-bug-reproduces) v=("bug ${runs[0]}") ;;
	case2-* | case6-*-fixed | case1[02]-*-fixed) v=("fixed ${runs[0]}") ;;
	# Bit 0 covers the states a NAT director sees; FIN_WAIT with direct routing is bit 1's.
	case10-*-leaves-fin-wait-alone) v=("bug ${runs[0]}" "no-resched ${runs[0]}") ;;
	# conntrack=1: the old conntrack entry is confirmed, so the SYN is dropped once and the
	# client's retransmit is scheduled afresh.
	case11-*) v=("dropped ${runs[0]}") ;;
	case3-*) v=("same ${runs[0]} ${runs[1]}" "no-resched ${runs[0]}") ;;
	case4-*) v=("no-worse ${runs[0]} ${runs[1]}" "no-resched ${runs[0]}") ;;
	# The stock run must show the template sending the port to A, or the variant's
	# result would prove nothing. At expire_quiescent_template=0 the variant keeps the
	# template's choice, as stock does; at 1 it follows the scheduler and moves the port.
	case5-*-eqt0-stays-like-stock) v=("bug ${runs[1]}" "same ${runs[0]} ${runs[1]}" "no-resched ${runs[0]}") ;;
	case5-*-eqt1-leaves-quiescent-pod) v=("bug ${runs[1]}" "fixed ${runs[0]}") ;;
	# Never worse than stock, with no other destination: a quiesced A still serves the
	# reused ports (stock's answer); once A is gone and deleted, stock's SYNs wait for
	# nothing and the variant's rescheduling gets an immediate refusal.
	case13-all-weight0-*) v=("kept ${runs[1]}" "kept ${runs[0]}") ;;
	case13-all-removed-*) v=("stalled ${runs[1]}" "refused ${runs[0]}") ;;
	case9-*) v=("remedy ${runs[0]}") ;;
	*) return 1 ;;
	esac
	printf '%s\n' "${v[@]}"
}

# judge CASE: the case's verdict from its runs' figures.
judge() {
	local case=$1 runs r state
	read -r -a runs <<<"${CASE_RUNS[$case]-}"
	for r in "${runs[@]}"; do
		state=${RUN_STATE[$r]:-skip:run $r was not made}
		case $state in
		skip:*) tap_skip "$case" "${state#skip:}"; return 0 ;;
		fail:*) note "$r: ${state#fail:}"; tap_not_ok "$case"; return 0 ;;
		esac
	done
	local fig=$FIG_DIR specs=() status=0
	mapfile -t specs < <(case_verdicts "$case" "${runs[@]}" 2>/dev/null)
	if ((${#specs[@]} == 0)); then
		note "$case: no verdict covers this case name; add one to case_verdicts"
		tap_not_ok "$case"
		return 0
	fi
	local kind a b
	for spec in "${specs[@]}"; do
		read -r kind a b <<<"$spec"
		"$PY" -S "$SCN_DIR/figures.py" judge "$kind" "$fig/$a.json" ${b:+"$fig/$b.json"} || status=1
	done
	tap_result "$status" "$case"
}

# ---------------------------------------------------------------------------------------
# Case 7: the sysctl and the counters file, in throwaway namespaces.

readonly KNOB=/proc/sys/net/ipv4/vs/conn_reuse_quiescent
readonly STATS=/proc/net/ip_vs_reuse_stats

# try_write NS FILE VALUE: "ok" or the errno name of the failed write.
try_write() {
	ns_exec "$1" "$PY" -S -c '
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.write(fd, sys.argv[2].encode())
    finally:
        os.close(fd)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))' "$2" "$3"
}

knob_of() { ns_exec "$1" cat "$KNOB" 2>/dev/null || echo missing; }

sysctl_ns() {
	NS_SEQ=$((NS_SEQ + 1))
	local ns=scn$$x${NS_SEQ}-$1
	run guest ip netns add "$ns" >&2
	echo "$ns"
}

case7() {
	local n1 n2 n3 v got status
	if ! ensure_loaded variant ""; then
		for t in default-0 invalid-writes-rejected independent-per-netns counters-read-only netns-in-user-namespace module-parameter; do
			if ((MISSING)); then tap_skip "case7-sysctl $t" "$WHY"; else tap_not_ok "case7-sysctl $t"; fi
		done
		note "$WHY"
		return 0
	fi
	n1=$(sysctl_ns k1)
	n2=$(sysctl_ns k2)

	got=$(knob_of "$n1")
	note "knob in a new netns after loading without parameter: $got"
	tap_result "$([[ $got == 0 ]]; echo $?)" "case7-sysctl default-0"

	status=0
	run "$n1" sysctl -qw net.ipv4.vs.conn_reuse_quiescent=1 || status=1
	for v in 4 -1 abc 2147483648; do
		got=$(try_write "$n1" "$KNOB" "$v")
		note "write '$v' -> $got, value now $(knob_of "$n1")"
		[[ $got == EINVAL && $(knob_of "$n1") == 1 ]] || status=1
	done
	for v in 0 1 2 3; do
		got=$(try_write "$n1" "$KNOB" "$v")
		[[ $got == ok && $(knob_of "$n1") == "$v" ]] || { note "write '$v' -> $got"; status=1; }
	done
	tap_result "$status" "case7-sysctl invalid-writes-rejected"

	status=0
	run "$n1" sysctl -qw net.ipv4.vs.conn_reuse_quiescent=1
	run "$n2" sysctl -qw net.ipv4.vs.conn_reuse_quiescent=2
	note "knob: $n1=$(knob_of "$n1") $n2=$(knob_of "$n2") guest=$(knob_of guest)"
	[[ $(knob_of "$n1") == 1 && $(knob_of "$n2") == 2 && $(knob_of guest) == 0 ]] || status=1
	tap_result "$status" "case7-sysctl independent-per-netns"

	status=0
	local mode content
	mode=$(ns_exec "$n1" stat -c %a "$STATS" 2>/dev/null || echo missing)
	content=$(ns_exec "$n1" cat "$STATS" 2>/dev/null || true)
	got=$(try_write "$n1" "$STATS" "rescheduled 5")
	note "$STATS: mode $mode, write -> $got, content: $(echo "$content" | tr '\n' ';')"
	[[ $mode == 444 && $got != ok ]] || status=1
	grep -qx 'rescheduled [0-9]*' <<<"$content" || status=1
	grep -qx 'dropped_old_conntrack [0-9]*' <<<"$content" || status=1
	[[ $(ns_exec "$n1" cat "$STATS" 2>/dev/null) == "$content" ]] || status=1
	tap_result "$status" "case7-sysctl counters-read-only"

	# A netns owned by a user namespace other than init's (rootless
	# containers): creating it must still work, and the knob is there
	# exactly when the kernel's own IPVS sysctls are (5.10 and 6.1 hide
	# them all, later kernels show them), writable by that netns's root
	# and its own.
	if ! unshare --user --map-root-user true 2>/dev/null; then
		# unshare(CLONE_NEWUSER) is refused with EPERM inside a chroot.
		tap_skip "case7-sysctl netns-in-user-namespace" \
			"this guest cannot create user namespaces (the command runs in a chroot)"
	else
		status=0
		got=$(unshare --user --map-root-user --net sh -c '
			stock=hidden ours=hidden
			[ -e /proc/sys/net/ipv4/vs/conn_reuse_mode ] && stock=shown
			if [ -e '"$KNOB"' ]; then
				ours=unwritable
				echo 3 >'"$KNOB"' && ours=$(cat '"$KNOB"')
			fi
			echo "$stock $ours"' 2>&1) || status=1
		note "in a netns of a new user namespace, IPVS sysctls / our knob after writing 3: $got"
		[[ ($got == "hidden hidden" || $got == "shown 3") && $(knob_of guest) == 0 ]] || status=1
		tap_result "$status" "case7-sysctl netns-in-user-namespace"
	fi

	run guest ip netns del "$n1"
	run guest ip netns del "$n2"

	if ensure_loaded variant conn_reuse_quiescent=2; then
		n3=$(sysctl_ns k3)
		got=$(knob_of "$n3")
		note "knob in a netns created after insmod conn_reuse_quiescent=2: $got"
		tap_result "$([[ $got == 2 ]]; echo $?)" "case7-sysctl module-parameter"
		run guest ip netns del "$n3"
	else
		tap_not_ok "case7-sysctl module-parameter"
		note "$WHY"
	fi
	check_splats "case7-sysctl"
}

# ---------------------------------------------------------------------------------------

# The lab's answer at a glance: stock, the variant and upstream's remedy side by side.
lab_table() {
	local args=() spec title label
	for spec in "stock IPVS, legacy:stock-legacy" "variant, knob 1:variant-legacy" \
		"upstream remedy:stock-upstream"; do
		title=${spec%%:*} label=${spec#*:}
		[[ -f $FIG_DIR/$label.json ]] && args+=("$title" "$FIG_DIR/$label.json")
	done
	((${#args[@]})) || return 0
	say ""
	say "Kernel $ABI under QEMU TCG; $PORTS_PER_SET reused source ports per phase."
	say "legacy = conntrack=1 conn_reuse_mode=0 expire_nodest_conn=0 (the affected kernels' decision);"
	say "upstream remedy = legacy with expire_nodest_conn=1 on a kernel that has c95c07836fa4."
	"$PY" -S "$SCN_DIR/table.py" "${args[@]}"
}

main() {
	local only=. list=0 lab=0 case r needed=()
	while [[ $# -gt 0 ]]; do
		case $1 in
		--only) only=${2:?--only needs a regex}; shift 2 ;;
		--list) list=1; shift ;;
		--lab) lab=1; only='^(case1-stock-legacy|case2|case9)'; shift ;;
		-h | --help) usage ;;
		*) echo "run-all.sh: unknown argument $1" >&2; usage ;;
		esac
	done
	local selected=()
	for case in "${CASE_ORDER[@]}"; do
		[[ $case =~ $only ]] && selected+=("$case")
	done
	if ((list)); then
		printf '%s\n' "${selected[@]}"
		exit 0
	fi
	[[ $(id -u) -eq 0 ]] || { echo "run-all.sh: must run as root (in the test guest)" >&2; exit 1; }
	for tool in ip modprobe insmod rmmod modinfo "$PY" "$BENCH_BIN"; do
		command -v "$tool" >/dev/null || tap_bail "$tool is missing"
	done
	trap cleanup EXIT
	local t0=$SECONDS
	note "kernel $ABI, ports per set $PORTS_PER_SET, client threads $CLIENT_THREADS, connect timeout ${CONNECT_TIMEOUT}s"
	note "cases: ${selected[*]}"
	dmesg_mark

	# The runs the selected cases need, in RUN_ORDER so that each module set loads once.
	local want=" "
	for case in "${selected[@]}"; do want+="${CASE_RUNS[$case]} "; done
	for r in "${RUN_ORDER[@]}"; do
		[[ $want == *" $r "* ]] && needed+=("$r")
	done
	for r in "${needed[@]}"; do
		do_run "$r"
	done
	for case in "${selected[@]}"; do
		if [[ $case == case7-sysctl ]]; then
			case7
		else
			judge "$case"
		fi
	done

	# The last word on the module set: it must come out cleanly, and say nothing on the way.
	if [[ -d /sys/module/ip_vs ]]; then
		if ipvs_unload; then
			tap_ok "case8 rmmod of the whole ${LOADED%%|*} set"
		else
			tap_not_ok "case8 rmmod of the whole ${LOADED%%|*} set"
		fi
		LOADED=
	fi
	check_splats "after the final rmmod"

	if ((lab)); then
		lab_table
	fi
	note "wall time $((SECONDS - t0)) s; figures in $FIG_DIR (in the guest: figures/ of run.sh's --out directory on the host)"
	tap_end
}

# Sourced by the host-side self-test, which calls the functions without a guest.
[[ ${BASH_SOURCE[0]} != "$0" ]] || main "$@"
