#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest test suite: diffs `ipvs-drain list` (ipvsadm masked) against `ipvsadm -L` on 13 IPVS tables with
# traffic, and list's failures (stderr bytes, exit status) against ipvsadm's, then checks
# status/enable/disable against the variant module; TAP-like output.
#
#   client netns (10.0.0.2, fd00::2) --veth-- director (10.0.0.1, fd00::1; VIPs on dummy ipvs0)
#   director (10.244.1.1, fd01::1)  --veth-- pods netns (10.244.1.2-5, fd01::2-5), servers on 80/443/8080, 53/5353
#
# Run by: tests/vm/run.sh --abi ABI --timeout 600 --out DIR -- tests/vm-userspace/compare.sh \
#             [--only CFG,...] [--no-variant] [--goldens]
# Prints TAP (tests/lib/tap.sh); exits 1 when anything failed. Goldens for tests/unit/golden/ are
# written with --goldens to OUT/compare/golden/<config>/ (OUT is $IPVS_VM_OUT, /out in the guest).
set -eEuo pipefail

readonly HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/lib/guest.sh
source "$HERE/../lib/guest.sh"
# The test-only dumper of the kernel table (tests/unit/fixture_dump.cpp), built by tests/run-unit.sh.
readonly FIXTURE="${IPVS_DRAIN_FIXTURE:-$REPO/build/userspace-san/tests/unit/ipvs-drain-fixture}"
readonly KO="${IPVS_DRAIN_KO:-$REPO/build/$(uname -r)}"
readonly OUT="${IPVS_VM_OUT:-/tmp}/compare"
# Scratch files stay in the guest's tmpfs: every file on /out is a 9p round trip to the host.
readonly GOLDEN="$OUT/golden" WORK="${TMPDIR:-/tmp}/ipvsd-compare"
readonly NS_CL=ipvsd-cl NS_POD=ipvsd-pod NS_TWO=ipvsd-two
readonly KNOB=/proc/sys/net/ipv4/vs/conn_reuse_quiescent
readonly LIVE_TRIES=3

ONLY="" VARIANT=1 GOLDENS=0
while [ $# -gt 0 ]; do
	case "$1" in
	--goldens) GOLDENS=1; shift ;;
	--only) ONLY=",$2,"; shift 2 ;;
	--no-variant) VARIANT=0; shift ;;
	*) echo "compare.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

tap_bail_on_error

cleanup() {
	trap - ERR
	# shellcheck disable=SC2086 # two pids
	[ -n "${SERVER_PID:-}" ] && kill $SERVER_PID 2>/dev/null
	[ -n "${MASK_PID:-}" ] && kill "$MASK_PID" 2>/dev/null
	ipvsadm -C 2>/dev/null
	for ns in "$NS_CL" "$NS_POD" "$NS_TWO"; do ip netns del "$ns" 2>/dev/null; done
	return 0
}
trap cleanup EXIT

# Reads a whole file into the variable named $1 without a fork (outputs hold no NUL bytes).
slurp() { IFS= read -r -d '' "$1" <"$2" || true; }
same_file() { local x y; slurp x "$1"; slurp y "$2"; [[ "$x" == "$y" ]]; }
first_line() { local l=""; IFS= read -r l <"$1" || true; printf '%s' "$l"; }
line_count() { local n=0 l; while IFS= read -r l; do n=$((n + 1)); done <"$1"; echo "$n"; }
show_diff() { diff -u --label ipvsadm --label ipvs-drain "$1" "$2" || true; }
selected() { [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]]; }

# ---- our tool, with ipvsadm masked ---------------------------------------------------------------

# One private mount namespace, held by a sleeping process, in which /bin/false is bind-mounted over
# ipvsadm: every run of ipvs-drain enters it, so a pass can never come from shelling out to ipvsadm.
# (nsenter -r: the guest runs chrooted, and entering a mount namespace alone would reset the root.)
setup_mask() {
	local i
	rm -f "$WORK/mask.ready"
	unshare --mount --propagation private sh -c \
		'mount --bind /bin/false "$1" && : >"$2" && exec sleep infinity' sh "$(command -v ipvsadm)" "$WORK/mask.ready" &
	MASK_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$WORK/mask.ready" ] && return 0
		sleep 0.1
	done
	return 1
}
masked() { nsenter -t "$MASK_PID" -m -r -w -- "$@"; }
ours() { masked "$BIN" "$@"; }
snapshot() { masked "$FIXTURE"; }

# ---- topology and traffic ------------------------------------------------------------------------

