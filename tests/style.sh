#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the kernel's checkpatch over every patch series we ship.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$top/build/checkpatch
rc=0
# One checkpatch judges every series: the newest one found in a linux-source
# tarball, installed or unpacked into the cache by kmod/kernel.sh.
tarball=$(ls /usr/src/linux-source-*.tar.xz "$top"/.cache/source/*/usr/src/linux-source-*.tar.xz \
	2>/dev/null | awk -F/ '{ print $NF "\t" $0 }' | sort -V | tail -1 | cut -f2)
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
for dir in "$top"/patches/*/; do
	series=$(basename "$dir")
	for p in "$dir"*.patch; do
		# FILE_PATH_CHANGES asks about MAINTAINERS, which is not in our tree.
		if ! perl "$work/$name/scripts/checkpatch.pl" --no-tree --strict \
			--ignore FILE_PATH_CHANGES -q "$p"; then
			rc=1
		else
			echo "style: ok patches/$series/$(basename "$p")"
		fi
	done
done
exit $rc
