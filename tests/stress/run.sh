#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host side of the stress test: builds the client, boots ABI with the variant set and runs
# tests/stress/guest.sh in it.
#   tests/stress/run.sh ABI [OUT_DIR] [-- guest.sh options, e.g. --seconds 120]
#   tests/stress/run.sh --image DIR [OUT_DIR] [-- ...]    (a kernel from tests/debug/build.sh)
set -euo pipefail

readonly HERE="$(cd "$(dirname "$0")" && pwd)"
readonly TOP="$(cd "$HERE/../.." && pwd)"
boot=()
if [[ ${1:-} == --image ]]; then
	boot=(--image "${2:?--image needs a directory}")
	abi=$(basename "$(ls -d "$2"/lib/modules/*/)")
	shift 2
elif (($# >= 1)) && [[ $1 != -h && $1 != --help ]]; then
	abi=$1
	boot=(--abi "$abi")
	shift
else
	echo "usage: tests/stress/run.sh ABI|--image DIR [OUT_DIR] [-- guest options]" >&2
	exit 2
fi
out=$TOP/build/vm/stress-$abi
if (($#)) && [[ $1 != -- ]]; then out=$1; shift; fi
[[ ${1:-} == -- ]] && shift
[[ -e $TOP/build/$abi/ip_vs.ko ]] || { echo "stress/run.sh: build/$abi/ip_vs.ko missing: build the module set first" >&2; exit 1; }
mkdir -p "$TOP/build/stress"
g++ -std=c++20 -O2 -Wall -Wextra -Werror -pthread -o "$TOP/build/stress/hammer" "$HERE/hammer.cpp"
rm -rf "$out"
exec "$TOP/tests/vm/run.sh" "${boot[@]}" --ko "$TOP/build/$abi" --timeout 900 --out "$out" -- \
	"$HERE/guest.sh" --hammer "$TOP/build/stress/hammer" "$@"