setup_topology() {
	local i
	for ns in "$NS_CL" "$NS_POD" "$NS_TWO"; do ip netns add "$ns"; done
	ip -batch - <<-EOF
		link add vcl type veth peer name eth0 netns $NS_CL
		link add vpod type veth peer name eth0 netns $NS_POD
		link add ipvs0 type dummy
		addr add 10.0.0.1/24 dev vcl
		addr add fd00::1/64 dev vcl nodad
		addr add 10.244.1.1/24 dev vpod
		addr add fd01::1/64 dev vpod nodad
		link set vcl up
		link set vpod up
		link set ipvs0 up
		link set lo up
		addr add fd96::10/128 dev ipvs0 nodad
	EOF
	for i in 10.96.0.10 10.96.0.11 10.96.0.20 10.96.0.30 10.96.0.40 10.96.0.50 10.96.0.60 200.1.1.1; do
		echo "addr add $i/32 dev ipvs0"
	done | ip -batch -
	sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$NS_CL" -batch - <<-EOF
		addr add 10.0.0.2/24 dev eth0
		addr add fd00::2/64 dev eth0 nodad
		link set eth0 up
		link set lo up
		route add default via 10.0.0.1
		route add default via fd00::1
	EOF
	for i in 2 3 4 5; do
		echo "addr add 10.244.1.$i/24 dev eth0"
		echo "addr add fd01::$i/64 dev eth0 nodad"
	done | ip -n "$NS_POD" -batch -
	ip -n "$NS_POD" -batch - <<-EOF
		addr add 10.96.0.10/32 dev lo
		addr add 10.96.0.11/32 dev lo
		addr add 10.96.0.30/32 dev lo
		addr add 10.96.0.40/32 dev lo
		addr add fd96::10/128 dev lo
		link set eth0 up
		link set lo up
		route add default via 10.244.1.1
		route add default via fd01::1
	EOF
	# Pods hold the VIPs on lo (Route delivers to them); the director serves too (Local).
	ip netns exec "$NS_POD" python3 "$HERE/traffic.py" server &
	SERVER_PID=$!
	python3 "$HERE/traffic.py" server &
	SERVER_PID="$SERVER_PID $!"
}

# Drives traffic (targets: proto,host,port,count[,bytes]) for at least 2.5 s, so the 2-second rate
# estimator ticks while it flows, then freezes the estimator: rates and counters then hold still
# (6.1's estimation_timer skips its update while net.ipv4.vs.run_estimation is 0).
traffic() {
	sysctl -qw net.ipv4.vs.run_estimation=1
	ip netns exec "$NS_CL" python3 "$HERE/traffic.py" client --min-seconds 2.5 "$@" | sed 's/^/# /'
	sysctl -qw net.ipv4.vs.run_estimation=0
}

# ---- comparisons ----------------------------------------------------------------------------------

is_numeric_set() { case " $1 " in *" -n "*) return 0 ;; *) return 1 ;; esac; }
label() { if [ -n "$1" ]; then echo "list $1"; else echo "list (no options)"; fi; }
theirs() {
	# shellcheck disable=SC2086 # option sets are word lists
	case " $1 " in
	*" -S "*) ipvsadm $1 ;; # -S is a command of its own for ipvsadm, not a -L option
	*) ipvsadm -L $1 ;;
	esac
}

