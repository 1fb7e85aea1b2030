#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host side: prepare the kernel's IPVS selftest for one ABI and run tests/selftest/guest.sh for it in a QEMU guest.
set -euo pipefail

readonly SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SELF_DIR/../.." && pwd)"

if (($# < 1)) || [[ $1 == -h || $1 == --help ]]; then
	echo "Usage: tests/selftest/run.sh ABI [OUT_DIR] [--no-reference]   (OUT_DIR defaults to build/vm/selftest-ABI;" >&2
	echo "       --no-reference skips the run on the stock modules)" >&2
	exit 2
fi
abi=$1
out=${2:-$REPO_ROOT/build/vm/selftest-$abi}
guest_opts=()
[[ ${3:-} == --no-reference ]] && guest_opts+=(--no-reference)
[[ -e $REPO_ROOT/build/$abi/ip_vs.ko ]] || {
	echo "run.sh: build/$abi/ip_vs.ko missing: build the module set first" >&2
	exit 1
}
dir=$("$SELF_DIR/prepare.sh" "$abi")
# No --ko: modprobe must give the stock set for the reference run; guest.sh insmods ours.
exec "$REPO_ROOT/tests/vm/run.sh" --abi "$abi" --timeout 1200 --out "$out" -- \
	"$SELF_DIR/guest.sh" --ko "$REPO_ROOT/build/$abi" "${guest_opts[@]}" "$dir"
