# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The start of a guest suite: the checkout's top (REPO), the tool under test (BIN) and the TAP
# helper. tests/vm/run.sh mounts the host's root read-only at the same path, so a suite sources
# this as "$(dirname "$0")/../lib/guest.sh" in the guest as on the host.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly REPO
readonly BIN="${IPVS_DRAIN_BIN:-$REPO/build/userspace/ipvs-drain}"
# shellcheck source=tests/lib/tap.sh
source "$REPO/tests/lib/tap.sh"