# Runs both tools for every option set (no -c) against one kernel state, proven unchanged by reading it
# before and after; one TAP line per option set, and the numeric ones become goldens.
compare_sets() {
	local cfg=$1; shift
	local dir="$WORK/$cfg" f0 f1 rcs attempt i o name ra rb err
	local -a ours_rc theirs_rc
	mkdir -p "$dir"
	for attempt in 1 2; do
		f0=$(snapshot)
		rcs=$(masked bash -c '
			bin=$1 dir=$2; shift 2; i=0
			for o in "$@"; do
				i=$((i + 1)); rc=0
				$bin list $o >"$dir/ours.$i" 2>"$dir/ours.$i.err" || rc=$?
				echo "$rc"
			done' sh "$BIN" "$dir" "$@")
		mapfile -t ours_rc <<<"$rcs"
		i=0
		for o in "$@"; do
			i=$((i + 1)); ra=0
			theirs "$o" >"$dir/theirs.$i" 2>"$dir/theirs.$i.err" || ra=$?
			theirs_rc[i]=$ra
		done
		f1=$(snapshot)
		[ "$f0" = "$f1" ] && break
	done
	if [ "$f0" = "$f1" ]; then
		tap_ok "$cfg: kernel state held still while both tools listed it (attempt $attempt)"
	else
		tap_not_ok "$cfg: kernel state held still while both tools listed it" \
			"$(diff <(echo "$f0") <(echo "$f1") || true)"
	fi
	i=0
	for o in "$@"; do
		i=$((i + 1))
		name="$cfg: $(label "$o")"
		ra=${theirs_rc[i]} rb=${ours_rc[i - 1]}
		if [ "$ra" = 0 ] && [ "$rb" = 0 ]; then
			if same_file "$dir/theirs.$i" "$dir/ours.$i"; then
				tap_ok "$name"
			else
				tap_not_ok "$name" "$(show_diff "$dir/theirs.$i" "$dir/ours.$i")"
			fi
		elif [ "$ra" != 0 ] && [ "$ra" = "$rb" ] && same_file "$dir/theirs.$i" "$dir/ours.$i" &&
			same_file "$dir/theirs.$i.err" "$dir/ours.$i.err"; then
			err=$(first_line "$dir/ours.$i.err")
			tap_ok "$name (both refuse alike, exit $ra: $err)"
		elif [ "$ra" != 0 ] && [ "$rb" != 0 ]; then
			tap_not_ok "$name (both refuse, differently: ipvsadm exit $ra, ipvs-drain exit $rb)" \
				"$(show_diff "$dir/theirs.$i.err" "$dir/ours.$i.err")"
		else
			tap_not_ok "$name (ipvsadm exit $ra, ipvs-drain exit $rb)" \
				"ipvsadm: $(first_line "$dir/theirs.$i.err")"$'\n'"ipvs-drain: $(first_line "$dir/ours.$i.err")"
		fi
	done
	[ "$GOLDENS" = 1 ] && [ "$f0" = "$f1" ] && save_golden "$cfg" "$f0" "$dir" "$@"
	return 0
}

# Goldens pair ipvsadm's bytes with the kernel state they came from: fixture.txt (netlink, dump order),
# ip_vs_conn.txt (a snapshot) and cases.txt ("file<TAB>options"); numeric option sets only.
save_golden() {
	local cfg=$1 fixture=$2 dir=$3; shift 3
	local g="$GOLDEN/$cfg" i=0 o content
	rm -rf "$g"
	mkdir -p "$g"
	printf '%s\n' "$fixture" >"$g/fixture.txt"
	: >"$g/cases.txt"
	for o in "$@"; do
		i=$((i + 1))
		is_numeric_set "$o" || continue
		[[ " $o " == *" --daemon "* ]] && continue
		[ "${theirs_rc[i]}" = 0 ] || continue
		slurp content "$dir/theirs.$i"
		printf '%s' "$content" >"$g/list$i.txt"
		printf 'list%s.txt\t%s\n' "$i" "$o" >>"$g/cases.txt"
	done
	cat /proc/net/ip_vs_conn >"$g/ip_vs_conn.txt"
	"$HERE/with-conn-table.sh" "$g/ip_vs_conn.txt" sh -c \
		'ipvsadm -L -c -n >"$1/conn1.txt" && ipvsadm -L -c -n --persistent-conn >"$1/conn2.txt"' sh "$g"
	printf 'conn1.txt\t-c -n\nconn2.txt\t-c -n --persistent-conn\n' >>"$g/cases.txt"
}

# The connection table: both tools start at once; the expire column ticks every second per entry, so
# retry a few times, and only then compare on one snapshot (said so in the test name).
compare_conn() {
	local cfg=$1 o=$2
	local dir="$WORK/$cfg" try ra rb pa pb snap entries
	local a="$dir/conn.theirs" b="$dir/conn.ours" name
	name="$cfg: $(label "$o")"
	for ((try = 1; try <= LIVE_TRIES; try++)); do
		ra=0 rb=0
		# shellcheck disable=SC2086
		masked "$BIN" list $o >"$b" 2>"$b.err" &
		pb=$!
		# shellcheck disable=SC2086 # env: one exec more, as nsenter costs ours
		env ipvsadm -L $o >"$a" 2>"$a.err" &
		pa=$!
		wait "$pb" || rb=$?
		wait "$pa" || ra=$?
		if [ "$ra" = 0 ] && [ "$rb" = 0 ] && same_file "$a" "$b"; then
			tap_ok "$name (live, $(($(line_count "$a") - 2)) entries, try $try)"
			return 0
		fi
	done
	snap="$dir/conn.snapshot"
	cat /proc/net/ip_vs_conn >"$snap"
	entries=$(($(line_count "$snap") - 1))
	ra=0 rb=0
	# One namespace for both: ipvsadm lists first, then is masked before ipvs-drain runs.
	"$HERE/with-conn-table.sh" "$snap" bash -c '
		rc=0; ipvsadm -L $1 >"$2" 2>"$2.err" || rc=$?
		mount --bind /bin/false "$(command -v ipvsadm)"
		"$4" list $1 >"$3" 2>"$3.err" || exit $((rc * 16 + $?))
		exit $((rc * 16))' sh "$o" "$a" "$b" "$BIN" || ra=$?
	rb=$((ra % 16)) ra=$((ra / 16))
	if [ "$ra" = 0 ] && [ "$rb" = 0 ] && same_file "$a" "$b"; then
		tap_ok "$name (snapshot fallback: live table ticked in $LIVE_TRIES tries; $entries entries)"
	else
		tap_not_ok "$name (snapshot of $entries entries; ipvsadm exit $ra, ipvs-drain exit $rb)" \
			"$(show_diff "$a" "$b")"
	fi
}

# -S output must restore: ipvsadm -R of our save gives back the same table.
check_restore() {
	local cfg=$1 o=$2
	local dir="$WORK/$cfg"
	ipvsadm -S -n >"$dir/restore.before"
	# shellcheck disable=SC2086
	ours list $o >"$dir/restore.ours"
	ipvsadm -C
	if ipvsadm -R <"$dir/restore.ours" 2>"$dir/restore.err" && ipvsadm -S -n >"$dir/restore.after" &&
		same_file "$dir/restore.before" "$dir/restore.after"; then
		tap_ok "$cfg: ipvsadm -R accepts list $o and rebuilds the same table"
	else
		ipvsadm -C
		if ! ipvsadm -R <"$dir/restore.before" 2>/dev/null; then
			tap_skip "$cfg: ipvsadm -R accepts list $o" "ipvsadm -R rejects ipvsadm's own save too: $(first_line "$dir/restore.err")"
		else
			tap_not_ok "$cfg: ipvsadm -R accepts list $o and rebuilds the same table" \
				"$(first_line "$dir/restore.err")"$'\n'"$(show_diff "$dir/restore.before" "$dir/restore.after")"
		fi
	fi
}

# Every listing option of the issue; name lookups (no -n) cost time in TCG, so only some tables add
# the NAME_SETS beyond the plain listing.
readonly SETS=("-n" "-n --stats" "-n --rate" "-n --stats --exact" "-n --rate --exact" "-n --thresholds"
	"-n --persistent-conn" "-n --sort" "-n --timeout" "-S -n" "")
readonly NAME_SETS=("--stats" "-S")
readonly CONN_SETS=("-c -n")

# check_config NAME TRAFFIC NAMES [extra option sets...]: TRAFFIC "yes" when counters must be non-zero,
# NAMES "yes" for the name-resolving option sets too.
check_config() {
	local cfg=$1 busy=$2 names=$3; shift 3
	local o f
	local -a sets=("${SETS[@]}") conn_sets=("${CONN_SETS[@]}")
	if [ "$names" = yes ]; then
		sets+=("${NAME_SETS[@]}")
		conn_sets+=("-c -n --persistent-conn" "-c")
	fi
	sysctl -qw net.ipv4.vs.run_estimation=0
	compare_sets "$cfg" "${sets[@]}" "$@"
	if [ "$busy" = yes ]; then
		f=$(snapshot)
		if [[ "$f" =~ service[^$'\n']*\ conns=[1-9][^$'\n']*\ inpps=[1-9] ]]; then
			tap_ok "$cfg: traffic left non-zero counters and frozen non-zero rates"
		else
			tap_not_ok "$cfg: traffic left non-zero counters and frozen non-zero rates" "$f"
		fi
	fi
	for o in "${conn_sets[@]}"; do compare_conn "$cfg" "$o"; done
	check_restore "$cfg" "-S -n"
	[ "$names" = no ] || check_restore "$cfg" "-S"
}

# ---- the tables ------------------------------------------------------------------------------------

cfg_empty() {
	ipvsadm -C
	check_config empty no yes "-n --daemon" "-n --tun-info" "-n -t 10.96.0.10:80"
}

cfg_masq_v4() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.10:80 -s rr
		-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1
		-a -t 10.96.0.10:80 -r 10.244.1.3:8080 -m -w 2
		-A -u 10.96.0.20:5353 -s rr
		-a -u 10.96.0.20:5353 -r 10.244.1.2:5353 -m -w 1
	EOF
	traffic tcp,10.96.0.10,80,16 udp,10.96.0.20,5353,4
	check_config masq_v4 yes yes "-n -t 10.96.0.10:80" "-t 10.96.0.10:http --stats" "-n -u 10.96.0.20:5353 --rate" \
		"-n -t 10.96.0.10:81"
}

