#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Installs the variant module set, the tool and the modprobe.d snippet on a
# node, records every file it wrote, and removes exactly those files again.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: kmod/install.sh install [--kver ABI] [--knob N] [--destdir DIR]
                               [--prefix DIR] [--ko DIR] [--bin FILE]
       kmod/install.sh uninstall [--destdir DIR]
       kmod/install.sh dkms-source [--destdir DIR]

What `make install` and `make uninstall` run (as root).

install writes
  /lib/modules/ABI/updates/ipvs-drain/*.ko   the variant set (depmod then
                                             prefers it over the in-tree one)
  PREFIX/sbin/ipvs-drain                     the tool (PREFIX: /usr/local)
  /etc/modprobe.d/ipvs-drain.conf            options ip_vs conn_reuse_quiescent=N
  /var/lib/ipvs-drain/manifest               the list of the files above
and runs depmod. Installing again (another --knob, a rebuilt set, another
kernel) replaces the files and keeps one manifest.

uninstall deletes the files in the manifest, then the manifest, and runs
depmod for every kernel it touched; `modprobe ip_vs` loads stock IPVS again.

dkms-source (make dkms-source) copies what DKMS builds from (dkms.conf,
Kbuild, VERSION, kmod/'s build scripts and ip_vs_reuse.[ch], patches/hooks/)
to /usr/src/ipvs-drain-VERSION/, where `dkms add/build/install
ipvs-drain/VERSION` find it; the copy records the checkout's version, commit
included, for modinfo.

  --kver ABI     kernel to install for (default: the running one)
  --knob N       conn_reuse_quiescent from the moment ip_vs loads, 0..3
                 (default 0: stock behaviour until `ipvs-drain enable`)
  --destdir DIR  write below DIR instead of / (packaging, tests); depmod
                 then runs with -b DIR
  --prefix DIR   where sbin/ipvs-drain goes (default /usr/local)
  --ko DIR       the built set (default build/ABI, from `make kmod`)
  --bin FILE     the built tool (default build/bin/ipvs-drain)

Refuses while DKMS holds ipvs-drain for the same kernel: two variant sets in
updates/ would compete, and whichever depmod ranks first would load.

examples:
  sudo make install                     # running kernel, knob 0
  sudo make install KNOB=1              # knob 1 in every netns from load on
  make install DESTDIR=/tmp/pkg KVER=6.1.0-56-amd64
  sudo make uninstall
  sudo make dkms-source && sudo dkms install ipvs-drain/$(cat VERSION)
EOF
}

die() {
	echo "install: $*" >&2
	exit 1
}

usage_error() {
	echo "install: $* (see --help)" >&2
	exit 2
}

note() {
	echo "install: $*" >&2
}

top=$(cd "$(dirname "$0")/.." && pwd)
readonly SUBDIR=updates/ipvs-drain
readonly CONF=/etc/modprobe.d/ipvs-drain.conf
readonly MANIFEST=/var/lib/ipvs-drain/manifest

action=${1:-}
case "$action" in
install | uninstall | dkms-source) shift ;;
-h | --help | help) usage; exit 0 ;;
"") usage_error "missing action: install or uninstall" ;;
*) usage_error "unknown action '$action'" ;;
esac

kver=$(uname -r)
knob=0
destdir=
prefix=/usr/local
ko=
bin=$top/build/bin/ipvs-drain
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=${2:-}; shift 2 || usage_error "--kver needs an ABI" ;;
	--knob) knob=${2:-}; shift 2 || usage_error "--knob needs a value" ;;
	--destdir) destdir=${2:-}; shift 2 || usage_error "--destdir needs a directory" ;;
	--prefix) prefix=${2:-}; shift 2 || usage_error "--prefix needs a directory" ;;
	--ko) ko=${2:-}; shift 2 || usage_error "--ko needs a directory" ;;
	--bin) bin=${2:-}; shift 2 || usage_error "--bin needs a file" ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown option '$1'" ;;
	esac
done

[[ $knob =~ ^[0-3]$ ]] || usage_error "KNOB must be 0, 1, 2 or 3, not '$knob'"
[[ $kver =~ ^[0-9]+\.[0-9]+[^/[:space:]]*$ ]] ||
	usage_error "'$kver' is not a kernel ABI (expected something like 6.1.0-56-amd64)"
[[ $prefix == /* ]] || usage_error "--prefix must be absolute, not '$prefix'"
if [ -n "$destdir" ]; then
	mkdir -p "$destdir" || die "cannot create $destdir"
	destdir=$(cd "$destdir" && pwd)
	[ "$destdir" != / ] || destdir=
elif [ "$(id -u)" != 0 ]; then
	die "make $action writes to system directories: run it as root (or give DESTDIR=DIR)"
fi
[ -n "$ko" ] || ko=$top/build/$kver

# Every file the manifest may name: a corrupt manifest never deletes anything else.
ours() {
	case "$1" in
	/lib/modules/*/"$SUBDIR"/*.ko) [[ $1 != *..* ]] ;;
	*/sbin/ipvs-drain) [[ $1 != *..* ]] ;;
	"$CONF") ;;
	*) return 1 ;;
	esac
}

