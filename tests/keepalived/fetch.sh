#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Puts Debian's keepalived binary into the cache without installing the package, and prints its path.
#
# Usage: tests/keepalived/fetch.sh
#
# Installing keepalived would start its service on the host; the guest suite only needs the binary,
# unpacked into $IPVS_DRAIN_CACHE/tools/keepalived-VERSION/ by tests/lib/unpack-tool.sh. Its shared
# libraries come from tests/install-deps.sh.
set -euo pipefail
[ $# -eq 0 ] || { echo "keepalived/fetch.sh: takes no arguments (see its header)" >&2; exit 1; }
exec "$(dirname "$0")/../lib/unpack-tool.sh" keepalived usr/sbin/keepalived
