#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host side: extract the kernel's own IPVS selftest for one ABI from its linux-source tarball into build/selftest/ABI/ and install the tools it needs.
set -euo pipefail

readonly SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SELF_DIR/../.." && pwd)"
readonly SELFTESTS=tools/testing/selftests

usage() {
	cat <<'EOF'
Usage: tests/selftest/prepare.sh ABI

Unpacks the IPVS selftest (and the helpers it sources) from the linux-source tarball that
the module set for ABI is built from, into build/selftest/ABI/, installs on the host the
tools the selftest runs (the guest runs host binaries), and prints that directory.
build/selftest/ABI/selftest.env names the script: SELFTEST_SCRIPT is relative to it.
EOF
}

die() {
	echo "prepare.sh: $*" >&2
	exit 1
}

# Installs PKG when CMD is missing: CI starts from a clean machine.
need_cmd() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 && return 0
	echo "prepare.sh: installing $pkg for $cmd" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
		die "cannot install $pkg (needed for $cmd)"
}

# The selftest moved, and started sourcing lib.sh and using socat, in 6.12 (not in 6.1).
# Prints the member paths to extract, the script first.
members_for_series() {
	local major=${1%%.*} minor=${1#*.}
	if ((major > 6 || (major == 6 && minor >= 12))); then
		echo "$SELFTESTS/net/netfilter/ipvs.sh"
		echo "$SELFTESTS/net/netfilter/lib.sh"
		echo "$SELFTESTS/net/lib.sh"
	else
		echo "$SELFTESTS/netfilter/ipvs.sh"
	fi
}

main() {
	if (($# != 1)) || [[ $1 == -h || $1 == --help ]]; then
		usage >&2
		exit 2
	fi
	local abi=$1
	[[ $abi =~ ^([0-9]+\.[0-9]+)[.+-] ]] || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	local series=${BASH_REMATCH[1]}

	need_cmd xz xz-utils
	need_cmd ip iproute2
	need_cmd ipvsadm ipvsadm
	need_cmd modprobe kmod
	need_cmd timeout coreutils
	need_cmd cmp diffutils
	need_cmd dmesg util-linux
	local -a members
	mapfile -t members < <(members_for_series "$series")
	if [[ ${members[0]} == */net/netfilter/* ]]; then
		need_cmd socat socat
	else
		need_cmd nc netcat-openbsd
	fi

	local tarball
	tarball=$("$REPO_ROOT/kmod/kernel.sh" source "$abi") || die "no linux-source tarball for $abi"
	[[ -s $tarball ]] || die "kernel.sh printed '$tarball', which is not a file"

	local dest="$REPO_ROOT/build/selftest/$abi"
	local stamp
	stamp="$tarball $(stat -c '%s %Y' "$tarball") ${members[*]}"
	if [[ -s $dest/selftest.env ]] && grep -qxF "SELFTEST_STAMP='$stamp'" "$dest/selftest.env" &&
		[[ -f $dest/${members[0]} ]]; then
		echo "$dest"
		return 0
	fi

	local stage
	mkdir -p "$REPO_ROOT/build/selftest"
	stage=$(mktemp -d "$REPO_ROOT/build/selftest/.stage.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	# Every tarball holds one top-level directory, linux-source-SERIES/.
	local top
	top=$(tar -tJf "$tarball" 2>/dev/null | head -n 1 | cut -d/ -f1) || true
	[[ -n $top ]] || die "cannot read $tarball"
	local -a paths=()
	local m
	for m in "${members[@]}"; do
		paths+=("$top/$m")
	done
	tar -xJf "$tarball" -C "$stage" --strip-components=1 "${paths[@]}" ||
		die "$tarball lacks one of: ${members[*]}"
	{
		echo "# Written by tests/selftest/prepare.sh; read by tests/selftest/guest.sh."
		printf 'SELFTEST_SCRIPT=%q\n' "${members[0]}"
		printf 'SELFTEST_SOURCE=%q\n' "$tarball"
		printf "SELFTEST_STAMP='%s'\n" "$stamp"
	} >"$stage/selftest.env"
	rm -rf "$dest"
	mv "$stage" "$dest"
	trap - EXIT
	echo "$dest"
}

main "$@"
