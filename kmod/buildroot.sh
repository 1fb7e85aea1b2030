#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian build roots of other releases (mmdebstrap, kept in the cache) for kernels whose compiler is not the host's.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
readonly SELF
TOP="$(cd "$(dirname "$SELF")/.." && pwd)"
readonly TOP
readonly KERNEL_SH="$TOP/kmod/kernel.sh"
CACHE_DIR="$(realpath -m "${IPVS_DRAIN_CACHE:-$TOP/.cache}")"
readonly CACHE_DIR
readonly ROOTS="$CACHE_DIR/roots"
# Marks a root as complete and says what it holds; written last, before the rename.
readonly STAMP=.ipvs-drain-root
# What the module build needs besides gcc-N, as tried on 5.10 and 6.12 roots: make and
# libc6-dev; libelf.so.1 for the kbuild's prebuilt objtool (libelf-dev is its name in every
# release); pahole, with which 6.12 headers (they ship a BTF-only vmlinux) make the modules'
# BTF; patch and xz-utils for build.sh. kmod (modinfo), bc and ca-certificates are small
# and expected in a build root. No git: build.sh computes the module version on the host
# and passes it in IPVS_DRAIN_VERSION, which a git in the root would append to again.
readonly BASE_PKGS=(make libc6-dev libelf-dev dwarves patch xz-utils kmod bc ca-certificates)
readonly ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage() {
	cat <<'EOF'
usage: kmod/buildroot.sh release-for gcc-N
       kmod/buildroot.sh path STATE gcc-N
       kmod/buildroot.sh run STATE gcc-N [--bind DIR]... -- CMD [ARG...]

A Debian kernel is built with the compiler its headers depend on (gcc-10 for
5.10, gcc-14 for trixie's 6.12 and for 7.x), and its kbuild binaries are
linked against its own release's libraries. When that compiler is not the one
of this machine's release, kmod/build.sh builds inside a root of the kernel's
own release, as sbuild does, instead of installing another release's compiler
or kbuild here. This script makes and enters those roots.

  release-for gcc-N
        print the apt state that serves gcc-N, trying this machine's release
        first (its codename), then bullseye, trixie, trixie-backports, sid
        (the states of kmod/kernel.sh states); fails when none does
  path STATE gcc-N
        make sure a root of STATE's release with gcc-N and the module build
        tools exists in <cache>/roots/STATE/ and print its path. The first
        call makes it with mmdebstrap (minbase; about a minute, 250-450 MB),
        whole or not at all; later calls reuse it, and remake it only
        to add a compiler it lacks. Its apt sources are the very text of the
        private apt state (<cache>/apt/STATE/sources.list.d/debian.sources),
        whose mirror kmod/kernel.sh takes from this machine's apt
        configuration; trixie-backports is a trixie root with backports.
  run STATE gcc-N [--bind DIR]... -- CMD [ARG...]
        run CMD in that root (made first if needed) with chroot, in a mount
        namespace of its own holding /proc, /sys, /dev, the checkout and the
        cache bind-mounted at their own paths (so the cached headers' paths
        resolve as they do here), plus each --bind DIR; the mounts go when
        CMD ends, however it ends. CMD gets a clean environment with
        IPVS_DRAIN_CACHE, IPVS_DRAIN_VERSION (when set) and
        IPVS_DRAIN_IN_ROOT=STATE, in the current directory when the root
        sees it, else in the checkout. No network is used inside.

path and run need root and mmdebstrap (make deps installs it). A lock in
<cache>/roots/ keeps two builds from making the same root at once, and a
root from being remade while a build uses it. To drop a root, remove
<cache>/roots/STATE/; the next build makes it again.

The cache is .cache/ in the checkout, or $IPVS_DRAIN_CACHE.

Examples:
  kmod/buildroot.sh release-for gcc-10            # -> bullseye
  kmod/buildroot.sh run bullseye gcc-10 -- gcc-10 --version
  make kmod KVER=5.10.0-46-amd64                  # build.sh does the above itself
EOF
}

die() {
	echo "buildroot: $*" >&2
	exit 1
}

host_codename() {
	local codename
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || die "cannot tell this machine's Debian release from /etc/os-release: is it Debian?"
	echo "$codename"
}

check_cc() {
	[[ $1 =~ ^gcc-[0-9]+$ ]] || die "'$1' is not a compiler package name: give gcc-N, e.g. gcc-10"
}

# The apt states, host's release first, on one line.
states_list() {
	"$KERNEL_SH" states | paste -sd ' '
}

# A state kernel.sh knows, and not this machine's own release (that needs no root).
check_state() {
	local state=$1
	grep -qxF -- "$state" < <("$KERNEL_SH" states) ||
		die "unknown apt state '$state': give one of: $(states_list)"
	[[ $state != "$(host_codename)" ]] ||
		die "$state is this machine's own release: install its compiler here (make deps) instead of using a build root"
}

need_root() {
	[[ $(id -u) == 0 ]] || die "$1 needs root (it uses mmdebstrap, mount and chroot): run it as root"
}

# Fills the array named $1 with the apt options of state $2 (none for the host's release).
state_opts() {
	local -n _so=$1
	local text
	text=$("$KERNEL_SH" apt-opts "$2") || die "cannot prepare the apt state $2 (see above): run make deps, or check the network"
	_so=()
	[[ -z $text ]] || mapfile -t _so <<<"$text"
}

cmd_release_for() {
	local cc=$1 st cand
	local -a opts
	check_cc "$cc"
	while read -r st; do
		state_opts opts "$st"
		cand=$(apt-cache "${opts[@]}" policy "$cc" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
		if [[ -n $cand && $cand != "(none)" ]]; then
			echo "$st"
			return 0
		fi
	done < <("$KERNEL_SH" states)
	die "no apt state serves $cc (tried: $(states_list)): check the compiler name, or run apt-get update"
}

# True when nothing is mounted at or below directory $1 in this mount namespace.
unmounted() {
	local dir
	dir=$(realpath -m "$1")
	! findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1 { f = 1 } END { exit !f }'
}

# Removes a root that is not (or no longer) in use; refuses while anything is mounted in it.
remove_root() {
	local dir=$1
	[[ -e $dir ]] || return 0
	unmounted "$dir" || die "$dir has something mounted in it: unmount it (findmnt | grep '$dir') before it can be removed"
	rm -rf --one-file-system "$dir"
}

# Opens (once) the lock of STATE's root and takes it shared (s) or exclusive (x).
LOCK_FD=
lock_root() {
	local state=$1 mode=$2
	if [[ -z $LOCK_FD ]]; then
		mkdir -p "$ROOTS"
		exec {LOCK_FD}>>"$ROOTS/.$state.lock"
	fi
	if ! flock -n "-$mode" "$LOCK_FD"; then
		if [[ $mode == s ]]; then
			echo "buildroot: waiting for another build that is making the $state root" >&2
		else
			echo "buildroot: waiting for the builds using the $state root to end before remaking it" >&2
		fi
		flock "-$mode" "$LOCK_FD"
	fi
}

# The packages root $1 was made with (empty when it is not complete).
root_packages() {
	sed -n 's/^packages=//p' "$1/$STAMP" 2>/dev/null || true
}

# True when root $1 is complete and holds every package named after it.
root_has() {
	local dir=$1 have p
	shift
	have=" $(root_packages "$dir") "
	[[ $have != "  " ]] || return 1
	for p in "$@"; do
		[[ $have == *" $p "* ]] || return 1
	done
}

# Fills the array named $1 with mmdebstrap --aptopt options repeating the settings of this
# machine's apt that decide how it reaches its mirror, as the private apt states inherit
# them: an archive snapshot whose Release has expired, a proxy.
host_aptopts() {
	local -n _ha=$1
	local key line
	_ha=()
	for key in Acquire::Check-Valid-Until Acquire::http::Proxy Acquire::https::Proxy; do
		line=$(apt-config shell v "$key")
		[[ $line =~ ^v=\'(.*)\'$ ]] || continue
		_ha+=("--aptopt=$key \"${BASH_REMATCH[1]}\";")
	done
}

# Makes the root of STATE with the packages $2... into a temporary directory and puts it at
# its place with one rename. Run with the exclusive lock held.
make_root() {
	local state=$1 dest=$ROOTS/$1 sources suite tmp t0 old
	shift
	command -v mmdebstrap >/dev/null || die "install mmdebstrap (make deps does)"
	# apt-opts writes (or refreshes) the private state's sources, the text the root gets.
	"$KERNEL_SH" apt-opts "$state" >/dev/null || die "cannot prepare the apt state $state (see above): check the network"
	sources=$CACHE_DIR/apt/$state/sources.list.d/debian.sources
	[[ -s $sources ]] || die "kernel.sh left no $sources: run kmod/kernel.sh apt-opts $state and look at its error"
	# The release is the first suite of the first entry: trixie for trixie-backports.
	suite=$(awk '$1 == "Suites:" { print $2; exit }' "$sources")
	[[ -n $suite ]] || die "$sources names no suite: remove it and run kmod/kernel.sh apt-opts $state"

	# Leftovers of a make_root that was killed.
	for old in "$ROOTS/.$state".new.* "$ROOTS/.$state".old.*; do
		[[ -e $old ]] && remove_root "$old"
	done
	tmp=$(mktemp -d "$ROOTS/.$state.new.XXXXXX")
	# apt downloads as _apt, which must be able to enter it.
	chmod 0755 "$tmp"
	# shellcheck disable=SC2064 # expand now: the path is fixed
	trap "rm -rf --one-file-system '$tmp'" EXIT
	mkdir "$tmp/src" "$tmp/root"
	# One copy of the text, for mmdebstrap and for the root, even if kernel.sh rewrites it.
	cp "$sources" "$tmp/src/debian.sources"

	local -a aptopts
	local include
	host_aptopts aptopts
	include=$(
		IFS=,
		echo "$*"
	)
	echo "buildroot: making the $state build root ($suite, with $*) with mmdebstrap; this takes a minute or two" >&2
	t0=$SECONDS
	# In a mount namespace of its own, so that nothing mmdebstrap mounts can outlive it.
	unshare --mount --propagation private -- mmdebstrap --mode=root --variant=minbase \
		--include="$include" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
		"${aptopts[@]}" \
		"$suite" "$tmp/root" "$tmp/src/debian.sources" >&2 ||
		die "mmdebstrap did not make the $state root, and nothing of it was kept: its messages above say why (network, mirror, or an interruption)"
	local r=$tmp/root
	rm -f "$r/etc/apt/sources.list" "$r"/etc/apt/sources.list.d/*
	cp "$tmp/src/debian.sources" "$r/etc/apt/sources.list.d/debian.sources"
	# No network is used inside; do not keep this machine's resolver there.
	rm -f "$r/etc/resolv.conf"
	local cc
	for cc in "$@"; do
		[[ $cc == gcc-* ]] || continue
		chroot "$r" /usr/bin/env -i PATH="$ROOT_PATH" "$cc" --version >/dev/null ||
			die "the new $state root cannot run $cc: look at mmdebstrap's output above"
	done
	printf '# kmod/buildroot.sh: a %s build root, complete\nstate=%s\nsuite=%s\npackages=%s\nseconds=%s\ncreated=%s\n' \
		"$state" "$state" "$suite" "$*" "$((SECONDS - t0))" "$(date -u +%FT%TZ)" >"$r/$STAMP"

	old=
	if [[ -e $dest ]]; then
		old=$(mktemp -d "$ROOTS/.$state.old.XXXXXX")
		mv "$dest" "$old/"
	fi
	mv "$r" "$dest"
	rm -rf --one-file-system "$tmp"
	trap - EXIT
	[[ -z $old ]] || remove_root "$old"
	echo "buildroot: the $state root took $((SECONDS - t0)) s and holds $(du -sh --one-file-system "$dest" | cut -f1)" >&2
}

# Makes sure STATE's root holds gcc-N (and the base packages). Run with the exclusive lock.
ensure_root() {
	local state=$1 cc=$2 dest=$ROOTS/$1 p
	local -a want=("${BASE_PKGS[@]}" "$cc")
	root_has "$dest" "${want[@]}" && return 0
	# A root made for another compiler keeps it: remake it with both.
	for p in $(root_packages "$dest"); do
		[[ " ${want[*]} " == *" $p "* ]] || want+=("$p")
	done
	make_root "$state" "${want[@]}"
}

# Returns with the lock of STATE's root held shared and the root holding gcc-N: builds
# share a root, and nobody remakes it while one of them uses it. A missing root (or
# compiler) is made under the exclusive lock. Changing a flock's mode is not atomic, so the
# root is checked again each time the lock is taken.
acquire_root() {
	local state=$1 cc=$2
	while :; do
		lock_root "$state" s
		root_has "$ROOTS/$state" "${BASE_PKGS[@]}" "$cc" && return 0
		flock -u "$LOCK_FD"
		lock_root "$state" x
		ensure_root "$state" "$cc"
	done
}

cmd_path() {
	local state=$1 cc=$2
	check_cc "$cc"
	check_state "$state"
	need_root "kmod/buildroot.sh path"
	acquire_root "$state" "$cc"
	echo "$ROOTS/$state"
}

cmd_run() {
	local state=$1 cc=$2 b
	shift 2
	local -a binds=()
	while (($#)) && [[ $1 == --bind ]]; do
		(($# >= 2)) || die "--bind needs a directory"
		[[ -d $2 ]] || die "--bind $2: no such directory"
		b=$(realpath "$2")
		# These would hide the root's own system or the mounts run makes.
		case $b in
		/ | /bin | /boot | /dev | /etc | /lib | /lib32 | /lib64 | /proc | /root | /sbin | /sys | /usr | /usr/* | /var | /var/lib | /var/lib/*)
			case $b in /usr/src/?* | /usr/local/?*) ;; *) die "--bind $b would hide the root's own $b: give a directory of your own (under /home, /srv, /tmp, ...)" ;; esac
			;;
		esac
		binds+=("$b")
		shift 2
	done
	[[ ${1:-} == -- ]] || die "usage: kmod/buildroot.sh run STATE gcc-N [--bind DIR]... -- CMD [ARG...] (see --help)"
	shift
	(($#)) || die "run needs a command after --"
	check_cc "$cc"
	check_state "$state"
	need_root "kmod/buildroot.sh run"
	acquire_root "$state" "$cc"
	local rc=0
	unshare --mount --propagation private -- "$SELF" _enter "$ROOTS/$state" "$state" "${binds[@]}" -- "$@" || rc=$?
	return "$rc"
}

# Inside run's mount namespace: mounts, chroot, unmounts.
MOUNTED=()
unmount_all() {
	local i
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null || true
	done
	MOUNTED=()
}

bind_at() {
	local root=$1 dir=$2
	mkdir -p "$root$dir"
	mount --bind "$dir" "$root$dir" || die "cannot bind-mount $dir into $root"
	MOUNTED+=("$root$dir")
}

# True when directory $1 is $2 or below it.
under() {
	[[ $1 == "$2" || $1 == "$2"/* ]]
}

cmd_enter() {
	local root=$1 state=$2 d cwd
	shift 2
	local -a dirs=("$TOP") envs
	[[ $CACHE_DIR == "$TOP" ]] || dirs+=("$CACHE_DIR")
	while [[ $1 != -- ]]; do
		under "$1" "$TOP" || under "$1" "$CACHE_DIR" || dirs+=("$1")
		shift
	done
	shift
	[[ -f $root/$STAMP ]] || die "$root is not a complete build root: run kmod/buildroot.sh path to make it"
	trap unmount_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	for d in /proc /sys /dev "${dirs[@]}"; do
		bind_at "$root" "$d"
	done
	cwd=$TOP
	for d in "${dirs[@]}"; do
		if under "$PWD" "$d"; then
			cwd=$PWD
			break
		fi
	done
	envs=(PATH="$ROOT_PATH" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}"
		IPVS_DRAIN_CACHE="$CACHE_DIR" IPVS_DRAIN_IN_ROOT="$state")
	[[ -z ${IPVS_DRAIN_VERSION+set} ]] || envs+=(IPVS_DRAIN_VERSION="$IPVS_DRAIN_VERSION")
	local rc=0
	chroot "$root" /usr/bin/env -i -C "$cwd" "${envs[@]}" "$@" || rc=$?
	exit "$rc"
}

main() {
	local cmd=${1:-}
	(($#)) && shift
	case $cmd in
	-h | --help | help) usage ;;
	release-for)
		(($# == 1)) || die "usage: kmod/buildroot.sh release-for gcc-N (see --help)"
		cmd_release_for "$1"
		;;
	path)
		(($# == 2)) || die "usage: kmod/buildroot.sh path STATE gcc-N (see --help)"
		cmd_path "$1" "$2"
		;;
	run)
		(($# >= 2)) || die "usage: kmod/buildroot.sh run STATE gcc-N [--bind DIR]... -- CMD [ARG...] (see --help)"
		cmd_run "$@"
		;;
	_enter) cmd_enter "$@" ;;
	"") die "missing command: give release-for, path or run (see --help)" ;;
	*) die "unknown command '$cmd': give release-for, path or run (see --help)" ;;
	esac
}

main "$@"
