#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prints the path of a promtool binary in the cache, fetching it first if needed.
#
# promtool ships only inside Debian's full `prometheus` package, whose postinst would start the
# server: it is never installed. The version apt offers now is downloaded with `apt-get download`
# and unpacked with `dpkg-deb -x` into CACHE/tools/prometheus-VERSION/ (CACHE is
# $IPVS_DRAIN_CACHE, else .cache/ in the checkout), made complete with one rename. The guest
# suite tests/vm-metrics/acceptance.sh runs that binary from the read-only host root.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")/tools

die() {
	echo "promtool.sh: $*" >&2
	exit 1
}

case ${1:-} in
"") ;;
-h | --help)
	sed -n '3,9s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*) die "unknown option '$1' (it takes none)" ;;
esac

version=$(apt-cache policy prometheus 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
[[ -n $version && $version != "(none)" ]] ||
	die "apt offers no 'prometheus' package: run 'apt-get update' (promtool comes from it)"
# An epoch's ':' is kept out of the path.
dest=$cache/prometheus-${version//:/%3a}
bin=$dest/usr/bin/promtool
if [[ ! -f $dest/.complete ]]; then
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# As root apt cannot hand the download to its _apt user in a private directory; say so up front.
	(cd "$work" && apt-get -q -o APT::Sandbox::User=root download "prometheus=$version" >&2) ||
		die "apt-get download prometheus=$version failed"
	debs=("$work"/prometheus_*.deb)
	[[ -f ${debs[0]} ]] || die "apt-get download prometheus=$version produced no .deb"
	dpkg-deb -x "${debs[0]}" "$work/root" || die "cannot unpack ${debs[0]}"
	[[ -x $work/root/usr/bin/promtool ]] || die "prometheus $version has no usr/bin/promtool"
	touch "$work/root/.complete"
	rm -rf "$dest"
	mv "$work/root" "$dest"
fi
"$bin" --version >/dev/null 2>&1 || die "$bin does not run"
echo "$bin"
