#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the kernel's checkpatch over the hook patches and our own kernel sources.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$top/build/checkpatch
rc=0
# One checkpatch judges them all: the newest one found in a linux-source
# tarball, installed or unpacked into the cache by kmod/kernel.sh.
cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")
tarball=$(for t in /usr/src/linux-source-*.tar.xz "$cache"/source/*/usr/src/linux-source-*.tar.xz; do
	[ -f "$t" ] && printf '%s\t%s\n' "$(basename "$t")" "$t"
done | sort -V | tail -1 | cut -f2)
if [ -z "$tarball" ]; then
	echo "style: no linux-source tarball to take checkpatch.pl from: apt-get install linux-source-6.1" >&2
	exit 1
fi
name=$(basename "$tarball" .tar.xz)
if [ ! -f "$work/$name/scripts/checkpatch.pl" ]; then
	mkdir -p "$work/$name"
	tar -xJf "$tarball" -C "$work/$name" --strip-components=1 \
		"$name/scripts/checkpatch.pl" "$name/scripts/spelling.txt" \
		"$name/scripts/const_structs.checkpatch"
fi
echo "style: checkpatch from $name"
checkpatch() {
	perl "$work/$name/scripts/checkpatch.pl" --no-tree --strict \
		--ignore FILE_PATH_CHANGES -q "$@"
}
# The hooks into the kernel's files, as patches. FILE_PATH_CHANGES asks about
# MAINTAINERS, which is not in our tree.
for p in "$top"/patches/hooks/*.patch; do
	if checkpatch "$p"; then
		echo "style: ok patches/hooks/$(basename "$p")"
	else
		rc=1
	fi
done
# Our own kernel sources, as files. CONST_STRUCT: each netns registers its own
# copy of the sysctl table, which must be writable to point at that netns' knob,
# as ip_vs_ctl.c does for vs_vars.
for f in "$top"/kmod/ip_vs_reuse.c "$top"/kmod/ip_vs_reuse.h; do
	if checkpatch --ignore CONST_STRUCT -f "$f"; then
		echo "style: ok kmod/$(basename "$f")"
	else
		rc=1
	fi
done
exit $rc