cfg_v6() {
	ipvsadm -R <<-EOF
		-A -t [fd96::10]:80 -s rr
		-a -t [fd96::10]:80 -r [fd01::2]:8080 -m -w 1
		-a -t [fd96::10]:80 -r [fd01::3]:8080 -m -w 0
		-a -t [fd96::10]:80 -r [fd00::1]:80 -m -w 1
		-A -u [fd96::10]:5353 -s sh -b sh-port
		-a -u [fd96::10]:5353 -r [fd01::4]:5353 -m -w 1
	EOF
	traffic tcp,fd96::10,80,12 udp,fd96::10,5353,3
	check_config v6 yes yes "-n -t [fd96::10]:80" "-n -u [fd96::10]:5353 --stats" "-t [fd96::10]:http"
}

cfg_fwmark() {
	ipvsadm -R <<-EOF
		-A -f 1 -s wlc
		-a -f 1 -r 10.244.1.2:0 -m -w 1
		-a -f 1 -r 10.244.1.3:0 -i -w 4
		-A -f 2 -6 -s rr -p 120
		-a -f 2 -6 -r [fd01::2]:0 -g -w 1
		-A -f 4294967295 -s dh
		-a -f 4294967295 -r 10.244.1.5:0 -g -w 1
	EOF
	# Marks come from tc (no iptables in the guest): skbedit on the director's ingress.
	if tc qdisc add dev vcl clsact 2>/dev/null &&
		tc filter add dev vcl ingress protocol ip flower dst_ip 10.96.0.40 action skbedit mark 1 2>/dev/null; then
		traffic tcp,10.96.0.40,80,10
		check_config fwmark yes no "-n -f 1" "-n -f 2 -6" "-n -f 4294967295 --stats" "-f 1" "-n -f 3"
		tc qdisc del dev vcl clsact
	else
		tap_skip "fwmark: traffic through a marked VIP" "tc clsact/flower/skbedit unavailable"
		check_config fwmark no no "-n -f 1" "-n -f 2 -6" "-n -f 4294967295 --stats" "-f 1" "-n -f 3"
	fi
}

