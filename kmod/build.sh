#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the whole IPVS module set for one kernel ABI from that kernel's own
# sources, with our patch series applied (or none, for the stock baseline).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: kmod/build.sh [--kver ABI] [--kdir DIR] [--ksrc DIR | --tarball FILE]
                     [--stock] [--out DIR]

Builds ip_vs.ko, every scheduler, ip_vs_ftp and ip_vs_pe_sip for the kernel
ABI (default: the running kernel), from the IPVS sources of that very kernel
version with patches/<series>/*.patch applied on top.

  --kver ABI   kernel ABI to build for, e.g. 6.1.0-56-amd64
  --kdir DIR   kernel build directory (default: /lib/modules/ABI/build when
               the headers are installed, else linux-headers-ABI downloaded
               into the cache)
  --ksrc DIR   take the sources from this kernel tree instead of the
               Debian linux-source-<series> tarball
  --tarball F  take them from this linux-source tarball
  --stock      apply no patch: the stock module set, built the same way
  --out DIR    where the .ko files go (default build/ABI, or build/ABI-stock)

The sources are /usr/src/linux-source-<series>.tar.xz when the installed
linux-source has the headers' exact Debian version; otherwise that exact
version is downloaded with apt-get download into the cache (.cache/, or
$IPVS_DRAIN_CACHE). No package is ever installed, upgraded or downgraded:
when something is missing, the build stops with one sentence naming it.
Nothing is ever half-patched: the series is applied to a scratch copy with
patch --fuzz=0, and only a copy that took every patch is built.
EOF
}

die() {
	echo "kmod: $*" >&2
	exit 1
}

top=$(cd "$(dirname "$0")/.." && pwd)
kver=$(uname -r)
ksrc=
kdir=
tarball=
stock=0
out=

while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=${2:?--kver needs an ABI}; shift 2 ;;
	--ksrc) ksrc=${2:?--ksrc needs a directory}; shift 2 ;;
	--kdir) kdir=${2:?--kdir needs a directory}; shift 2 ;;
	--tarball) tarball=${2:?--tarball needs a file}; shift 2 ;;
	--stock) stock=1; shift ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; echo "kmod: unknown option '$1'" >&2; exit 2 ;;
	esac
done

case "$kver" in
*/*|"") die "'$kver' is not a kernel ABI (expected something like 6.1.0-56-amd64)" ;;
esac

mkdir -p "$top/build"
scratch=$(mktemp -d "$top/build/.kmod.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
scratch_log=$scratch/step.log

kernel_sh=$top/kmod/kernel.sh

if [ -n "$kdir" ]; then
	[ -f "$kdir/Makefile" ] || die "$kdir is not a kernel build directory (no Makefile)"
elif [ -f "/lib/modules/$kver/build/Makefile" ]; then
	kdir=/lib/modules/$kver/build
else
	echo "kmod: no headers installed for $kver; downloading linux-headers-$kver into the cache" >&2
	kdir=$("$kernel_sh" headers "$kver" 2>"$scratch_log") || {
		sed 's/^/  /' "$scratch_log" >&2
		die "no kernel headers for $kver: /lib/modules/$kver/build is missing and apt serves no linux-headers-$kver (install the headers, or give KDIR=<build dir>)"
	}
fi

# The compiler the headers were configured with (Debian writes CC = ... gcc-N).
cc=$(sed -nE 's/^CC[[:space:]]*=.*(gcc-[0-9]+)[[:space:]]*$/\1/p' "$kdir/.kernelvariables" 2>/dev/null | head -1)
[ -z "$cc" ] || command -v "$cc" >/dev/null ||
	die "the headers for $kver are built with $cc, which is not installed: install $cc from the kernel's own Debian release (make deps installs the host release's compiler)"
command -v make >/dev/null && command -v patch >/dev/null ||
	die "make and patch are needed to build: run make deps (or apt-get install build-essential patch)"

# The upstream version (6.1.192) of the headers: their own Makefile may just
# include the common one, so follow that include.
makefile_version() {
	local mk=$1 inc
	inc=$(sed -n 's/^include[[:space:]]\+\(\/.*Makefile\)$/\1/p' "$mk" | head -1)
	[ -n "$inc" ] && mk=$inc
	awk -F' *= *' '
		$1 == "VERSION" { v = $2 }
		$1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 }
		END { if (v != "") printf "%s.%s.%s\n", v, p, s }' "$mk"
}

hdr_version=$(makefile_version "$kdir/Makefile")
[ -n "$hdr_version" ] || die "cannot read the kernel version from $kdir/Makefile"
series=${hdr_version%.*}

if [ "$stock" = 1 ]; then
	patchdir=
else
	patchdir=$top/patches/$series
	[ -d "$patchdir" ] && compgen -G "$patchdir/*.patch" >/dev/null ||
		die "no patch series for Linux $series (looked in patches/$series/); supported: $(cd "$top/patches" && ls -d */ | tr -d / | tr '\n' ' ')"
fi

flavour=
[ "$stock" = 1 ] && flavour=-stock
work=$top/build/src/$kver$flavour
[ -n "$out" ] || out=$top/build/$kver$flavour


# Fetch the pristine IPVS directory into $scratch/tree.
mkdir -p "$scratch/tree/net/netfilter"
if [ -n "$ksrc" ]; then
	[ -d "$ksrc/net/netfilter/ipvs" ] ||
		die "$ksrc has no net/netfilter/ipvs: --ksrc wants the top of a kernel tree"
	src_version=$(makefile_version "$ksrc/Makefile")
	[ "$src_version" = "$hdr_version" ] ||
		die "the sources in $ksrc are Linux $src_version but the headers for $kver are $hdr_version: point --ksrc at a $hdr_version tree"
	cp -r "$ksrc/net/netfilter/ipvs" "$scratch/tree/net/netfilter/"
