#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prints the path of a promtool binary in the cache, fetching it first if needed.
#
# promtool ships only inside Debian's full `prometheus` package, whose postinst would start the
# server: it is never installed, but unpacked into CACHE/tools/prometheus-VERSION/ by
# tests/lib/unpack-tool.sh. The guest suite tests/vm-metrics/acceptance.sh runs that binary from
# the read-only host root.
set -euo pipefail

case ${1:-} in
"") ;;
-h | --help)
	sed -n '3,8s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*) echo "promtool.sh: unknown option '$1' (it takes none)" >&2; exit 1 ;;
esac
bin=$("$(dirname "$0")/../lib/unpack-tool.sh" prometheus usr/bin/promtool)
"$bin" --version >/dev/null 2>&1 || { echo "promtool.sh: $bin does not run" >&2; exit 1; }
echo "$bin"
