#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the whole IPVS module set for one kernel ABI from that kernel's own
# sources, with our own code and its hooks added (or none, for the stock baseline).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: kmod/build.sh [--kver ABI] [--kdir DIR] [--ksrc DIR | --tarball FILE]
                     [--stock] [--out DIR]

Builds ip_vs.ko, every scheduler, ip_vs_ftp and ip_vs_pe_sip for the kernel
ABI (default: the running kernel), from the IPVS sources of that very kernel
version, with our ip_vs_reuse.c (kmod/) compiled into ip_vs.ko and hooked
into the kernel's own files by patches/hooks/.

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
What differs between kernels is probed from the target's headers and
sources (kmod/compat.sh writes ip_vs_reuse_compat.h). The hooks come in
slots, numbered by the file name's prefix (1-register, 2-template, 3-call);
for each slot the first variant, in file-name order, that applies with
patch --fuzz=0 is used. Slot 2 is skipped where the kernel invalidates a
persistence template by its dport alone. When no variant of a slot applies,
the build stops with one sentence. Nothing is ever half-patched: the hooks
are applied to a scratch copy, and only a copy that took every slot is built.

  --hooks DIR  take the hook patches from DIR instead of patches/hooks
EOF
}

die() {
	echo "kmod: $*" >&2
	exit 1
}

# VERSION, or IPVS_DRAIN_VERSION as given (DKMS, a build root), plus the commit when this
# is a git checkout, and -dirty when the kernel side differs from it.
module_version() {
	local v=${IPVS_DRAIN_VERSION:-$(cat "$top/VERSION")}
	if git -C "$top" rev-parse --short HEAD >/dev/null 2>&1; then
		v="$v+g$(git -C "$top" rev-parse --short HEAD)"
		git -C "$top" diff --quiet HEAD -- patches kmod Kbuild 2>/dev/null || v="$v-dirty"
	fi
	echo "$v"
}

top=$(cd "$(dirname "$0")/.." && pwd)
kver=$(uname -r)
ksrc=
kdir=
tarball=
stock=0
out=
hooks=$top/patches/hooks
# The command line as given: a build inside another release's root runs it again.
args=("$@")

while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=${2:?--kver needs an ABI}; shift 2 ;;
	--ksrc) ksrc=${2:?--ksrc needs a directory}; shift 2 ;;
	--kdir) kdir=${2:?--kdir needs a directory}; shift 2 ;;
	--tarball) tarball=${2:?--tarball needs a file}; shift 2 ;;
	--stock) stock=1; shift ;;
	--hooks) hooks=${2:?--hooks needs a directory}; shift 2 ;;
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

# The compiler the headers were configured with (Debian writes CC = ... gcc-N). A kernel
# tree of one's own has no .kernelvariables: it builds with whatever its make finds.
cc=
if [ -f "$kdir/.kernelvariables" ]; then
	cc=$(sed -nE 's/^CC[[:space:]]*=.*(gcc-[0-9]+)[[:space:]]*$/\1/p' "$kdir/.kernelvariables" | head -1)
