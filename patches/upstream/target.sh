# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The tree the upstream series is made against (make.sh) and checked on (tests/upstream/check.sh):
# the only 7.3 tree apt serves here, Debian's linux-source-7.3 of trixie-backports. Sourced.
readonly ABI=7.3.4+deb13-amd64
readonly DEB_VERSION=7.3.4-1~bpo13+1
readonly SERIES=7.3
