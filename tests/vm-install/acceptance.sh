#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest acceptance of make install / make uninstall on a node that starts with
# Debian's stock IPVS: the variant loads after install with the knob from
# modprobe.d, stock loads again after uninstall, and install refuses to
# compete with a DKMS copy. Prints TAP (tests/lib/tap.sh).
#
# Run by (no --ko: the guest must start with the stock set):
#   make kmod KVER=ABI && make
#   tests/vm/run.sh --abi ABI --timeout 600 --out DIR -- $PWD/tests/vm-install/acceptance.sh
#
# The guest's / is the host's, read-only over 9p, and /lib/modules/ABI is a
# tmpfs. make install writes /etc/modprobe.d, /usr/local/sbin and /var/lib, so
# this script first gives each of those a writable tmpfs that still shows the
# host's entries (read-only binds), in its own mount namespace: make install
# then runs exactly as on a node, with no DESTDIR, and modprobe reads the
# real /etc/modprobe.d. (DESTDIR itself is covered by tests/dkms/run.sh.)
#
# depmod reads every module of the kernel; over 9p under TCG that took more
# than five minutes, so /lib/modules/ABI/kernel, which links to the whole
# unpacked image, is replaced by a copy of the stock IPVS modules and their
# dependencies only. depmod then runs in seconds, on a tree that resolves
# ip_vs exactly as the full one does.
set -uo pipefail

# shellcheck source=tests/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
readonly ABI=$(uname -r)
readonly MODDIR=/lib/modules/$ABI/updates/ipvs-drain
readonly CONF=/etc/modprobe.d/ipvs-drain.conf
readonly MANIFEST=/var/lib/ipvs-drain/manifest
readonly KNOB=/proc/sys/net/ipv4/vs/conn_reuse_quiescent
readonly PARAM=/sys/module/ip_vs/parameters/conn_reuse_quiescent
readonly NS=ipvsd-install

cleanup() {
	ip netns del "$NS" 2>/dev/null
	modprobe -r ip_vs 2>/dev/null
	return 0
}
trap cleanup EXIT

# Makes DIR writable: a tmpfs over it that holds read-only binds of (or, for
# files and links, copies of) everything the host has there.
writable() {
	local dir=$1 orig entry name
	orig=$(mktemp -d /run/orig.XXXXXX)
	mount --bind "$dir" "$orig" || return 1
	mount -t tmpfs -o mode=0755 shadow "$dir" || return 1
	for entry in "$orig"/* "$orig"/.[!.]*; do
		[ -e "$entry" ] || [ -L "$entry" ] || continue
		name=${entry##*/}
		if [ -d "$entry" ] && [ ! -L "$entry" ]; then
			mkdir "$dir/$name" && mount --bind -o ro "$entry" "$dir/$name" || return 1
		else
			cp -a "$entry" "$dir/$name" || return 1
		fi
	done
}

# Where modprobe would take ip_vs from.
resolved() { modinfo -F filename ip_vs 2>/dev/null; }

# Every path the manifest names, one per line.
manifest_paths() { grep -v '^#' "$MANIFEST" 2>/dev/null; }

# Runs make install/uninstall in the checkout; its output lands in $out.
run_make() {
	local t0=$SECONDS
	out=$(make -s -C "$REPO" "$@" 2>&1)
	local rc=$?
	echo "# make $* took $((SECONDS - t0)) s (status $rc)"
	return $rc
}

setup_out=
for d in /etc/modprobe.d /usr/local/sbin /var/lib; do
	setup_out+=$(writable "$d" 2>&1) || setup_out+=" (failed on $d)"
done
[ -d /var/lib/dkms ] && { setup_out+=$(writable /var/lib/dkms 2>&1) || setup_out+=" (failed on /var/lib/dkms)"; }
touch /etc/modprobe.d/.w /usr/local/sbin/.w /var/lib/.w 2>/dev/null &&
	rm -f /etc/modprobe.d/.w /usr/local/sbin/.w /var/lib/.w
