#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of the stress test: the variant set under full-rate reuse of a small source-port
# set while a fault loop reprograms everything around it. Two runs, in the scenario topology
# (tests/scenarios/lib.sh) with both pods in the service:
#   faults  drains (a pod to weight 0, the other to 1, under legacy settings), weight flips,
#           dest and service delete/re-add, knob and conn_reuse_mode and
#           expire_nodest_conn changes, pods destroyed and re-created;
#   knob0   the same faults except the knob, which stays 0 from start to end.
# Asserts: the client got through, the counters never decreased, knob0 ends with
# rescheduled == 0, no kernel splat, and the whole set unloads afterwards.
#
# Usage (in the guest, as root): tests/stress/guest.sh [--seconds N] [--knob0-seconds N] --hammer PATH
# Prints TAP lines and "N passed, N failed, N skipped"; exits 1 if anything failed.
set -euo pipefail

# shellcheck source=tests/scenarios/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scenarios/lib.sh"

FAULT_SECONDS=60 KNOB0_SECONDS=30 HAMMER=
while [[ $# -gt 0 ]]; do
	case $1 in
	--seconds) FAULT_SECONDS=${2:?}; shift 2 ;;
	--knob0-seconds) KNOB0_SECONDS=${2:?}; shift 2 ;;
	--hammer) HAMMER=${2:?}; shift 2 ;;
	*) echo "stress/guest.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ -x $HAMMER ]] || { echo "stress/guest.sh: --hammer wants the built client (build/stress/hammer)" >&2; exit 2; }
readonly STRESS_PORTS=30000-30099 STRESS_THREADS=4
readonly STATS_FILE=/proc/net/ip_vs_reuse_stats

declare -A FAULTS=()
PARKED= DRAIN_KNOB=
STATS_LAST="0 0" STATS_DECREASED=0

# The counters, as "rescheduled dropped"; a decrease anywhere is remembered.
stats_check() {
	local now r d lr ld
	local key val
	r=0 d=0
	# Through a process parked in the director netns: no fork per sample.
	while read -r key val; do
		case $key in
		rescheduled) r=$val ;;
		dropped_old_conntrack) d=$val ;;
		esac
	done <"/proc/$PARKED/net/${STATS_FILE##*/}"
	now="$r $d"
	read -r lr ld <<<"$STATS_LAST"
	if ((r < lr || d < ld)); then
		STATS_DECREASED=1
		note "counters decreased: $STATS_LAST -> $now"
	fi
	STATS_LAST=$now
}

svc_rules() {
	echo "-A -t $VIP_SVC -s rr"
	echo "-a -t $VIP_SVC -r $POD_A_SVC -m -w 1"
	echo "-a -t $VIP_SVC -r $POD_B_SVC -m -w 1"
}

# One fault; its name is counted when the kernel accepted it.
fault() {
	local kind=$1 pod dest ns port
	if ((RANDOM % 2)); then
		pod=A dest=$POD_A_SVC ns=$NS_A port=va
	else
		pod=B dest=$POD_B_SVC ns=$NS_B port=vb
	fi
	case $kind in
	weight) ns_exec "$NS_DIR" ipvsadm -e -t "$VIP_SVC" -r "$dest" -m -w $((RANDOM % 2)) ;;
	dest)
		ns_exec "$NS_DIR" ipvsadm -d -t "$VIP_SVC" -r "$dest" &&
			ns_exec "$NS_DIR" ipvsadm -a -t "$VIP_SVC" -r "$dest" -m -w 1
		;;
	service)
		ns_exec "$NS_DIR" ipvsadm -D -t "$VIP_SVC" && ns_exec "$NS_DIR" ipvsadm -R < <(svc_rules)
		;;
	knob) ns_sysctl "$NS_DIR" "net.ipv4.vs.conn_reuse_quiescent=$((RANDOM % 4))" ;;
	# A rollout step: the settings under which the variant's path decides (legacy, and the
	# knob on unless it is held at 0), then one pod drained and the other serving.
	drain)
		local other=$POD_B_SVC
		[[ $pod == B ]] && other=$POD_A_SVC
		ns_sysctl "$NS_DIR" net.ipv4.vs.conn_reuse_mode=0 \
			${DRAIN_KNOB:+net.ipv4.vs.conn_reuse_quiescent=$DRAIN_KNOB} &&
			ns_exec "$NS_DIR" ipvsadm -e -t "$VIP_SVC" -r "$other" -m -w 1 &&
			ns_exec "$NS_DIR" ipvsadm -e -t "$VIP_SVC" -r "$dest" -m -w 0
		;;
	reuse-mode) ns_sysctl "$NS_DIR" "net.ipv4.vs.conn_reuse_mode=$((RANDOM % 2))" ;;
	nodest) ns_sysctl "$NS_DIR" "net.ipv4.vs.expire_nodest_conn=$((RANDOM % 2))" ;;
	pod)
		pod_destroy "$pod" "$ns" "$port" && rm -f "$WORK/$ns.ready" &&
			pod_net "$pod" "${dest%:*}" "$ns" "$port" && pod_start "$pod" "${dest%:*}" "$ns" &&
			pod_wait "$pod" "$ns"
		;;
	esac || return 0
	FAULTS[$kind]=$((${FAULTS[$kind]:-0} + 1))
}

