# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Pristine Debian roots of this machine's release, for the tests that start from nothing
# (tests/fresh/run.sh, tests/deb/run.sh). mmdebstrap makes one minimal root (the apt variant
# plus git, make and ca-certificates) once and keeps it as a tarball in the cache; each test
# unpacks a copy, gives it this machine's apt entries and the mounts a chroot needs, and runs
# commands in it with chroot. Sourced; needs root.
#
#   root_init WHO CACHE     WHO prefixes the messages; CACHE holds the tarball (and the roots)
#   root_new FORMAT [DIR]   a pristine copy in $root, its sources one-line or deb822; DIR, when
#                           given, is bind-mounted on its /var/cache/apt/archives (apt's
#                           download cache kept across runs)
#   root_run ROOT SCRIPT    SCRIPT with bash in ROOT, in a clean login-like environment
#   root_cleanup            unmounts, and deletes the roots unless ROOT_KEEP=1

ROOT_KEEP=0
ROOT_WHO=root
ROOT_CACHE=
ROOT_CODENAME=
ROOT_ENTRIES=
ROOT_TARBALL=
ROOT_ROOTS=()
ROOT_MOUNTS=()

root_die() {
	echo "$ROOT_WHO: $*" >&2
	exit 1
}

# This machine's own release, as apt parsed it (deb822 or one-line alike): one line per
# repository, "URI SUITE COMPONENT...". Suites of other releases are left out.
root_host_entries() {
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Created-By: Packages' | awk -v c="$ROOT_CODENAME" '
		$2 == c || $2 == c "-updates" || $2 == c "-security" {
			key = $1 " " $2
			if (!(key in comps)) { order[++n] = key; comps[key] = "" }
			if (index(" " comps[key] " ", " " $3 " ") == 0) comps[key] = comps[key] " " $3
		}
		END { for (i = 1; i <= n; i++) print order[i] comps[order[i]] }'
}

root_write_one_line() {
	local uri suite comps
	while read -r uri suite comps; do
		echo "deb $uri $suite $comps"
	done
}

root_write_deb822() {
	local uri suite comps first=1
	while read -r uri suite comps; do
		((first)) || echo
		first=0
		printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n' "$uri" "$suite" "$comps"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
	done
}

root_init() {
	ROOT_WHO=$1
	ROOT_CACHE=$2
	[ "$(id -u)" = 0 ] || root_die "must run as root (it uses chroot and mount)"
	# shellcheck disable=SC1091
	ROOT_CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$ROOT_CODENAME" ] || root_die "cannot tell this machine's Debian release from /etc/os-release"
	ROOT_ENTRIES=$(root_host_entries)
	[ -n "$ROOT_ENTRIES" ] || root_die "this machine's apt sources have no entry for $ROOT_CODENAME"
	if ! command -v mmdebstrap >/dev/null; then
		echo "$ROOT_WHO: installing mmdebstrap" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >&2 ||
			root_die "cannot install mmdebstrap"
	fi
	mkdir -p "$ROOT_CACHE"
	ROOT_TARBALL=$ROOT_CACHE/debian-$ROOT_CODENAME-apt.tar
	if [ ! -s "$ROOT_TARBALL" ]; then
		echo "$ROOT_WHO: building a fresh $ROOT_CODENAME root with mmdebstrap into $ROOT_TARBALL" >&2
		local t0=$SECONDS
		root_write_one_line <<<"$ROOT_ENTRIES" |
			mmdebstrap --variant=apt --include=git,make,ca-certificates \
				--format=tar "$ROOT_CODENAME" "$ROOT_TARBALL.tmp" - >&2 ||
			root_die "mmdebstrap failed"
		mv "$ROOT_TARBALL.tmp" "$ROOT_TARBALL"
		echo "$ROOT_WHO: root tarball built in $((SECONDS - t0)) s" >&2
	fi
}

root_cleanup() {
	local i m
	for ((i = ${#ROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${ROOT_MOUNTS[i]}" 2>/dev/null || true
	done
	ROOT_MOUNTS=()
	if [ "$ROOT_KEEP" = 0 ]; then
		for m in ${ROOT_ROOTS[@]+"${ROOT_ROOTS[@]}"}; do rm -rf --one-file-system "$m"; done
	fi
}

root_bind() {
	mkdir -p "$2"
	mount --bind "$1" "$2"
	ROOT_MOUNTS+=("$2")
}

# Not in a subshell: root_cleanup needs the mounts and roots it records.
root_new() {
	local format=$1 archives=${2:-}
	root=$(mktemp -d "$ROOT_CACHE/root.XXXXXX")
	ROOT_ROOTS+=("$root")
	tar -xf "$ROOT_TARBALL" -C "$root"
	rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
	case $format in
	one-line) root_write_one_line <<<"$ROOT_ENTRIES" >"$root/etc/apt/sources.list" ;;
	deb822) root_write_deb822 <<<"$ROOT_ENTRIES" >"$root/etc/apt/sources.list.d/debian.sources" ;;
	*) root_die "root_new: unknown sources format '$format'" ;;
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
	root_bind "$root" "$root"
	local d
	for d in proc sys dev dev/pts; do
		root_bind "/$d" "$root/$d"
	done
	if [ -n "$archives" ]; then
		mkdir -p "$archives/partial"
		root_bind "$archives" "$root/var/cache/apt/archives"
	fi
}

root_run() {
	local root=$1 script=$2
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "$script"
}