tap_result $? "writable /etc/modprobe.d, /usr/local/sbin, /var/lib over the read-only root" "$setup_out"

# Copies the stock IPVS set and everything it depends on into a real kernel/
# directory in place of the link to the whole image, then runs depmod on it.
lean_kernel_tree() {
	local kdir=/lib/modules/$ABI/kernel image m path rel
	image=$(readlink -f "$kdir") || return 1
	[ -d "$image/net/netfilter/ipvs" ] || { echo "no IPVS in $image"; return 1; }
	local lean=/lib/modules/$ABI/kernel.lean
	mkdir -p "$lean"
	for m in "$image"/net/netfilter/ipvs/*.ko*; do
		m=${m##*/}
		modprobe --show-depends "${m%%.ko*}" || return 1
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r path; do
		rel=${path#/lib/modules/"$ABI"/kernel/}
		mkdir -p "$lean/$(dirname "$rel")" && cp "$image/$rel" "$lean/$rel" || exit 1
	done || return 1
	rm "$kdir" && mv "$lean" "$kdir" && depmod -a "$ABI"
}
t0=$SECONDS
out=$(lean_kernel_tree 2>&1)
tap_result $? "kernel/ holds the stock IPVS set and its dependencies ($(find "/lib/modules/$ABI/kernel" -name "*.ko*" | wc -l) modules, copied and depmod in $((SECONDS - t0)) s)" "$out"

stock=$(resolved)
{ [ -f "$REPO/build/$ABI/ip_vs.ko" ] && [ -x "$REPO/build/bin/ipvs-drain" ]; }
tap_result $? "build/$ABI/ip_vs.ko and build/bin/ipvs-drain exist (make kmod KVER=$ABI; make)" ""
{ [ ! -d /sys/module/ip_vs ] && [[ $stock == */kernel/net/netfilter/ipvs/ip_vs.ko* ]]; }
tap_result $? "before: ip_vs not loaded, modprobe would take the stock one ($stock)" ""

# ---- make install KNOB=1 -------------------------------------------------------------------

run_make install KNOB=1
tap_result $? "make install KNOB=1 succeeds" "$out"
missing=
for f in "$MODDIR/ip_vs.ko" /usr/local/sbin/ipvs-drain "$CONF" "$MANIFEST"; do
	[ -f "$f" ] || missing+=" $f"
done
[ -z "$missing" ]
tap_result $? "it wrote the set, the tool, the modprobe.d snippet and the manifest" "missing:$missing"
listed=$(manifest_paths | wc -l)
{ [ "$listed" = $(($(find "$MODDIR" -name '*.ko' | wc -l) + 2)) ]; }
tap_result $? "the manifest lists every module, the tool and the snippet ($listed paths)" "$(cat "$MANIFEST" 2>&1)"
grep -qx 'options ip_vs conn_reuse_quiescent=1' "$CONF"
tap_result $? "the snippet sets conn_reuse_quiescent=1" "$(cat "$CONF" 2>&1)"
{ [ "$(resolved)" = "$MODDIR/ip_vs.ko" ]; }
tap_result $? "depmod ranks updates/ipvs-drain/ip_vs.ko first" "modinfo -F filename ip_vs: $(resolved)"

out=$(modprobe ip_vs 2>&1)
tap_result $? "modprobe ip_vs" "$out"
variant=$(modinfo -F variant ip_vs 2>/dev/null)
{ [ -e "$PARAM" ] && [[ $variant == ipvs-drain* ]] && [ -e /proc/net/ip_vs_reuse_stats ]; }
tap_result $? "the loaded ip_vs is the variant (parameter, variant '$variant', counters file)" "$(ls /sys/module/ip_vs/parameters 2>&1)"
knob=$(cat "$KNOB" 2>&1)
{ [ "$knob" = 1 ] && [ "$(cat "$PARAM" 2>&1)" = 1 ]; }
tap_result $? "the knob reads 1 right after modprobe ip_vs" "knob: $knob, parameter: $(cat "$PARAM" 2>&1)"
ip netns add "$NS" && nsknob=$(ip netns exec "$NS" cat "$KNOB" 2>&1)
{ [ "${nsknob:-}" = 1 ]; }
tap_result $? "a new netns starts with the knob at 1" "knob in $NS: ${nsknob:-}"
ip netns del "$NS"
out=$(/usr/local/sbin/ipvs-drain status 2>&1)
tap_result $? "the installed ipvs-drain runs (status)" "$out"
modprobe -r ip_vs

