#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-debug: builds (once) the debug kernel, the variant and plain module sets for it,
# and runs the scenario suite, the stress test and a kmemleak scan in one boot of it.
#   tests/debug/run.sh [--only REGEX] [--seconds N]
# Ends with "N passed, N failed, N skipped"; exits 1 if anything failed.
set -euo pipefail

readonly HERE="$(cd "$(dirname "$0")" && pwd)"
readonly TOP="$(cd "$HERE/../.." && pwd)"
image=$("$HERE/build.sh")
rel=$(basename "$(ls -d "$image"/lib/modules/*/)")
abi=$("$TOP/kmod/kernel.sh" resolve 6.1)
tarball=$("$TOP/kmod/kernel.sh" source "$abi")
"$TOP/kmod/build.sh" --kver "$rel" --kdir "$image/build" --tarball "$tarball"
"$TOP/kmod/build.sh" --kver "$rel" --kdir "$image/build" --tarball "$tarball" --stock
make -C "$TOP" --no-print-directory userspace >/dev/null
mkdir -p "$TOP/build/stress"
g++ -std=c++20 -O2 -Wall -Wextra -Werror -pthread -o "$TOP/build/stress/hammer" "$TOP/tests/stress/hammer.cpp"
out=$TOP/build/vm/debug
rm -rf "$out"
# KASAN and lockdep make everything several times slower under TCG.
"$TOP/tests/vm/run.sh" --image "$image" --ko "$TOP/build/$rel" --mem 4096 --timeout 5400 --out "$out" -- \
	"$HERE/guest.sh" --hammer "$TOP/build/stress/hammer" "$@"
