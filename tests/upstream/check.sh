#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-upstream: builds Linux 7.3's IPVS modules from patches/upstream/, boots 7.3 with
# them (tests/vm/run.sh --ko) and runs the extended ipvs.sh selftest on stock and series.
set -euo pipefail

readonly SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly TOP="$(cd "$SELF_DIR/../.." && pwd)"
readonly CACHE_DIR="$(realpath -m "${IPVS_DRAIN_CACHE:-$TOP/.cache}")"
# shellcheck source=patches/upstream/target.sh
source "$TOP/patches/upstream/target.sh"
readonly SERIES_DIR="$TOP/patches/upstream"
readonly BUILD="$TOP/build/upstream"
readonly TREE="$BUILD/linux-7.3"
readonly KO_DIR="$BUILD/$ABI"
readonly SELFTEST_EXT="$BUILD/selftest"
# The headers with the series' include/net/ip_vs.h: a copy in the cache, which the build
# root sees, as it sees the cached headers themselves.
readonly HEADERS="$CACHE_DIR/upstream/headers-$ABI"
readonly TIMEOUT=${UPSTREAM_TIMEOUT:-2400}

# shellcheck source=tests/lib/tap.sh
source "$TOP/tests/lib/tap.sh"

usage() {
	cat <<'USAGE'
Usage: tests/upstream/check.sh     (make check-upstream; as root)

  1. applies patches/upstream/0*.patch, as committed, to the pristine 7.3 files
     (patches/upstream/make.sh pristine) with patch --fuzz=0;
  2. builds the 7.3 IPVS module set from that tree against a copy of the
     linux-headers-7.3.4+deb13-amd64 tree whose include/net/ip_vs.h is the series'
     one (kmod/build.sh --stock --ksrc --kdir, in a trixie build root for gcc-14);
  3. boots 7.3.4+deb13-amd64 with tests/vm/run.sh --ko and runs tests/upstream/guest.sh:
     stock modules fail the selftest's new case, the series' modules pass every case.
Prints TAP lines and "N passed, N failed, N skipped"; exits 1 if anything failed.
USAGE
}

# finish: the plan and the counts line; exits 1 if anything failed or nothing passed.
finish() {
	tap_end && ((TAP_PASS > 0))
	exit $?
}

apply_series() {
	local pristine p
	pristine=$("$SERIES_DIR/make.sh" pristine) || return 1
	rm -rf "$TREE"
	mkdir -p "$BUILD"
	cp -a "$pristine" "$TREE"
	rm -f "$TREE/.complete"
	for p in "$SERIES_DIR"/0*.patch; do
		[[ $(basename "$p") == 0000-cover-letter.patch ]] && continue
		echo "# applying $(basename "$p")"
		patch -d "$TREE" -p1 --fuzz=0 --forward --batch --quiet --no-backup-if-mismatch \
			-r - <"$p" | sed 's/^/# /' || return 1
		[[ ${PIPESTATUS[0]} == 0 ]] || return 1
	done
}

patched_headers() {
	local kdir src arch common
	kdir=$("$TOP/kmod/kernel.sh" headers "$ABI") || return 1
	src=$(cd "$kdir/../../.." && pwd)
	arch=usr/src/linux-headers-$ABI
	common=$(sed -n 's#^include \(.*\)/Makefile$#\1#p' "$kdir/Makefile" | head -n 1)
	[[ -n $common && -f $common/include/net/ip_vs.h ]] || {
		echo "# cannot find the common headers of $kdir"
		return 1
	}
	common=usr/src/$(basename "$common")
	rm -rf "$HEADERS"
	mkdir -p "$(dirname "$HEADERS")"
	cp -a "$src" "$HEADERS"
	# The arch Makefile names the common tree and its own build output by absolute path.
	sed -i "s#$src/#$HEADERS/#g" "$HEADERS/$arch/Makefile"
	if grep -q "$src/" "$HEADERS/$arch/Makefile"; then
		echo "# $HEADERS/$arch/Makefile still points into $src"
		return 1
	fi
	cp "$TREE/include/net/ip_vs.h" "$HEADERS/$common/include/net/ip_vs.h"
	echo "$HEADERS/$arch"
}

