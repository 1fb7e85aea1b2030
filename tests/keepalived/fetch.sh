#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Puts Debian's keepalived binary into the cache without installing the package, and prints its path.
#
# Usage: tests/keepalived/fetch.sh
#
# Installing keepalived would start its service on the host; the guest suite only needs the binary.
# So the version apt offers today is downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x` into $IPVS_DRAIN_CACHE/tools/keepalived-VERSION/ (.cache/ in the checkout by
# default), once; its shared libraries come from tests/install-deps.sh. Prints the binary's path
# (the guest sees the host's root, cache included, read-only at the same path).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")/tools

die() {
	echo "keepalived/fetch.sh: $*" >&2
	exit 1
}

[ $# -eq 0 ] || die "takes no arguments (see its header)"
version=$(apt-cache policy keepalived 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	die "apt offers no keepalived candidate; run apt-get update"
fi
# The epoch (1:) is no part of a file name.
dest=$cache/keepalived-${version#*:}
bin=$dest/usr/sbin/keepalived

if ! [ -e "$dest/.complete" ]; then
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/.keepalived.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# Root downloads into a directory _apt cannot enter; saying so up front avoids apt's warning.
	(cd "$work" && apt-get -q -o APT::Sandbox::User=root download "keepalived=$version" >&2) ||
		die "apt-get download keepalived=$version failed"
	mkdir "$work/root"
	dpkg-deb -x "$work"/keepalived_*.deb "$work/root" || die "cannot unpack the keepalived package"
	[ -x "$work/root/usr/sbin/keepalived" ] || die "the keepalived package has no usr/sbin/keepalived"
	touch "$work/root/.complete"
	rm -rf "$dest"
	mv "$work/root" "$dest"
fi

missing=$(ldd "$bin" | awk '/not found/ { print $1 }' | tr '\n' ' ')
[ -z "$missing" ] || die "$bin needs ${missing% }: run tests/install-deps.sh"
echo "$bin"