cfg_persistence() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.11:443 -s rr -p 300 -M 255.255.255.0
		-a -t 10.96.0.11:443 -r 10.244.1.2:443 -m -w 1
		-a -t 10.96.0.11:443 -r 10.244.1.3:443 -m -w 1
		-A -t 10.96.0.30:0 -s rr -p
		-a -t 10.96.0.30:0 -r 10.244.1.3:0 -g -w 1
		-A -t [fd96::10]:443 -s lc -p 60 -M 64
		-a -t [fd96::10]:443 -r [fd01::5]:443 -m -w 1
		-A -t 10.96.0.10:80 -s rr -p 1800
		-a -t 10.96.0.10:80 -r 10.244.1.2:80 -m -w 1
	EOF
	if modprobe ip_vs_pe_sip 2>/dev/null; then
		ipvsadm -A -u 10.96.0.50:5060 -s rr -p 60 --pe sip
		ipvsadm -a -u 10.96.0.50:5060 -r 10.244.1.4:5060 -m
	fi
	traffic tcp,10.96.0.10,80,10 tcp,10.96.0.11,443,6 tcp,fd96::10,443,6
	check_config persistence yes yes "-n -t 10.96.0.11:443" "-n -t 10.96.0.30:0" "-t 10.96.0.11:https" \
		"-n -t [fd96::10]:443 --persistent-conn"
}

cfg_sched_flags() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.10:80 -s sh -b sh-fallback,sh-port
		-a -t 10.96.0.10:80 -r 10.244.1.2:80 -m -w 1
		-A -t 10.96.0.11:80 -s mh -b mh-port
		-a -t 10.96.0.11:80 -r 10.244.1.3:80 -m -w 1
		-A -t 10.96.0.20:80 -s rr -b flag-1,flag-3
		-a -t 10.96.0.20:80 -r 10.244.1.4:80 -m -w 1
		-A -u 10.96.0.20:53 -s rr -o
		-a -u 10.96.0.20:53 -r 10.244.1.4:53 -m -w 1
	EOF
	traffic tcp,10.96.0.10,80,12 udp,10.96.0.20,53,4
	check_config sched_flags yes no "-n -t 10.96.0.11:80" "-n -u 10.96.0.20:53 --rate"
}

cfg_thresholds() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.10:80 -s wlc
		-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 10 -x 100 -y 50
		-a -t 10.96.0.10:80 -r 10.244.1.3:8080 -m -w 65535 -x 2147483647 -y 0
		-a -t 10.96.0.10:80 -r 10.244.1.4:8080 -m -w 0
	EOF
	traffic tcp,10.96.0.10,80,12
	check_config thresholds yes no "-n -t 10.96.0.10:80 --thresholds"
}

cfg_methods() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.10:80 -s rr
		-a -t 10.96.0.10:80 -r 10.244.1.2:80 -g -w 1
		-a -t 10.96.0.10:80 -r 10.244.1.3:80 -i -w 1
		-a -t 10.96.0.10:80 -r 10.244.1.4:8080 -m -w 1
		-a -t 10.96.0.10:80 -r 10.0.0.1:80 -m -w 1
		-a -t 10.96.0.10:80 -r 10.244.1.5:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
		-A -t 10.96.0.11:80 -s rr
		-a -t 10.96.0.11:80 -r 10.244.1.2:80 -i -w 1 --tun-type gre --tun-nocsum
		-a -t 10.96.0.11:80 -r [fd01::2]:80 -i -w 1
		-a -t 10.96.0.11:80 -r 10.244.1.3:80 -i -w 1 --tun-type gue --tun-port 5555 --tun-remcsum
	EOF
	traffic tcp,10.96.0.10,80,15 tcp,10.96.0.11,80,4
	check_config methods yes yes "-n --tun-info" "-n -t 10.96.0.11:80 --tun-info" "-n --nosort" "-n --stats --nosort"
}

cfg_many() {
	local i vip port
	for ((i = 1; i <= 50; i++)); do
		vip="10.$((i % 3 * 90 + 10)).$((i / 7)).$i"
		[ $((i % 5)) = 0 ] && vip="200.$i.1.1"
		if [ $((i % 4)) = 0 ]; then
			echo "-A -u $vip:$((1000 + i)) -s lc"
			echo "-a -u $vip:$((1000 + i)) -r 10.244.1.$((i % 4 + 2)):53 -m -w $((i % 3))"
		else
			port=$((i * 37 % 65535))
			echo "-A -t $vip:$port -s wlc"
			echo "-a -t $vip:$port -r 10.244.$((i % 2)).$((i % 9 + 2)):80 -m -w 1"
			echo "-a -t $vip:$port -r 192.168.$i.1:80 -g -w 0"
		fi
	done | ipvsadm -R
	ipvsadm -A -t 10.96.0.10:80 -s rr
	ipvsadm -a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m
	traffic tcp,10.96.0.10,80,10
	check_config many yes no "-n --nosort" "-n -t 10.100.0.1:37"
}

