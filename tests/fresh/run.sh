#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-fresh: the README's commands in brand-new Debian roots, as a newcomer runs them.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/fresh/run.sh [--kernels "6.1"] [--only node|commands|deb] [--keep]

Proves the cold path: nothing the README's commands need may come from this
machine's own state. Builds a minimal Debian root of this machine's release
with mmdebstrap once (the apt variant plus git and make, kept as a tarball in
the cache), then, each in a pristine copy entered with chroot:

  node      sources written as a one-line sources.list; make deps, then
            make kmod KVER=<newest 6.1 ABI> and make install KVER=<same>
            DESTDIR=..., which must not change any installed package; make
            kmod's refusals and a 5.10 build in a bullseye build root
            (tests/kmod/errors.sh); and the derivation of another release's
            apt state (bullseye for 5.10) from those one-line sources
  commands  sources written as deb822 debian.sources; make lab, then
            make check KERNELS=<--kernels>
  deb       sources written as a one-line sources.list; make deb (which
            installs its own build dependencies), then its two packages
            from apt install to purge in a root of their own
            (tests/deb/run.sh --debs)

The roots get the apt entries of this machine's own release only (whatever
format this machine uses), never entries added for other suites. The current
commit (HEAD, not the work tree) is cloned into each root.

  --kernels LIST  KERNELS for make check inside the root (default "6.1")
  --only STEP     run only the node, the commands or the deb root
  --keep          keep the roots (in the cache under fresh/) for inspection

Ends with "N passed, N failed" and exits non-zero when anything failed. Needs
root; installs mmdebstrap on this machine when it is missing.
EOF
}

die() {
	echo "check-fresh: $*" >&2
	exit 1
}

kernels=6.1
only=
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernels) kernels=${2:?--kernels needs a list}; shift 2 ;;
	--only)
		only=${2:?--only needs node, commands or deb}
		case $only in node | commands | deb) ;; *) die "--only takes node, commands or deb, not '$only'" ;; esac
		shift 2
		;;
	--keep) keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; echo "check-fresh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")/fresh
commit=$(git -C "$top" rev-parse HEAD) || die "$top is not a git checkout"
git -C "$top" diff --quiet HEAD || echo "check-fresh: note: uncommitted changes are not tested, only $commit" >&2

# shellcheck source=tests/lib/tap.sh
source "$top/tests/lib/tap.sh"
# shellcheck source=tests/lib/root.sh
source "$top/tests/lib/root.sh"

root_init check-fresh "$cache"
ROOT_KEEP=$keep
trap root_cleanup EXIT
trap 'exit 130' INT TERM

# new_root FORMAT: a pristine root (tests/lib/root.sh) in $root, with the commit cloned
# into /src/ipvs-drain.
new_root() {
	root_new "$1"
	git clone -q --no-local "$top" "$root/src/ipvs-drain"
	git -C "$root/src/ipvs-drain" checkout -q "$commit"
}

# in_root ROOT LOG SCRIPT: runs SCRIPT with bash in ROOT's checkout, as a login would.
in_root() {
	local root=$1 log=$2 script=$3
	root_run "$root" "cd /src/ipvs-drain && $script" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

# timed TITLE ROOT LOG SCRIPT: one step, its wall time and its closing line.
timed() {
	local title=$1 root=$2 log=$3 script=$4 t0 rc=0
	echo "# ---- $title: $script ($(date +%H:%M:%S))"
	t0=$SECONDS
	in_root "$root" "$log" "$script" || rc=$?
	echo "# $title: exit $rc after $((SECONDS - t0)) s; last line: $(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
	tap_result "$rc" "$title (exit $rc, $((SECONDS - t0)) s)"
	return "$rc"
}

logs=$top/build/logs/fresh
mkdir -p "$logs"
start=$SECONDS

if [ -z "$only" ] || [ "$only" = node ]; then
	new_root one-line
	echo "# node root (one-line sources.list): $root"
	head -3 "$root/etc/apt/sources.list" | sed 's/^/#   /'
	timed "node: make deps" "$root" "$logs/node-deps.log" "make deps" || true
	abi=$(in_root "$root" /dev/null "kmod/kernel.sh resolve 6.1" | tail -1)
	echo "# newest 6.1 ABI: $abi"
	in_root "$root" /dev/null "dpkg-query -W -f '\${Package} \${Version} \${db:Status-Abbrev}\n'" >"$logs/node-dpkg-before" || true
	timed "node: make kmod KVER=$abi" "$root" "$logs/node-kmod.log" "make kmod KVER=$abi" || true
	timed "node: make install KVER=$abi DESTDIR=/tmp/dest" "$root" "$logs/node-install.log" \
		"make install KVER=$abi DESTDIR=/tmp/dest && ls /tmp/dest/lib/modules/$abi/updates/ipvs-drain/ip_vs.ko" || true
	in_root "$root" /dev/null "dpkg-query -W -f '\${Package} \${Version} \${db:Status-Abbrev}\n'" >"$logs/node-dpkg-after" || true
	if diff -u "$logs/node-dpkg-before" "$logs/node-dpkg-after"; then
		tap_result 0 "node: make kmod and make install changed no installed package"
	else
		tap_result 1 "node: make kmod and make install changed no installed package"
	fi
	in_root "$root" /dev/null "dpkg-query -W -f '\${Status}' 'linux-source-*' 'linux-headers-*' 2>/dev/null | grep -c installed || true" >"$logs/node-kernel-pkgs" || true
	tap_result "$([ "$(tail -1 "$logs/node-kernel-pkgs")" = 0 ]; echo $?)" "node: no linux-source or linux-headers package installed"
	timed "node: make kmod's refusals, and 5.10 in a bullseye build root (tests/kmod/errors.sh)" "$root" \
		"$logs/node-kmod-errors.log" "tests/kmod/errors.sh" || true
	timed "node: bullseye's apt state derived from a one-line sources.list" "$root" "$logs/node-resolve-5.10.log" \
		"kmod/kernel.sh resolve 5.10 && grep -h '^URIs:' \${IPVS_DRAIN_CACHE:-.cache}/apt/bullseye/sources.list.d/debian.sources" || true
fi

if [ -z "$only" ] || [ "$only" = deb ]; then
	new_root one-line
	echo "# deb root (one-line sources.list): $root"
	if timed "deb: make deb" "$root" "$logs/deb-make.log" "make deb"; then
		rm -rf "$top/build/fresh/deb"
		mkdir -p "$top/build/fresh/deb"
		cp "$root"/src/ipvs-drain/build/deb/*.deb "$top/build/fresh/deb/"
		t0=$SECONDS
		rc=0
		"$top/tests/deb/run.sh" --debs "$top/build/fresh/deb" >"$logs/deb-packages.log" 2>&1 || rc=$?
		sed 's/^/#   /' "$logs/deb-packages.log"
		tap_result "$rc" "deb: its packages from apt install to purge, tests/deb/run.sh (exit $rc, $((SECONDS - t0)) s; $(tail -1 "$logs/deb-packages.log"))"
	fi
fi

if [ -z "$only" ] || [ "$only" = commands ]; then
	new_root deb822
	echo "# commands root (deb822 debian.sources): $root"
	timed "make lab" "$root" "$logs/lab.log" "make lab" || true
	timed "make check KERNELS=\"$kernels\"" "$root" "$logs/check.log" "make check KERNELS=\"$kernels\"" || true
fi

echo "# check-fresh wall time: $((SECONDS - start)) s; logs in $logs"
tap_end
