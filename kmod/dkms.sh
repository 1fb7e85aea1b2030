#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What dkms.conf runs: the checks before a DKMS build or install, and the
# build itself through kmod/build.sh, with nothing downloaded.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: kmod/dkms.sh check   ABI KERNEL_SOURCE_DIR INSTALL_TREE
       kmod/dkms.sh build   ABI KERNEL_SOURCE_DIR INSTALL_TREE
       kmod/dkms.sh install ABI INSTALL_TREE

Called by dkms.conf (PRE_BUILD, MAKE, PRE_INSTALL) from the DKMS build or
source directory; not meant to be run by hand.

DKMS builds inside apt's kernel trigger, where nothing can be downloaded, so
a kernel is built when it is buildable: its headers and the package
linux-source-SERIES (SERIES: the ABI's major.minor) in the headers' exact
Debian version are installed. The IPVS sources come from the tarball that
package installs, /usr/src/linux-source-SERIES.tar.xz. check and build
refuse any other kernel, before anything is compiled, with one sentence
naming the package and the version to install. The headers' version is that
of the package linux-headers-ABI as dpkg knows it, or the one in
KERNEL_SOURCE_DIR/.debian-version (kmod/kernel.sh writes it into the headers
it unpacks); the sources' version is that of linux-source-SERIES.

The environment variable IPVS_DRAIN_LINUX_SOURCE_DIR names another directory
holding linux-source-SERIES.tar.xz (the CI test uses the unpacked cache);
the tarball's version is then the one in linux-source-SERIES.tar.xz.debian-
version beside it, and is not compared when that file is missing.

A kernel to whose sources no variant of a hook applies is refused by
kmod/build.sh in the build, before it compiles; its sentence is the last
line of the build's make.log, which DKMS names.

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

# The series is the major.minor of the ABI, which names the package
# linux-source-MAJOR.MINOR.
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

# The Debian version of package $1 while its files are on disk: installed, or
# unpacked and not configured yet, as within the apt run that triggers DKMS.
# Nothing when it is not there.
deb_version() {
	local status
	# dpkg-query fails for a package it has never heard of.
	status=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null) || return 0
	awk '$1 ~ /^.[iUFWt]/ { print $2; exit }' <<<"$status"
}

# Prints the linux-source tarball to build kernel $1 (headers in $2) from, when
# it holds the headers' exact version; refuses with one sentence otherwise.
tarball_of() {
	local kver=$1 kdir=$2 series pkg hdr_deb tarball src_deb why=
	series=$(series_of "$kver")
	pkg=linux-source-$series
	if [ -f "$kdir/.debian-version" ]; then
		hdr_deb=$(cat "$kdir/.debian-version")
	else
		hdr_deb=$(deb_version "linux-headers-$kver")
	fi
	[ -n "$hdr_deb" ] ||
		die "refusing to build for $kver: the headers in $kdir are not those of an installed package linux-headers-$kver, so no version of $pkg is known to match them; install linux-headers-$kver and $pkg of the same Debian version (DKMS runs inside apt and cannot download them)"
	if [ -n "${IPVS_DRAIN_LINUX_SOURCE_DIR:-}" ]; then
		tarball=$IPVS_DRAIN_LINUX_SOURCE_DIR/$pkg.tar.xz
		if [ ! -f "$tarball" ]; then
			why="$tarball is missing"
		elif [ -f "$tarball.debian-version" ]; then
			src_deb=$(cat "$tarball.debian-version")
			[ "$src_deb" = "$hdr_deb" ] || why="$tarball is version $src_deb"
		fi
	else
		tarball=/usr/src/$pkg.tar.xz
		src_deb=$(deb_version "$pkg")
		if [ -z "$src_deb" ]; then
			why="$pkg is not installed"
		elif [ "$src_deb" != "$hdr_deb" ]; then
			why="$pkg $src_deb is installed"
		elif [ ! -f "$tarball" ]; then
			why="$pkg $src_deb is installed, but $tarball is missing"
		fi
	fi
	[ -z "$why" ] ||
		die "refusing to build for $kver: install $pkg version $hdr_deb, the exact sources of its headers ($why; DKMS runs inside apt and cannot download it)"
	echo "$tarball"
}

cmd=${1:-}
case "$cmd" in
check)
	[ $# = 4 ] || { usage >&2; exit 2; }
	refuse_make_install_copy "$2" "$4"
	tarball_of "$2" "$3" >/dev/null
	;;
build)
	[ $# = 4 ] || { usage >&2; exit 2; }
	refuse_make_install_copy "$2" "$4"
	tarball=$(tarball_of "$2" "$3")
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
