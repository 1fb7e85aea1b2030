#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest suite: Debian's keepalived as a real IPVS director, with TCP_CHECK health checks and
# inhibit_on_failure, in NAT and in DR mode, on stock IPVS and on the variant.
#
# Topology: tests/scenarios/lib.sh's (topo_select nat|dr, topo_net), pods A and B as keepalived's
# two real servers, the director's sysctls at the kernel's defaults but conn_reuse_mode
# (conntrack=0 expire_nodest_conn=0), the client with tcp_tw_reuse=1 so that it can reuse a port
# whose connection it closed itself. keepalived runs in the director netns only, checker alone.
# Per column (configuration), on two fresh port ranges, one where the server closes first and one
# where the client does: every port connects once (warm, both servers at weight 1), A's listener
# is killed, keepalived's TCP_CHECK fails and sets A to weight 0, the director's entries of A are
# counted by state, then every port connects again (reuse) and the outcome is counted: errno, or
# the server that answered. table.py prints the columns side by side, per forwarding and close
# order, into the log and DIR/keepalived/table.txt (all figures: results.json, raw files: raw/).
#
# Columns: stock conn_reuse_mode 1 (the kernel default), 0 and 3; the variant at conn_reuse_mode=0
# with knob 0 and with the knob bits the forwarding needs (NAT 1, DR 3). Each topology runs the
# columns of the loaded set, then `ipvs-drain swap-module` to the other set under the running
# keepalived (NAT: stock -> variant, DR: variant -> stock), which must keep keepalived's table,
# then that set's columns. Along the way: ipvs-drain list equals ipvsadm on keepalived's table
# (-Ln, -Ln --stats, -Lcn), status reports the risk, and keepalived's own netlink state after a
# swap (its commands fail with ENOENT until a SIGHUP reload).
#
# Run by: tests/vm/run.sh --abi ABI --ko build/ABI --timeout 1500 --out DIR -- \
#             "$PWD/tests/keepalived/guest.sh" --keepalived "$(tests/keepalived/fetch.sh)" \
#             [--topos "nat dr"] [--ports N]
# Prints TAP (tests/lib/tap.sh); exits 1 when anything failed.
set -euo pipefail

# shellcheck source=tests/lib/guest.sh
. "$(dirname "$0")/../lib/guest.sh"
readonly KAD_HERE="$REPO/tests/keepalived"
readonly KAD_OUT="${IPVS_VM_OUT:-/tmp}/keepalived"

KEEPALIVED="" TOPOS="nat dr" PORTS=20
while [[ $# -gt 0 ]]; do
	case $1 in
	--keepalived) KEEPALIVED=${2:?--keepalived needs the binary}; shift 2 ;;
	--topos) TOPOS=${2:?--topos needs a list}; shift 2 ;;
	--ports) PORTS=${2:?--ports needs a number}; shift 2 ;;
	*) echo "keepalived/guest.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ -x $KEEPALIVED ]] ||
	{ echo "keepalived/guest.sh: --keepalived wants the binary (tests/keepalived/fetch.sh prints it)" >&2; exit 2; }
# A column's two ranges are 50 ports apart.
if ! [[ $PORTS =~ ^[1-9][0-9]?$ ]] || ((PORTS > 50)); then
	echo "keepalived/guest.sh: --ports wants 1..50" >&2
	exit 2
fi

# The scenario library keeps its own figures out of /out; a refused SYN is answered at once, so
# a short connect timeout only bounds what a dropped one costs.
SCN_THREADS=10 SCN_CONNECT_TIMEOUT=2 IPVS_VM_OUT=/tmp/keepalived-lib source "$REPO/tests/scenarios/lib.sh"
readonly KAD_LOG=$WORK/keepalived.log
# lib.sh's say: seconds since the start on every progress line; TAP lines stay unstamped.
SCN_TIMESTAMPS=1
tap_emit() { echo "$*"; }
mkdir -p "$KAD_OUT"

# Columns per forwarding: LABEL|SET|CONN_REUSE_MODE|KNOB ("-": stock has none).
columns_of() {
	local set=$1 topo=$2 bits=1
	[[ $topo == dr ]] && bits=3
	case $set in
	stock) printf '%s\n' "stock-mode1|stock|1|-" "stock-mode0|stock|0|-" "stock-mode3|stock|3|-" ;;
	variant) printf '%s\n' "variant-knob0|variant|0|0" "variant-knob$bits|variant|0|$bits" ;;
	esac
}

