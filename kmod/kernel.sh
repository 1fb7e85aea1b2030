#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Resolve and download Debian kernel packages (image, headers, linux-source) into the cache,
# for the QEMU tests and for kmod/build.sh. Never installs a package unless told to.
set -euo pipefail

readonly SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SELF_DIR/.." && pwd)"
# Downloads and derived files; IPVS_DRAIN_CACHE moves them out of the checkout.
readonly CACHE_DIR="$(realpath -m "${IPVS_DRAIN_CACHE:-$REPO_ROOT/.cache}")"
readonly KERNEL_CACHE="$CACHE_DIR/kernels"
# Series older or newer than the host's release live in a foreign suite; apt state for it
# is kept in the cache so that the host's own apt configuration is never touched.
readonly FOREIGN_APT_ROOT="$CACHE_DIR/apt"
readonly ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

usage() {
	cat <<'EOF'
Usage: kmod/kernel.sh COMMAND ARG...

Commands:
  list SERIES      print "ABI STATE" for every amd64 ABI of SERIES (5.10, 6.1, 6.12, or 7
                   for every 7.x) that apt serves an image of, oldest first; STATE is
                   the apt state serving it (the host's release, bullseye, trixie,
                   trixie-backports or sid)
  resolve SEL      print one buildable ABI (apt serves its headers and the linux-source
                   of their exact version) chosen by the selector SEL:
                     SERIES[+debN][:newest|:oldest], newest by default, e.g.
                     6.1 -> 6.1.0-56-amd64, 6.1:oldest, 6.12+deb12, 6.12+deb13, 7 (any
                     7.x); an ABI selects itself
  fetch ABI        download linux-image-ABI (or its -unsigned twin) and unpack it into
                   .cache/kernels/ABI/ (idempotent); print that directory
  headers ABI      unpack linux-headers-ABI (with its common and kbuild packages) into
                   .cache/headers/ABI/; print the build dir
  tools ABI        print the build-tool packages linux-headers-ABI depends on that are
                   not installed, one per line (nothing when all are there)
  source ABI [VERSION]
                   unpack the linux-source tarball of Debian version VERSION (default:
                   the version of ABI's headers in apt) into .cache/source/; print the
                   tarball's path
  buildable ABI    exit 0 when apt serves the headers of ABI and the linux-source of their
                   exact version; otherwise say which is missing
  states           print the apt states searched, the host's release first
  apt-opts STATE   print, one per line, the apt options that select the private apt state
                   STATE (prepared on first use); nothing for the host's own release
  help             show this text

The cache is .cache/ in the checkout, or $IPVS_DRAIN_CACHE. Another release's apt state
(bullseye for 5.10) is kept there, with the mirror taken from this machine's own apt
configuration. Never installs a kernel image, headers or linux-source on the host.
EOF
}

die() {
	echo "kernel.sh: $*" >&2
	exit 1
}

need_cmd() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 && return 0
	echo "kernel.sh: installing $pkg for $cmd" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
		die "cannot install $pkg (needed for $cmd)"
}

host_codename() {
	local codename=
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || die "cannot tell the host's Debian codename from /etc/os-release"
	echo "$codename"
}

# The apt states searched for kernel packages besides the host's own release: each is a
# release's suites on the main archive, then on the security archive. Packages are looked
# up in all of them; which one serves an ABI decides nothing about how it is built.
readonly FOREIGN_STATES=(bullseye trixie trixie-backports sid)
state_suites() {
	case $1 in
	bullseye) echo "bullseye bullseye-updates|bullseye-security" ;;
	trixie) echo "trixie trixie-updates|trixie-security" ;;
	# Backports need the release they extend, for a build root's dependencies.
	trixie-backports) echo "trixie trixie-updates trixie-backports|trixie-security" ;;
	sid) echo "sid|" ;;
	*) return 1 ;;
	esac
}

# Every apt state, the host's release first.
all_states() {
	local host s
	host=$(host_codename)
	echo "$host"
	for s in "${FOREIGN_STATES[@]}"; do
		[[ $s == "$host" ]] || echo "$s"
	done
}

