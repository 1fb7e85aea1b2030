#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of make check-matrix: the variant this kernel booted with is what modprobe
# loads, and its knob answers in a fresh netns.
set -euo pipefail

modprobe ip_vs
variant=$(modinfo -F variant ip_vs)
[[ $variant == *conn_reuse_quiescent* ]] || { echo "matrix: modprobe ip_vs loads the stock module"; exit 1; }
ip netns add matrix
ip netns exec matrix sysctl -qw net.ipv4.vs.conn_reuse_quiescent=1
knob=$(ip netns exec matrix cat /proc/sys/net/ipv4/vs/conn_reuse_quiescent)
[[ $knob == 1 ]] || { echo "matrix: the knob reads '$knob' after writing 1"; exit 1; }
ip netns del matrix
modprobe -r ip_vs
echo "matrix: ok ($variant $(modinfo -F version ip_vs 2>/dev/null || true))"