depmod_for() {
	local k=$1
	[ -d "$destdir/lib/modules/$k" ] || return 0
	if [ -n "$destdir" ]; then
		# A staging root lacks the kernel's own lists; depmod says so per file.
		local out
		out=$(depmod -b "$destdir" "$k" 2>&1) || die "depmod -b $destdir $k failed: $out"
		[ -z "$out" ] || grep -v 'WARNING: could not open modules\.\(order\|builtin\)' <<<"$out" >&2 || true
	else
		depmod -a "$k" || die "depmod -a $k failed"
	fi
}

# DKMS keeps its builds in /var/lib/dkms/ipvs-drain/VERSION/ABI/ARCH/ and, on
# Debian, installs them into /lib/modules/ABI/updates/dkms/.
dkms_holder() {
	local k=$1 d
	for d in "$destdir"/var/lib/dkms/ipvs-drain/*/"$k"/*/module; do
		[ -d "$d" ] || continue
		d=${d%/"$k"/*}
		echo "DKMS has ipvs-drain/${d##*/} built or installed for $k (remove it with: dkms remove ipvs-drain/${d##*/} -k $k)"
		return 0
	done
	for d in "$destdir/lib/modules/$k/updates/dkms"/ip_vs.ko*; do
		[ -e "$d" ] || continue
		echo "a DKMS-built ip_vs is installed in ${d#"$destdir"} (see dkms status)"
		return 0
	done
	return 1
}

read_manifest() {
	local m=$destdir$MANIFEST line
	manifest=()
	[ -f "$m" ] || return 0
	while IFS= read -r line; do
		case "$line" in
		"" | "#"*) continue ;;
		esac
		ours "$line" || die "$m names '$line', which make install never writes: fix or delete that line"
		manifest+=("$line")
	done <"$m"
}

write_manifest() {
	local m=$destdir$MANIFEST
	mkdir -p "$(dirname "$m")"
	{
		echo "# Written by ipvs-drain's make install; make uninstall deletes every file below."
		printf '%s\n' "$@"
	} >"$m.tmp"
	mv "$m.tmp" "$m"
}

# Copies SRC to DEST (a path below destdir) with MODE, atomically.
put() {
	local src=$1 dest=$destdir$2 mode=$3
	mkdir -p "$(dirname "$dest")"
	if ! install -m "$mode" "$src" "$dest.ipvs-drain-tmp" ||
		! mv -f "$dest.ipvs-drain-tmp" "$dest"; then
		die "cannot write $dest"
	fi
}

conf_text() {
	cat <<EOF
# Written by ipvs-drain's make install (KNOB=$knob); make uninstall deletes it.
#
# conn_reuse_quiescent is the initial value of net.ipv4.vs.conn_reuse_quiescent
# in init_net and in every network namespace created after ip_vs loads:
#   0  every code path behaves exactly as the stock module does
#   1  a new TCP SYN that reuses a TIME_WAIT/CLOSE entry whose destination has
#      weight 0 or was removed is rescheduled (NAT: kube-proxy, LVS-NAT)
#   2  the same for FIN_WAIT entries of direct-routing and tunnel services
#   3  both
# It lives here because sysctl.d runs before ip_vs is loaded. Change it per
# netns at run time with: ipvs-drain enable [--mode N] / ipvs-drain disable.
# The stock ip_vs ignores the option (with a warning in the kernel log).
options ip_vs conn_reuse_quiescent=$knob
EOF
}

# Other modprobe.d files that set the same option: modprobe passes them all and
# the last one wins, so the value would not be the one asked for.
warn_other_options() {
	local f
	for f in "$destdir"/etc/modprobe.d/*.conf "$destdir"/run/modprobe.d/*.conf \
		"$destdir"/lib/modprobe.d/*.conf "$destdir"/usr/lib/modprobe.d/*.conf; do
		[ -f "$f" ] || continue
		[ "$f" != "$destdir$CONF" ] || continue
		if grep -Eq '^[[:space:]]*options[[:space:]]+ip_vs[[:space:]].*conn_reuse_quiescent' "$f"; then
			note "warning: ${f#"$destdir"} also sets conn_reuse_quiescent; remove it, or the value may not be $knob"
		fi
	done
}

do_install() {
	local mods=() m vermagic variant
	[ -f "$ko/ip_vs.ko" ] || die "no $ko/ip_vs.ko: run make kmod KVER=$kver first"
	mapfile -t mods < <(find "$ko" -maxdepth 1 -name '*.ko' | sort)
	vermagic=$(modinfo -F vermagic "$ko/ip_vs.ko" 2>/dev/null) || die "modinfo cannot read $ko/ip_vs.ko"
	[ "${vermagic%% *}" = "$kver" ] ||
		die "$ko/ip_vs.ko was built for ${vermagic%% *}, not $kver: run make kmod KVER=$kver"
	variant=$(modinfo -F variant "$ko/ip_vs.ko")
	[[ $variant == ipvs-drain* ]] || die "$ko/ip_vs.ko is not the ipvs-drain variant (a stock build?)"
	[ -x "$bin" ] || die "no $bin: run make first"
	if [ -z "$destdir" ]; then
		[ -d "/lib/modules/$kver/kernel" ] ||
			die "/lib/modules/$kver has no kernel modules: is linux-image-$kver installed?"
	fi

	local why
	if why=$(dkms_holder "$kver"); then
		die "refusing: $why; two variant sets in updates/ would compete, so use DKMS or make install, not both"
	fi

	# Files of an earlier install for this kernel go first, so a set that lost
	# a module leaves nothing behind; other kernels' entries are kept.
	local old=() keep=() f
	read_manifest
	for f in ${manifest[@]+"${manifest[@]}"}; do
		case "$f" in
		"/lib/modules/$kver/$SUBDIR/"*) old+=("$f") ;;
		/lib/modules/*) keep+=("$f") ;;
		*) old+=("$f") ;;
		esac
	done

	local moddir=/lib/modules/$kver/$SUBDIR sbin=$prefix/sbin/ipvs-drain new=()
	for m in "${mods[@]}"; do
		new+=("$moddir/${m##*/}")
	done
	new+=("$sbin" "$CONF")
	# The manifest is written first, so that even a failed copy can be undone.
	write_manifest ${keep[@]+"${keep[@]}"} "${new[@]}"
	for f in ${old[@]+"${old[@]}"}; do
		rm -f "$destdir$f"
	done

	for m in "${mods[@]}"; do
		put "$m" "$moddir/${m##*/}" 0644
	done
	put "$bin" "$sbin" 0755
	local conf
	conf=$(mktemp)
	conf_text >"$conf"
	put "$conf" "$CONF" 0644
	rm -f "$conf"
	depmod_for "$kver"

	# Proves the point of updates/: modprobe ip_vs now resolves to the variant.
	local -a base=()
	[ -z "$destdir" ] || base=(-b "$destdir")
	local chosen
	chosen=$(modinfo "${base[@]}" -k "$kver" -F filename ip_vs 2>/dev/null) || chosen=
	[ "${chosen#"$destdir"}" = "$moddir/ip_vs.ko" ] ||
		die "depmod ranks ${chosen:-no ip_vs} above $moddir/ip_vs.ko: another copy in updates/ competes (see modinfo -k $kver ip_vs)"

	warn_other_options
	note "installed ${#mods[@]} modules ($(modinfo -F version "$ko/ip_vs.ko")) into $destdir$moddir, $destdir$sbin, $destdir$CONF (conn_reuse_quiescent=$knob)"
	if [ -z "$destdir" ] && [ "$kver" = "$(uname -r)" ]; then
		if [ -e /sys/module/ip_vs/parameters/conn_reuse_quiescent ]; then
			note "the variant is loaded already; the new options apply at its next load"
		elif [ -d /sys/module/ip_vs ]; then
			note "stock ip_vs is loaded: the variant loads at the next 'modprobe ip_vs' after IPVS is unloaded (or after a reboot)"
		fi
		if [ "$(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)" = Y ] ||
			grep -Eq '\[(integrity|confidentiality)\]' /sys/kernel/security/lockdown 2>/dev/null; then
			note "warning: this kernel only loads signed modules (Secure Boot lockdown), and these are unsigned: use DKMS with an enrolled MOK key (README, Secure Boot)"
		fi
	fi
}