abi_series() {
	local abi=$1
	[[ $abi =~ ^([0-9]+\.[0-9]+)[.+-] ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# Debian's amd64 kernel ABIs: 5.10.0-46-amd64, 6.12.117+deb12-amd64, 7.2.13-amd64 (sid).
readonly ABI_TAIL='(\.0-[0-9]+|\.[0-9]+(\+deb[0-9]+)?)-amd64'
valid_abi() {
	[[ $1 =~ ^[0-9]+\.[0-9]+$ABI_TAIL$ ]]
}

# The archive URIs this machine's apt uses for its own release, whatever the format of its
# sources (deb822 .sources or one-line .list): apt reports every index target it parsed.
# Prints "main URI" and "security URI" lines; entries for other suites are ignored.
host_archives() {
	local host=$1
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --no-release-info --format '$(RELEASE) $(REPO_URI)' \
		'Created-By: Packages' 2>/dev/null | awk -v h="$host" '
		$1 == h && !m { print "main " $2; m = 1 }
		$1 == h "-security" && !s { print "security " $2; s = 1 }'
}

# Writes a deb822 sources file for the apt state STATE into DEST, on the mirrors this
# machine uses for its own release FROM.
write_foreign_sources() {
	local from=$1 state=$2 dest=$3 main='' security='' kind uri suites
	suites=$(state_suites "$state") || die "unknown apt state '$state'"
	while read -r kind uri; do
		case $kind in
		main) main=$uri ;;
		security) security=$uri ;;
		esac
	done < <(host_archives "$from")
	[[ -n $main ]] || die "this machine's apt sources have no $from entry to derive the $state mirror from"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
			"$main" "${suites%%|*}" "$ARCHIVE_KEYRING"
		if [[ -n $security && -n ${suites#*|} ]]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
				"$security" "${suites#*|}" "$ARCHIVE_KEYRING"
		fi
	} >"$dest.tmp"
	# Rewriting an unchanged file would make its index look stale.
	if cmp -s "$dest.tmp" "$dest"; then
		rm -f "$dest.tmp"
	else
		mv "$dest.tmp" "$dest"
	fi
}

# Prints the apt -o options that point apt at the private state for CODENAME, creating and
# refreshing that state when needed. Prints nothing for the host's own release.
apt_opts_for() {
	local codename=$1 host
	host=$(host_codename)
	[[ $codename == "$host" ]] && return 0

	local root="$FOREIGN_APT_ROOT/$codename"
	mkdir -p "$root/sources.list.d" "$root/lists/partial" "$root/cache/archives/partial"
	: >"$root/sources.list"
	write_foreign_sources "$host" "$codename" "$root/sources.list.d/debian.sources"
	local -a opts=(
		-o "Dir::Etc::sourcelist=$root/sources.list"
		-o "Dir::Etc::sourceparts=$root/sources.list.d"
		-o "Dir::State::Lists=$root/lists"
		-o "Dir::Cache=$root/cache"
	)
	# A day-old index is fine for picking the newest ABI; refetching on every call is not.
	local stamp="$root/lists/.updated"
	if [[ ! -e $stamp ]] || [[ -n $(find "$stamp" -mmin +1440) ]] ||
		[[ $root/sources.list.d/debian.sources -nt $stamp ]]; then
		apt-get "${opts[@]}" -q update >&2 || die "apt-get update for $codename failed"
		touch "$stamp"
	fi
	printf '%s\n' "${opts[@]}"
}

# Fills the named array with apt options for apt state STATE (a release name).
load_apt_opts() {
	local -n _out=$1
	local state=$2
	mapfile -t _out < <(apt_opts_for "$state")
	# mapfile cannot see the subshell's exit status, so recheck that the private state exists.
	if [[ $state != "$(host_codename)" ]]; then
		((${#_out[@]})) || die "could not prepare apt state for $state (apt-get update failed, see above)"
	elif ! compgen -G "$(apt-config shell d Dir::State::Lists/d | sed -E "s/^d='(.*)'$/\\1/")*_Packages*" >/dev/null; then
		die "apt has no package lists yet: run apt-get update (or make deps) first"
	fi
}

# Like load_apt_opts, but a foreign state that cannot be prepared (its suite unreachable, or
# its Release file refused) is skipped with a warning: one missing release must not hide the
# kernels of the others.
try_apt_opts() {
	local -n _tout=$1
	local state=$2
	if [[ $state != "$(host_codename)" ]]; then
		local err=$FOREIGN_APT_ROOT/$state.err why
		mkdir -p "$FOREIGN_APT_ROOT"
		mapfile -t _tout < <(apt_opts_for "$state" 2>"$err")
		if ((${#_tout[@]} == 0)); then
			why=$(grep -m 1 '^E: ' "$err" || tail -n 1 "$err")
			echo "kernel.sh: skipping the $state apt state: $why" >&2
			return 1
		fi
		return 0
	fi
	load_apt_opts _tout "$state"
}

# Fills the array named $1 with the apt options of the first state that serves one of the
# packages $3... and prints that state's name into the variable named $2; fails when none does.
find_state() {
	local -n _fopts=$1 _fstate=$2
	shift 2
	local st pkg
	while read -r st; do
		try_apt_opts _fopts "$st" || continue
		for pkg in "$@"; do
			if has_candidate _fopts "$pkg"; then
				_fstate=$st
				return 0
			fi
		done
	done < <(all_states)
	return 1
}

# True when apt knows a downloadable version of package $2 (with apt options in array $1).
has_candidate() {
	local -n _opts=$1
	local pkg=$2 cand
	# NAME=VERSION: that very version (apt-cache exits 0 even when it does not know it).
	if [[ $pkg == *=* ]]; then
		[[ $(apt-cache "${_opts[@]}" show "$pkg" 2>/dev/null) == Package:* ]]
		return
	fi
	cand=$(apt-cache "${_opts[@]}" policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
	[[ -n $cand && $cand != "(none)" ]]
}

# Prints "ABI STATE" for every ABI of SERIES (6.1, 6.12, 7 for any 7.x) whose image apt
# serves in some state, oldest first.
cmd_list() {
	local series=$1 prefix st abi cand
	if [[ $series =~ ^[0-9]+$ ]]; then
		prefix="$series\\.[0-9]+"
	elif [[ $series =~ ^[0-9]+\.[0-9]+$ ]]; then
		prefix=${series//./\\.}
	else
		die "bad series '$series' (want e.g. 6.1, or 7 for every 7.x)"
	fi
	local re="^linux-image-($prefix$ABI_TAIL)(-unsigned)?\$"
	local -a opts names
	while read -r st; do
		try_apt_opts opts "$st" || continue
		# pkgnames also lists names that are merely referenced: ask for candidates at once.
		mapfile -t names < <(apt-cache "${opts[@]}" pkgnames linux-image- | grep -E "$re")
		((${#names[@]})) || continue
		apt-cache "${opts[@]}" policy "${names[@]}" 2>/dev/null | awk -v st="$st" '
			/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) }
			/^  Candidate:/ && $2 != "(none)" { print name, st }'
	done < <(all_states) | sed -E 's/^linux-image-//; s/-unsigned / /' | sort -u -k1,1 | sort -V
}

# True when apt serves the headers of ABI and the linux-source of their exact version;
# otherwise says on stderr what is missing.
buildable() {
	local abi=$1 state version series
	local -a opts
	if ! find_state opts state "linux-headers-$abi"; then
		echo "kernel.sh: $abi: apt serves no linux-headers-$abi" >&2
		return 1
	fi
	version=$(pkg_version opts "linux-headers-$abi")
	series=$(abi_series "$abi")
	if ! find_state opts state "linux-source-$series=$version"; then
		echo "kernel.sh: $abi: apt serves no linux-source-$series $version, the headers' version" >&2
		return 1
	fi
}

# resolve SELECTOR: SERIES[+debN][:newest|:oldest], or an ABI as it is. The newest (or
# oldest) ABI of the series, among those with +debN when given, that can be built: apt
# serves its headers and the linux-source of their exact version.
cmd_resolve() {
	local sel=$1 series tag='' which=newest abi
	if valid_abi "$sel"; then
		echo "$sel"
		return 0
	fi
	[[ $sel =~ ^([0-9]+(\.[0-9]+)?)(\+deb[0-9]+)?(:(newest|oldest))?$ ]] ||
		die "bad kernel selector '$sel' (want SERIES[+debN][:newest|:oldest], e.g. 6.1, 6.12+deb13, 6.1:oldest, 7, or an ABI)"
	series=${BASH_REMATCH[1]}
	tag=${BASH_REMATCH[3]}
	[[ -n ${BASH_REMATCH[5]} ]] && which=${BASH_REMATCH[5]}
	local -a abis
	mapfile -t abis < <(cmd_list "$series" | cut -d' ' -f1 | { if [[ -n $tag ]]; then grep -F -- "$tag-amd64"; else cat; fi; })
	[[ $which == newest ]] && mapfile -t abis < <(printf '%s\n' "${abis[@]}" | tac)
	for abi in "${abis[@]}"; do
		[[ -n $abi ]] || continue
		if buildable "$abi" 2>/dev/null; then
			echo "$abi"
			return 0
		fi
	done
	die "no buildable kernel matches '$sel' (apt serves no headers and exact linux-source for any of: ${abis[*]:-none})"
}

# Downloads PKG... (apt options in the array named $1) into a fresh work
# directory under PARENT ($2) and unpacks them all into its root/. WORK names
# that directory; it is removed on exit unless publish() moved its root out.
unpack_debs() {
	local -n _uopts=$1
	local parent=$2 deb
	shift 2
	need_cmd dpkg-deb dpkg
	mkdir -p "$parent"
	WORK=$(mktemp -d "$parent/.fetch.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$WORK'" EXIT
	# Root downloads into a directory _apt cannot enter; saying so up front avoids apt's warning.
	(cd "$WORK" && apt-get "${_uopts[@]}" -o APT::Sandbox::User=root -q download "$@" >&2) ||
		die "apt-get download $* failed"
	mkdir "$WORK/root"
	for deb in "$WORK"/*.deb; do
		[[ -f $deb ]] || die "apt-get download $* produced no .deb"
		dpkg-deb -x "$deb" "$WORK/root" || die "cannot unpack $deb"
	done
}

# Marks WORK's root complete and puts it at DEST with one rename, so a cache
# entry is either whole or absent.
publish() {
	local dest=$1
	touch "$WORK/root/.complete"
	rm -rf "$dest"
	mv "$WORK/root" "$dest"
}

cmd_fetch() {
	local abi=$1
	valid_abi "$abi" || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	local dest="$KERNEL_CACHE/$abi"
	if [[ -e $dest/.complete ]]; then
		echo "$dest"
		return 0
	fi
	need_cmd depmod kmod

	local -a opts debs
	local state pkg="linux-image-$abi" version dep
	find_state opts state "$pkg" "$pkg-unsigned" ||
		die "neither linux-image-$abi nor its -unsigned package is in apt"
	has_candidate opts "$pkg" || pkg="$pkg-unsigned"

	# From 7.x on, linux-image-ABI is empty and depends on exactly matching
	# linux-binary-ABI (/usr/lib/modules/ABI/vmlinuz), linux-modules-ABI (the .ko.xz) and
	# linux-base-ABI (config, System.map, modules.builtin); older images hold it all.
	version=$(pkg_version opts "$pkg")
	debs=("$pkg")
	while read -r dep; do
		case $dep in
		"$pkg") ;;
		linux-*-"$abi" | linux-*-"$abi"-unsigned) debs+=("$dep=$version") ;;
		esac
	done < <(pkg_depends opts "$pkg")

	unpack_debs opts "$KERNEL_CACHE" "${debs[@]}"
	local root=$WORK/root moddir="lib/modules/$abi" f
	# The rest of the harness, and depmod -b of this host's kmod, expect lib/modules/ABI
	# and boot/vmlinuz-ABI, as older packages lay them out.
	if [[ ! -d $root/$moddir && -d $root/usr/$moddir ]]; then
		if [[ -e $root/lib || -L $root/lib ]]; then
			mkdir -p "$root/lib/modules"
			ln -s "../../usr/$moddir" "$root/$moddir"
		else
			ln -s usr/lib "$root/lib"
		fi
	fi
	[[ -d $root/$moddir ]] || die "${debs[*]}: no /lib/modules/$abi nor /usr/lib/modules/$abi"
	mkdir -p "$root/boot"
	for f in vmlinuz config System.map; do
		if [[ ! -e $root/boot/$f-$abi && -f $root/$moddir/$f ]]; then
			ln -s "../$moddir/$f" "$root/boot/$f-$abi"
		fi
	done
	[[ -f $root/boot/vmlinuz-$abi ]] || die "${debs[*]}: no /boot/vmlinuz-$abi nor /usr/lib/modules/$abi/vmlinuz"
	# The package's postinst would run depmod; doing it here once keeps every boot from
	# repeating a scan of thousands of modules over 9p.
	depmod -b "$root" "$abi" || die "depmod for $abi failed"
	(cd "$WORK" && ls -- *.deb) >"$WORK/root/.package"
	publish "$dest"
	echo "$dest"
}

# Prints the Depends of package $2 (apt options in array $1), one name per line,
# alternatives and version constraints dropped.
pkg_depends() {
	local -n _dopts=$1
	apt-cache "${_dopts[@]}" show --no-all-versions "$2" 2>/dev/null |
		sed -n 's/^Depends: //p' | tr ',' '\n' | sed -E 's/^ *//; s/[ (|].*//' | grep .
}

# Prints the candidate version of package $2 (apt options in array $1).
pkg_version() {
	local -n _vopts=$1
	apt-cache "${_vopts[@]}" policy "$2" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'
}

# Splits the Depends of linux-headers-ABI (apt options in array $1) into the packages that
# are unpacked with it (array $3) and the build tools it needs installed (array $4).
headers_depends() {
	local -n _hopts=$1 _debs=$3 _tools=$4
	local pkg=$2 dep
	_debs=("$pkg") _tools=()
	while read -r dep; do
		case $dep in
		linux-headers-*-common* | linux-kbuild-*) _debs+=("$dep") ;;
		linux-image-* | linux-base) ;;
		*) _tools+=("$dep") ;;
		esac
	done < <(pkg_depends _hopts "$pkg")
}

# True when package $1 is installed, or, for Debian's linux-compiler-gcc-N-ARCH wrapper,
# when its gcc-N is: the kernel build calls gcc-N, not the wrapper.
tool_present() {
	dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii' && return 0
	[[ $1 =~ ^linux-compiler-(gcc-[0-9]+)- ]] && command -v "${BASH_REMATCH[1]}" >/dev/null
}

# What a missing tool is called in the sentence that asks for it: gcc-12, not its wrapper.
tool_name() {
	if [[ $1 =~ ^linux-compiler-(gcc-[0-9]+)- ]]; then echo "${BASH_REMATCH[1]}"; else echo "$1"; fi
}

cmd_tools() {
	local abi=$1 pkg t
	valid_abi "$abi" || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	pkg="linux-headers-$abi"
	local -a opts debs tools
	local state
	find_state opts state "$pkg" || die "$pkg is not in apt"
	headers_depends opts "$pkg" debs tools
	for t in "${tools[@]}"; do
		tool_present "$t" || tool_name "$t"
	done
}

# The headers are unpacked into the cache rather than installed: from 6.12 on,
# linux-headers-ABI depends on linux-image-ABI, and a kernel image must never be
# installed on the build host. Their build tools are never installed here: kmod/build.sh
# uses the host's compiler, or a build root of the compiler's own release.
cmd_headers() {
	local abi=$1
	valid_abi "$abi" || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	local pkg="linux-headers-$abi"
	local dest="$CACHE_DIR/headers/$abi"
	local kdir="$dest/usr/src/$pkg"
	if [[ -e $dest/.complete ]]; then
		echo "$kdir"
		return 0
	fi
	local -a opts debs tools
	local state version
	find_state opts state "$pkg" || die "$pkg is not in apt"
	version=$(pkg_version opts "$pkg")
	headers_depends opts "$pkg" debs tools

	unpack_debs opts "$CACHE_DIR/headers" "${debs[@]}"
	local mk="$WORK/root/usr/src/$pkg/Makefile"
	[[ -f $mk ]] || die "$pkg has no /usr/src/$pkg/Makefile"
	# The arch Makefile names the common one, and from 7.x its own directory as the
	# build output, by absolute paths under /usr/src.
	sed -i -E "s#^include /usr/src/#include $dest/usr/src/#; s#^KBUILD_OUTPUT=/usr/src/#KBUILD_OUTPUT=$dest/usr/src/#" "$mk"
	echo "$version" >"$WORK/root/usr/src/$pkg/.debian-version"
	publish "$dest"
	echo "$kdir"
}

# Unpacks the linux-source tarball of Debian version VERSION (default: that of the headers
# of ABI in apt) into the cache (never installed) and prints its path.
cmd_source() {
	local abi=$1 version=${2:-} series
	valid_abi "$abi" || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	series=$(abi_series "$abi")
	local -a opts
	local state pkg="linux-source-$series"
	if [[ -z $version ]]; then
		find_state opts state "linux-headers-$abi" || die "linux-headers-$abi is not in apt"
		version=$(pkg_version opts "linux-headers-$abi")
	fi
	local dest="$CACHE_DIR/source/$pkg-$version"
	local tarball="$dest/usr/src/$pkg.tar.xz"
	if [[ -e $dest/.complete ]]; then
		echo "$tarball"
		return 0
	fi
	find_state opts state "$pkg=$version" || die "apt serves no $pkg version $version"
	unpack_debs opts "$CACHE_DIR/source" "$pkg=$version"
	[[ -f $WORK/root/usr/src/$pkg.tar.xz ]] || die "$pkg has no /usr/src/$pkg.tar.xz"
	echo "$version" >"$WORK/root/usr/src/$pkg.tar.xz.debian-version"
	publish "$dest"
	echo "$tarball"
}

main() {
	local cmd=${1:-}
	[[ $# -gt 0 ]] && shift
	case $cmd in
	-h | --help | help)
		usage
		return 0
		;;
	apt-opts)
		(($# == 1)) || die "usage: kernel.sh apt-opts STATE (see --help)"
		local -a o
		load_apt_opts o "$1"
		((${#o[@]} == 0)) || printf '%s\n' "${o[@]}"
		;;
	states)
		(($# == 0)) || die "usage: kernel.sh states"
		all_states
		;;
	buildable)
		(($# == 1)) || die "usage: kernel.sh buildable ABI"
		valid_abi "$1" || die "bad ABI '$1' (want e.g. 6.1.0-56-amd64)"
		buildable "$1"
		;;
	list | resolve | fetch | tools)
		(($# == 1)) || die "usage: kernel.sh $cmd ARG (see --help)"
		"cmd_$cmd" "$1"
		;;
	source)
		(($# == 1 || $# == 2)) || die "usage: kernel.sh source ABI [VERSION] (see --help)"
		cmd_source "$@"
		;;
	headers)
		(($# == 1)) || die "usage: kernel.sh headers ABI (see --help)"
		cmd_headers "$1"
		;;
	"") die "missing command (see --help)" ;;
	*) die "unknown command '$cmd' (see --help)" ;;
	esac
}

main "$@"