fi
# >>> build root: another release's compiler is used inside a root of that release
# (kmod/buildroot.sh), never installed here.
if [ -n "$cc" ] && ! command -v "$cc" >/dev/null; then
	[ -z "${IPVS_DRAIN_IN_ROOT:-}" ] ||
		die "the $IPVS_DRAIN_IN_ROOT build root has no $cc, which the headers for $kver are built with: remove that root (roots/$IPVS_DRAIN_IN_ROOT in the cache) to have it made again"
	rel=$("$top/kmod/buildroot.sh" release-for "$cc") ||
		die "the headers for $kver are built with $cc, which no Debian release apt knows here serves: run make deps (or apt-get update), or give KDIR=<headers of an installed compiler>"
	# shellcheck disable=SC1091
	[ "$rel" != "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" ] ||
		die "the headers for $kver are built with $cc, which is not installed: apt-get install $cc (make deps does, for this release's default compiler)"
	[ "$(id -u)" = 0 ] ||
		die "building for $kver needs a $rel build root with $cc, which needs root: run it as root"
	# The root sees the checkout, the cache and the --bind directories only, and has no apt
	# state nor git: the headers, the sources and the module version are found here.
	again=(--kdir "$(realpath "$kdir")")
	binds=(--bind "$(realpath "$kdir")")
	if [ -n "$ksrc" ]; then
		again+=(--ksrc "$(realpath -m "$ksrc")")
		[ ! -d "$ksrc" ] || binds+=(--bind "$(realpath "$ksrc")")
	elif [ -n "$tarball" ]; then
		[ -f "$tarball" ] || die "no such tarball: $tarball"
		again+=(--tarball "$(realpath "$tarball")")
		binds+=(--bind "$(dirname "$(realpath "$tarball")")")
	elif hdr_deb=$(cat "$kdir/.debian-version" 2>/dev/null); then
		echo "kmod: getting linux-source $hdr_deb, the exact sources of $kver, into the cache for the $rel root" >&2
		src=$("$kernel_sh" source "$kver" "$hdr_deb" 2>"$scratch_log") || {
			sed 's/^/  /' "$scratch_log" >&2
			die "linux-source $hdr_deb, the exact sources of $kver, is not served by apt: give the sources with KSRC=<a kernel tree of that version>"
		}
		again+=(--tarball "$src")
	fi
	if [ -n "${hooks:-}" ]; then
		again+=(--hooks "$(realpath -m "$hooks")")
		[ ! -d "$hooks" ] || binds+=(--bind "$(realpath "$hooks")")
	fi
	if [ -n "$out" ]; then
		# Nothing is made here: the root's build.sh makes --out in its nearest existing parent.
		out=$(realpath -m "$out")
		parent=$(dirname "$out")
		while [ ! -d "$parent" ]; do parent=$(dirname "$parent"); done
		again+=(--out "$out")
		binds+=(--bind "$parent")
	fi
	# The root has no git: the version is stamped here, and taken there as it is.
	IPVS_DRAIN_VERSION=$(module_version)
	export IPVS_DRAIN_VERSION
	root=$("$top/kmod/buildroot.sh" path "$rel" "$cc") ||
		die "cannot make the $rel build root with $cc (see above)"
	echo "kmod: $kver is built with $cc from $rel: building inside a $rel root ($root)" >&2
	rm -rf "$scratch"
	trap - EXIT
	exec "$top/kmod/buildroot.sh" run "$rel" "$cc" "${binds[@]}" -- \
		"$top/kmod/build.sh" "${args[@]}" "${again[@]}"
fi
# <<< build root
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

[ "$stock" = 1 ] || compgen -G "$hooks/[0-9]-*.patch" >/dev/null ||
	die "no hook patches in $hooks (want files named N-VARIANT.patch)"

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

# Our code and its hooks, into the scratch copy; a failure leaves the previous build tree
# untouched.
applied="no patches (stock)"
if [ "$stock" = 0 ]; then
	ipvs_dir=$scratch/tree/net/netfilter/ipvs
	"$top/kmod/compat.sh" "$kdir" "$ipvs_dir" >"$scratch/compat.h" 2>"$scratch_log" || {
		cat "$scratch_log" >&2
		die "cannot probe the headers in $kdir and the IPVS sources of $kver, so nothing was built"
	}
	template_dport=$(awk '$2 == "IPVS_REUSE_TEMPLATE_DPORT" { print $3 }' "$scratch/compat.h")
	applied=
	slots=$(cd "$hooks" && ls -- [0-9]-*.patch | cut -d- -f1 | sort -un)
	for slot in $slots; do
		# The template hook exports ip_vs_conn.c's rehash sequence, which a kernel that
		# invalidates templates by their dport alone does not have.
		if [ "$slot" = 2 ] && [ "$template_dport" = 1 ]; then
			continue
		fi
		chosen=
		for p in "$hooks/$slot"-*.patch; do
			patch -d "$scratch/tree" -p1 --fuzz=0 --forward --batch --quiet --dry-run \
				<"$p" >/dev/null 2>&1 || continue
			if [ -z "$chosen" ]; then
				chosen=$p
			else
				echo "kmod: $(basename "$p") applies too; $(basename "$chosen") comes first in name order" >&2
			fi
		done
		[ -n "$chosen" ] ||
			die "no variant of hook $slot ($(cd "$hooks" && echo "$slot"-*.patch)) applies with --fuzz=0 to the Linux $hdr_version sources of $kver, so the variant does not support this kernel yet: nothing was built"
		patch -d "$scratch/tree" -p1 --fuzz=0 --forward --batch --quiet \
			--no-backup-if-mismatch -r - <"$chosen" >"$scratch/patch.log" 2>&1 || {
			cat "$scratch/patch.log" >&2
			die "$(basename "$chosen") applied in a dry run but not for real; nothing was built"
		}
		applied="$applied${applied:+, }$(basename "$chosen" .patch)"
	done
	cp "$top/kmod/ip_vs_reuse.c" "$top/kmod/ip_vs_reuse.h" "$ipvs_dir/"
	cp "$scratch/compat.h" "$ipvs_dir/ip_vs_reuse_compat.h"
	applied="hooks $applied; $(awk '/^#define IPVS_REUSE_/ { printf "%s%s=%s", sep, $2, $3; sep = " " }' "$scratch/compat.h")"
fi

version=$(module_version)

# One build at a time per work tree: two builds for the same ABI would share it.
mkdir -p "$(dirname "$work")"
exec 9>"$work.lock"
flock 9

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
