#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest acceptance suite for 'ipvs-drain save', 'restore' and 'swap-module', with ipvsadm as the oracle.
#
#   client netns (10.0.0.2) --veth-- director (10.0.0.1; VIPs on dummy ipvs0) --veth-- pods netns
#   (10.244.1.2-3), HTTP servers on :80; traffic flows through the director while modules are swapped.
#
# Run by: tests/vm/run.sh --abi ABI --ko build/ABI --timeout 600 --out DIR -- tests/vm-swap/acceptance.sh \
#             [--only rules,input,swap,xz,fail-before,fail-after]
# With --ko, modprobe loads the variant; the stock set is Debian's own, insmod'ed from
# /lib/modules/ABI/kernel/net/netfilter/ipvs. The refused-ABI case needs build/OTHER_ABI from
# 'make kmod KVER=OTHER_ABI' (IPVS_SWAP_OTHER_KO overrides); without it that case is a SKIP.
# Prints "ok N - name", "not ok N - name" or "ok N - name # SKIP reason", then
# "N passed, N failed, N skipped"; exits 1 when anything failed.
set -eEuo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
readonly HERE
# shellcheck source=tests/lib/guest.sh
source "$HERE/../lib/guest.sh"
ABI="$(uname -r)"
readonly ABI
readonly VARIANT_KO="$REPO/build/$ABI"
readonly STOCK_KO="/lib/modules/$ABI/kernel/net/netfilter/ipvs"
# Any module set built for another ABI (build/ABI/ip_vs.ko), for the refused-vermagic case.
other_ko() {
	local d
	for d in "$REPO"/build/*; do
		[ "${d##*/}" != "$ABI" ] && [ -e "$d/ip_vs.ko" ] && [[ "${d##*/}" != *-stock ]] && { echo "$d"; return; }
	done
	return 0
}
OTHER_KO="${IPVS_SWAP_OTHER_KO:-$(other_ko)}"
readonly OTHER_KO
readonly WORK="${TMPDIR:-/tmp}/ipvsd-swap"
readonly NS_CL=ipvsd-swap-cl NS_POD=ipvsd-swap-pod NS_TWO=ipvsd-swap-two
readonly VS=/proc/sys/net/ipv4/vs

ONLY=""
while [ $# -gt 0 ]; do
	case "$1" in
	--only) ONLY=",$2,"; shift 2 ;;
	*) echo "acceptance.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
selected() { [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]]; }

tap_bail_on_error

cleanup() {
	trap - ERR
	[ -n "${TRAFFIC_PID:-}" ] && kill "$TRAFFIC_PID" 2>/dev/null
	# shellcheck disable=SC2086 # two pids
	[ -n "${SERVER_PIDS:-}" ] && kill $SERVER_PIDS 2>/dev/null
	ipvsadm -C 2>/dev/null || true
	for ns in "$NS_CL" "$NS_POD" "$NS_TWO"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
	return 0
}
trap cleanup EXIT

same() { diff -u "$1" "$2"; }
# The whole configuration ipvsadm can show: rules, thresholds, timeouts.
config_of() {
	ipvsadm -Sn
	ipvsadm -Ln --thresholds | awk '$1 == "->" {print $1, $2, $3, $4}' # not the connection counts
	ipvsadm -Ln --timeout
}
sysctls_of() {
	local f
	for f in "$VS"/*; do
		[ "${f##*/}" = conn_reuse_quiescent ] && continue # only the variant has it
		printf '%s = %s\n' "${f##*/}" "$(tr '\t' ' ' <"$f")"
	done
}
ipvs_modules() { awk '$1 ~ /^ip_vs/ {print $1}' /proc/modules | sort | tr '\n' ' '; }
loaded_is_variant() { [ -e "$VS/conn_reuse_quiescent" ]; }
rules_input() { grep -v '^#' "$HERE/rules.txt"; }
unload_ipvs() {
	local m
	ipvsadm -C 2>/dev/null || true
	modprobe -r xt_ipvs 2>/dev/null || true
	while read -r m _; do
		if [[ "$m" == ip_vs_* ]]; then rmmod "$m"; fi
	done < <(cat /proc/modules)
	if grep -q '^ip_vs ' /proc/modules; then rmmod ip_vs; fi
}