# stress LABEL SECONDS KNOB_MODE: KNOB_MODE "toggle" includes knob changes, "0" holds it at 0.
stress() {
	local label=$1 secs=$2 mode=$3 kinds start hammer_pid total k status
	RUN_DIR=$WORK/$label
	mkdir -p "$RUN_DIR"
	NS_SEQ=$((NS_SEQ + 1))
	FAULTS=() STATS_LAST="0 0" STATS_DECREASED=0
	kinds=(drain drain weight weight weight dest dest service reuse-mode nodest pod)
	DRAIN_KNOB=
	if [[ $mode == toggle ]]; then
		kinds+=(knob knob)
		DRAIN_KNOB=1
		topo_up legacy 1 >"$RUN_DIR/setup.log"
	else
		topo_up legacy 0 >"$RUN_DIR/setup.log"
	fi
	ns_exec "$NS_DIR" ipvsadm -a -t "$VIP_SVC" -r "$POD_B_SVC" -m -w 1
	# ns_spawn, so that $! is the process in the director netns, not a subshell.
	ns_spawn "$NS_DIR" sleep infinity
	PARKED=$!
	local want tries
	want=$(stat -L -c %i "/run/netns/$NS_DIR")
	for tries in $(seq 1 100); do
		[[ $(stat -L -c %i "/proc/$PARKED/ns/net" 2>/dev/null) == "$want" ]] && break
		sleep 0.05
	done
	[[ $(stat -L -c %i "/proc/$PARKED/ns/net" 2>/dev/null) == "$want" ]] || {
		note "$label: the counter reader never entered the director netns"
		return 1
	}
	stats_check
	local base=$STATS_LAST
	note "$label: hammering $VIP_SVC from ports $STRESS_PORTS with $STRESS_THREADS threads for ${secs}s under faults"
	# The client runs niced: at full rate it would otherwise starve the fault loop, whose
	# every step is a process start, of both guest CPUs.
	ns_exec "$NS_CLI" nice -n 10 "$HAMMER" --src "$CLIENT_IP" --dst "$VIP" --dport "$VPORT" --ports "$STRESS_PORTS" \
		--threads "$STRESS_THREADS" --seconds "$secs" --timeout-ms 1000 >"$RUN_DIR/hammer.json" &
	hammer_pid=$!
	start=$SECONDS
	local next=$((start + 10))
	# The first fault is a drain, so that every run reaches the variant's path (or, with
	# the knob held at 0, the place where it would act).
	local kind=drain
	while ((SECONDS - start < secs)); do
		fault "$kind" >>"${STRESS_FAULT_LOG:-$RUN_DIR/faults.log}" 2>&1
		kind=${kinds[RANDOM % ${#kinds[@]}]}
		stats_check
		if ((SECONDS >= next)); then
			total=0
			for k in "${!FAULTS[@]}"; do total=$((total + FAULTS[$k])); done
			note "$label: $((SECONDS - start))s, $total faults, counters $STATS_LAST"
			next=$((next + 10))
		fi
	done
	wait "$hammer_pid" || true
	stats_check
	total=0
	for k in "${!FAULTS[@]}"; do total=$((total + FAULTS[$k])); done
	note "$label: client $(cat "$RUN_DIR/hammer.json")"
	note "$label: $total faults: $(for k in "${!FAULTS[@]}"; do printf '%s=%s ' "$k" "${FAULTS[$k]}"; done)"
	note "$label: counters from $base to $STATS_LAST"
	echo "{\"label\": \"$label\", \"seconds\": $secs, \"faults\": $total, \"client\": $(cat "$RUN_DIR/hammer.json")}" \
		>"$OUT_DIR/stress-$label.json"

	status=0
	"$PY" -S -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(0 if c["ok"] > 0 and c["attempts"] > 0 else 1)' \
		"$RUN_DIR/hammer.json" || status=1
	tap_result "$status" "stress $label: the client connected through the faults"
	tap_result "$([[ $total -gt 0 ]]; echo $?)" "stress $label: $total faults applied"
	tap_result "$STATS_DECREASED" "stress $label: counters never decreased"
	local r d br bd
	read -r r d <<<"$STATS_LAST"
	read -r br bd <<<"$base"
	if [[ $mode == toggle ]]; then
		tap_result "$([[ $((r - br + d - bd)) -gt 0 ]]; echo $?)" \
			"stress $label: the variant's path ran under the faults (rescheduled $((r - br)), dropped $((d - bd)))"
	else
		tap_result "$([[ $r -eq 0 && $d -eq 0 ]]; echo $?)" \
			"stress $label: knob held at 0 ends with rescheduled == 0 (got $r, dropped $d)"
	fi
	# Every service goes, so every dest goes to the trash; the netns teardown must free them.
	ns_exec "$NS_DIR" ipvsadm -C
	kill "$PARKED" 2>/dev/null || true
	wait "$PARKED" 2>/dev/null || true
	topo_down >/dev/null
	if dmesg_splats; then
		tap_ok "stress $label: no kernel splats"
	else
		tap_not_ok "stress $label: no kernel splats"
	fi
}

main() {
	[[ $(id -u) -eq 0 ]] || { echo "stress/guest.sh: must run as root (in the test guest)" >&2; exit 1; }
	trap cleanup EXIT
	dmesg_mark
	ipvs_load variant || tap_bail "stress: load the variant set"
	stress faults "$FAULT_SECONDS" toggle
	stress knob0 "$KNOB0_SECONDS" 0
	if ipvs_unload; then
		tap_ok "stress: rmmod of the whole variant set afterwards"
	else
		tap_not_ok "stress: rmmod of the whole variant set afterwards"
	fi
	if dmesg_splats; then tap_ok "stress: no kernel splats after rmmod"; else tap_not_ok "stress: no kernel splats after rmmod"; fi
	tap_end
}

main
