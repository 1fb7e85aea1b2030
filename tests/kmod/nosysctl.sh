#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Our module set compiles against a kernel configured with CONFIG_SYSCTL=n: kmod/ip_vs_reuse.c
# guards its sysctl code with #ifdef CONFIG_SYSCTL as stock IPVS does, and no sysctl
# registration is left in ip_vs.ko. Debian's headers cannot change the configuration, so this
# configures a whole linux-source tree itself. Not part of make check: it takes minutes and
# about 1.5 GB in the cache. On 2 cores shared with QEMU guests (2026-11-28), a run from
# nothing (--fresh: extraction 37 s, configuration, modules_prepare, the module build) took
# 2 min 6 s; a re-run with the tree extracted, 1 min 10 s.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
# shellcheck source=tests/lib/tap.sh
source tests/lib/tap.sh

abi=6.1.0-56-amd64
debver=6.1.192-2

usage() {
	cat <<EOF
usage: tests/kmod/nosysctl.sh [--fresh] [--clean]

Builds our IPVS module set against a kernel tree configured with
CONFIG_SYSCTL=n:
  1. extracts the whole linux-source-6.1 $debver tarball (the sources of
     $abi; fetched with kmod/kernel.sh source when not in the cache) into
     the cache (.cache/ or \$IPVS_DRAIN_CACHE): nosysctl/linux-source-6.1-VERSION/;
  2. configures it from Debian's config of $abi with EXPERT=y and
     PROC_SYSCTL=n (the only option that selects SYSCTL), no BTF, no module
     signing keys, LOCALVERSION=-nosysctl, then make olddefconfig;
  3. runs make modules_prepare in it;
  4. runs kmod/build.sh --kdir TREE --ksrc TREE against it;
  5. checks: no compiler warning from ip_vs_reuse.[ch], ip_vs_core.c or
     ip_vs_conn.c, every module built, and no register_net_sysctl* reference
     in ip_vs.ko (Debian's own ip_vs.ko, which has one, is the control).

Needs flex and bison (kconfig) and libelf-dev (objtool) to build a kernel
tree; when they are missing and this runs as root, they are installed with
apt-get install --no-install-recommends. Not part of make check: it takes
minutes and about 1.5 GB.

  --fresh   extract the tree again even when the cache has it
  --clean   remove the extracted tree when done (the next run extracts again)
EOF
}

fresh=0 clean=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--fresh) fresh=1; shift ;;
	--clean) clean=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; echo "nosysctl: unknown option '$1'" >&2; exit 2 ;;
	esac
done

die() {
	echo "nosysctl: $*" >&2
	exit 1
}

cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")
start=$SECONDS
elapsed() {
	local s=$((SECONDS - start))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# stop NAME LOG WHY: the step NAME failed; show the end of LOG, count it, close the run.
stop() {
	[[ -z $2 || ! -f $2 ]] || tail -n 30 "$2" | sed 's/^/#   /'
	tap_not_ok "$1"
	echo "# $3"
	tap_end || true
	exit 1
}

# Tools a kernel tree needs that Debian's prebuilt headers do not (kconfig's parser, objtool,
# the signing tool): make deps's installer knows them.
"$top/tests/install-deps.sh" --kernel-tree ||
	die "building a kernel tree needs more packages: run tests/install-deps.sh --kernel-tree as root"

# 1. The sources: the tarball in the cache, else fetched.
tarball=$cache/source/linux-source-6.1-$debver/usr/src/linux-source-6.1.tar.xz
if [[ ! -f $tarball ]]; then
	echo "# $tarball is not in the cache: kmod/kernel.sh source $abi"
	tarball=$(kmod/kernel.sh source "$abi") || die "cannot fetch the linux-source of $abi (kmod/kernel.sh source $abi)"
fi
debver=$(cat "$tarball.debian-version" 2>/dev/null) || die "$tarball has no .debian-version next to it"
config=$cache/kernels/$abi/boot/config-$abi
if [[ ! -f $config ]]; then
	echo "# $config is not in the cache: kmod/kernel.sh fetch $abi"
	image=$(kmod/kernel.sh fetch "$abi") || die "cannot fetch the image of $abi (kmod/kernel.sh fetch $abi)"
	config=$image/boot/config-$abi
	[[ -f $config ]] || die "the image of $abi has no boot/config-$abi"
fi

dir=$cache/nosysctl/linux-source-6.1-$debver
tree=$dir/tree
mkdir -p "$dir"
echo "# sources: $tarball ($debver); config: $config; tree: $tree"
echo "# ip_vs_reuse.c $(sha256sum kmod/ip_vs_reuse.c | cut -c1-12), ip_vs_reuse.h $(sha256sum kmod/ip_vs_reuse.h | cut -c1-12) (as in the work tree now)"

stamp=$tree/.nosysctl-extracted
if [[ $fresh == 1 || ! -f $stamp || $(cat "$stamp") != "$tarball $debver" ]]; then
	rm -rf "$tree"
	mkdir -p "$tree"
	# Progress: tar reads 10 KiB records; a checkpoint every 100 MB of the unpacked stream.
	total=$(xz --robot --list "$tarball" | awk '$1 == "totals" { print $5 }' || true)
	[[ $total =~ ^[1-9][0-9]*$ ]] || die "cannot read the unpacked size of $tarball (xz --list)"
	echo "# extracting $(basename "$tarball") ($((total / 1048576)) MiB unpacked) into $tree"
	# TAR_CHECKPOINT is the number of 10 KiB records read so far; sh expands it, not us.
	# shellcheck disable=SC2016
	TOTAL=$total tar -xJf "$tarball" -C "$tree" --strip-components=1 --checkpoint=10000 \
		--checkpoint-action='exec=echo "#   extracting: $((TAR_CHECKPOINT * 10240 * 100 / TOTAL))%"' ||
		die "cannot extract $tarball into $tree"
	echo "$tarball $debver" >"$stamp"
	echo "# extracted in $(elapsed)"
else
	echo "# $tree is already extracted ($debver; --fresh extracts it again)"
fi

# 2. Debian's config with sysctl off. SYSCTL has no prompt: it is on when something selects it,
# and when it is off kconfig writes no line for it at all (no "# CONFIG_SYSCTL is not set",
# which only a visible symbol gets).
cp "$config" "$tree/.config"
sc() { "$tree/scripts/config" --file "$tree/.config" "$@"; }
sc --enable EXPERT --disable PROC_SYSCTL \
	--disable DEBUG_INFO_BTF --disable DEBUG_INFO_BTF_MODULES \
	--disable MODULE_SIG_ALL --set-str MODULE_SIG_KEY "" \
	--set-str SYSTEM_TRUSTED_KEYS "" --set-str SYSTEM_REVOCATION_KEYS "" \
	--set-str LOCALVERSION "-nosysctl" --disable LOCALVERSION_AUTO ||
	die "scripts/config cannot edit $tree/.config"
echo "# configuring: make olddefconfig"
if ! nice -n 10 make -C "$tree" olddefconfig >"$dir/configure.log" 2>&1; then
	stop "the tree configures from Debian's config of $abi" "$dir/configure.log" "make olddefconfig failed"
fi
sysctl_line=$(grep -E '^(# )?CONFIG_SYSCTL[= ]' "$tree/.config" || true)
if [[ -z $sysctl_line || $sysctl_line == '# CONFIG_SYSCTL is not set' ]]; then
	tap_ok "Debian's config of $abi with EXPERT=y, PROC_SYSCTL=n turns CONFIG_SYSCTL off (.config: ${sysctl_line:-no CONFIG_SYSCTL line})"
else
	# Who still selects it: every "select SYSCTL" whose symbol is on.
	# shellcheck disable=SC2016
	by=$(grep -rl --include='Kconfig*' -E '^[[:space:]]+select SYSCTL([[:space:]]|$)' "$tree" |
		xargs -r awk '/^(menu)?config / { sym = $2 } /^[[:space:]]+select SYSCTL([[:space:]]|$)/ { print sym }' |
		sort -u | while read -r s; do
			if grep -q "^CONFIG_$s=[ym]" "$tree/.config"; then echo "$s"; fi
		done | xargs) || by=
	tap_not_ok "Debian's config of $abi with EXPERT=y, PROC_SYSCTL=n turns CONFIG_SYSCTL off (.config: $sysctl_line)"
	echo "# CONFIG_SYSCTL stays on: still selected by ${by:-nothing found in the Kconfig files}"
	tap_end || true
	exit 1
fi

# The IPVS options Debian builds as modules must stay modules; the rest of the
# config must not need keys or pahole.
want=$(grep -E '^CONFIG_IP_VS(_[A-Z0-9_]+)?=m$' "$config" | cut -d= -f1 | sort || true)
have=$(grep -E '^CONFIG_IP_VS(_[A-Z0-9_]+)?=m$' "$tree/.config" | cut -d= -f1 | sort || true)
bad=
for o in CONFIG_DEBUG_INFO_BTF CONFIG_MODULE_SIG_ALL; do
	if grep -q "^$o=y" "$tree/.config"; then bad="$bad $o=y"; fi
done
for o in CONFIG_MODULE_SIG_KEY CONFIG_SYSTEM_TRUSTED_KEYS CONFIG_SYSTEM_REVOCATION_KEYS; do
	v=$(grep "^$o=" "$tree/.config" | cut -d= -f2- || true)
	[[ -z $v || $v == '""' ]] || bad="$bad $o=$v"
done
if [[ $want == "$have" && -n $have && -z $bad ]]; then
	tap_ok "IPVS stays modular ($(wc -l <<<"$have") options =m, as in Debian's config), no BTF, no signing keys"
else
	[[ $want == "$have" ]] || diff <(echo "$want") <(echo "$have") | sed 's/^/#   /' || true
	[[ -z $bad ]] || echo "# still set:$bad"
	tap_not_ok "IPVS stays modular, no BTF, no signing keys"
fi

# 3. modules_prepare; make's output goes to the log, every 40th line here.
echo "# make -j2 modules_prepare (nice 10; log: $dir/prepare.log)"
set +e
nice -n 10 make -C "$tree" -j2 modules_prepare 2>&1 | tee "$dir/prepare.log" |
	awk 'NR % 40 == 0 { printf "#   modules_prepare: %d lines: %s\n", NR, $0; fflush() }'
status=${PIPESTATUS[0]}
set -e
if [[ $status != 0 ]]; then
	stop "make modules_prepare in the tree" "$dir/prepare.log" "make modules_prepare failed (exit $status)"
fi
rel=$(make -s -C "$tree" kernelrelease 2>&1) || rel=
[[ $rel =~ ^[0-9][A-Za-z0-9.+_-]*$ ]] || stop "make modules_prepare in the tree" "" "make kernelrelease gives '$rel', not a release"
tap_ok "make modules_prepare in the tree ($rel, $(elapsed) so far)"

# What the compiler sees: autoconf.h defines no CONFIG_SYSCTL, and IPVS as a module.
autoconf=$tree/include/generated/autoconf.h
if [[ -f $autoconf ]] && ! grep -q '^#define CONFIG_SYSCTL ' "$autoconf" &&
	grep -q '^#define CONFIG_IP_VS_MODULE 1$' "$autoconf"; then
	tap_ok "include/generated/autoconf.h defines no CONFIG_SYSCTL (and CONFIG_IP_VS_MODULE)"
else
	grep -E '^#define CONFIG_(SYSCTL|IP_VS_MODULE) ' "$autoconf" 2>&1 | sed 's/^/#   /' || true
	tap_not_ok "include/generated/autoconf.h defines no CONFIG_SYSCTL (and CONFIG_IP_VS_MODULE)"
fi

# 4. Our set, by kmod/build.sh from the tree's own IPVS sources. Its work tree for this
# release is made afresh, so that every file is compiled and its warnings are in the log.
out=$dir/out
rm -rf "$top/build/src/$rel" "$out"
# A plain kernel tree has no .kernelvariables (Debian's headers do): build.sh must take it
# as it is and build with the host's compiler.
rm -f "$tree/.kernelvariables"
echo "# kmod/build.sh --kver $rel --kdir $tree --ksrc $tree --out $out (log: $dir/build.log)"
set +e
nice -n 10 kmod/build.sh --kver "$rel" --kdir "$tree" --ksrc "$tree" --out "$out" >"$dir/build.log" 2>&1
status=$?
set -e
sed -n 's/^kmod: /# kmod: /p' "$dir/build.log"
rm -rf "$top/build/src/$rel" "$top/build/src/$rel.lock"
if [[ $status != 0 ]]; then
	stop "kmod/build.sh builds our set against the CONFIG_SYSCTL=n tree" "$dir/build.log" "kmod/build.sh failed (exit $status)"
fi
tap_ok "kmod/build.sh builds our set against the CONFIG_SYSCTL=n tree"

# 5. What was built.
ours='(ip_vs_reuse\.[ch]|ip_vs_reuse_compat\.h|ip_vs_core\.c|ip_vs_conn\.c):[0-9]+(:[0-9]+)?: warning:'
warnings=$(grep -E "$ours" "$dir/build.log" || true)
others=$(grep -E ': warning:' "$dir/build.log" | grep -vE "$ours" || true)
if [[ -n $others ]]; then
	echo "# other compiler warnings in the build ($(wc -l <<<"$others")), not in our files:"
	head -n 20 <<<"$others" | sed 's/^/#   /'
fi
# No vmlinux was built, so modpost has no Module.symvers and calls every import unresolved.
modpost=$(grep -c '^WARNING: modpost: ' "$dir/build.log" || true)
echo "# modpost: Module.symvers is missing and every import unresolved ($modpost lines): expected, no vmlinux was built"
compiled=
for o in ip_vs_reuse ip_vs_core ip_vs_conn; do
	if ! grep -qE "CC \[M\] .*/net/netfilter/ipvs/$o\.o$" "$dir/build.log"; then compiled="$compiled $o.c"; fi
done
if [[ -n $compiled ]]; then
	tap_not_ok "no compiler warning from ip_vs_reuse.[ch], ip_vs_core.c or ip_vs_conn.c (not compiled in this run:$compiled)"
elif [[ -z $warnings ]]; then
	tap_ok "no compiler warning from ip_vs_reuse.[ch], ip_vs_core.c or ip_vs_conn.c (all three compiled in this run)"
else
	grep -E "$ours" "$dir/build.log" | sed 's/^/#   /'
	tap_not_ok "no compiler warning from ip_vs_reuse.[ch], ip_vs_core.c or ip_vs_conn.c ($(wc -l <<<"$warnings"))"
fi

ko=$out/ip_vs.ko
variant=$(modinfo -F variant "$ko" 2>&1 || true)
vermagic=$(modinfo -F vermagic "$ko" 2>&1 || true)
defined=$(nm --defined-only "$ko" 2>/dev/null | awk '$NF == "ip_vs_reuse_quiescent" { print $2 }' || true)
if [[ -f $ko && $variant == *conn_reuse_quiescent* && $vermagic == "$rel "* && $defined == T ]]; then
	tap_ok "ip_vs.ko is our variant for $rel (ip_vs_reuse_quiescent in it)"
else
	echo "# ip_vs.ko: $(ls "$ko" 2>&1); vermagic: $vermagic; variant: $variant; ip_vs_reuse_quiescent: ${defined:-not defined}"
	tap_not_ok "ip_vs.ko is our variant for $rel (ip_vs_reuse_quiescent in it)"
fi

# Every IPVS module the config asks for: CONFIG_IP_VS_FOO=m is ip_vs_foo.ko.
absent=
for o in $have; do
	m=$(tr '[:upper:]' '[:lower:]' <<<"${o#CONFIG_}").ko
	[[ -f $out/$m ]] || absent="$absent $m"
done
if [[ -z $absent ]]; then
	tap_ok "every module the config asks for is built ($(find "$out" -name '*.ko' | wc -l) modules)"
else
	tap_not_ok "every module the config asks for is built (missing:$absent)"
fi

refs=$(nm -u "$ko" 2>/dev/null | awk '{ print $NF }' | grep 'register_net_sysctl' | xargs || true)
sysctl_syms=$(nm -u "$ko" 2>/dev/null | awk '{ print $NF }' | grep -i sysctl | xargs || true)
echo "# ip_vs.ko's undefined symbols with sysctl in their name: ${sysctl_syms:-none}"
echo "# ip_vs.ko's ip_vs_reuse symbols: $(nm "$ko" 2>/dev/null | awk '$NF ~ /^ip_vs_reuse/ { print $NF }' | sort | xargs || true)"
if [[ -f $ko && -z $refs ]]; then
	tap_ok "ip_vs.ko references no register_net_sysctl* (no sysctl registration compiled in)"
else
	tap_not_ok "ip_vs.ko references no register_net_sysctl* (references: ${refs:-ip_vs.ko missing})"
fi

# The control: the same check on Debian's own ip_vs.ko, built with CONFIG_SYSCTL=y, finds one.
debko=$(find "$cache/kernels/$abi/lib/modules/$abi/" -path '*/net/netfilter/ipvs/ip_vs.ko*' 2>/dev/null | head -n 1 || true)
if [[ -z $debko ]]; then
	tap_skip "the check sees a registration where there is one (Debian's ip_vs.ko of $abi)" "the image of $abi is not unpacked in the cache"
else
	case $debko in
	*.xz) xz -dc "$debko" >"$dir/debian-ip_vs.ko"; debko=$dir/debian-ip_vs.ko ;;
	esac
	refs=$(nm -u "$debko" | awk '{ print $NF }' | grep 'register_net_sysctl' | xargs || true)
	if [[ -n $refs ]]; then
		tap_ok "the check sees a registration where there is one (Debian's ip_vs.ko of $abi: $refs)"
	else
		tap_not_ok "the check sees a registration where there is one (Debian's ip_vs.ko of $abi references none)"
	fi
fi

echo "# took $(elapsed); the tree stays in $tree$([[ $clean == 1 ]] && echo ' until --clean removes it now')"
if [[ $clean == 1 ]]; then
	rm -rf "$dir"
fi
tap_end
