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
Usage: kmod/kernel.sh COMMAND [--install-tools] ARG

Commands:
  resolve SERIES   print the newest Debian amd64 kernel ABI of SERIES (5.10, 6.1, 6.12),
                   looked up in apt at run time, e.g. 6.1 -> 6.1.0-56-amd64
  fetch ABI        download linux-image-ABI (or its -unsigned twin) and unpack it into
                   .cache/kernels/ABI/ (idempotent); print that directory
  headers ABI      unpack linux-headers-ABI (with its common and kbuild packages) into
                   .cache/headers/ABI/; print the build dir. With --install-tools, also
                   install the compiler packages the headers depend on (the test bed
                   does; a node build never does)
  tools ABI        print the build-tool packages linux-headers-ABI depends on that are
                   not installed, one per line (nothing when all are there)
  source ABI [VERSION]
                   unpack the linux-source tarball of Debian version VERSION (default:
                   the version of ABI's headers in apt) into .cache/source/; print the
                   tarball's path
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

# Which Debian release carries a kernel series. Only the releases that ship one of the
# series the project supports are listed; anything else is an error, not a guess.
series_codename() {
	case $1 in
	5.10) echo bullseye ;;
	6.1 | 6.12) echo bookworm ;;
	*) return 1 ;;
	esac
}

