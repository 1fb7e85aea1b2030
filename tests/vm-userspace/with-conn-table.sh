#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs a command in a private mount namespace whose /proc/net/ip_vs_conn is a given file.
#
# Usage: with-conn-table.sh [--mask-ipvsadm] FILE CMD [ARGS...]
#
# A bind mount on /proc/net/ip_vs_conn itself does not hold: /proc/net is /proc/self/net, and the
# kernel drops (and unmounts) those dentries on every lookup. So the namespace gets a /proc of its own:
# a tmpfs with one symlink per entry of a second procfs mount, except net/, which holds FILE alone.
# --mask-ipvsadm also bind-mounts /bin/false over ipvsadm, so CMD cannot shell out to it.
set -euo pipefail

if [ "${1:-}" != --inner ]; then
	exec unshare --mount --propagation private "$0" --inner "$@"
fi
shift
mask=0
if [ "${1:-}" = --mask-ipvsadm ]; then
	mask=1
	shift
fi
[ $# -ge 2 ] || { echo "usage: with-conn-table.sh [--mask-ipvsadm] FILE CMD [ARGS...]" >&2; exit 2; }
file=$1
shift
[ -r "$file" ] || { echo "with-conn-table.sh: cannot read $file" >&2; exit 2; }

# /run is a tmpfs in the guest; these mounts vanish with the namespace.
root=/run/ipvsd-conn-table.$$
mkdir -p "$root"
mount -t tmpfs none "$root"
mkdir "$root/real" "$root/fake"
mount -t proc proc "$root/real"
ln -s "$root"/real/* "$root/fake/"
rm "$root/fake/net"
mkdir "$root/fake/net"
cp "$file" "$root/fake/net/ip_vs_conn"
mount --bind "$root/fake" /proc
if [ "$mask" = 1 ]; then
	mount --bind /bin/false "$(command -v ipvsadm)"
fi
exec "$@"