else
	srcpkg=linux-source-$series
	hdrpkg=linux-headers-$kver
	# Debian version of the headers: installed, or unpacked by kernel.sh.
	hdr_deb=$(cat "$kdir/.debian-version" 2>/dev/null ||
		dpkg-query -W -f '${Version}' "$hdrpkg" 2>/dev/null || true)
	if [ -n "$tarball" ]; then
		[ -f "$tarball" ] || die "no such tarball: $tarball"
		src_deb=$(cat "$tarball.debian-version" 2>/dev/null || echo unknown)
	else
		installed=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "$srcpkg" 2>/dev/null |
			awk '$1 == "ii" { print $2 }' || true)
		if [ -n "$installed" ] && [ "$installed" = "$hdr_deb" ] &&
			[ -f "/usr/src/$srcpkg.tar.xz" ]; then
			tarball=/usr/src/$srcpkg.tar.xz
			src_deb=$installed
		elif [ -z "$hdr_deb" ]; then
			die "cannot tell which Debian version of $srcpkg matches the headers in $kdir: give the sources with KSRC=<a Linux $hdr_version tree>"
		else
			echo "kmod: ${installed:+$srcpkg $installed is installed, but }the headers want $srcpkg $hdr_deb; downloading it into the cache" >&2
			tarball=$("$kernel_sh" source "$kver" "$hdr_deb" 2>"$scratch_log") || {
				sed 's/^/  /' "$scratch_log" >&2
				die "$srcpkg version $hdr_deb, the exact sources of $kver, is not served by apt: give the sources with KSRC=<a Linux $hdr_version tree>"
			}
			src_deb=$hdr_deb
		fi
	fi
	[ -z "$hdr_deb" ] || [ "$src_deb" = unknown ] || [ "$src_deb" = "$hdr_deb" ] ||
		die "$tarball is $srcpkg $src_deb but $hdrpkg is $hdr_deb: give the $srcpkg $hdr_deb tarball, or leave --tarball out to have it downloaded"
	echo "kmod: extracting net/netfilter/ipvs from $tarball ($src_deb)" >&2
	tar -xJf "$tarball" -C "$scratch" --wildcards \
		"$srcpkg/Makefile" "$srcpkg/net/netfilter/ipvs/*" ||
		die "cannot extract net/netfilter/ipvs from $tarball"
	src_version=$(makefile_version "$scratch/$srcpkg/Makefile")
	[ "$src_version" = "$hdr_version" ] ||
		die "$tarball holds Linux $src_version but the headers for $kver are $hdr_version: give the $srcpkg tarball of Linux $hdr_version"
	mv "$scratch/$srcpkg/net/netfilter/ipvs" "$scratch/tree/net/netfilter/"
fi

# Apply the whole series to the scratch copy; a failure leaves the previous
# build tree untouched.
if [ -n "$patchdir" ]; then
	for p in "$patchdir"/*.patch; do
		if ! patch -d "$scratch/tree" -p1 --fuzz=0 --forward --batch --quiet \
			--no-backup-if-mismatch -r - <"$p" >"$scratch/patch.log" 2>&1; then
			cat "$scratch/patch.log" >&2
			die "patches/$series/$(basename "$p") does not apply with --fuzz=0 to the Linux $hdr_version sources of $kver, so the variant does not support this kernel yet: nothing was built"
		fi
	done
fi

version=${IPVS_DRAIN_VERSION:-$(cat "$top/VERSION")}
if git -C "$top" rev-parse --short HEAD >/dev/null 2>&1; then
	version="$version+g$(git -C "$top" rev-parse --short HEAD)"
	git -C "$top" diff --quiet HEAD -- patches kmod Kbuild 2>/dev/null || version="$version-dirty"
fi

# Keep the previous tree's objects when the sources did not change, so a
# rebuild is incremental.
if [ -d "$work" ] && diff -r -q -x '*.o' -x '*.ko' -x '*.mod*' -x '.*' \
	-x modules.order -x Module.symvers -x Kbuild \
	"$scratch/tree/net" "$work/net" >/dev/null 2>&1; then
	:
else
	rm -rf "$work"
	mkdir -p "$(dirname "$work")"
	mv "$scratch/tree" "$work"
fi
cp "$top/Kbuild" "$work/Kbuild"

applied="patches/$series"
[ -n "$patchdir" ] || applied="no patches"
echo "kmod: building the IPVS module set for $kver (Linux $hdr_version, $applied)" >&2
# vmlinux is not part of the headers, so kbuild says it skips BTF for each
# module; that is expected noise.
if ! make -C "$kdir" M="$work" IPVS_DRAIN_VERSION="$version" \
	-j"$(nproc)" modules 2>&1 | { grep -v '^Skipping BTF generation' >&2 || true; }; then
	die "the module build for $kver failed (see above)"
fi

mods=$(find "$work/net/netfilter/ipvs" -name '*.ko' | sort)
[ -n "$mods" ] || die "the build for $kver produced no module"
grep -q '/ip_vs\.ko$' <<<"$mods" || die "the build for $kver produced no ip_vs.ko"

rm -rf "$out"
mkdir -p "$out"
# shellcheck disable=SC2086
cp $mods "$out/"
echo "kmod: $(echo "$mods" | wc -l) modules in ${out#"$top"/} (version $version)" >&2
