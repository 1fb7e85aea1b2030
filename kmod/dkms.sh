#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What dkms.conf runs: the checks before a DKMS build or install, and the
# build itself through kmod/build.sh, with nothing downloaded.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: kmod/dkms.sh check   ABI INSTALL_TREE
       kmod/dkms.sh build   ABI KERNEL_SOURCE_DIR INSTALL_TREE
       kmod/dkms.sh install ABI INSTALL_TREE

Called by dkms.conf (PRE_BUILD, MAKE, PRE_INSTALL) from the DKMS build or
source directory; not meant to be run by hand.

DKMS builds inside apt's kernel trigger, where nothing can be downloaded, so
the IPVS sources come from /usr/src/linux-source-SERIES.tar.xz, which the
package linux-source-SERIES installs (a prerequisite, see README). The
environment variable IPVS_DRAIN_LINUX_SOURCE_DIR names another directory
holding that tarball (the CI test uses the unpacked cache).

check/build/install refuse while make install's copy sits in
INSTALL_TREE/ABI/updates/ipvs-drain/: two variant sets in updates/ would
compete.
EOF
}

die() {
	echo "ipvs-drain dkms: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
top=${here%/kmod}

series_of() {
	[[ $1 =~ ^([0-9]+\.[0-9]+)[.+-] ]] || die "cannot tell the kernel series of '$1'"
	echo "${BASH_REMATCH[1]}"
}

# make install's copy for this kernel, if any.
refuse_make_install_copy() {
	local kver=$1 tree=$2 m
	for m in "$tree/$kver/updates/ipvs-drain"/ip_vs.ko*; do
		[ -e "$m" ] || continue
		die "refusing: make install's copy of ipvs-drain is installed in $tree/$kver/updates/ipvs-drain/; two variant sets in updates/ would compete, so run 'make uninstall' in the checkout first (or keep make install and do not use DKMS)"
	done
}

tarball_of() {
	local kver=$1 series tarball
	series=$(series_of "$kver")
	tarball=${IPVS_DRAIN_LINUX_SOURCE_DIR:-/usr/src}/linux-source-$series.tar.xz
	[ -f "$tarball" ] ||
		die "cannot build for $kver: $tarball is missing; install the package linux-source-$series (DKMS runs inside apt and cannot download it)"
	echo "$tarball"
}

cmd=${1:-}
case "$cmd" in
check)
	[ $# = 3 ] || { usage >&2; exit 2; }
	refuse_make_install_copy "$2" "$3"
	tarball_of "$2" >/dev/null
	;;
build)
	[ $# = 4 ] || { usage >&2; exit 2; }
	refuse_make_install_copy "$2" "$4"
	tarball=$(tarball_of "$2")
	# make dkms-source records the checkout's version (with its commit); a
	# tree added some other way reports VERSION alone.
	if [ -f "$top/kmod/source-version" ]; then
		IPVS_DRAIN_VERSION=$(cat "$top/kmod/source-version")
		export IPVS_DRAIN_VERSION
	fi
	exec "$here/build.sh" --kver "$2" --kdir "$3" --tarball "$tarball" --out "$top/build/dkms"
	;;
install)
	[ $# = 3 ] || { usage >&2; exit 2; }
	refuse_make_install_copy "$2" "$3"
	;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
