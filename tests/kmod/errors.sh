#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make kmod against real package states: every refusal is one sentence that names the fix,
# nothing half-built is left behind, and a build never changes an installed package.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=tests/lib/tap.sh
source tests/lib/tap.sh

usage() {
	cat <<'EOF'
usage: tests/kmod/errors.sh

Runs kmod/build.sh on the host against real kernel packages that apt serves:
  - an ABI whose headers apt does not serve (6.1.0-48 has only its image);
  - a kernel tree (KSRC) and a linux-source tarball of another version than
    the headers';
  - an ABI whose call site no hook variant fits (6.1.0-50, Linux 6.1.176,
    offered hook 3 only in a variant whose context is the dest->cflags
    kernels'), with its own linux-source and with a KSRC tree of it;
  - headers built with a compiler this machine lacks (5.10's gcc-10), when
    it does lack it;
  - the newest 6.1 without linux-source installed, which must build from the
    cache and leave every installed package as it was.
Downloads go to the cache (.cache/ or $IPVS_DRAIN_CACHE); nothing is installed.
EOF
}
case ${1:-} in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

scratch=$(mktemp -d "$top/build/.kmod-errors.XXXXXX" 2>/dev/null) || {
	mkdir -p "$top/build" && scratch=$(mktemp -d "$top/build/.kmod-errors.XXXXXX")
} || exit 1
trap 'rm -rf "$scratch"' EXIT

# refuses NAME REGEX ARGS...: build.sh must exit 1, build nothing, and end with one
# "kmod: ..." sentence matching REGEX; no compiler diagnostics may precede it.
refuses() {
	local name=$1 re=$2 out=$scratch/out-$TAP_N status=0 last
	shift 2
	kmod/build.sh --out "$out" "$@" >"$scratch/log" 2>&1 || status=$?
	last=$(tail -n 1 "$scratch/log")
	echo "# $name: exit $status: $last"
	if [[ $status != 1 ]]; then
		echo "# expected exit 1"
		sed 's/^/#   /' "$scratch/log" | tail -n 20
		tap_not_ok "$name"
	elif [[ ! $last =~ ^kmod:\ $re ]]; then
		echo "# the last line does not match 'kmod: $re'"
		sed 's/^/#   /' "$scratch/log" | tail -n 20
		tap_not_ok "$name"
	elif grep -qE '(error|warning):|\*\*\*' "$scratch/log"; then
		echo "# a compiler or make diagnostic came before the sentence"
		tap_not_ok "$name"
	elif [[ -e $out ]]; then
		echo "# $out exists after a refusal"
		tap_not_ok "$name"
	else
		tap_ok "$name"
	fi
}

# partial_tree TARBALL DIR: the top Makefile and net/netfilter/ipvs of a linux-source
# tarball, which is all of a kernel tree that build.sh reads.
partial_tree() {
	local top_dir
	top_dir=$(tar -tJf "$1" --wildcards 'linux-source-*/Makefile' 2>/dev/null | head -n 1)
	top_dir=${top_dir%%/*}
	mkdir -p "$2"
	tar -xJf "$1" -C "$2" --strip-components=1 "$top_dir/Makefile" "$top_dir/net/netfilter/ipvs"
}

newest=$(kmod/kernel.sh resolve 6.1) || tap_bail "cannot resolve the newest 6.1 ABI"
old=6.1.0-50-amd64
echo "# newest 6.1: $newest; an ABI whose dest availability is in dest->flags: $old"

refuses "headers apt does not serve: names them and KDIR=" \
	"no kernel headers for 6\.1\.0-48-amd64: .*install the headers, or give KDIR=" \
	--kver 6.1.0-48-amd64

refuses "not a kernel ABI" "'foo/bar' is not a kernel ABI" --kver foo/bar

old_tarball=$(kmod/kernel.sh source "$old" 2>"$scratch/log") || {
	cat "$scratch/log"
	tap_bail "cannot fetch the linux-source of $old"
}
new_kdir=$(kmod/kernel.sh headers "$newest") || tap_bail "cannot fetch the headers of $newest"
partial_tree "$old_tarball" "$scratch/tree-old"
old_version=$(awk -F' *= *' '$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
	$1 == "SUBLEVEL" { s = $2 } END { print v "." p "." s }' "$scratch/tree-old/Makefile")

refuses "KSRC of another version than the headers: names the version to point at" \
	"the sources in .* are Linux $old_version but the headers for $newest are [0-9.]+: point --ksrc at a [0-9.]+ tree" \
	--kver "$newest" --kdir "$new_kdir" --ksrc "$scratch/tree-old"

refuses "a linux-source tarball of another version: names the one to give" \
	".* is linux-source-6\.1 [^ ]+ but linux-headers-$newest is [^ ]+: give the linux-source-6\.1 [^ ]+ tarball" \
	--kver "$newest" --kdir "$new_kdir" --tarball "$old_tarball"

# A kernel whose call site none of the hooks fits: 6.1.176 keeps a dest's availability in
# dest->flags, and hook 3 is offered here only in a variant whose context also holds the
# server-status line of the kernels that moved it to dest->cflags.
mkdir -p "$scratch/hooks-cflags"
for p in patches/hooks/*.patch; do
	case $p in */3-call.patch) ;; *) cp "$p" "$scratch/hooks-cflags/" ;; esac
done
awk '/^@@ / { sub(/,6 \+/, ",7 +"); sub(/,19 @@/, ",20 @@") }
	{ print }
	/^ \t\/\* Check the server status \*\/$/ {
		print " \tif (cp && cp->dest && !(cp->dest->cflags & IP_VS_DEST_CF_AVAILABLE)) {"
	}' patches/hooks/3-call.patch >"$scratch/hooks-cflags/3-call.dest-cflags.patch"
grep -q 'cflags & IP_VS_DEST_CF_AVAILABLE' "$scratch/hooks-cflags/3-call.dest-cflags.patch" ||
	tap_bail "cannot derive the dest->cflags variant of hook 3"
refuses "a kernel no hook variant fits: says so, builds nothing" \
	"no variant of hook 3 \\(3-call\\.dest-cflags\\.patch\\) applies with --fuzz=0 to the Linux $old_version sources of $old, so the variant does not support this kernel yet" \
	--kver "$old" --hooks "$scratch/hooks-cflags"

old_kdir=$(kmod/kernel.sh headers "$old") || tap_bail "cannot fetch the headers of $old"
refuses "a KSRC tree no hook variant fits" \
	"no variant of hook 3 \\(3-call\\.dest-cflags\\.patch\\) applies with --fuzz=0 to the Linux $old_version sources of $old" \
	--kver "$old" --kdir "$old_kdir" --ksrc "$scratch/tree-old" --hooks "$scratch/hooks-cflags"

# What a build may not do: change the installed packages, whether it fetches the sources
# into the cache or builds inside another release's root.
pkgs() { dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' | sort; }
pkgs >"$scratch/before"

# built NAME ABI: build.sh for ABI into the scratch directory builds the variant for ABI.
built() {
	local name=$1 abi=$2 out=$scratch/built-$2 status=0
	kmod/build.sh --kver "$abi" --out "$out" >"$scratch/log" 2>&1 || status=$?
	grep '^kmod: ' "$scratch/log" | sed 's/^/# /'
	if [[ $status == 0 && -f $out/ip_vs.ko ]] &&
		modinfo -F variant "$out/ip_vs.ko" | grep -q conn_reuse_quiescent &&
		[[ $(modinfo -F vermagic "$out/ip_vs.ko") == "$abi "* ]]; then
		tap_ok "$name"
	else
		tail -n 20 "$scratch/log" | sed 's/^/#   /'
		tap_not_ok "$name"
	fi
}

# The node path: no installed headers or linux-source of the exact version needed.
installed_src=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' linux-source-6.1 2>/dev/null || true)
echo "# linux-source-6.1 on this machine: ${installed_src:-not installed}"
built "the newest 6.1 builds with the exact linux-source fetched into the cache" "$newest"

# 5.10's headers are configured for gcc-10, which Debian 12 does not have: the build runs
# in a bullseye root, and gcc-10 stays off this machine.
abi510=$(kmod/kernel.sh resolve 5.10 2>/dev/null) || abi510=
if [[ -z $abi510 ]]; then
	tap_not_ok "a kernel of another release builds in that release's root (cannot resolve 5.10)"
elif command -v gcc-10 >/dev/null; then
	tap_skip "a kernel of another release builds in that release's root" "gcc-10 is installed on this machine, so no root is needed"
elif [[ $(id -u) != 0 ]]; then
	tap_skip "a kernel of another release builds in that release's root" "a build root needs root"
else
	built "a kernel of another release ($abi510, gcc-10) builds in that release's root" "$abi510"
	command -v gcc-10 >/dev/null
	tap_result "$((!$?))" "gcc-10 is still not installed on this machine"
fi

pkgs >"$scratch/after"
if diff -u "$scratch/before" "$scratch/after" >"$scratch/diff"; then
	tap_ok "the builds changed no installed package"
else
	sed 's/^/#   /' "$scratch/diff"
	tap_not_ok "the builds changed no installed package"
fi

tap_end