mkdir -p "$WORK"

# ---- save / restore against ipvsadm ---------------------------------------------------------------

test_rules() {
	modprobe ip_vs
	ipvsadm -C
	rules_input >"$WORK/in.rules"
	tap_check "ipvsadm -R programs the reference table" ipvsadm -R <"$WORK/in.rules"
	ipvsadm --set 901 121 301

	ipvsadm -Sn >"$WORK/ref.n"
	ipvsadm -S >"$WORK/ref.names"
	"$BIN" save -n >"$WORK/ours.n"
	tap_check "save -n is byte-identical to ipvsadm -Sn ($(wc -l <"$WORK/ref.n") lines)" same "$WORK/ref.n" "$WORK/ours.n"
	"$BIN" save >"$WORK/ours.names"
	tap_check "save is byte-identical to ipvsadm -S (names resolved)" same "$WORK/ref.names" "$WORK/ours.names"
	config_of >"$WORK/ref.config"

	# ipvsadm -Sn -> ipvs-drain restore
	ipvsadm -C
	tap_check "restore reads ipvsadm -Sn" "$BIN" restore <"$WORK/ref.n"
	tap_check "ipvsadm -Sn after restore of ipvsadm -Sn is identical" same "$WORK/ref.n" <(ipvsadm -Sn)

	# ipvsadm -S (names) -> ipvs-drain restore, which resolves them as ipvsadm does
	ipvsadm -C
	tap_check "restore reads ipvsadm -S with host and service names" "$BIN" restore <"$WORK/ref.names"
	tap_check "... and builds the table of ipvsadm -Sn" same "$WORK/ref.n" <(ipvsadm -Sn)

	# ipvs-drain save -> ipvsadm -R
	ipvsadm -C
	tap_check "ipvsadm -R reads save -n" ipvsadm -R <"$WORK/ours.n"
	tap_check "ipvsadm -Sn after ipvsadm -R of save -n is identical" same "$WORK/ref.n" <(ipvsadm -Sn)

	# The same hand-written input through both tools, thresholds and defaults included.
	ipvsadm -C
	tap_check "restore reads the hand-written ipvsadm input" "$BIN" restore <"$WORK/in.rules"
	tap_check "restore and ipvsadm -R build the same table (rules, thresholds, timeouts)" \
		same "$WORK/ref.config" <(config_of)

	# Extras: thresholds and timeouts, still readable by ipvsadm -R.
	"$BIN" save -n --thresholds --timeouts >"$WORK/full.rules"
	ipvsadm -C
	ipvsadm --set 900 120 300
	tap_check "ipvsadm -R reads save --thresholds --timeouts" ipvsadm -R <"$WORK/full.rules"
	tap_check "... and rebuilds thresholds and timeouts too" same "$WORK/ref.config" <(config_of)
	ipvsadm -C
	ipvsadm --set 900 120 300
	tap_check "restore reads save --thresholds --timeouts" "$BIN" restore <"$WORK/full.rules"
	tap_check "... and rebuilds thresholds and timeouts too" same "$WORK/ref.config" <(config_of)

	tap_check "restore --flush replaces the table" "$BIN" restore --flush <"$WORK/ref.n"
	tap_check "... with exactly the rules given" same "$WORK/ref.n" <(ipvsadm -Sn)

	# A kernel refusal names its line.
	local out rc=0
	out=$(printf -- '-A -t 10.10.0.1:80 -s rr\n' | "$BIN" restore 2>&1) || rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ "$out" == *"line 1: Service already exists"* ]]; then
		tap_ok "a service that exists: exit 1, 'line 1: Service already exists'"
	else
		tap_not_ok "a service that exists: exit 1, 'line 1: Service already exists'" "rc=$rc $out"
	fi
	out=$(printf -- '-A -t 10.10.9.1:80 -s nosuchsched\n' | "$BIN" restore 2>&1) || rc=$?
	if [ "$rc" = 1 ] && [[ "$out" == *"line 1: "*"not found"* ]]; then
		tap_ok "an unknown scheduler: exit 1, says so with its line"
	else
		tap_not_ok "an unknown scheduler: exit 1, says so with its line" "rc=$rc $out"
	fi
	ipvsadm -C
	ipvsadm --set 900 120 300
}