# ---- install again with KNOB=0: the files are replaced, not added -------------------------

run_make install KNOB=0
tap_result $? "make install KNOB=0 over it succeeds" "$out"
modprobe ip_vs && knob=$(cat "$KNOB" 2>&1)
{ [ "$knob" = 0 ] && [ "$(manifest_paths | wc -l)" = "$listed" ]; }
tap_result $? "the knob now reads 0 after modprobe ip_vs, and the manifest still lists $listed paths" "knob: $knob"
modprobe -r ip_vs

# ---- make uninstall ------------------------------------------------------------------------

mapfile -t written < <(manifest_paths)
run_make uninstall
tap_result $? "make uninstall succeeds" "$out"
left=
for f in "${written[@]}" "$MANIFEST"; do
	[ ! -e "$f" ] || left+=" $f"
done
{ [ -z "$left" ] && [ ${#written[@]} -gt 0 ] && [ ! -e "$MODDIR" ] && [ ! -e /var/lib/ipvs-drain ]; }
tap_result $? "it removed all ${#written[@]} files, the manifest and its directories" "left:$left"
{ [ "$(resolved)" = "$stock" ]; }
tap_result $? "modprobe resolves ip_vs to the stock module again" "modinfo -F filename ip_vs: $(resolved)"
out=$(modprobe ip_vs 2>&1)
{ [ -d /sys/module/ip_vs ] && [ ! -e "$PARAM" ] && [ ! -e "$KNOB" ]; }
tap_result $? "modprobe ip_vs loads stock: no parameter, no knob" "$out"
modprobe -r ip_vs

# ---- a DKMS copy makes install refuse ------------------------------------------------------

fake_dkms_check() {
	local what=$1
	run_make install KNOB=1
	local rc=$?
	{ [ "$rc" != 0 ] && grep -q "refusing: $2" <<<"$out"; }
	tap_result $? "make install refuses with $what" "$out"
	{ [ ! -e "$MODDIR" ] && [ ! -e "$MANIFEST" ] && [ ! -e "$CONF" ]; }
	tap_result $? "... and writes nothing" "$(ls -d "$MODDIR" "$MANIFEST" "$CONF" 2>&1)"
}
mkdir -p "/lib/modules/$ABI/updates/dkms" &&
	cp "$REPO/build/$ABI/ip_vs.ko" "/lib/modules/$ABI/updates/dkms/ip_vs.ko"
fake_dkms_check "a DKMS-built ip_vs in updates/dkms/" \
	"a DKMS-built ip_vs is installed in /lib/modules/$ABI/updates/dkms/ip_vs.ko"
rm -rf "/lib/modules/$ABI/updates"
if [ -w /var/lib/dkms ] || mkdir -p /var/lib/dkms 2>/dev/null; then
	version=$(cat "$REPO/VERSION")
	mkdir -p "/var/lib/dkms/ipvs-drain/$version/$ABI/x86_64/module"
	fake_dkms_check "ipvs-drain built by DKMS for $ABI (dkms status: built)" \
		"DKMS has ipvs-drain/$version built or installed for $ABI (remove it with: dkms remove ipvs-drain/$version -k $ABI)"
	rm -rf /var/lib/dkms/ipvs-drain
else
	tap_skip "make install refuses with ipvs-drain built by DKMS" "/var/lib/dkms is not writable here"
fi

tap_end