do_uninstall() {
	local f kernels=() k
	read_manifest
	if [ ! -f "$destdir$MANIFEST" ]; then
		note "nothing to uninstall: no $destdir$MANIFEST"
		return 0
	fi
	for f in ${manifest[@]+"${manifest[@]}"}; do
		rm -f "$destdir$f" || die "cannot delete $destdir$f"
		if [[ $f =~ ^/lib/modules/([^/]+)/ ]]; then
			k=${BASH_REMATCH[1]}
			[[ " ${kernels[*]-} " == *" $k "* ]] || kernels+=("$k")
		fi
	done
	for k in ${kernels[@]+"${kernels[@]}"}; do
		rmdir "$destdir/lib/modules/$k/$SUBDIR" "$destdir/lib/modules/$k/updates" 2>/dev/null || true
	done
	rm -f "$destdir$MANIFEST"
	rmdir "$(dirname "$destdir$MANIFEST")" 2>/dev/null || true
	for k in ${kernels[@]+"${kernels[@]}"}; do
		depmod_for "$k"
	done
	note "removed ${#manifest[@]} files${kernels[0]:+ and ran depmod for ${kernels[*]}}"
	if [ -z "$destdir" ] && [ -e /sys/module/ip_vs/parameters/conn_reuse_quiescent ]; then
		note "the variant stays loaded until IPVS is unloaded or the node reboots"
	fi
}