# ---- bad input: exit 2, one line, nothing applied -------------------------------------------------

bad_input() { # NAME EXPECTED-SUBSTRING COMMAND...   (stdin: the input)
	local name="$1" want="$2" out rc=0
	shift 2
	ipvsadm -Sn >"$WORK/before"
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ "$out" == *"$want"* ]] &&
		same "$WORK/before" <(ipvsadm -Sn) >/dev/null; then
		tap_ok "bad input: $name -> exit 2, one line"
	else
		tap_not_ok "bad input: $name -> exit 2, one line" "rc=$rc: $out"
	fi
}

test_input() {
	modprobe ip_vs
	ipvsadm -C
	ipvsadm -A -t 10.10.0.1:80 -s rr
	bad_input "unknown option" "line 2: unknown option '-q'" \
		"$BIN" restore <<<$'-A -t 10.10.0.2:80\n-A -t 10.10.0.3:80 -q'
	bad_input "bad weight" "line 1: invalid weight '70000'" \
		"$BIN" restore <<<'-a -t 10.10.0.1:80 -r 10.1.0.1 -w 70000'
	bad_input "two commands" "two commands" "$BIN" restore <<<'-A -a -t 10.10.0.1:80'
	bad_input "dest option on a service" "not allowed with -A" "$BIN" restore <<<'-A -t 10.10.0.2:80 -r 1.2.3.4'
	bad_input "bad address" "Invalid service address" "$BIN" restore <<<'-A -t 300.1.1.1:80'
	bad_input "gue without port" "needs --tun-port" \
		"$BIN" restore <<<'-a -t 10.10.0.1:80 -r 10.1.0.1 -i --tun-type gue'
	bad_input "--check replay" "No such service" "$BIN" restore --check <<<'-a -t 10.10.0.9:80 -r 10.1.0.1'
	bad_input "save with a stray word" "Unexpected argument" "$BIN" save extra
	bad_input "swap-module unknown option" "Unknown option" "$BIN" swap-module --bogus
	ipvsadm -C
}

# ---- topology and traffic -------------------------------------------------------------------------

setup_topology() {
	sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip netns add "$NS_CL"
	ip netns add "$NS_POD"
	ip link add d0 type veth peer name c0 netns "$NS_CL"
	ip link add d1 type veth peer name p0 netns "$NS_POD"
	ip addr add 10.0.0.1/24 dev d0
	ip addr add 10.244.1.1/24 dev d1
	ip link set d0 up
	ip link set d1 up
	ip link add ipvs0 type dummy
	ip link set ipvs0 up
	ip addr add 10.96.0.1/32 dev ipvs0
	ip netns exec "$NS_CL" sh -c 'ip addr add 10.0.0.2/24 dev c0 && ip link set c0 up && ip link set lo up &&
		ip route add default via 10.0.0.1'
	ip netns exec "$NS_POD" sh -c 'ip addr add 10.244.1.2/24 dev p0 && ip addr add 10.244.1.3/24 dev p0 &&
		ip link set p0 up && ip link set lo up && ip route add default via 10.244.1.1'
	for ns in "$NS_CL" "$NS_POD"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0
	done
	local ip
	SERVER_PIDS=""
	for ip in 10.244.1.2 10.244.1.3; do
		ip netns exec "$NS_POD" python3 -m http.server --bind "$ip" 80 --directory /proc/sys/kernel \
			>/dev/null 2>&1 &
		SERVER_PIDS="$SERVER_PIDS $!"
	done
}

