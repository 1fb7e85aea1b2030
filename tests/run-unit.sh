#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the userspace unit tests with ASan and UBSan and runs them (--build-only: builds them, and
# the test-only ipvs-drain-fixture that tests/vm-userspace/compare.sh runs, and stops).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cmake -S userspace -B build/userspace-san -DIPVS_DRAIN_TESTS=ON \
	-DIPVS_DRAIN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/userspace-san -j2
[ "${1:-}" = --build-only ] && exit 0
ctest --test-dir build/userspace-san --output-on-failure