cfg_sctp() {
	ipvsadm -R <<-EOF
		-A --sctp-service 10.96.0.50:5000 -s rr
		-a --sctp-service 10.96.0.50:5000 -r 10.244.1.2:5000 -m -w 1
		-A -t 10.96.0.50:5000 -s rr
		-a -t 10.96.0.50:5000 -r 10.244.1.2:5000 -m -w 1
		-A --sctp-service [fd96::10]:5000 -s wrr
		-a --sctp-service [fd96::10]:5000 -r [fd01::3]:5000 -m -w 3
	EOF
	check_config sctp no no "-n --sctp-service 10.96.0.50:5000" "--sctp-service 10.96.0.50:5000" \
		"-n --sctp-service [fd96::10]:5000 --stats"
}

cfg_daemon() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.60:80 -s rr
		-a -t 10.96.0.60:80 -r 10.244.1.2:80 -m -w 1
	EOF
	ipvsadm --start-daemon master --mcast-interface vcl --syncid 7
	ipvsadm --start-daemon backup --mcast-interface vcl --syncid 9
	check_config daemon no no "-n --daemon" "--daemon"
	ipvsadm --stop-daemon master
	ipvsadm --stop-daemon backup
}

cfg_draining() {
	ipvsadm --set 900 120 300
	ipvsadm -R <<-EOF
		-A -t 10.96.0.10:80 -s rr
		-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1
	EOF
	sysctl -qw net.ipv4.vs.run_estimation=1
	ip netns exec "$NS_CL" python3 "$HERE/traffic.py" client tcp,10.96.0.10,80,10 | sed 's/^/# /'
	ipvsadm -a -t 10.96.0.10:80 -r 10.244.1.3:8080 -m -w 1
	ipvsadm -e -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 0
	traffic tcp,10.96.0.10,80,10
	ipvsadm -d -t 10.96.0.10:80 -r 10.244.1.2:8080
	check_config draining yes no "-n -t 10.96.0.10:80"
}

# About 100 MB in one connection: InBytes past 10^8, where ipvsadm starts to print K.
cfg_big_bytes() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.10:80 -s wrr
		-a -t 10.96.0.10:80 -r 10.244.1.4:80 -m -w 5
	EOF
	traffic tcp,10.96.0.10,80,1,100500000
	check_config big_bytes yes no "-n -t 10.96.0.10:80 --stats --exact" "-n -t 10.96.0.10:80 --stats"
	if grep -q 'K ' "$WORK/big_bytes/theirs.2"; then
		tap_ok "big_bytes: the --stats listing scales InBytes to K"
	else
		tap_not_ok "big_bytes: the --stats listing scales InBytes to K" "$(cat "$WORK/big_bytes/theirs.2")"
	fi
}

# ---- list's failures: ipvsadm's bytes ------------------------------------------------------------------

readonly NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# compare_error OPTIONS [WRAPPER...]: `ipvsadm -L OPTIONS` fails, and `ipvs-drain list OPTIONS` fails the same
# way: same exit status, same stdout and stderr bytes. WRAPPER (e.g. setpriv) runs both.
compare_error() {
	local o=$1; shift
	local dir="$WORK/list_errors" ra=0 rb=0 name err
	name="list_errors: $(label "$o")${1:+ (uid 65534)}"
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # option sets are word lists
	"$@" ipvsadm -L $o >"$dir/theirs" 2>"$dir/theirs.err" || ra=$?
	# shellcheck disable=SC2086
	masked "$@" "$BIN" list $o >"$dir/ours" 2>"$dir/ours.err" || rb=$?
	err=$(first_line "$dir/theirs.err")
	if [ "$ra" = 0 ]; then
		tap_not_ok "$name: ipvsadm fails" "ipvsadm exit 0; stdout: $(first_line "$dir/theirs")"
	elif [ "$ra" = "$rb" ] && same_file "$dir/theirs" "$dir/ours" && same_file "$dir/theirs.err" "$dir/ours.err"; then
		tap_ok "$name: ipvsadm's exit $ra and stderr, byte for byte ($err)"
	else
		tap_not_ok "$name: ipvsadm's exit $ra and stderr, byte for byte" \
			"ipvsadm exit $ra, ipvs-drain exit $rb; stderr:"$'\n'"$(show_diff "$dir/theirs.err" "$dir/ours.err")"$'\n'"stdout:"$'\n'"$(show_diff "$dir/theirs" "$dir/ours")"
	fi
}