# A client that fetches through the VIP every 50 ms and keeps "ok fail" counts in $WORK/traffic.
start_traffic() {
	ip netns exec "$NS_CL" python3 - "$WORK/traffic" <<'PY' &
import os, socket, sys, time
ok = fail = 0
while True:
    try:
        s = socket.create_connection(("10.96.0.1", 80), timeout=1)
        s.sendall(b"GET /ostype HTTP/1.0\r\n\r\n")
        ok += s.recv(64).startswith(b"HTTP/1.0 200")
        s.close()
    except OSError:
        fail += 1
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{ok} {fail}\n")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(0.05)
PY
	TRAFFIC_PID=$!
}
traffic_ok() { local ok _fail; read -r ok _fail <"$WORK/traffic" 2>/dev/null || ok=0; echo "${ok:-0}"; }
# Succeeds when at least 5 more requests went through within 20 s.
traffic_flows() {
	local start _
	start=$(traffic_ok)
	for _ in $(seq 1 100); do
		[ "$(traffic_ok)" -ge $((start + 5)) ] && return 0
		sleep 0.2
	done
	echo "no traffic through 10.96.0.1:80 (ok count stayed at $(traffic_ok))"
	return 1
}

# Ten services: IPv4/IPv6/fwmark, NAT/DR/tunnel, persistence with masks, weights including 0.
program_services() {
	ipvsadm -A -t 10.96.0.1:80 -s rr
	ipvsadm -a -t 10.96.0.1:80 -r 10.244.1.2:80 -m -w 1
	ipvsadm -a -t 10.96.0.1:80 -r 10.244.1.3:80 -m -w 1
	ipvsadm -A -t 10.96.0.2:443 -s wrr -p 300 -M 255.255.255.0
	ipvsadm -a -t 10.96.0.2:443 -r 10.244.1.2:8443 -m -w 0 -x 100 -y 10
	ipvsadm -a -t 10.96.0.2:443 -r 10.244.1.3:8443 -m -w 3
	ipvsadm -A -u 10.96.0.3:53 -s sh -b sh-port -o
	ipvsadm -a -u 10.96.0.3:53 -r 10.244.1.2:5353 -m -w 2
	ipvsadm -A -u 10.96.0.4:5060 -s lc -p 120 --pe sip
	ipvsadm -a -u 10.96.0.4:5060 -r 10.244.1.3 -i --tun-type gue --tun-port 6080 --tun-csum
	ipvsadm -A -t '[fd00:96::1]:80' -s wlc -p 600 -M 64
	ipvsadm -a -t '[fd00:96::1]:80' -r '[fd01::2]:80' -m -w 0
	ipvsadm -a -t '[fd00:96::1]:80' -r '[fd01::3]:80' -m -w 5
	ipvsadm -A -u '[fd00:96::2]:53' -s mh -b mh-fallback
	ipvsadm -a -u '[fd00:96::2]:53' -r fd01::4 -g
	ipvsadm -A --sctp-service 10.96.0.5:3868 -s sed
	ipvsadm -a --sctp-service 10.96.0.5:3868 -r 10.244.1.2:3868 -m
	ipvsadm -A -f 100 -s nq -p
	ipvsadm -a -f 100 -r 10.244.1.3 -g -w 0
	ipvsadm -A -f 101 -6 -s dh
	ipvsadm -a -f 101 -6 -r fd01::5 -g -w 7
	ipvsadm -A -t 10.96.0.6:8080 -s fo
	ipvsadm --set 901 121 301
	sysctl -qw net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.sloppy_tcp=1 net.ipv4.vs.conn_reuse_mode=0 \
		net.ipv4.vs.sync_threshold="4 60" net.ipv4.vs.pmtu_disc=0
}

# swap NAME EXPECT-VARIANT(0/1) ARGS...: one swap that must succeed and keep everything.
swap_keeps_everything() {
	local name="$1" want_variant="$2" out rc=0 t0 t1
	shift 2
	config_of >"$WORK/before.config"
	sysctls_of >"$WORK/before.sysctl"
	t0=$(date +%s)
	out=$("$BIN" swap-module "$@" 2>&1) || rc=$?
	t1=$(date +%s)
	if [ "$rc" = 0 ]; then tap_ok "$name: exit 0 ($((t1 - t0)) s)"; else tap_not_ok "$name: exit 0" "$out"; fi
	local is=0
	loaded_is_variant && is=1
	if [ "$is" = "$want_variant" ]; then
		tap_ok "$name: the $([ "$want_variant" = 1 ] && echo variant || echo stock) is loaded ($(ipvs_modules))"
	else
		tap_not_ok "$name: the expected set is loaded" "variant=$is; $out"
	fi
	tap_check "$name: ipvsadm -Sn, thresholds and timeouts identical" same "$WORK/before.config" <(config_of)
	tap_check "$name: net.ipv4.vs sysctls identical" same "$WORK/before.sysctl" <(sysctls_of)
	tap_check "$name: traffic flows through the VIP after the swap" traffic_flows
	SWAP_OUT="$out"
}

