#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tests/lib/unpack-tool.sh PACKAGE PATH
#
# Prints the path of the file PATH (e.g. usr/sbin/keepalived) of Debian's package PACKAGE,
# unpacked into the cache, never installed: for tools whose package would start a service on
# the host (keepalived, prometheus). The version apt offers now is downloaded with
# `apt-get download` and unpacked with `dpkg-deb -x` into CACHE/tools/PACKAGE-VERSION/ (CACHE is
# $IPVS_DRAIN_CACHE, else .cache/ in the checkout), made complete with one rename, so an
# interrupted fetch is redone. The guests see the host's root, cache included, read-only at the
# same path. Fails with one sentence when PATH needs a shared library this machine lacks.
set -euo pipefail

die() {
	echo "unpack-tool: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: tests/lib/unpack-tool.sh PACKAGE PATH (see its header)"
pkg=$1
path=${2#/}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")/tools

version=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
[[ -n $version && $version != "(none)" ]] ||
	die "apt offers no '$pkg' package: run 'apt-get update'"
# The epoch (1:) is no part of a file name.
dest=$cache/$pkg-${version#*:}
bin=$dest/$path
if [[ ! -f $dest/.complete ]]; then
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# As root apt cannot hand the download to its _apt user in a private directory; say so up front.
	(cd "$work" && apt-get -q -o APT::Sandbox::User=root download "$pkg=$version" >&2) ||
		die "apt-get download $pkg=$version failed"
	debs=("$work/${pkg}_"*.deb)
	[[ -f ${debs[0]} ]] || die "apt-get download $pkg=$version produced no .deb"
	dpkg-deb -x "${debs[0]}" "$work/root" || die "cannot unpack ${debs[0]}"
	[[ -x $work/root/$path ]] || die "$pkg $version has no executable /$path"
	touch "$work/root/.complete"
	rm -rf "$dest"
	mv "$work/root" "$dest"
fi
# A static binary (promtool) has no libraries to miss; ldd then fails and prints nothing useful.
missing=$(ldd "$bin" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' ') || true
[[ -z $missing ]] || die "$bin needs ${missing% }: run tests/install-deps.sh"
echo "$bin"