extended_selftest() {
	local shipped=$1
	rm -rf "$SELFTEST_EXT"
	cp -a "$shipped" "$SELFTEST_EXT"
	# shellcheck disable=SC1091
	. "$shipped/selftest.env"
	cp "$TREE/$SELFTEST_SCRIPT" "$SELFTEST_EXT/$SELFTEST_SCRIPT"
	echo "# extended selftest: $SELFTEST_EXT/$SELFTEST_SCRIPT"
}

main() {
	if (($#)); then
		usage
		[[ $1 == -h || $1 == --help ]] && exit 0
		exit 2
	fi
	[[ $(id -u) == 0 ]] || {
		echo "check-upstream: needs root (a trixie build root for gcc-14, QEMU)" >&2
		exit 2
	}
	echo "TAP version 13"
	if apply_series; then
		tap_ok "patches/upstream/0*.patch apply to pristine Linux 7.3 with --fuzz=0"
	else
		tap_not_ok "patches/upstream/0*.patch apply to pristine Linux 7.3 with --fuzz=0"
		finish
	fi

	local kdir
	if kdir=$(patched_headers) && echo "# headers: $kdir" &&
		"$TOP/kmod/build.sh" --kver "$ABI" --kdir "$kdir" --ksrc "$TREE" --stock \
			--out "$KO_DIR" 2>&1 | sed 's/^/# /' && [[ ${PIPESTATUS[0]} == 0 && -e $KO_DIR/ip_vs.ko ]]; then
		tap_ok "the 7.3 IPVS module set builds from the series (headers with its ip_vs.h)"
	else
		tap_not_ok "the 7.3 IPVS module set builds from the series (headers with its ip_vs.h)"
		finish
	fi
	if modinfo -F parm "$KO_DIR/ip_vs.ko" | grep -q conn_reuse_quiescent ||
		[[ -n $(modinfo -F variant "$KO_DIR/ip_vs.ko") ]]; then
		tap_not_ok "the series' ip_vs.ko has no module parameter nor MODULE_INFO of the out-of-tree set"
	else
		tap_ok "the series' ip_vs.ko has no module parameter nor MODULE_INFO of the out-of-tree set"
	fi

	local shipped
	shipped=$("$TOP/tests/selftest/prepare.sh" "$ABI") || {
		tap_not_ok "the 7.3 ipvs.sh selftest is prepared"
		finish
	}
	extended_selftest "$shipped"

	local out="$TOP/build/vm/upstream-$ABI" log status=0
	mkdir -p "$out"
	log="$out/guest.tap"
	# The guest's TAP lines are renumbered after the host's; its counts are added below.
	set +e
	"$TOP/tests/vm/run.sh" --abi "$ABI" --ko "$KO_DIR" --timeout "$TIMEOUT" --out "$out" -- \
		"$SELF_DIR/guest.sh" --ko "$KO_DIR" "$shipped" "$SELFTEST_EXT" | tee "$log" |
		awk -v base="$TAP_N" '
			/^(TAP version|1\.\.[0-9]+$|[0-9]+ passed, )/ { next }
			match($0, /^(not )?ok [0-9]+ /) {
				head = substr($0, 1, RLENGTH - 1); sub(/ [0-9]+$/, "", head)
				num = substr($0, 1, RLENGTH - 1); sub(/^.* /, "", num)
				print head " " (base + num) " " substr($0, RLENGTH + 1); next
			}
			{ print }'
	status=${PIPESTATUS[0]}
	set -e
	local line
	local -a counts
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1 || true)
	if [[ -z $line ]]; then
		tap_not_ok "the guest suite ended with its counts (tests/vm/run.sh exit $status; see $out/console.log)"
	else
		read -ra counts <<<"${line//[^0-9 ]/}"
		TAP_PASS=$((TAP_PASS + counts[0]))
		TAP_FAIL=$((TAP_FAIL + counts[1]))
		TAP_SKIP=$((TAP_SKIP + counts[2]))
		TAP_N=$((TAP_N + counts[0] + counts[1] + counts[2]))
		((status == 0 || counts[1] > 0)) ||
			tap_not_ok "the guest exited $status without counting a failure"
	fi
	finish
}

main "$@"