test_swap() {
	if ! [ -d "$STOCK_KO" ] || ! [ -e "$VARIANT_KO/ip_vs.ko" ]; then
		tap_skip "swap round trip" "needs $STOCK_KO and $VARIANT_KO (make kmod KVER=$ABI; boot with --ko)"
		return 0
	fi
	setup_topology
	unload_ipvs
	local out rc=0 mods
	out=$("$BIN" swap-module --ko "$STOCK_KO" --save-file "$WORK/s0.rules" 2>&1) || rc=$?
	if [ "$rc" = 0 ] && [[ "$out" == *"rerun with --yes"* ]] && ! grep -q '^ip_vs ' /proc/modules; then
		tap_ok "nothing loaded, without --yes: loads nothing, exit 0"
	else
		tap_not_ok "nothing loaded, without --yes: loads nothing, exit 0" "rc=$rc $out"
	fi
	rc=0
	tap_check "swap-module with nothing loaded loads the stock set" "$BIN" swap-module --ko "$STOCK_KO" --yes \
		--save-file "$WORK/s0.rules"
	modprobe xt_ipvs
	program_services
	start_traffic
	tap_check "traffic flows through the VIP on the stock set" traffic_flows

	mods=$(ipvs_modules)
	out=$("$BIN" swap-module --from-ko "$STOCK_KO" --save-file "$WORK/s0.rules" 2>&1) || rc=$?
	if [ "$rc" = 0 ] && [[ "$out" == *"connection entries"* ]] && [[ "$out" == *"rerun with --yes"* ]] &&
		[ "$(ipvs_modules)" = "$mods" ]; then
		tap_ok "without --yes: prints the plan and the connection count, changes nothing, exit 0"
	else
		tap_not_ok "without --yes: prints the plan and the connection count, changes nothing, exit 0" "rc=$rc $out"
	fi
	rc=0
	out=$("$BIN" swap-module --yes --save-file "$WORK/s0.rules" 2>&1) || rc=$?
	if [ "$rc" = 1 ] && [[ "$out" == *"--from-ko"* ]] && [ "$(ipvs_modules)" = "$mods" ]; then
		tap_ok "stock loaded by insmod, no --from-ko: refuses (no rollback source), nothing unloaded"
	else
		tap_not_ok "stock loaded by insmod, no --from-ko: refuses (no rollback source)" "rc=$rc $out"
	fi

	swap_keeps_everything "swap stock -> variant (modprobe)" 1 --from-ko "$STOCK_KO" --yes \
		--save-file "$WORK/s1.rules"
	if grep -q xt_ipvs /proc/modules; then tap_ok "xt_ipvs was unloaded and reloaded"; else
		tap_not_ok "xt_ipvs was unloaded and reloaded" "$SWAP_OUT"; fi
	tap_check "the save file restores the same rules (ipvs-drain restore --check)" "$BIN" restore --check <"$WORK/s1.rules"

	# Another namespace with a service: refused, then kept with --all-netns.
	ip netns add "$NS_TWO"
	ip -n "$NS_TWO" link set lo up
	ip -n "$NS_TWO" link add eth0 type dummy
	ip -n "$NS_TWO" link set eth0 up
	ip -n "$NS_TWO" addr add 192.0.2.1/24 dev eth0
	ip netns exec "$NS_TWO" ipvsadm -A -t 192.0.2.1:80 -s rr
	ip netns exec "$NS_TWO" ipvsadm -a -t 192.0.2.1:80 -r 192.0.2.2:80 -m -w 0
	ip netns exec "$NS_TWO" ipvsadm --set 10 20 30
	ip netns exec "$NS_TWO" ipvsadm -Sn >"$WORK/two.before"
	ip netns exec "$NS_TWO" ipvsadm -Ln --timeout >>"$WORK/two.before"
	rc=0
	mods=$(ipvs_modules)
	out=$("$BIN" swap-module --ko "$STOCK_KO" --yes --save-file "$WORK/s0.rules" 2>&1) || rc=$?
	if [ "$rc" = 1 ] && [[ "$out" == *"netns $NS_TWO"* ]] && [[ "$out" == *"--all-netns"* ]] &&
		[ "$(ipvs_modules)" = "$mods" ]; then
		tap_ok "another netns holds services: refused, names it, nothing unloaded"
	else
		tap_not_ok "another netns holds services: refused, names it, nothing unloaded" "rc=$rc $out"
	fi
	swap_keeps_everything "swap variant -> stock (--ko, --all-netns)" 0 --ko "$STOCK_KO" --all-netns --yes \
		--save-file "$WORK/s2.rules"
	tap_check "--all-netns: the other namespace's services and timeouts are back" \
		same "$WORK/two.before" <(ip netns exec "$NS_TWO" ipvsadm -Sn; ip netns exec "$NS_TWO" ipvsadm -Ln --timeout)
	ip netns del "$NS_TWO"
}

