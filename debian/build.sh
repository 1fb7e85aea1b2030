#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deb: the two Debian packages, built from this checkout, checked with lintian.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: debian/build.sh [--no-lintian]

Builds, with dpkg-buildpackage -b and debhelper (compat 13), from the work
tree of this checkout:
  ipvs-drain       /usr/sbin/ipvs-drain (CMake, no tests, no sanitizers),
                   its man page and its bash completion
  ipvs-drain-dkms  /usr/src/ipvs-drain-VERSION, the tree make dkms-source
                   writes, registered with DKMS by dh_dkms
into build/deb/ (ipvs-drain_VERSION_ARCH.deb, ipvs-drain-dkms_VERSION_all.deb,
and the .buildinfo and .changes), nothing into the checkout's parent
directory. VERSION, debian/changelog and dkms.conf must name the same
version. Then runs lintian on the .changes (the .debs with it) and fails on
any error or warning that no debian/*.lintian-overrides entry explains.

  --no-lintian  skip lintian

Install the result with: apt install ./build/deb/ipvs-drain*.deb
Needs the packages of tests/install-deps.sh --deb (make deb installs them).
USAGE
}

die() {
	echo "deb: $*" >&2
	exit 1
}

lint=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-lintian) lint=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "deb: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=$(cat VERSION)
changelog=$(dpkg-parsechangelog -S Version) || die "cannot read debian/changelog"
[ "$changelog" = "$version" ] ||
	die "debian/changelog says $changelog but VERSION says $version: add a debian/changelog entry for $version"
conf=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf)
[ "$conf" = "$version" ] || die "dkms.conf says PACKAGE_VERSION=$conf but VERSION says $version: make them agree"
for f in userspace/man/ipvs-drain.8 userspace/bash-completion/ipvs-drain; do
	[ -f "$f" ] || die "$f is missing, and the ipvs-drain package installs it"
done

out=$top/build/deb
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
base=$out/ipvs-drain_${version}_$arch
t0=$SECONDS
# -b: binary packages only (the source of a native package would be the whole
# work tree, build/ included). -J2: two jobs at most, as every build here.
IPVS_DRAIN_DEB_DIR=$out dpkg-buildpackage -b -us -uc -J2 \
	--buildinfo-file="$base.buildinfo" --buildinfo-option="-u$out" \
	--changes-file="$base.changes" --changes-option="-u$out" ||
	die "dpkg-buildpackage failed (see above)"
echo "deb: built in $((SECONDS - t0)) s:" >&2
(cd "$out" && ls -l -- *.deb) >&2

if [ "$lint" = 1 ]; then
	echo "deb: lintian $base.changes" >&2
	lintian --fail-on error,warning --display-info "$base.changes" ||
		die "lintian found errors or warnings (above); fix them, or override each in debian/*.lintian-overrides with a comment saying why"
fi