cfg_list_errors() {
	ipvsadm -R <<-EOF
		-A -t 10.96.0.10:80 -s rr
		-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1
		-A -f 1 -s rr
		-a -f 1 -r 10.244.1.3:0 -m -w 1
	EOF
	local o
	# Services that do not exist: the kernel answers ESRCH to IPVS_CMD_GET_SERVICE.
	for o in "-n -t 10.99.9.9:80" "-n --stats -t 10.99.9.9:80" "-n --rate -t 10.99.9.9:80" \
		"-n --stats --exact -t 10.99.9.9:80" "-n -t 10.96.0.10:81" "-n -u 10.96.0.10:80" "-n -u 10.99.9.9:53" \
		"-n --sctp-service 10.99.9.9:5000" "-n -t [fd96::99]:80" "-t 10.99.9.9:http" "-n -f 3" "-n -f 3 -6" \
		"-n -f 1 -6" "-n -f 3 --stats" "-n -f 3 --rate" "-n -t 10.99.9.9:80 --thresholds" \
		"-n -t 10.99.9.9:80 --persistent-conn" "-n -t 10.99.9.9:80 --tun-info" "-n -t 10.99.9.9:80 --nosort"; do
		compare_error "$o"
	done
	# Without CAP_NET_ADMIN the kernel refuses the first request, whatever is listed (ipvsadm's ipvs_init).
	for o in "-n" "-n -t 10.96.0.10:80" "-n --stats" "-n -f 1" "-n --timeout" "-n --daemon" "-c -n"; do
		compare_error "$o" "${NOBODY[@]}"
	done
	# Verbs other than list keep their own wording.
	expect "list_errors: save without privileges keeps the 'ipvs-drain:' sentence" 1 \
		"^ipvs-drain: Permission denied" masked "${NOBODY[@]}" "$BIN" save -n
}

# ---- errors without IPVS, and the variant module ------------------------------------------------------

# expect NAME RC PATTERN CMD...: CMD exits RC, prints nothing on stdout, and one stderr line matching PATTERN.
expect() {
	local name=$1 want=$2 pattern=$3; shift 3
	local rc=0 f="$WORK/expect"
	"$@" >"$f.out" 2>"$f.err" || rc=$?
	local err
	err=$(first_line "$f.err")
	if [ "$rc" = "$want" ] && [ ! -s "$f.out" ] && [ "$(line_count "$f.err")" = 1 ] && [[ "$err" =~ $pattern ]]; then
		tap_ok "$name (exit $rc: ${err#ipvs-drain: })"
	else
		tap_not_ok "$name" "exit $rc (want $want); stderr: $err; stdout: $(first_line "$f.out")"
	fi
}

knob_in() { # NETNS|"" -> the knob's value there
	if [ -n "$1" ]; then ip netns exec "$1" cat "$KNOB"; else cat "$KNOB"; fi
}

# check_knob NAME INIT TWO: the knob reads INIT here and TWO in the second netns.
check_knob() {
	local a b
	a=$(knob_in "") b=$(knob_in "$NS_TWO")
	if [ "$a" = "$2" ] && [ "$b" = "$3" ]; then
		tap_ok "$1 (knob: init_net $a, $NS_TWO $b)"
	else
		tap_not_ok "$1" "knob: init_net $a (want $2), $NS_TWO $b (want $3)"
	fi
}

# check_json NAME FILE PYTHON-ASSERTIONS: d is the parsed status --json.
check_json() {
	local msg
	if python3 -c 'import json, os, sys; d = json.load(open(sys.argv[1])); exec(sys.argv[2])' "$2" "$3" \
		>"$WORK/json.msg" 2>&1; then
		tap_ok "$1"
	else
		slurp msg "$WORK/json.msg"
		tap_not_ok "$1" "$msg"$'\n'"$(cat "$2")"
	fi
}

not_loaded_checks() {
	expect "list -t with a bad address is a usage error" 2 "." ours list -n -t 10.96.0.300:80
	expect "list with an unknown option is a usage error" 2 "." ours list --bogus
	expect "enable --mode 7 is a usage error" 2 "." ours enable --mode 7
	# The harness may have loaded ip_vs while checking it; unload it to see the tool's answer.
	[ -d /sys/module/ip_vs ] && modprobe -r ip_vs 2>/dev/null
	if [ -d /sys/module/ip_vs ]; then
		tap_skip "list without IPVS loaded" "ip_vs is loaded and cannot be removed"
		return
	fi
	expect "list -n without IPVS: one sentence naming 'modprobe ip_vs'" 1 "modprobe ip_vs" ours list -n
	expect "enable without IPVS: one sentence naming 'modprobe ip_vs'" 1 "modprobe ip_vs" ours enable
	expect "status without IPVS: one sentence naming 'modprobe ip_vs'" 1 "modprobe ip_vs" ours status
	if [ -d /sys/module/ip_vs ]; then
		tap_not_ok "ipvs-drain never loads ip_vs itself" "/sys/module/ip_vs appeared"
	else
		tap_ok "ipvs-drain never loads ip_vs itself"
	fi
}