# The version build.sh stamps into a build from this checkout.
checkout_version() {
	local v
	v=$(cat "$top/VERSION")
	if git -C "$top" rev-parse --short HEAD >/dev/null 2>&1; then
		v="$v+g$(git -C "$top" rev-parse --short HEAD)"
		git -C "$top" diff --quiet HEAD -- patches kmod Kbuild 2>/dev/null || v="$v-dirty"
	fi
	echo "$v"
}

do_dkms-source() {
	local version conf_version dest f
	version=$(cat "$top/VERSION")
	conf_version=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$top/dkms.conf")
	[ "$conf_version" = "$version" ] ||
		die "dkms.conf says PACKAGE_VERSION=$conf_version but VERSION says $version: make them agree"
	dest=$destdir/usr/src/ipvs-drain-$version
	rm -rf "$dest.tmp"
	mkdir -p "$dest.tmp/kmod" "$dest.tmp/patches"
	cp "$top/dkms.conf" "$top/Kbuild" "$top/VERSION" "$dest.tmp/"
	# What kmod/build.sh runs: the probes, the apt look-ups and, for a kernel
	# built with another release's compiler, the build root (when there is one).
	for f in build.sh dkms.sh compat.sh kernel.sh buildroot.sh; do
		if [ -f "$top/kmod/$f" ]; then
			install -m 0755 "$top/kmod/$f" "$dest.tmp/kmod/$f"
		elif [ "$f" != buildroot.sh ]; then
			die "kmod/$f is missing from the checkout, and DKMS builds with it"
		fi
	done
	# Our code, which build.sh adds to the kernel's IPVS sources.
	for f in ip_vs_reuse.c ip_vs_reuse.h; do
		install -m 0644 "$top/kmod/$f" "$dest.tmp/kmod/$f" ||
			die "cannot copy kmod/$f, which DKMS builds from"
	done
	# The hooks into the kernel's own files, one slot per number.
	compgen -G "$top/patches/hooks/[0-9]-*.patch" >/dev/null ||
		die "patches/hooks/ holds no hook patch (N-VARIANT.patch), and DKMS builds with them"
	cp -r "$top/patches/hooks" "$dest.tmp/patches/"
	checkout_version >"$dest.tmp/kmod/source-version"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	note "DKMS source tree $(cat "$dest/kmod/source-version") in $dest; next: dkms install ipvs-drain/$version"
}

"do_$action"
