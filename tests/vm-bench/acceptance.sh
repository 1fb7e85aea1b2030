#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest acceptance suite for `ipvs-drain bench --lab`: runs every configuration once against the
# variant modules and asserts on its JSON; TAP-like output.
#
# Run by: tests/vm/run.sh --abi 6.1.0-56-amd64 --ko build/6.1.0-56-amd64 --timeout 600 \
#             --out DIR -- tests/vm-bench/acceptance.sh
# Prints TAP (tests/lib/tap.sh); exits 1 when anything failed. The bench's JSON, SVG and
# table go to OUT/bench/ (OUT is $IPVS_VM_OUT, /out in the guest).
set -eEuo pipefail

# shellcheck source=tests/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
readonly OUT="${IPVS_VM_OUT:-/tmp}/bench"
readonly WORK="${TMPDIR:-/tmp}/ipvsd-bench-acceptance"
readonly PY=/usr/bin/python3
# 3 x 100 reused ports: counts decide, and one configuration stays far inside IPVS's 120 s TIME_WAIT.
readonly PORTS=${BENCH_PORTS:-20000-20299}

tap_bail_on_error

cleanup() {
	trap - ERR
	[ -n "${BENCH_PID:-}" ] && kill "$BENCH_PID" 2>/dev/null
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '/^ipvsd-bench-/ { print $1 }'); do ip netns del "$ns"; done
	return 0
}
trap cleanup EXIT

mkdir -p "$OUT" "$WORK"