variant_checks() {
	local f="$WORK/status.json" ver
	# The stock module first: no knob, and enable says how to get the variant.
	ours status --json >"$f"
	check_json "stock: status --json reports no variant and a null knob" "$f" \
		'assert d["variant"]["loaded"] is False and d["sysctls"]["conn_reuse_quiescent"] is None, d'
	expect "stock: enable refuses and says how to load the variant" 1 "modprobe" ours enable
	if [ ! -f "$KO/ip_vs.ko" ]; then
		tap_skip "variant: status, enable, disable, --netns" "no $KO/ip_vs.ko (make kmod KVER=$(uname -r))"
		return
	fi
	ipvsadm -C
	local mods m
	mods=$(awk '$1 ~ /^ip_vs_/ { print $1 }' /proc/modules)
	for m in $mods; do rmmod "$m"; done
	rmmod ip_vs
	modprobe -a nf_conntrack nf_defrag_ipv6 libcrc32c
	insmod "$KO/ip_vs.ko" conn_reuse_quiescent=1
	insmod "$KO/ip_vs_rr.ko"
	ver=$(cat /sys/module/ip_vs/version 2>/dev/null || echo none)
	echo "# variant ip_vs $ver loaded from $KO"

	ours status --json >"$f"
	check_json "variant: status --json: variant, version, knob 1 from the module parameter, counters" "$f" '
v = open("/sys/module/ip_vs/version").read().strip()
assert d["schema"] == 1 and d["kernel"] == os.uname().release and d["netns"] is None, d
assert d["variant"] == {"loaded": True, "version": v}, d["variant"]
assert d["sysctls"]["conn_reuse_quiescent"] == 1, d["sysctls"]
want = {l.split()[0]: int(l.split()[1]) for l in open("/proc/net/ip_vs_reuse_stats") if l.strip()}
assert set(want) == {"rescheduled", "dropped_old_conntrack"} and d["counters"] == want, (d["counters"], want)
assert isinstance(d["risk"]["total"], int) and isinstance(d["advice"], str) and d["advice"], d'
	if ours status >"$WORK/status.txt" && grep -q "$ver" "$WORK/status.txt"; then
		tap_ok "variant: status (text) names the variant version $ver"
	else
		tap_not_ok "variant: status (text) names the variant version $ver" "$(cat "$WORK/status.txt")"
	fi
	check_knob "variant: a netns created before the load also starts from the module parameter" 1 1

	ours disable >/dev/null
	check_knob "variant: disable sets 0 here only" 0 1
	ours enable >/dev/null
	check_knob "variant: enable sets 1" 1 1
	ours enable --mode 2 >/dev/null
	check_knob "variant: enable --mode 2 sets 2" 2 1
	expect "variant: enable --mode 7 is refused as usage" 2 "mode|0.*3" ours enable --mode 7
	check_knob "variant: the refused --mode 7 kept the old value" 2 1
	ours enable --netns "$NS_TWO" --mode 3 >/dev/null
	check_knob "variant: enable --netns $NS_TWO --mode 3 changes that netns only" 2 3
	ours disable --netns "$NS_TWO" >/dev/null
	check_knob "variant: disable --netns $NS_TWO changes that netns only" 2 0
	ours status --json --netns "$NS_TWO" >"$f"
	check_json "variant: status --json --netns $NS_TWO reports that netns and its knob 0" "$f" \
		'assert d["netns"] == "ipvsd-two" and d["sysctls"]["conn_reuse_quiescent"] == 0 and d["variant"]["loaded"], d'
	ours status --json >"$f"
	check_json "variant: status --json here still reports knob 2" "$f" \
		'assert d["netns"] is None and d["sysctls"]["conn_reuse_quiescent"] == 2, d'
	expect "variant: enable --netns on a missing netns" 1 "ipvsd-nosuch" ours enable --netns ipvsd-nosuch
	expect "variant: enable without privileges says permission denied" 1 "[Pp]ermission" \
		masked setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" enable
	check_knob "variant: the refused calls kept both values" 2 0
	ipvsadm -A -t 10.96.0.10:80 -s rr
	ipvsadm -a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m
	compare_sets variant -n "-n --stats" "-S -n"
	ipvsadm -C
}

# ---- main ---------------------------------------------------------------------------------------------

mkdir -p "$WORK" "$GOLDEN"
if ! command -v ipvsadm >/dev/null; then
	tap_skip "ipvs-drain against ipvsadm" "ipvsadm is not installed in the guest"
	tap_end
	exit 0
fi
[ -x "$BIN" ] || tap_bail "ipvs-drain is built at $BIN"
[ -x "$FIXTURE" ] || tap_bail "the fixture dumper is built at $FIXTURE (tests/run-unit.sh builds it)"

setup_topology
setup_mask
rc=0
masked ipvsadm -Ln >"$WORK/masked.out" 2>&1 || rc=$?
if [ "$rc" != 0 ] && [ ! -s "$WORK/masked.out" ] && ipvsadm -v >/dev/null 2>&1; then
	tap_ok "ipvsadm is masked (/bin/false) where ipvs-drain runs, and real outside"
else
	tap_not_ok "ipvsadm is masked (/bin/false) where ipvs-drain runs, and real outside" "exit $rc"
fi
not_loaded_checks
modprobe ip_vs
sysctl -qw net.ipv4.vs.conntrack=1

for cfg in empty masq_v4 v6 fwmark persistence sched_flags thresholds methods many sctp daemon draining big_bytes \
	list_errors; do
	selected "$cfg" || continue
	echo "# === $cfg ($(date +%T))"
	ipvsadm -C
	"cfg_$cfg"
done
ipvsadm -C
if [ "$VARIANT" = 1 ] && selected variant; then
	echo "# === variant ($(date +%T))"
	variant_checks
fi

tap_end
