#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest-side proof that the harness gives a node-like environment: IPVS, netns, modprobe.
set -euo pipefail

run() {
	echo "[+] $*"
	"$@"
}

run modprobe ip_vs
run ipvsadm -A -t 10.0.0.1:80 -s rr
run ipvsadm -Ln
run ip netns add x
run ip netns exec x ip link
run lsmod
echo "[+] ip_vs: $(modinfo -n ip_vs)"
echo "smoke: ok" | tee "${IPVS_VM_OUT:-/tmp}/smoke.ok"