# ---- compressed modules: the variant set as Debian ships modules (.ko.xz with CRC32) ------------------

xz_set_is_compressed() {
	if [ -n "$(find "$WORK/xz" -name '*.ko')" ]; then echo "plain .ko files in $WORK/xz"; return 1; fi
	xz -t "$WORK/xz"/*.ko.xz
}
loaded_is_xz_variant() {
	local loaded file
	loaded=$(cat /sys/module/ip_vs/srcversion)
	file=$(modinfo -F srcversion "$WORK/xz/ip_vs.ko.xz")
	echo "loaded ip_vs srcversion $loaded, ip_vs.ko.xz $file"
	[ "$loaded" = "$file" ] && [ -e "$VS/conn_reuse_quiescent" ]
}

test_xz() {
	if ! [ -d "$STOCK_KO" ] || ! [ -e "$VARIANT_KO/ip_vs.ko" ]; then
		tap_skip "swap to and from a .ko.xz set" "needs $STOCK_KO and $VARIANT_KO"
		return 0
	fi
	# Start from stock with services and traffic (as test_swap leaves it).
	grep -q '^ip_vs ' /proc/modules || "$BIN" swap-module --ko "$STOCK_KO" --yes --save-file "$WORK/s0.rules" >/dev/null
	loaded_is_variant && "$BIN" swap-module --ko "$STOCK_KO" --yes --save-file "$WORK/s0.rules" >/dev/null
	[ -e /sys/class/net/ipvs0 ] || setup_topology
	[ -n "$(ipvsadm -Sn)" ] || program_services
	[ -n "${TRAFFIC_PID:-}" ] || start_traffic
	local ko n=0
	rm -rf "$WORK/xz"
	mkdir -p "$WORK/xz"
	# As a Debian kernel package installs them: debug info stripped, then kbuild's xz options.
	for ko in "$VARIANT_KO"/*.ko; do
		strip --strip-debug -o "$WORK/xz/${ko##*/}" "$ko"
		xz --check=crc32 --lzma2=dict=1MiB "$WORK/xz/${ko##*/}"
		n=$((n + 1))
	done
	tap_check "the variant set as $n stripped .ko.xz files (xz --check=crc32), no plain .ko" xz_set_is_compressed

	swap_keeps_everything "swap stock -> variant (.ko.xz)" 1 --ko "$WORK/xz" --from-ko "$STOCK_KO" --yes \
		--save-file "$WORK/s4.rules"
	tap_check "... the loaded ip_vs is the .ko.xz build (srcversion), with net.ipv4.vs.conn_reuse_quiescent" \
		loaded_is_xz_variant
	swap_keeps_everything "swap variant -> stock (rollback source: the .ko.xz set)" 0 --ko "$STOCK_KO" \
		--from-ko "$WORK/xz" --yes --save-file "$WORK/s5.rules"
}

