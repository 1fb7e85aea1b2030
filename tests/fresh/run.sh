#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-fresh: the README's commands in brand-new Debian roots, as a newcomer runs them.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/fresh/run.sh [--kernels "6.1"] [--only node|commands] [--keep]

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

The roots get the apt entries of this machine's own release only (whatever
format this machine uses), never entries added for other suites. The current
commit (HEAD, not the work tree) is cloned into each root.

  --kernels LIST  KERNELS for make check inside the root (default "6.1")
  --only STEP     run only the node or the commands root
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
		only=${2:?--only needs node or commands}
		case $only in node | commands) ;; *) die "--only takes node or commands, not '$only'" ;; esac
		shift 2
		;;
	--keep) keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; echo "check-fresh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

[ "$(id -u)" = 0 ] || die "must run as root (it uses chroot and mount)"
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")/fresh
commit=$(git -C "$top" rev-parse HEAD) || die "$top is not a git checkout"
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "cannot tell this machine's Debian release from /etc/os-release"
git -C "$top" diff --quiet HEAD || echo "check-fresh: note: uncommitted changes are not tested, only $commit" >&2

# shellcheck source=tests/lib/tap.sh
source "$top/tests/lib/tap.sh"

# This machine's own release, as apt parsed it (deb822 or one-line alike): one line per
# repository, "URI SUITE COMPONENT...". Suites of other releases are left out.
host_entries() {
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Created-By: Packages' | awk -v c="$codename" '
		$2 == c || $2 == c "-updates" || $2 == c "-security" {
			key = $1 " " $2
			if (!(key in comps)) { order[++n] = key; comps[key] = "" }
			if (index(" " comps[key] " ", " " $3 " ") == 0) comps[key] = comps[key] " " $3
		}
		END { for (i = 1; i <= n; i++) print order[i] comps[order[i]] }'
}

write_one_line() {
	local uri suite comps
	while read -r uri suite comps; do
		echo "deb $uri $suite $comps"
	done
}

write_deb822() {
	local uri suite comps first=1
	while read -r uri suite comps; do
		((first)) || echo
		first=0
		printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n' "$uri" "$suite" "$comps"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
	done
}

entries=$(host_entries)
[ -n "$entries" ] || die "this machine's apt sources have no entry for $codename"

if ! command -v mmdebstrap >/dev/null; then
	echo "check-fresh: installing mmdebstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >&2 ||
		die "cannot install mmdebstrap"
fi

mkdir -p "$cache"
tarball=$cache/debian-$codename-apt.tar
if [ ! -s "$tarball" ]; then
	echo "check-fresh: building a fresh $codename root with mmdebstrap into $tarball" >&2
	t0=$SECONDS
	write_one_line <<<"$entries" |
		mmdebstrap --variant=apt --include=git,make,ca-certificates \
			--format=tar "$codename" "$tarball.tmp" - >&2 ||
		die "mmdebstrap failed"
	mv "$tarball.tmp" "$tarball"
	echo "check-fresh: root tarball built in $((SECONDS - t0)) s" >&2
fi

roots=()
mounted=()
cleanup() {
	local m
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[i]}" 2>/dev/null || true
	done
	if [ "$keep" = 0 ]; then
		for m in "${roots[@]}"; do rm -rf --one-file-system "$m"; done
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# new_root FORMAT: a pristine root with the given apt sources format, in $root. Not in a
# subshell: cleanup needs the mounts and roots it records.
new_root() {
	local format=$1
	root=$(mktemp -d "$cache/root.XXXXXX")
	roots+=("$root")
	tar -xf "$tarball" -C "$root"
	rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
	case $format in
	one-line) write_one_line <<<"$entries" >"$root/etc/apt/sources.list" ;;
	deb822) write_deb822 <<<"$entries" >"$root/etc/apt/sources.list.d/debian.sources" ;;
	esac
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# How this machine reaches its mirror (proxies, a snapshot's expired Release
	# dates) is part of its apt configuration, as the entries are.
	apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
		>"$root/etc/apt/apt.conf.d/90host-acquire" || true
	# No init runs in a chroot: packages must not try to start services.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	# A machine's / is a mount point; a plain directory under chroot is not, and
	# unshare refuses to change its propagation.
	mount --bind "$root" "$root"
	mounted+=("$root")
	local d
	for d in proc sys dev dev/pts; do
		mkdir -p "$root/$d"
		mount --bind "/$d" "$root/$d"
		mounted+=("$root/$d")
	done
	git clone -q --no-local "$top" "$root/src/ipvs-drain"
	git -C "$root/src/ipvs-drain" checkout -q "$commit"
}

# in_root ROOT LOG SCRIPT: runs SCRIPT with bash in ROOT's checkout, as a login would.
in_root() {
	local root=$1 log=$2 script=$3
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /src/ipvs-drain && $script" 2>&1 | tee "$log"
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

if [ "$only" != commands ]; then
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

if [ "$only" != node ]; then
	new_root deb822
	echo "# commands root (deb822 debian.sources): $root"
	timed "make lab" "$root" "$logs/lab.log" "make lab" || true
	timed "make check KERNELS=\"$kernels\"" "$root" "$logs/check.log" "make check KERNELS=\"$kernels\"" || true
fi

echo "# check-fresh wall time: $((SECONDS - start)) s; logs in $logs"
tap_end