# What the bench must leave untouched: the caller's IPVS table, sysctls and namespaces.
snapshot_caller() {
	ipvsadm -Ln
	ip netns list
	local f
	for f in /proc/sys/net/ipv4/vs/* /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/icmp_ratelimit; do
		echo "$f $(cat "$f" 2>/dev/null)"
	done
}

# jq-like assertions on the bench's JSON: the expression must be true; prints the figures when not.
json_true() {
	local file=$1 expr=$2
	"$PY" -S - "$file" "$expr" <<-'PYEOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	cfg = {c["name"]: c for c in r["configs"]}
	def ph(c, p):
	    return next(x for x in cfg[c]["phases"] if x["phase"] == p)
	def pod(c, p, name):
	    return ph(c, p)["pods"].get(name, 0)
	ok = eval(sys.argv[2])
	if not ok:
	    for c in r["configs"]:
	        for p in c["phases"]:
	            print(c["name"], p["phase"], "attempts", p["attempts"], "ok", p["ok"], "errors", p["errors"],
	                  "pods", p["pods"], "old", p["old_pod_entries"], "delta", p["counters_delta"],
	                  "over900", p["over_900ms"])
	sys.exit(0 if ok else 1)
	PYEOF
}

# ---- prerequisites ------------------------------------------------------------------------------
modprobe ip_vs
echo "# ip_vs $(cat /sys/module/ip_vs/version 2>/dev/null || echo stock), kernel $(uname -r)"
# The load generator and the pods keep ~400 sockets open at once.
ulimit -n 4096

# ---- bad input and missing privileges -----------------------------------------------------------
expect_exit() {
	local want=$1 name=$2 got=0 err
	shift 2
	err=$("$@" 2>&1 >/dev/null) || got=$?
	if [ "$got" -eq "$want" ] && [ "$(wc -l <<<"$err")" -eq 1 ]; then
		tap_ok "$name (exit $want, one line)"
	else
		tap_not_ok "$name (exit $want, one line)" "exit $got: $err"
	fi
}
expect_exit 2 "bad VIP" "$BIN" bench --target 10.96.0:80
expect_exit 2 "bad port range" "$BIN" bench --lab --ports 30000-20000
expect_exit 2 "bad duration" "$BIN" bench --target 10.96.0.10:80 --duration 0
expect_exit 2 "bad rate" "$BIN" bench --target 10.96.0.10:80 --rate -5
expect_exit 1 "not root" setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" bench --lab
# A listener on one of the source ports makes the range busy.
"$PY" -S -c 'import socket,time; s=socket.socket(); s.bind(("0.0.0.0",31005)); s.listen(); time.sleep(60)' &
LISTENER=$!
for _ in $(seq 1 100); do ss -Hltn 'sport = :31005' | grep -q . && break; sleep 0.1; done
expect_exit 1 "busy source port" "$BIN" bench --target 127.0.0.1:9 --ports 31000-31009 --duration 1
kill "$LISTENER"; wait "$LISTENER" 2>/dev/null || true
expect_exit 2 "bad --set value" "$BIN" bench --lab --set conntrack=2
expect_exit 2 "bad --plan" "$BIN" bench --lab --plan half
expect_exit 2 "--persistent in target mode" "$BIN" bench --target 10.96.0.10:80 --persistent 60

# ---- the lab, every configuration ---------------------------------------------------------------
before=$(snapshot_caller)
json=$OUT/lab.json
t0=$SECONDS
rc=0
"$BIN" bench --lab --ports "$PORTS" --concurrency 50 --connect-timeout 2 \
	--json "$json" --svg "$OUT/lab.svg" >"$OUT/lab.txt" 2>"$OUT/lab.err" || rc=$?
echo "# bench --lab took $((SECONDS - t0)) s"
sed 's/^/# /' "$OUT/lab.txt" "$OUT/lab.err"
tap_result "$rc" "bench --lab exits 0" "exit $rc"
[ -s "$json" ] || tap_bail "bench --lab wrote its JSON"
after=$(snapshot_caller)
if [ "$before" == "$after" ]; then
	tap_ok "caller's IPVS table, sysctls and namespaces untouched"
else
	tap_not_ok "caller's IPVS table, sysctls and namespaces untouched" "$(diff <(echo "$before") <(echo "$after") || true)"
fi
tap_check "every configuration ran or says why not" json_true "$json" \
	'all(c["failed"] is None and (c["skipped"] is None) == bool(c["phases"]) for c in r["configs"])'
tap_check "every configuration ends with its namespaces and IPVS service gone" json_true "$json" \
	'all(c["cleanup"]["service_gone"] and c["cleanup"]["namespaces_gone"] for c in r["configs"] if not c["skipped"])'
leftover=$(ip netns list | grep ipvsd-bench || true)
tap_result "${#leftover}" "no ipvsd-bench namespace left" "$leftover"
tap_check "warm: pod A alone serves every connection" json_true "$json" \
	'all(ph(c["name"], "warm")["ok"] == ph(c["name"], "warm")["attempts"] == pod(c["name"], "warm", "pod-a") > 0 for c in r["configs"] if not c["skipped"])'
# Every reuse phase must find an entry to the old pod on each of its ports, or it proves nothing.
# Not asserted for "removed" under expire_nodest_conn=1 (upstream, modern): the kernel may expire
# a removed destination's entries itself.
tap_check "each reuse phase finds TIME_WAIT entries to the old pod on all of its ports" json_true "$json" \
	'all(ph(c["name"], p)["old_pod_entries"] == ph(c["name"], p)["attempts"] for c in r["configs"] if not c["skipped"] for p in ("draining", "destroyed", "removed") if p != "removed" or c["name"] in ("legacy", "variant"))'

has() { json_true "$json" "\"$1\" in cfg and not cfg[\"$1\"][\"skipped\"]" >/dev/null; }

# The verdicts are the scenario suite's (tests/scenarios/figures.py), on this lab's JSON.
verdict() { # KIND CONFIG
	local fig=$WORK/$2.figures.json
	"$PY" -S "$REPO/tests/scenarios/figures.py" from-bench --json "$json" --config "$2" \
		--meta "{\"label\": \"bench $2\", \"set\": \"variant\"}" --out "$fig" >/dev/null &&
		"$PY" -S "$REPO/tests/scenarios/figures.py" judge "$1" "$fig"
}

if has legacy; then
	# New connections on the weight-0 pod while draining, failures once it is destroyed, timeouts
	# once it is removed.
	tap_check "legacy: the bug reproduces (verdict bug)" verdict bug legacy
else
	tap_skip "legacy" "did not run"
fi

if has variant; then
	# Per phase nothing on the old pod and nothing failed, rescheduled equals the old-pod entries
	# hit, and the long-lived connection to pod A stays alive through draining and closes cleanly.
	tap_check "variant: fixed (verdict fixed)" verdict fixed variant
else
	tap_skip "variant" "not run: the loaded ip_vs is not the variant (see lab.txt)"
fi

if has upstream; then
	tap_check "upstream: nothing on the old pod, nothing failed (verdict remedy)" verdict remedy upstream
else
	tap_skip "upstream" "did not run (kernel predates 5.16)"
fi

if has modern; then
	tap_check "modern: ran every phase" json_true "$json" 'len(cfg["modern"]["phases"]) == 4'
fi
tap_check "SVG timeline written with the markers" grep -q "pod A destroyed" "$OUT/lab.svg"

# ---- the scenario suite's options: a plan, persistence and extra sysctls -------------------------
# The runs the scenario cases judge use these (tests/scenarios/lib.sh, scenario); here the
# JSON must say what was asked and hold exactly the plan's phases.
json2=$OUT/lab-short.json
rc=0
"$BIN" bench --lab --configs legacy --plan short --persistent 30 --set conntrack=0 \
	--set expire_quiescent_template=1 --ports 21200-21229 --json "$json2" >"$OUT/lab-short.txt" 2>&1 || rc=$?
sed 's/^/# /' "$OUT/lab-short.txt"
tap_result "$rc" "bench --lab --plan short --persistent 30 --set ... exits 0" "exit $rc"
tap_check "short plan: warm and draining only, persistence and --set values in the JSON" json_true "$json2" \
	'r["plan"] == "short" and r["persistent_s"] == 30 and [p["phase"] for p in cfg["legacy"]["phases"]] == ["warm", "draining"] and cfg["legacy"]["sysctls"]["conntrack"] == 0 and cfg["legacy"]["sysctls"]["expire_quiescent_template"] == 1 and ph("legacy", "draining")["entries_before_change"] == 10'
json3=$OUT/lab-lastdest.json
rc=0
"$BIN" bench --lab --configs legacy --plan lastdest --ports 21300-21329 --json "$json3" >"$OUT/lab-lastdest.txt" 2>&1 || rc=$?
sed 's/^/# /' "$OUT/lab-lastdest.txt"
tap_result "$rc" "bench --lab --plan lastdest exits 0" "exit $rc"
tap_check "lastdest plan: quiesced keeps the reused ports on A, emptied serves none" json_true "$json3" \
	'[p["phase"] for p in cfg["legacy"]["phases"]] == ["warm", "quiesced", "emptied"] and pod("legacy", "quiesced", "pod-a") == 10 and ph("legacy", "emptied")["ok"] == 0 and ph("legacy", "emptied")["entries_before_change"] == 10'

# ---- a lab whose setup fails half way ----------------------------------------------------------
# Too few file descriptors make some step fail (ip's pipes, a namespace handle, a pod's listener,
# the load generator's sockets, depending on the limit); whatever was built must be removed.
failed_some=0 msgs=""
for limit in 8 11 14 17 20; do
	rc=0
	err=$( (ulimit -n "$limit"; exec "$BIN" bench --lab --configs legacy --ports 21100-21102) 2>&1 >/dev/null) || rc=$?
	left=$(ip netns list | grep ipvsd-bench || true)
	msgs+="ulimit -n $limit: exit $rc: $err; left: ${left:-nothing}"$'\n'
	if [ -n "$left" ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; } || { [ "$rc" -eq 1 ] && [ "$(wc -l <<<"$err")" -ne 1 ]; }; then
		failed_some=2
		break
	fi
	[ "$rc" -eq 1 ] && failed_some=${failed_some/0/1}
done
sed 's/^/# /' <<<"$msgs"
if [ "$failed_some" -eq 1 ]; then
	tap_ok "setup failing half way: exit 1 with one line, every namespace removed"
else
	tap_not_ok "setup failing half way: exit 1 with one line, every namespace removed" "$msgs"
fi

# ---- Ctrl-C in the middle of a lab --------------------------------------------------------------
"$BIN" bench --lab --configs legacy --ports 21000-21029 >"$WORK/int.txt" 2>&1 &
BENCH_PID=$!
for _ in $(seq 1 300); do ip netns list | grep -q ipvsd-bench && break; sleep 0.05; done
sleep 1
kill -INT "$BENCH_PID"
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=
leftover=$(ip netns list | grep ipvsd-bench || true)
if [ "$rc" -eq 130 ] && [ -z "$leftover" ]; then
	tap_ok "SIGINT: exit 130 and every namespace removed"
else
	tap_not_ok "SIGINT: exit 130 and every namespace removed" "exit $rc; left: $leftover; $(cat "$WORK/int.txt")"
fi

tap_end