KAD_PID=
declare -A KAD_FACTS=() # "TOPO/LABEL/key" -> value, from the suite itself
COLUMN_SEQ=0

# On any exit: keepalived and the namespaces go, the raw files (regular files only: the agent's
# FIFOs cannot live on 9p) are kept under /out, and an unexpected exit is a bail-out.
KAD_ENDED=0
cleanup() {
	local status=$?
	trap - ERR
	keepalived_stop >/dev/null 2>&1 || true
	topo_down >/dev/null 2>&1 || true
	mkdir -p "$KAD_OUT/raw"
	(cd "$WORK" && find . -type f ! -name '*.ko' -exec cp --parents -t "$KAD_OUT/raw" {} +) || true
	rm -rf "$WORK"
	((status == 0 || KAD_ENDED)) || tap_bail "suite aborted: ${KAD_ERR:-exit $status, see the lines above}"
	return "$status"
}
trap cleanup EXIT
# A failing command of the main shell names itself; one inside a function ends the suite too (set -e).
trap 'KAD_ERR="line $LINENO: $BASH_COMMAND (exit $?)"' ERR

# ---- keepalived ---------------------------------------------------------------------------------

# keepalived.conf for the current topology: one virtual server, A and B as real servers checked by
# TCP_CHECK every second, a failed one kept at weight 0 (inhibit_on_failure).
keepalived_conf() {
	local kind=NAT server
	[[ $TOPO == dr ]] && kind=DR
	cat <<-EOF
		global_defs {
			router_id ipvs-drain-test
		}
		virtual_server $VIP $VPORT {
			delay_loop 1
			lb_algo rr
			lb_kind $kind
			protocol TCP
	EOF
	for server in "$POD_A_IP" "$POD_B_IP"; do
		cat <<-EOF
			real_server $server $VPORT {
				weight 1
				inhibit_on_failure
				TCP_CHECK {
					connect_timeout 1
					retry 0
				}
			}
		EOF
	done
	echo "}"
}

# keepalived in the director netns only, checker alone (-C), in the foreground (-n), logging to
# its console (-l -D, no syslog -G); its config and pid files in the guest's tmpfs.
keepalived_start() {
	local dir=$RUN_DIR/keepalived
	mkdir -p "$dir"
	keepalived_conf >"$dir/keepalived.conf"
	"$KEEPALIVED" -t -f "$dir/keepalived.conf"
	say "[+] $NS_DIR: keepalived -n -l -D -G -C -f $dir/keepalived.conf &"
	echo "=== $NS_DIR ($(date +%T))" >>"$KAD_LOG"
	ns_spawn "$NS_DIR" "$KEEPALIVED" -n -l -D -G -C -f "$dir/keepalived.conf" -p "$dir/keepalived.pid" \
		-c "$dir/checkers.pid" -r "$dir/vrrp.pid" -b "$dir/bfd.pid" >>"$KAD_LOG" 2>&1
	KAD_PID=$!
}

# SIGTERM: keepalived removes its virtual servers and exits.
keepalived_stop() {
	[[ -n $KAD_PID ]] || return 0
	say "[+] guest: kill keepalived (pid $KAD_PID)"
	kill "$KAD_PID" 2>/dev/null || true
	wait "$KAD_PID" 2>/dev/null || true
	KAD_PID=
}

# The weight ipvsadm shows for real server ADDR of the VIP, or "absent".
weight_of() {
	ns_exec "$NS_DIR" ipvsadm -Ln -t "$VIP_SVC" 2>/dev/null |
		awk -v d="$1:$VPORT" '$1 == "->" && $2 == d { w = $4 } END { print (w == "" ? "absent" : w) }'
}

# wait_weight ADDR WANT [SECONDS]: polls until keepalived set ADDR's weight to WANT (by default
# for 30 s at most: keepalived checks every second).
wait_weight() {
	local got end=$((SECONDS + ${3:-30}))
	while :; do
		got=$(weight_of "$1")
		[[ $got == "$2" ]] && return 0
		((SECONDS < end)) || break
		sleep 0.2
	done
	note "real server $1: weight $got, not $2, after ${3:-30} s; keepalived said: $(tail -n 3 "$KAD_LOG" | tr '\n' '|')"
	return 1
}

# ---- pods -----------------------------------------------------------------------------------------

# kad_pod_start NAME NS: the pod's server on every address, so that the health check (to the
# pod's own address) and the service (to the VIP with DR) meet the same listener.
kad_pod_start() {
	local name=$1 ns=$2
	rm -f "$WORK/$ns.ready"
	say "[+] $ns: podserver.py --name $name --addr 0.0.0.0 &"
	ns_spawn "$ns" "$PY" -S "$SCN_DIR/podserver.py" --name "$name" --addr 0.0.0.0 --ready "$WORK/$ns.ready"
	POD_PID[$name]=$!
}

# The listener dies; the pod's netns and address stay, so its kernel answers with a reset.
kad_pod_kill() {
	say "[+] guest: kill pod $1 server (pid ${POD_PID[$1]})"
	kill "${POD_PID[$1]}"
	wait "${POD_PID[$1]}" 2>/dev/null || true
	unset "POD_PID[$1]"
}

# burst_as PHASE PORTS ORDER: one connection per port; ORDER server (the pod closes first) or client.
burst_as() {
	local phase=$1 ports=$2 order=$3 extra=()
	[[ $order == client ]] && extra=(client-first)
	say "[+] $NS_CLI: client burst $phase, source ports $ports, $order closes first"
	agent burst "$phase" "$ports" "$RUN_DIR/$phase.client.json" "${extra[@]}" | sed 's/^/# client: /'
}

# ---- the checks against keepalived's table ----------------------------------------------------------

# same_output NAME OPTION...: ipvsadm -L OPTION... and ipvs-drain list OPTION... print the same
# bytes and exit alike in the director netns. The totals of --stats move only when the kernel's
# estimator sums the per-CPU counters (every 2 s), so a read can fall on either side of a tick: a
# difference is read again, up to three times, only when ipvsadm itself changed across the pair.
same_output() {
	local name=$1 a b again try ra=0 rb=0
	shift
	for try in 1 2 3; do
		ra=0 rb=0
		a=$(ns_exec "$NS_DIR" ipvsadm -L "$@" 2>&1) || ra=$?
		b=$(ns_exec "$NS_DIR" "$BIN" list "$@" 2>&1) || rb=$?
		a+=$'\n'"exit $ra" b+=$'\n'"exit $rb"
		[[ $a == "$b" ]] && break
		again=$(ns_exec "$NS_DIR" ipvsadm -L "$@" 2>&1) || true
		[[ $again$'\n'"exit $ra" != "$a" ]] || break
		sleep 2.5
	done
	if [[ $a == "$b" ]]; then
		tap_ok "$name: ipvs-drain list $* prints ipvsadm -L $*'s bytes ($(($(wc -l <<<"$a") - 1)) lines, try $try)"
	else
		tap_not_ok "$name: ipvs-drain list $* prints ipvsadm -L $*'s bytes" \
			"$(diff -u --label ipvsadm --label ipvs-drain <(echo "$a") <(echo "$b") || true)"
	fi
}

# The connection table ticks (the expire column): up to three live tries with both tools started
# at once, then both read one snapshot (tests/vm-userspace/with-conn-table.sh), ipvsadm first and
# then, with ipvsadm masked, ipvs-drain: the approach of tests/vm-userspace/compare.sh.
same_conn_output() {
	local name=$1 try a b pa pb snap=$RUN_DIR/conn.snapshot
	for try in 1 2 3; do
		ns_exec "$NS_DIR" ipvsadm -L -c -n >"$RUN_DIR/conn.ipvsadm" 2>&1 &
		pa=$!
		ns_exec "$NS_DIR" "$BIN" list -c -n >"$RUN_DIR/conn.ours" 2>&1 &
		pb=$!
		wait "$pa" || echo "(exit $?)" >>"$RUN_DIR/conn.ipvsadm"
		wait "$pb" || echo "(exit $?)" >>"$RUN_DIR/conn.ours"
		if cmp -s "$RUN_DIR/conn.ipvsadm" "$RUN_DIR/conn.ours"; then
			tap_ok "$name: ipvs-drain list -c -n prints ipvsadm -Lcn's bytes (live, $(($(wc -l <"$RUN_DIR/conn.ours") - 2)) entries, try $try)"
			return 0
		fi
	done
	ns_exec "$NS_DIR" cat /proc/net/ip_vs_conn >"$snap"
	# shellcheck disable=SC2016 # expanded by the inner shell
	ns_exec "$NS_DIR" "$REPO/tests/vm-userspace/with-conn-table.sh" "$snap" bash -c '
		ipvsadm -L -c -n >"$1.ipvsadm" 2>&1 || echo "(exit $?)" >>"$1.ipvsadm"
		mount --bind /bin/false "$(command -v ipvsadm)"
		"$2" list -c -n >"$1.ours" 2>&1 || echo "(exit $?)" >>"$1.ours"' sh "$snap" "$BIN"
	a=$(<"$snap.ipvsadm") b=$(<"$snap.ours")
	if [[ $a == "$b" ]]; then
		tap_ok "$name: ipvs-drain list -c -n prints ipvsadm -Lcn's bytes (one snapshot: the live table ticked)"
	else
		tap_not_ok "$name: ipvs-drain list -c -n prints ipvsadm -Lcn's bytes" \
			"$(diff -u --label ipvsadm --label ipvs-drain <(echo "$a") <(echo "$b") || true)"
	fi
}

# status_reports_risk NAME ADVICE...: status --json in the director netns: the VIP's service
# carries risk entries, counted at the weight-0 server A in the states a reused port meets with
# this forwarding, and the advice sentence holds every ADVICE string.
status_reports_risk() {
	local name=$1 json=$RUN_DIR/status.json verdict
	shift
	ns_exec "$NS_DIR" "$BIN" status --json >"$json"
	ns_exec "$NS_DIR" "$BIN" status | sed 's/^/# status: /'
	verdict=$("$PY" -S - "$json" "$VIP" "$VPORT" "$POD_A_IP" "$TOPO" "$@" <<-'PYEOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		vip, port, a, topo, advice = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]
		svc = [s for s in d["risk"]["services"] if s["address"] == vip and s["port"] == port]
		if not svc:
		    print(f"no risk entry for {vip}:{port}; risk: {d['risk']}")
		    sys.exit()
		dest = [x for x in svc[0]["destinations"] if x["address"] == a]
		keys = ("time_wait", "close") if topo == "nat" else ("fin_wait_nooutput",)
		missing = [m for m in advice if m not in d["advice"]]
		if not dest or dest[0]["weight"] != 0 or sum(dest[0][k] for k in keys) < 1:
		    print(f"destination {a} not at weight 0 with entries in {keys}: {svc[0]}")
		elif d["risk"]["total"] < svc[0]["entries"] or svc[0]["entries"] < 1:
		    print(f"total {d['risk']['total']} < service entries {svc[0]['entries']}")
		elif missing:
		    print(f"the advice lacks {missing}: {d['advice']}")
		else:
		    print(f"ok {svc[0]['entries']} {'/'.join(keys)}")
	PYEOF
	)
	local what=${verdict#ok } quoted
	quoted=$(printf '"%s", ' "$@")
	if [[ $verdict == ok* ]]; then
		tap_ok "$name: status reports ${what% *} risk entries (${what#* }) at weight-0 $POD_A_IP on $VIP_SVC, advice with ${quoted%, }"
	else
		tap_not_ok "$name: status reports the risk of weight-0 $POD_A_IP on $VIP_SVC, advice naming $*" "$verdict"
	fi
}

# ---- one column -----------------------------------------------------------------------------------

# run_column LABEL SET MODE KNOB: on the running topology and keepalived, two fresh port ranges (server
# closes first, client closes first) through warm, A's kill and reuse. Raw files: RUN_DIR/LABEL.*.
run_column() {
	local label=$1 set=$2 mode=$3 knob=$4 key sports cports lo got
	key=$TOPO/$label
	COLUMN_SEQ=$((COLUMN_SEQ + 1))
	lo=$((20000 + COLUMN_SEQ * 100))
	sports=$lo-$((lo + PORTS - 1))
	cports=$((lo + 50))-$((lo + 50 + PORTS - 1))
	local kv=(net.ipv4.vs.conn_reuse_mode="$mode")
	[[ $knob == - ]] || kv+=(net.ipv4.vs.conn_reuse_quiescent="$knob")
	note "column $key: $set set, ${kv[*]#net.ipv4.vs.}; ports $sports (server closes first), $cports (client closes first)"
	ns_sysctl "$NS_DIR" "${kv[@]}"
	if [[ -z ${POD_PID[A]:-} ]]; then
		kad_pod_start A "$NS_A"
		pod_wait A "$NS_A"
	fi
	# keepalived brings A back to weight 1 once its check succeeds again.
	if wait_weight "$POD_A_IP" 1 && wait_weight "$POD_B_IP" 1; then
		KAD_FACTS[$key/up]=1
	else
		KAD_FACTS[$key/up]=0
	fi
	burst_as "$label.warm-server" "$sports" server
	burst_as "$label.warm-client" "$cports" client
	kad_pod_kill A
	wait_weight "$POD_A_IP" 0 || true
	got=$(weight_of "$POD_A_IP")
	KAD_FACTS[$key/after_kill]=$got
	note "$key: after the kill keepalived left $POD_A_IP at weight $got"
	snapshot "$label.before"
	ns_exec "$NS_DIR" ipvsadm -Ln >"$RUN_DIR/$label.ipvsadm"
	if [[ $label == stock-mode0 ]]; then
		local name="$TOPO, keepalived's table, A at weight 0"
		same_output "$name" -n
		same_output "$name" -n --stats
		same_conn_output "$name"
		if [[ $TOPO == dr ]]; then
			status_reports_risk "$name" "NOOUTPUT FIN_WAIT entries" "'ipvs-drain enable --mode 3'"
		else
			status_reports_risk "$name" "TIME_WAIT/CLOSE entries point at" "'ipvs-drain enable'"
		fi
	elif [[ $label == stock-mode1 && $TOPO == dr ]]; then
		# The kernel's default mode leaves reused FIN_WAIT ports of DR to the old server.
		status_reports_risk "$TOPO, keepalived's table, A at weight 0, conn_reuse_mode=1" \
			"NOOUTPUT FIN_WAIT entries" "set conn_reuse_mode=3"
	fi
	burst_as "$label.reuse-server" "$sports" server
	burst_as "$label.reuse-client" "$cports" client
	snapshot "$label.after"
	printf '%s %s %s %s %s %s %s %s\n' "$TOPO" "$label" "$set" "$mode" "$knob" "$sports" "$cports" \
		"${KAD_FACTS[$key/after_kill]}" >>"$WORK/columns"
}

# ---- swap-module under keepalived -------------------------------------------------------------------

# The set loaded now: only the variant has the knob.
loaded_set() {
	if [[ -e /proc/sys/net/ipv4/vs/conn_reuse_quiescent ]]; then echo variant; else echo stock; fi
}

# swap_under_keepalived FROM TO: swap-module replaces the loaded set FROM by TO under the running
# keepalived and must keep its table; then keepalived's own netlink socket: A comes back, and
# keepalived has to put it back to weight 1. It resolved IPVS's generic netlink family when it
# started; the new ip_vs registers the family anew, under another id, so keepalived's commands
# fail until a reload (SIGHUP) resolves it again. Either way the suite goes on with TO loaded.
swap_under_keepalived() {
	local from=$1 to=$2 out rc=0 before after mark enoent name="$TOPO: swap-module $1 -> $2 under keepalived"
	before=$(ns_exec "$NS_DIR" ipvsadm -Sn; ns_exec "$NS_DIR" ipvsadm -Ln --timeout)
	note "$name: ipvsadm -Sn before: $(ns_exec "$NS_DIR" ipvsadm -Sn | tr '\n' '|')"
	say "[+] $NS_DIR: ipvs-drain swap-module --ko $(ipvs_set_dir "$to") --from-ko $(ipvs_set_dir "$from") --yes"
	out=$(ns_exec "$NS_DIR" "$BIN" swap-module --ko "$(ipvs_set_dir "$to")" --from-ko "$(ipvs_set_dir "$from")" \
		--yes --save-file "$RUN_DIR/swap.rules" 2>&1) || rc=$?
	printf '# swap-module: %s\n' "${out//$'\n'/$'\n'# swap-module: }"
	after=$(ns_exec "$NS_DIR" ipvsadm -Sn; ns_exec "$NS_DIR" ipvsadm -Ln --timeout)
	if [[ $rc == 0 && $(loaded_set) == "$to" && $before == "$after" &&
		$out == *"keepalived (pid "*"reload it afterwards (SIGHUP)"* ]]; then
		tap_ok "$name: exit 0, says to reload keepalived, the $to set is loaded, ipvsadm -Sn and timeouts identical"
	elif [[ $rc == 1 && $(loaded_set) == "$from" && $before == "$after" ]]; then
		tap_ok "$name: refused (exit 1), nothing changed: $(tail -n 1 <<<"$out")"
	else
		tap_not_ok "$name: exit 0 with the same table and keepalived's reload named, or a refusal that changed nothing" \
			"exit $rc, $(loaded_set) loaded; $(diff -u <(echo "$before") <(echo "$after") || true)"
	fi
	if [[ $rc != 0 || $(loaded_set) != "$to" ]]; then
		tap_skip "$TOPO: keepalived after the swap" "swap-module did not swap (exit $rc)"
		tap_skip "$TOPO: keepalived after the swap and a SIGHUP" "swap-module did not swap (exit $rc)"
		keepalived_stop
		ipvs_load "$to" >/dev/null
		keepalived_start
		return 0
	fi
	mark=$(wc -l <"$KAD_LOG")
	kad_pod_start A "$NS_A"
	pod_wait A "$NS_A"
	# keepalived checks every second: five seconds are five chances to put A back.
	if wait_weight "$POD_A_IP" 1 5; then
		tap_not_ok "$TOPO: after the swap keepalived's IPVS commands fail (ENOENT) and A stays at weight 0" \
			"keepalived put A back to weight 1 on its own: update README.md, \"keepalived directors\""
	else
		enoent=$(tail -n "+$((mark + 1))" "$KAD_LOG" | grep -c 'IPVS cmd .* No such file or directory' || true)
		note "keepalived after the swap: $(tail -n "+$((mark + 1))" "$KAD_LOG" | grep -m 1 'IPVS cmd')"
		tap_result "$([[ $enoent -gt 0 ]]; echo $?)" \
			"$TOPO: after the swap keepalived's IPVS commands fail (ENOENT: $enoent) and A stays at weight 0" \
			"$(tail -n 10 "$KAD_LOG")"
	fi
	say "[+] guest: kill -HUP keepalived (pid $KAD_PID): reload"
	kill -HUP "$KAD_PID"
	if wait_weight "$POD_A_IP" 1; then
		tap_ok "$TOPO: after a SIGHUP (reload) keepalived programs IPVS again: A back at weight 1"
	else
		tap_not_ok "$TOPO: after a SIGHUP (reload) keepalived programs IPVS again: A back at weight 1" \
			"$(tail -n 10 "$KAD_LOG")"
		keepalived_stop
		keepalived_start
	fi
}

# ---- one topology ---------------------------------------------------------------------------------

# topology TOPO: fresh namespaces, pods, client and keepalived; the columns of the loaded set, a
# swap-module to the other set under keepalived, then that set's columns.
topology() {
	local first second label mode knob set
	topo_select "$1"
	NS_SEQ=$((NS_SEQ + 1))
	RUN_DIR=$WORK/$TOPO
	mkdir -p "$RUN_DIR"
	first=$(loaded_set)
	second=stock
	[[ $first == stock ]] && second=variant
	IFS='|' read -r label _ mode knob < <(columns_of "$first" "$TOPO")
	note "=== $TOPO: the $first set, then swap-module to the $second set"
	topo_net "defaults-mode$mode" "$knob"
	ns_sysctl "$NS_CLI" net.ipv4.tcp_tw_reuse=1
	kad_pod_start A "$NS_A"
	kad_pod_start B "$NS_B"
	agent_start
	pod_wait A "$NS_A"
	pod_wait B "$NS_B"
	agent_wait
	keepalived_start
	for set in "$first" "$second"; do
		[[ $set == "$first" ]] || swap_under_keepalived "$first" "$second"
		while IFS='|' read -r label _ mode knob; do
			run_column "$label" "$set" "$mode" "$knob"
		done < <(columns_of "$set" "$TOPO")
	done
	keepalived_stop
	topo_down
}

# ---- main -----------------------------------------------------------------------------------------

dmesg_mark
t0=$SECONDS
version=$("$KEEPALIVED" -v 2>&1) || true
note "kernel $ABI; ${version%%$'\n'*} ($KEEPALIVED); $PORTS ports per range; topologies: $TOPOS"
ipvs_load stock >/dev/null
for topo in $TOPOS; do
	topology "$topo"
done
note "runs took $((SECONDS - t0)) s"

# The table, and the facts the assertions below read.
"$PY" -S "$KAD_HERE/table.py" --columns "$WORK/columns" --dir "$WORK" --json "$KAD_OUT/results.json" \
	--facts "$WORK/facts" --heading "${version%%$'\n'*} as the director, kernel $ABI (QEMU TCG)" |
	tee "$KAD_OUT/table.txt"
declare -A F=()
while read -r k v; do F[$k]=$v; done <"$WORK/facts"
fact() { echo "${F[$1]:-missing}"; }

for topo in $TOPOS; do
	bits=1
	[[ $topo == dr ]] && bits=3
	labels=(stock-mode1 stock-mode0 stock-mode3 variant-knob0 "variant-knob$bits")
	# keepalived: weight 0 after every kill, the server still in the service; weight 1 again after
	# every restart.
	status=0 detail=
	for label in "${labels[@]}"; do
		[[ ${KAD_FACTS[$topo/$label/after_kill]:-} == 0 && ${KAD_FACTS[$topo/$label/up]:-} == 1 ]] ||
			{ status=1; detail+="$label: up=${KAD_FACTS[$topo/$label/up]:-?} after kill=${KAD_FACTS[$topo/$label/after_kill]:-?}; "; }
	done
	tap_result "$status" "$topo: keepalived's TCP_CHECK set the killed server to weight 0 and kept it (inhibit_on_failure), and back to 1 when it returned" "$detail"
	for order in server client; do
		name="$topo, $order closes first"
		# Every column met entries of the dead server, or it proves nothing.
		status=0 detail=
		for label in "${labels[@]}"; do
			[[ $(fact "$topo/$label/$order/a_entries") -gt 0 ]] 2>/dev/null ||
				{ status=1; detail+="$label: $(fact "$topo/$label/$order/a_entries") entries; "; }
		done
		tap_result "$status" "$name: every column had entries of the dead server on its reused ports" "$detail"
		# Per column: the reused ports whose entry points at the dead server and which neither
		# conn_reuse_mode's bits (whatever the weight) nor the knob's (weight 0) reschedule
		# ("uncovered", table.py) go there and are refused; the live server serves the rest.
		for label in "${labels[@]}"; do
			k=$topo/$label/$order
			exp=$(fact "$k/uncovered") got=$(fact "$k/failed")
			detail="failed $got ($(fact "$k/errors")), served by B $(fact "$k/on_B") of $PORTS; dead server's entries: $(fact "$k/states")"
			if [[ $exp == 0 ]]; then
				st=1
				[[ $got == 0 && $(fact "$k/on_B") == "$PORTS" ]] && st=0
				tap_result "$st" "$name, $(fact "$k/title"): no failure, all $PORTS reused ports served by the live server (the dead server's $(fact "$k/states") rescheduled)" "$detail"
			else
				st=1
				[[ $got == "$exp" && $(fact "$k/errors") == "ECONNREFUSED:$exp" &&
					$(fact "$k/on_B") == $((PORTS - exp)) ]] && st=0
				tap_result "$st" "$name, $(fact "$k/title"): each of the $exp reused ports whose entry ($(fact "$k/states")) points at the dead server is refused, the live server serves the other $((PORTS - exp))" "$detail"
			fi
		done
		# The knob at 0 changes nothing: the same failures as stock in the same mode.
		s=$topo/stock-mode0/$order v=$topo/variant-knob0/$order
		st=1
		[[ $(fact "$v/class") == "$(fact "$s/class")" && $(fact "$v/failed") == "$(fact "$v/a_entries")" &&
			$(fact "$s/failed") == "$(fact "$s/a_entries")" ]] && st=0
		tap_result "$st" "$name: variant knob 0 fails as stock does at conn_reuse_mode=0 ($(fact "$v/class"), one per entry of the dead server)" \
			"variant: failed $(fact "$v/failed") of $(fact "$v/a_entries") entries, $(fact "$v/class"); stock: failed $(fact "$s/failed") of $(fact "$s/a_entries"), $(fact "$s/class")"
	done
done

if dmesg_splats; then tap_ok "no kernel splats"; else tap_not_ok "no kernel splats"; fi
if ipvs_unload; then tap_ok "rmmod of the whole IPVS set"; else tap_not_ok "rmmod of the whole IPVS set"; fi
note "wall time $((SECONDS - t0)) s; table and raw files in $KAD_OUT (on the host: keepalived/ in run.sh's --out)"
KAD_ENDED=1
tap_end
