#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the kernel's checkpatch over every patch series we ship.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$top/build/checkpatch
rc=0
for dir in "$top"/patches/*/; do
	series=$(basename "$dir")
	tarball=/usr/src/linux-source-$series.tar.xz
	if [ ! -f "$tarball" ]; then
		echo "style: SKIP patches/$series: $tarball is missing (apt-get install linux-source-$series)"
		continue
	fi
	mkdir -p "$work/$series"
	[ -f "$work/$series/scripts/checkpatch.pl" ] ||
		tar -xJf "$tarball" -C "$work/$series" --strip-components=1 \
			"linux-source-$series/scripts/checkpatch.pl" \
			"linux-source-$series/scripts/spelling.txt" \
			"linux-source-$series/scripts/const_structs.checkpatch"
	for p in "$dir"*.patch; do
		# FILE_PATH_CHANGES asks about MAINTAINERS, which is not in our tree.
		if ! perl "$work/$series/scripts/checkpatch.pl" --no-tree --strict \
			--ignore FILE_PATH_CHANGES -q "$p"; then
			rc=1
		else
			echo "style: ok patches/$series/$(basename "$p")"
		fi
	done
done
exit $rc
