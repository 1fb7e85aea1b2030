#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Installs the Debian packages that building and testing ipvs-drain need (--bench: and make
# bench; --kernel-tree: and a build against a whole kernel tree, tests/kmod/nosysctl.sh; --deb:
# only what make deb needs, the test bed left out, as on a node that builds its packages).
set -euo pipefail

# What the tool is built with (make userspace, make deb).
tool=(
	build-essential cmake pkg-config
	libnl-3-dev libnl-genl-3-dev
	# swap-module loads and unloads through libkmod (compressed modules, errnos as values).
	libkmod-dev
	# Options are read by popt, as ipvsadm reads its own.
	libpopt-dev
	# The tool writes status --json and bench --json with nlohmann-json (header only): one
	# escaper instead of two hand-written ones that disagreed; the unit tests parse the output back.
	nlohmann-json3-dev
)
pkgs=(
	"${tool[@]}" g++ clang libclang-rt-14-dev libgtest-dev
	qemu-system-x86 busybox-static kmod cpio xz-utils patch dwarves mmdebstrap mount
	ipvsadm iproute2 python3 netcat-openbsd socat procps
	# /etc/services: the listings without -n print port names, and the comparisons give
	# ports by name (10.96.0.10:http); a minimal root has no such file.
	netbase
	# The man page is checked with groff (no warnings) and the completion is driven under
	# Debian's bash-completion, as installed on a node (tests/doc/check.sh).
	groff-base bash-completion
	# The keepalived suite runs Debian's keepalived from its .deb unpacked into the cache
	# (tests/keepalived/fetch.sh; the package would start its service on the host): these are
	# the libraries of its Depends that a build host may lack. None ships a daemon.
	libglib2.0-0 libmnl0 libnftnl11 libpcre2-8-0 libsnmp40 libssl3 libsystemd0
)
deb=0
for opt in "$@"; do
	case $opt in
	# make bench also compares against ApacheBench and crafts SYNs with trafgen.
	--bench) pkgs+=(apache2-utils netsniff-ng) ;;
	# A kernel tree builds what Debian's prebuilt headers ship: kconfig's parser (flex,
	# bison), objtool (libelf), the signing tool (libssl).
	--kernel-tree) pkgs+=(flex bison libelf-dev libssl-dev bc perl binutils) ;;
	# make deb builds the two packages with dpkg-buildpackage and debhelper (compat 13),
	# registers the module sources with DKMS through dh_dkms, and checks them with lintian.
	--deb) deb=1 ;;
	*)
		echo "install-deps: unknown option '$opt' (--bench, --kernel-tree, --deb)" >&2
		exit 2
		;;
	esac
done
[ "$deb" = 0 ] || pkgs=("${tool[@]}" dpkg-dev debhelper dh-dkms lintian)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages ${missing[*]}: run as root or install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Recommended packages would bring a desktop along with QEMU (GTK, mesa, gstreamer): the
# guests need none of it. A fresh machine may have no package lists yet.
install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
install || { apt-get update -q >&2 && install; }