test_fail_before() {
	if [ -z "$OTHER_KO" ] || ! [ -e "$OTHER_KO/ip_vs.ko" ]; then
		tap_skip "--ko for another kernel is refused" "no build/OTHER_ABI (make kmod KVER=6.12.117+deb12-amd64)"
		return 0
	fi
	local out rc=0 addr
	grep -q '^ip_vs ' /proc/modules || modprobe ip_vs
	config_of >"$WORK/before.config"
	addr=$(grep '^ip_vs ' /proc/modules)
	out=$("$BIN" swap-module --ko "$OTHER_KO" --from-ko "$STOCK_KO" --yes --save-file "$WORK/s0.rules" 2>&1) || rc=$?
	if [ "$rc" = 1 ] && [[ "$out" == *"built for kernel"* ]] && [[ "$out" == *"before unloading anything"* ]]; then
		tap_ok "--ko $(basename "$OTHER_KO"): refused by vermagic, exit 1"
		echo "#   ${out//$'\n'/$'\n'#   }"
	else
		tap_not_ok "--ko $(basename "$OTHER_KO"): refused by vermagic, exit 1" "rc=$rc $out"
	fi
	tap_check "... nothing was unloaded (ip_vs still at the same address)" [ "$(grep '^ip_vs ' /proc/modules)" = "$addr" ]
	tap_check "... the table is untouched" same "$WORK/before.config" <(config_of)
}

test_fail_after() {
	if ! [ -d "$STOCK_KO" ] || ! [ -e "$VARIANT_KO/ip_vs.ko" ]; then
		tap_skip "corrupt module: rollback" "needs $STOCK_KO and $VARIANT_KO"
		return 0
	fi
	grep -q '^ip_vs ' /proc/modules || "$BIN" swap-module --ko "$STOCK_KO" --yes >/dev/null
	[ -e /sys/class/net/ipvs0 ] || setup_topology
	[ -n "$(ipvsadm -Sn)" ] || program_services
	local out rc=0 before_variant=0 now_variant=0
	loaded_is_variant && before_variant=1
	local from=("--from-ko" "$STOCK_KO")
	[ "$before_variant" = 1 ] && from=()
	rm -rf "$WORK/corrupt"
	cp -rL "$VARIANT_KO" "$WORK/corrupt" # -L: build/ABI may be a link to another checkout's build
	# e_machine = 0: the ELF parses (the .modinfo check passes), the kernel refuses it with ENOEXEC.
	printf '\000\000' | dd of="$WORK/corrupt/ip_vs_rr.ko" bs=1 seek=18 conv=notrunc status=none
	config_of >"$WORK/before.config"
	sysctls_of >"$WORK/before.sysctl"
	out=$("$BIN" swap-module --ko "$WORK/corrupt" "${from[@]}" --yes --save-file "$WORK/s3.rules" 2>&1) || rc=$?
	if [ "$rc" = 1 ] && [[ "$out" == *"FAILED at load"* ]] && [[ "$out" == *"ip_vs_rr"* ]] &&
		[[ "$out" == *"Exec format error"* ]] &&
		[[ "$out" == *"Rolled back"* ]]; then
		tap_ok "a corrupt ip_vs_rr.ko: fails at load (ENOEXEC), names it, says it rolled back, exit 1"
		echo "#   ${out//$'\n'/$'\n'#   }"
	else
		tap_not_ok "a corrupt ip_vs_rr.ko: fails at load (ENOEXEC), names it, says it rolled back, exit 1" "rc=$rc $out"
	fi
	loaded_is_variant && now_variant=1
	tap_check "... the previous set is loaded again ($(ipvs_modules))" [ "$now_variant" = "$before_variant" ]
	tap_check "... ipvsadm -Sn, thresholds and timeouts identical" same "$WORK/before.config" <(config_of)
	tap_check "... net.ipv4.vs sysctls identical" same "$WORK/before.sysctl" <(sysctls_of)
	if [ -n "${TRAFFIC_PID:-}" ]; then tap_check "... traffic flows again" traffic_flows; fi
}

# ---- main ---------------------------------------------------------------------------------------

for part in rules input swap xz fail-before fail-after; do
	selected "$part" || continue
	echo "# === $part ($(date +%T))"
	"test_${part//-/_}"
done
echo "# === end ($(date +%T))"
trap - ERR
tap_end
