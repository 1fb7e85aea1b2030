#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds (once, cached) a debug kernel from Debian's linux-source-6.1 tarball for the QEMU test
# bed: x86_64_defconfig + kvm_guest.config + tests/debug/debug.config (KASAN, lockdep, kmemleak,
# atomic-sleep checks; netfilter and IPVS as modules). Prints the image directory, laid out as
# tests/vm/run.sh --image wants it: boot/vmlinuz-REL (booted as a bzImage: see run.sh),
# lib/modules/REL, and build/ (the object tree, for building our modules against it).
set -euo pipefail

readonly HERE="$(cd "$(dirname "$0")" && pwd)"
readonly TOP="$(cd "$HERE/../.." && pwd)"
readonly CACHE="$TOP/.cache/debug"
readonly CHECKERS=(CONFIG_KASAN CONFIG_PROVE_LOCKING CONFIG_DEBUG_ATOMIC_SLEEP CONFIG_DEBUG_KMEMLEAK
	CONFIG_PROVE_RCU CONFIG_DEBUG_LIST)
readonly NEEDED_M=(CONFIG_IP_VS CONFIG_NF_CONNTRACK CONFIG_9P_FS CONFIG_NET_9P_VIRTIO CONFIG_VETH CONFIG_DUMMY
	CONFIG_BRIDGE)

series=6.1
jobs=$(nproc)

die() { echo "debug/build.sh: $*" >&2; exit 1; }
note() { echo "debug/build.sh: $*" >&2; }

usage() {
	cat <<USAGE
usage: tests/debug/build.sh [--series 6.1] [--jobs N]

Builds the debug kernel once per (linux-source version, debug.config, this script) into
.cache/debug/ and prints its image directory. A rebuild with everything cached takes no time;
the first build takes long (about 90 minutes on 2 cores), with make's progress on stderr.
USAGE
}

while [ $# -gt 0 ]; do
	case $1 in
	--series) series=${2:?--series needs a value}; shift 2 ;;
	--jobs) jobs=${2:?--jobs needs a value}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "debug/build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "debug/build.sh: --jobs wants a number, not '$jobs'" >&2; exit 2; }

abi=$("$TOP/kmod/kernel.sh" resolve "$series") || die "cannot resolve the newest $series kernel from apt"
tarball=$("$TOP/kmod/kernel.sh" source "$abi") || die "cannot fetch linux-source-$series"
debver=$(cat "$tarball.debian-version")
# Keyed on what decides the kernel: the config fragment and the sources.
key=$(cat "$HERE/debug.config" "$tarball.debian-version" | sha256sum | cut -c1-12)
dir="$CACHE/$series-$debver-$key"
if [ -e "$dir/.complete" ]; then
	echo "$dir/image"
	exit 0
fi

for t in make:make gcc:gcc flex:flex bison:bison bc:bc perl:perl xz:xz-utils depmod:kmod; do
	command -v "${t%%:*}" >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${t#*:}" >&2 ||
		die "cannot install ${t#*:}"
done
for p in libelf-dev libssl-dev; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >&2 || die "cannot install $p"
done

mkdir -p "$dir"
src="$dir/src" obj="$dir/obj" image="$dir/image"
if [ ! -e "$src/.extracted" ]; then
	note "extracting $tarball ($debver)"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" --strip-components=1 || die "cannot extract $tarball"
	touch "$src/.extracted"
fi

mkdir -p "$obj"
if [ ! -e "$obj/.configured" ]; then
	note "configuring: x86_64_defconfig + kvm_guest.config + debug.config"
	make -s -C "$src" O="$obj" x86_64_defconfig >&2
	make -s -C "$src" O="$obj" kvm_guest.config >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$HERE/debug.config" >&2
	make -s -C "$src" O="$obj" olddefconfig >&2
	for c in "${CHECKERS[@]}"; do
		grep -qx "$c=y" "$obj/.config" || die "$c did not stay enabled in the merged config"
	done
	for c in "${NEEDED_M[@]}"; do
		grep -qx "$c=m" "$obj/.config" || die "$c is not a module in the merged config"
	done
	touch "$obj/.configured"
fi

note "building bzImage and modules with $jobs jobs (nice 10)"
nice -n 10 make -C "$src" O="$obj" -j"$jobs" bzImage modules >&2 || die "the kernel build failed"
rel=$(make -s -C "$src" O="$obj" kernelrelease)
rm -rf "$image"
mkdir -p "$image/boot"
make -s -C "$src" O="$obj" INSTALL_MOD_PATH="$image" INSTALL_MOD_STRIP=1 DEPMOD=true modules_install >&2 ||
	die "modules_install failed"
rm -f "$image/lib/modules/$rel/build" "$image/lib/modules/$rel/source"
cp "$obj/arch/x86/boot/bzImage" "$image/boot/vmlinuz-$rel"
cp "$obj/.config" "$image/boot/config-$rel"
depmod -b "$image" "$rel" || die "depmod failed"
# kmod/build.sh checks that the IPVS sources match the headers' Debian version.
echo "$debver" >"$obj/.debian-version"
ln -sfn "$obj" "$image/build"
touch "$dir/.complete"
echo "$image"