abi_series() {
	local abi=$1
	[[ $abi =~ ^([0-9]+\.[0-9]+)[.+-] ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

valid_abi() {
	[[ $1 =~ ^[0-9]+\.[0-9]+(\.0-[0-9]+|\.[0-9]+\+deb[0-9]+)-amd64$ ]]
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

# Writes a deb822 sources file for release TO into DEST, on this machine's own mirrors.
write_foreign_sources() {
	local from=$1 to=$2 dest=$3 main= security= kind uri
	while read -r kind uri; do
		case $kind in
		main) main=$uri ;;
		security) security=$uri ;;
		esac
	done < <(host_archives "$from")
	[[ -n $main ]] || die "this machine's apt sources have no $from entry to derive the $to mirror from"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
			"$main" "$to" "$to" "$ARCHIVE_KEYRING"
		if [[ -n $security ]]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
				"$security" "$to" "$ARCHIVE_KEYRING"
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

# Fills the named array with apt options for the release that ships SERIES.
load_apt_opts() {
	local -n _out=$1
	local series=$2 codename
	codename=$(series_codename "$series") || die "unsupported kernel series '$series' (want 5.10, 6.1 or 6.12)"
	mapfile -t _out < <(apt_opts_for "$codename")
	# mapfile cannot see the subshell's exit status, so recheck that the private state exists.
	if [[ $codename != "$(host_codename)" ]]; then
		((${#_out[@]})) || die "could not prepare apt state for $codename"
	elif ! compgen -G "$(apt-config shell d Dir::State::Lists/d | sed -E "s/^d='(.*)'$/\1/")*_Packages*" >/dev/null; then
		die "apt has no package lists yet: run apt-get update (or make deps) first"
	fi
}

# True when apt knows a downloadable version of package $2 (with apt options in array $1).
has_candidate() {
	local -n _opts=$1
	local pkg=$2 cand
	cand=$(apt-cache "${_opts[@]}" policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
	[[ -n $cand && $cand != "(none)" ]]
}

cmd_resolve() {
	local series=$1
	[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "bad series '$series' (want e.g. 6.1)"
	local -a opts
	load_apt_opts opts "$series"
	local re="^linux-image-(${series//./\\.}(\\.0-[0-9]+|\\.[0-9]+\\+deb[0-9]+)-amd64)(-unsigned)?\$"
	local abi
	# pkgnames also lists names that are merely referenced, so each candidate is checked.
	while read -r abi; do
		if has_candidate opts "linux-image-$abi" || has_candidate opts "linux-image-$abi-unsigned"; then
			echo "$abi"
			return 0
		fi
	done < <(apt-cache "${opts[@]}" pkgnames "linux-image-$series" |
		sed -nE "s/$re/\\1/p" | sort -Vur)
	die "no linux-image package found for series $series"
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
	local abi=$1 series
	valid_abi "$abi" || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	series=$(abi_series "$abi")
	local dest="$KERNEL_CACHE/$abi"
	if [[ -e $dest/.complete ]]; then
		echo "$dest"
		return 0
	fi
	need_cmd depmod kmod

	local -a opts
	load_apt_opts opts "$series"
	local pkg="linux-image-$abi"
	if ! has_candidate opts "$pkg"; then
		pkg="$pkg-unsigned"
		has_candidate opts "$pkg" || die "neither linux-image-$abi nor its -unsigned package is in apt"
	fi

	unpack_debs opts "$KERNEL_CACHE" "$pkg"
	[[ -f $WORK/root/boot/vmlinuz-$abi ]] || die "$pkg has no /boot/vmlinuz-$abi"
	# The package's postinst would run depmod; doing it here once keeps every boot from
	# repeating a scan of thousands of modules over 9p.
	depmod -b "$WORK/root" "$abi" || die "depmod for $abi failed"
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
	local abi=$1 series pkg t
	valid_abi "$abi" || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	series=$(abi_series "$abi")
	pkg="linux-headers-$abi"
	local -a opts debs tools
	load_apt_opts opts "$series"
	has_candidate opts "$pkg" || die "$pkg is not in apt"
	headers_depends opts "$pkg" debs tools
	for t in "${tools[@]}"; do
		tool_present "$t" || tool_name "$t"
	done
}

# The headers are unpacked into the cache rather than installed: from 6.12 on,
# linux-headers-ABI depends on linux-image-ABI, and a kernel image must never be
# installed on the build host. Their build tools are installed only on request.
cmd_headers() {
	local abi=$1 install_tools=$2 series
	valid_abi "$abi" || die "bad ABI '$abi' (want e.g. 6.1.0-56-amd64)"
	series=$(abi_series "$abi")
	local pkg="linux-headers-$abi"
	local dest="$CACHE_DIR/headers/$abi"
	local kdir="$dest/usr/src/$pkg"
	local -a opts debs tools
	if [[ -e $dest/.complete && $install_tools == 0 ]]; then
		echo "$kdir"
		return 0
	fi
	load_apt_opts opts "$series"
	has_candidate opts "$pkg" || die "$pkg is not in apt"
	local version
	version=$(pkg_version opts "$pkg")
	headers_depends opts "$pkg" debs tools
	# The compiler packages come from the kernel's own release.
	if [[ $install_tools == 1 ]] && ((${#tools[@]})); then
		DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y -q \
			--no-install-recommends "${tools[@]}" dwarves >&2 ||
			die "cannot install the build tools of $pkg: ${tools[*]}"
	fi
	if [[ -e $dest/.complete ]]; then
		echo "$kdir"
		return 0
	fi

	unpack_debs opts "$CACHE_DIR/headers" "${debs[@]}"
	local mk="$WORK/root/usr/src/$pkg/Makefile"
	[[ -f $mk ]] || die "$pkg has no /usr/src/$pkg/Makefile"
	# The arch Makefile includes the common one by absolute path.
	sed -i -E "s#^include /usr/src/#include $dest/usr/src/#" "$mk"
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
	load_apt_opts opts "$series"
	if [[ -z $version ]]; then
		version=$(pkg_version opts "linux-headers-$abi")
		[[ -n $version && $version != "(none)" ]] || die "linux-headers-$abi is not in apt"
	fi
	local pkg="linux-source-$series"
	local dest="$CACHE_DIR/source/$pkg-$version"
	local tarball="$dest/usr/src/$pkg.tar.xz"
	if [[ -e $dest/.complete ]]; then
		echo "$tarball"
		return 0
	fi
	apt-cache "${opts[@]}" show "$pkg=$version" >/dev/null 2>&1 ||
		die "apt serves no $pkg version $version"
	unpack_debs opts "$CACHE_DIR/source" "$pkg=$version"
	[[ -f $WORK/root/usr/src/$pkg.tar.xz ]] || die "$pkg has no /usr/src/$pkg.tar.xz"
	echo "$version" >"$WORK/root/usr/src/$pkg.tar.xz.debian-version"
	publish "$dest"
	echo "$tarball"
}

main() {
	local cmd=${1:-} install_tools=0
	[[ $# -gt 0 ]] && shift
	if [[ ${1:-} == --install-tools ]]; then
		[[ $cmd == headers ]] || die "--install-tools goes with the headers command only"
		install_tools=1
		shift
	fi
	case $cmd in
	-h | --help | help)
		usage
		return 0
		;;
	resolve | fetch | tools)
		(($# == 1)) || die "usage: kernel.sh $cmd ARG (see --help)"
		"cmd_$cmd" "$1"
		;;
	source)
		(($# == 1 || $# == 2)) || die "usage: kernel.sh source ABI [VERSION] (see --help)"
		cmd_source "$@"
		;;
	headers)
		(($# == 1)) || die "usage: kernel.sh headers [--install-tools] ABI (see --help)"
		cmd_headers "$1" "$install_tools"
		;;
	"") die "missing command (see --help)" ;;
	*) die "unknown command '$cmd' (see --help)" ;;
	esac
}

main "$@"
