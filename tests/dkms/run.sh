#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# CI test of dkms.conf: DKMS builds the same module set as make kmod for each
# kernel given, refuses a kernel that is not buildable (linux-source of the
# headers' exact version not installed) or that no hook variant fits with a
# sentence, and refuses to compete with make install. Host only, private DKMS
# trees.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
# Where kmod/kernel.sh unpacks the headers and linux-source; exported for the
# copies of kernel.sh and buildroot.sh in the DKMS trees, whose own default
# would be a cache in the DKMS build directory.
IPVS_DRAIN_CACHE="${IPVS_DRAIN_CACHE:-$REPO/.cache}"
export IPVS_DRAIN_CACHE
readonly CACHE=$IPVS_DRAIN_CACHE

usage() {
	cat <<'EOF'
usage: tests/dkms/run.sh [--kernels "6.1 6.12+deb12 5.10"] [--rebuild]

For each kernel selector (kmod/kernel.sh resolve: 6.1, 6.12+deb12, 6.1:oldest,
an ABI...): resolve a buildable Debian ABI, unpack its headers and its
linux-source tarball into the cache (.cache/, or $IPVS_DRAIN_CACHE; with
kmod/kernel.sh, nothing kernel-related is installed), run `dkms build` on the
tree `make dkms-source` produces, and compare the result with make kmod's set
for that ABI: the same module names, and the same variant, version, vermagic
and srcversion for every module. ip_vs_twos is in the set exactly when the
headers' include/config/auto.conf has CONFIG_IP_VS_TWOS=m, and where it is,
dkms uninstall without the headers (apt removes a 6.12 image after them)
still removes it.
Then, on the first kernel built:
  - dkms install into a private install tree, after which make install
    (DESTDIR) refuses;
  - make install first, after which dkms build and dkms install refuse;
  - DKMS builds only what is buildable: the installed linux-source-SERIES
    must be the headers' exact Debian version. Without it (the host's
    /usr/src and dpkg, where it is not installed), with a tarball of another
    version, and with no tarball, dkms build fails with one sentence naming
    linux-source-SERIES and the version to install, shown by PRE_BUILD and
    before anything is compiled;
  - a kernel to which no variant of a hook applies (a source tree whose
    slot-3 hooks fit no kernel stands in for it) fails before compiling, and
    make.log ends with kmod/build.sh's sentence;
  - the file names DKMS writes: DKMS 3.0.10 compresses the modules as the
    kernel's own, which it reads from /lib/modules/ABI/modules.dep on the
    host, whatever --installtree says (on a node running a 6.12 image they
    are ip_vs.ko.xz...). Once with a modules.dep listing .ko modules and once
    with one listing .ko.xz modules, shown to DKMS in a private mount
    namespace, dkms build and dkms install must write NAME.ko, resp. an xz
    NAME.ko.xz, that modinfo reads (skipped when no namespace can be made);
and a fake 6.6 ABI (headers of Debian version 6.6.99-1, no linux-source)
is refused with the same sentence, not by DKMS's BUILD_EXCLUSIVE (status 77).
The other tests accept whichever suffix DKMS writes on this host.

DKMS runs with --dkmstree, --sourcetree, --installtree and a MOK key pair in
a temporary directory: the host's /var/lib/dkms, /usr/src and /lib/modules
are never written (the last test checks that; the private modules.dep lives
in an overlay that only the namespace sees). Installs dkms with apt if it
is missing.

  --kernels LIST  kernel selectors to build for (default "6.1 6.12+deb12 5.10")
  --rebuild       build make kmod's reference set even when build/ABI/ is
                  current (it is reused when its version is the checkout's)

Prints TAP (tests/lib/tap.sh); exits 1 when anything failed.
EOF
}

kernels="6.1 6.12+deb12 5.10"
rebuild=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=${2:?--kernels needs a list}; shift 2 ;;
	--rebuild) rebuild=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "dkms/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done

# shellcheck source=tests/lib/tap.sh
source "$REPO/tests/lib/tap.sh"

# Outside the repository, so that build.sh never sees its git history.
tmp=$(mktemp -d /tmp/ipvs-drain-dkms.XXXXXX) || { echo "dkms/run.sh: mktemp failed" >&2; exit 1; }
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# What a DKMS run on the default trees would change.
host_state() {
	find /var/lib/dkms -printf '%p %s %T@\n' 2>/dev/null | sort
	ls -d /usr/src/ipvs-drain* /lib/modules/*/updates/dkms/ip_vs* \
		/lib/modules/*/updates/ipvs-drain 2>/dev/null
}

if ! command -v dkms >/dev/null; then
	echo "# installing dkms"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dkms >/dev/null 2>&1
fi
command -v dkms >/dev/null || tap_bail "dkms is installed (apt-get install dkms failed)"
echo "# $(dkms --version)"
before=$(host_state)

# Private DKMS state; DKMS signs with these (it generates them on first use).
root=$tmp/root
mkdir -p "$root/var/lib/dkms" "$root/lib/modules" "$root/usr/src"
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
trees=(--dkmstree "$root/var/lib/dkms" --sourcetree "$root/usr/src" --installtree "$root/lib/modules")
version=$(cat "$REPO/VERSION")
mv_arg=ipvs-drain/$version

conf_version=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$REPO/dkms.conf")
{ [ "$conf_version" = "$version" ]; }
tap_result $? "dkms.conf PACKAGE_VERSION ($conf_version) is VERSION ($version)" ""

out=$("$REPO/kmod/install.sh" dkms-source --destdir "$root" 2>&1)
src=$root/usr/src/ipvs-drain-$version
# What kmod/build.sh builds from, and runs.
missing=
for f in dkms.conf Kbuild VERSION kmod/build.sh kmod/dkms.sh kmod/compat.sh kmod/kernel.sh \
	kmod/ip_vs_reuse.c kmod/ip_vs_reuse.h kmod/source-version \
	$(cd "$REPO" && ls kmod/buildroot.sh patches/hooks/[0-9]-*.patch 2>/dev/null); do
	[ -f "$src/$f" ] || missing+=" $f"
done
{ [ -f "$src/dkms.conf" ] && [ -z "$missing" ]; }
tap_result $? "make dkms-source puts the tree, with build.sh's scripts, ip_vs_reuse.[ch] and patches/hooks/, in usr/src/ipvs-drain-$version" \
	"missing:$missing"$'\n'"$out"
source_version=$(cat "$root/usr/src/ipvs-drain-$version/kmod/source-version" 2>/dev/null)
out=$(dkms add "$mv_arg" "${trees[@]}" 2>&1)
{ [ -L "$root/var/lib/dkms/ipvs-drain/$version/source" ]; }
tap_result $? "dkms add $mv_arg" "$out"

# A sign-file that runs here. The series' own comes first; 5.10's links
# OpenSSL 1.1, which bookworm lacks, so a host-built one from another
# series stands in: the signature format does not depend on the kernel.
runs() { [ -x "$1" ] && ! ldd "$1" 2>/dev/null | grep -q 'not found'; }
pick_signer() {
	local f
	for f in "$1/scripts/sign-file" /usr/lib/linux-kbuild-*/scripts/sign-file \
		"$CACHE"/headers/*/usr/lib/linux-kbuild-*/scripts/sign-file; do
		if runs "$f"; then
			echo "$f"
			return
		fi
	done
}

# The set a module directory holds, one "name variant version vermagic srcversion" per line.
describe() {
	local ko name
	for ko in "$1"/*.ko*; do
		[ -e "$ko" ] || continue
		# ip_vs from .../ip_vs.ko or .../ip_vs.ko.xz, whatever the directories are called.
		name=${ko##*/}
		printf '%s %s|%s|%s|%s\n' "${name%%.ko*}" \
			"$(modinfo -F variant "$ko")" "$(modinfo -F version "$ko")" \
			"$(modinfo -F vermagic "$ko")" "$(modinfo -F srcversion "$ko")"
	done
}

# The names of the files in DIR, sorted, one a line; nothing when DIR is missing.
files_in() {
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
}

# The file DIR holds for module NAME, as DKMS names it: NAME.ko, or
# NAME.ko.xz, .ko.zst or .ko.gz when the kernel's modules are compressed.
# Prints nothing, and fails, unless there is exactly one.
ko_of() {
	local f found=()
	for f in "$1/$2".ko "$1/$2".ko.xz "$1/$2".ko.zst "$1/$2".ko.gz; do
		[ -e "$f" ] && found+=("$f")
	done
	[ "${#found[@]}" = 1 ] && echo "${found[0]}"
}

# What a module file holds, from its first bytes: elf, xz, zst, gz or unknown.
format_of() {
	case $(od -An -tx1 -N6 "$1" 2>/dev/null | tr -d ' \n') in
	7f454c46*) echo elf ;;
	fd377a585a00) echo xz ;;
	28b52ffd*) echo zst ;;
	1f8b*) echo gz ;;
	*) echo unknown ;;
	esac
}

# with_modules_dep ABI SUFFIX DIR CMD...: runs CMD in a private mount
# namespace in which /lib/modules/ABI/modules.dep lists modules named
# NAME+SUFFIX, as depmod writes it for a kernel whose modules carry that
# suffix. DKMS reads that path, and no other, to pick the suffix. An overlay
# on the directory holding modules/ (/usr/lib where /lib links there) puts
# the file in place even on a host without /lib/modules; its layers live in
# DIR, and the host never sees it.
with_modules_dep() {
	local abi=$1 suffix=$2 dir=$3 lib
	shift 3
	lib=$(readlink -f /lib) && mkdir -p "$dir/upper/modules/$abi" "$dir/work" || return 1
	printf '%s\n' "kernel/lib/libcrc32c$suffix:" \
		"kernel/net/netfilter/nf_conntrack$suffix: kernel/lib/libcrc32c$suffix" \
		"kernel/net/netfilter/ipvs/ip_vs$suffix: kernel/net/netfilter/nf_conntrack$suffix kernel/lib/libcrc32c$suffix" \
		>"$dir/upper/modules/$abi/modules.dep" || return 1
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/bash -c \
		'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$1" && shift 2 && exec "$@"' \
		with-modules-dep "$lib" "$dir" "$@"
}

# Prints make kmod's set for ABI: build/ABI when it is this checkout's build,
# else a fresh one under $tmp.
reference_set() {
	local abi=$1 kdir=$2 tarball=$3
	local ref=$REPO/build/$abi
	if [ "$rebuild" = 0 ] && [ -f "$ref/ip_vs.ko" ] && [[ $source_version != *-dirty ]] &&
		[ "$(modinfo -F version "$ref/ip_vs.ko")" = "$source_version" ]; then
		echo "# make kmod's set: build/$abi (version $source_version)" >&2
		echo "$ref"
		return 0
	fi
	ref=$tmp/ref/$abi
	echo "# make kmod's set: building it for $abi into a temporary directory" >&2
	"$REPO/kmod/build.sh" --kver "$abi" --kdir "$kdir" --tarball "$tarball" --out "$ref" \
		>"$tmp/ref-$abi.log" 2>&1 || { tail -20 "$tmp/ref-$abi.log" >&2; return 1; }
	echo "$ref"
}

first_abi='' first_kdir='' first_tarball='' first_ref='' first_built='' first_signer='' first_names=
for sel in $kernels; do
	if ! abi=$("$REPO/kmod/kernel.sh" resolve "$sel") ||
		! kdir=$("$REPO/kmod/kernel.sh" headers "$abi") ||
		! tarball=$("$REPO/kmod/kernel.sh" source "$abi"); then
		tap_not_ok "$sel: resolve a buildable ABI, unpack headers and linux-source"
		continue
	fi
	echo "# $sel: $abi"
	if ! ref=$(reference_set "$abi" "$kdir" "$tarball"); then
		tap_not_ok "$abi: make kmod's reference set builds"
		continue
	fi
	# On a node DKMS finds sign-file in /lib/modules/ABI/build/scripts/;
	# here the headers are unpacked elsewhere, so it is named.
	signer=$(pick_signer "$kdir")
	start=$SECONDS
	out=$(IPVS_DRAIN_LINUX_SOURCE_DIR=$(dirname "$tarball") sign_file=$signer \
		dkms build "$mv_arg" -k "$abi" --kernelsourcedir "$kdir" "${trees[@]}" 2>&1)
	rc=$?
	log=$(cat "$root/var/lib/dkms/ipvs-drain/$version/$abi/x86_64/log/make.log" \
		"$root/var/lib/dkms/ipvs-drain/$version/build/make.log" 2>/dev/null | tail -20)
	built=$root/var/lib/dkms/ipvs-drain/$version/$abi/x86_64/module
	{ [ "$rc" = 0 ]; }
	tap_result $? "$abi: dkms build succeeds ($((SECONDS - start)) s)" "$out"$'\n'"$log"
	names_dkms=$(describe "$built" | cut -d' ' -f1 | xargs)
	names_make=$(describe "$ref" | cut -d' ' -f1 | xargs)
	{ [ -n "$names_make" ] && [ "$names_dkms" = "$names_make" ]; }
	tap_result $? "$abi: the same $(wc -w <<<"$names_make") modules as make kmod" \
		"dkms:      $names_dkms"$'\n'"make kmod: $names_make"
	# dkms.conf lists ip_vs_twos where the headers' config builds it.
	twos=no
	grep -q '^CONFIG_IP_VS_TWOS=m$' "$kdir/include/config/auto.conf" 2>/dev/null && twos=yes
	has=no
	[[ " $names_dkms " == *" ip_vs_twos "* ]] && has=yes
	{ [ "$rc" = 0 ] && [ -f "$kdir/include/config/auto.conf" ] && [ "$has" = "$twos" ]; }
	tap_result $? "$abi: ip_vs_twos in the DKMS set ($has) as CONFIG_IP_VS_TWOS=m in the headers' auto.conf ($twos)" \
		"dkms: $names_dkms"$'\n'"$(ls -l "$kdir/include/config/auto.conf" 2>&1)"
	differ=$(diff <(describe "$ref") <(describe "$built"))
	{ [ -z "$differ" ] && [ -n "$names_dkms" ]; }
	tap_result $? "$abi: the same variant, version ($source_version), vermagic and srcversion per module" \
		"$differ"
	if grep -q "modules won't be signed" <<<"$out"; then
		tap_skip "$abi: DKMS signs the modules with its MOK key" "no sign-file for $abi on this host"
	else
		# DKMS wrote ip_vs.ko, or ip_vs.ko.xz where this host's modules.dep
		# for ABI lists compressed modules.
		ko=$(ko_of "$built" ip_vs)
		signed_by=$(modinfo -F signer "$ko" 2>/dev/null)
		{ [ "$signed_by" = "DKMS module signing key" ]; }
		tap_result $? "$abi: DKMS signs the modules with its MOK key ($signed_by, ${ko##*/})" \
			"in $built: $(files_in "$built" | xargs)"$'\n'"sign-file used: ${signer:-none}"$'\n'"$out"
	fi
	if [ "$rc" = 0 ] && [ "$twos" = yes ]; then
		# Once the headers are gone, the list comes from what DKMS built.
		tw=$tmp/twos-$abi
		mkdir -p "$tw/lib/modules/$abi"
		twtrees=(--dkmstree "$root/var/lib/dkms" --sourcetree "$root/usr/src" --installtree "$tw/lib/modules")
		out=$(dkms install "$mv_arg" -k "$abi" --kernelsourcedir "$kdir" --no-depmod "${twtrees[@]}" 2>&1)
		rc_i=$?
		had=$(files_in "$tw/lib/modules/$abi/updates/dkms" | xargs)
		out+=$'\n'$(dkms uninstall "$mv_arg" -k "$abi" --kernelsourcedir "$tw/no-headers" --no-depmod "${twtrees[@]}" 2>&1)
		left=$(files_in "$tw/lib/modules/$abi/updates/dkms" | xargs)
		{ [ "$rc_i" = 0 ] && [[ " $had " == *" ip_vs_twos.ko"* ]] && [ -z "$left" ]; }
		tap_result $? "$abi: dkms uninstall without the headers removes ip_vs_twos with the rest" \
			"installed: $had"$'\n'"left:      $left"$'\n'"$out"
	fi
	if [ -z "$first_abi" ] && [ "$rc" = 0 ]; then
		first_abi=$abi first_kdir=$kdir first_tarball=$tarball first_ref=$ref
		first_built=$built first_signer=$signer first_names=$names_make
	fi
done

# refused CASE ABI KDIR SENTENCE [VAR=VALUE...]: in a DKMS tree of its own
# (named after CASE), dkms build for ABI with the headers in KDIR and the
# environment VAR=VALUE fails, not with DKMS's status 77; PRE_BUILD prints
# SENTENCE (kmod/dkms.sh's), and make.log holds it with nothing compiled.
# Otherwise prints what went wrong, and fails.
refused() {
	local d=$tmp/refused-$1 abi=$2 kdir=$3 sentence=$4 out rc log
	shift 4
	mkdir -p "$d/dkms"
	dkms add "$mv_arg" --dkmstree "$d/dkms" --sourcetree "$root/usr/src" >/dev/null 2>&1
	out=$(env "$@" dkms build "$mv_arg" -k "$abi" --kernelsourcedir "$kdir" \
		--dkmstree "$d/dkms" --sourcetree "$root/usr/src" --installtree "$d/lib/modules" 2>&1)
	rc=$?
	log=$(cat "$d/dkms/ipvs-drain/$version/build/make.log" 2>/dev/null)
	if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then
		echo "dkms build exited with status $rc"
	elif ! grep -qF -- "$sentence" <<<"$(sed -n '/Running the pre_build script/,/Building module/p' <<<"$out")"; then
		echo "PRE_BUILD did not say: $sentence"
	elif ! grep -qF -- "$sentence" <<<"$log"; then
		echo "make.log does not say: $sentence"
	elif grep -q '^kmod: \(extracting\|building\)' <<<"$log"; then
		echo "kmod/build.sh went on to build"
	else
		return 0
	fi
	echo "$out"
	echo "--- make.log:"
	echo "$log"
	return 1
}

# A kernel of a series nobody tested: no BUILD_EXCLUSIVE_KERNEL stops it
# (status 77), the buildable rule does, naming the package. Its headers are a
# stand-in with the Debian version kmod/kernel.sh would have recorded; no
# linux-source-6.6 is installed here.
fake=6.6.0-99-amd64
mkdir -p "$tmp/fake-headers/include"
echo 6.6.99-1 >"$tmp/fake-headers/.debian-version"
if [ -n "$(dpkg-query -W -f '${Version}' linux-source-6.6 2>/dev/null)" ]; then
	tap_skip "fake $fake: refused before compiling, naming linux-source-6.6 version 6.6.99-1" \
		"linux-source-6.6 is installed here"
else
	why=$(refused fake "$fake" "$tmp/fake-headers" \
		"refusing to build for $fake: install linux-source-6.6 version 6.6.99-1, the exact sources of its headers (linux-source-6.6 is not installed;")
	tap_result $? "fake $fake: refused before compiling, naming linux-source-6.6 version 6.6.99-1 (not DKMS's status 77)" "$why"
fi

if [ -z "$first_abi" ]; then
	tap_skip "DKMS against make install, and the kernels that are not buildable" "no kernel built"
else
	abi=$first_abi
	[[ $abi =~ ^([0-9]+\.[0-9]+) ]] && series=${BASH_REMATCH[1]}
	hdr_deb=$(cat "$first_kdir/.debian-version")
	want="refusing to build for $abi: install linux-source-$series version $hdr_deb, the exact sources of its headers"
	bin=$REPO/build/bin/ipvs-drain
	[ -x "$bin" ] || bin=/bin/true

	# As on a node: /usr/src and dpkg's linux-source-SERIES, unless this host
	# happens to have the very version installed.
	host_src=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "linux-source-$series" 2>/dev/null |
		awk '$1 ~ /^.[iUFWt]/ { print $2 }')
	if [ "$host_src" = "$hdr_deb" ]; then
		tap_skip "$abi with this host's linux-source: refused before compiling" \
			"linux-source-$series $hdr_deb is installed here"
	else
		why=$(refused host "$abi" "$first_kdir" \
			"$want (linux-source-$series ${host_src:+$host_src is installed}${host_src:-is not installed};")
		tap_result $? "$abi with this host's linux-source-$series (${host_src:-none}): refused before compiling, naming linux-source-$series version $hdr_deb" "$why"
	fi

	# A tarball of another Debian version than the headers'.
	mkdir -p "$tmp/other-src"
	ln -s "$first_tarball" "$tmp/other-src/linux-source-$series.tar.xz"
	echo "$hdr_deb~other" >"$tmp/other-src/linux-source-$series.tar.xz.debian-version"
	why=$(refused other "$abi" "$first_kdir" \
		"$want ($tmp/other-src/linux-source-$series.tar.xz is version $hdr_deb~other;" \
		IPVS_DRAIN_LINUX_SOURCE_DIR="$tmp/other-src")
	tap_result $? "$abi with linux-source-$series $hdr_deb~other: refused before compiling, naming version $hdr_deb" "$why"

	# No tarball at all.
	mkdir -p "$tmp/no-src"
	why=$(refused missing "$abi" "$first_kdir" \
		"$want ($tmp/no-src/linux-source-$series.tar.xz is missing;" \
		IPVS_DRAIN_LINUX_SOURCE_DIR="$tmp/no-src")
	tap_result $? "$abi without linux-source-$series: refused before compiling, naming linux-source-$series version $hdr_deb" "$why"

	# No variant of a hook applies: a source tree whose slot-3 variants fit no
	# kernel. build.sh refuses before compiling, and its sentence is the last
	# line of make.log, which DKMS names.
	src_tree=$tmp/nohook/usr/src
	mkdir -p "$src_tree"
	cp -a "$root/usr/src/ipvs-drain-$version" "$src_tree/"
	rm -f "$src_tree/ipvs-drain-$version"/patches/hooks/3-*.patch
	cat >"$src_tree/ipvs-drain-$version/patches/hooks/3-call.nowhere.patch" <<'EOF'
--- a/net/netfilter/ipvs/ip_vs_core.c
+++ b/net/netfilter/ipvs/ip_vs_core.c
@@ -1,3 +1,4 @@
 /* a line that is in no kernel's ip_vs_core.c */
+/* ipvs-drain: a hook that applies nowhere */
 /* nor is this one */
 /* nor this */
EOF
	d=$tmp/nohook
	mkdir -p "$d/dkms"
	dkms add "$mv_arg" --dkmstree "$d/dkms" --sourcetree "$src_tree" >/dev/null 2>&1
	out=$(IPVS_DRAIN_LINUX_SOURCE_DIR=$(dirname "$first_tarball") dkms build "$mv_arg" -k "$abi" \
		--kernelsourcedir "$first_kdir" --dkmstree "$d/dkms" --sourcetree "$src_tree" \
		--installtree "$d/lib/modules" 2>&1)
	rc=$?
	log=$(cat "$d/dkms/ipvs-drain/$version/build/make.log" 2>/dev/null)
	last=$(tail -n 1 <<<"$log")
	{ [ "$rc" != 0 ] && grep -q 'build/make\.log' <<<"$out" &&
		grep -q "^kmod: no variant of hook 3 (3-call.nowhere.patch) applies with --fuzz=0 to the Linux .* sources of $abi, so the variant does not support this kernel yet: nothing was built$" <<<"$last" &&
		! grep -q '^kmod: building' <<<"$log"; }
	tap_result $? "$abi, no hook-3 variant applies: dkms build fails before compiling, and make.log ends with build.sh's sentence" \
		"status $rc; last line of make.log: $last"$'\n'"$out"

	# DKMS first: install into the private tree; make install then refuses.
	mkdir -p "$root/lib/modules/$abi"
	out=$(dkms install "$mv_arg" -k "$abi" --kernelsourcedir "$first_kdir" --no-depmod "${trees[@]}" 2>&1)
	# The files dkms build wrote, whatever their suffix.
	wrote=$(files_in "$first_built")
	installed=$(files_in "$root/lib/modules/$abi/updates/dkms")
	ko=$(ko_of "$root/lib/modules/$abi/updates/dkms" ip_vs)
	{ [ -n "$ko" ] && [ "$installed" = "$wrote" ]; }
	tap_result $? "$abi: dkms install puts the set in updates/dkms/ as dkms build wrote it (${ko##*/}, ...)" \
		"built:     $(xargs <<<"$wrote")"$'\n'"installed: $(xargs <<<"$installed")"$'\n'"$out"
	out=$("$REPO/kmod/install.sh" install --kver "$abi" --destdir "$root" --ko "$first_ref" --bin "$bin" 2>&1)
	rc=$?
	{ [ "$rc" = 1 ] && grep -q "refusing: DKMS has ipvs-drain/$version built or installed for $abi" <<<"$out"; }
	tap_result $? "$abi: make install refuses while DKMS holds ipvs-drain (status $rc)" "$out"
	{ [ ! -e "$root/lib/modules/$abi/updates/ipvs-drain" ] && [ ! -e "$root/var/lib/ipvs-drain" ]; }
	tap_result $? "$abi: ... and wrote nothing" "$(find "$root/lib/modules/$abi/updates" "$root/var/lib/ipvs-drain" 2>&1)"
	out=$(dkms remove "$mv_arg" -k "$abi" --no-depmod "${trees[@]}" 2>&1)
	{ [ -z "$(ls -A "$root/lib/modules/$abi/updates/dkms" 2>/dev/null)" ]; }
	tap_result $? "$abi: dkms remove empties updates/dkms/" "$out"

	# make install first: DKMS then refuses to build and to install.
	mi=$tmp/make-install
	out=$("$REPO/kmod/install.sh" install --kver "$abi" --destdir "$mi" --ko "$first_ref" --bin "$bin" 2>&1)
	{ [ -f "$mi/lib/modules/$abi/updates/ipvs-drain/ip_vs.ko" ]; }
	tap_result $? "$abi: make install (DESTDIR) installs the set" "$out"
	mitrees=(--dkmstree "$root/var/lib/dkms" --sourcetree "$root/usr/src" --installtree "$mi/lib/modules")
	for verb in build install; do
		out=$(IPVS_DRAIN_LINUX_SOURCE_DIR=$(dirname "$first_tarball") dkms "$verb" "$mv_arg" -k "$abi" \
			--kernelsourcedir "$first_kdir" --no-depmod "${mitrees[@]}" 2>&1)
		rc=$?
		{ [ "$rc" != 0 ] && grep -q "refusing: make install's copy of ipvs-drain is installed" <<<"$out" &&
			[ ! -e "$mi/lib/modules/$abi/updates/dkms" ]; }
		tap_result $? "$abi: dkms $verb refuses while make install's copy is there (status $rc)" "$out"
	done
	out=$("$REPO/kmod/install.sh" uninstall --destdir "$mi" 2>&1)
	left=$(cd "$mi" && find . -type f ! -name 'modules.*' | sort)
	{ [ -z "$left" ]; }
	tap_result $? "$abi: make uninstall (DESTDIR) removes every file it wrote" "$out"$'\n'"$left"
fi

# The names DKMS writes, both ways, whatever this host has installed: DKMS
# 3.0.10 compresses the modules when /lib/modules/ABI/modules.dep lists
# compressed ones (it reads the host's, --installtree or not), so each case
# shows it a modules.dep listing NAME.ko, resp. NAME.ko.xz, modules. Each has
# its own DKMS and install trees; the source tree is shared.
suffix_cases=".ko .ko.xz"
if [ -z "$first_abi" ]; then
	tap_skip "dkms build and install name the modules as modules.dep does ($suffix_cases)" "no kernel built"
elif ! probe=$(with_modules_dep "$first_abi" .ko.xz "$tmp/probe" cat "/lib/modules/$first_abi/modules.dep" 2>&1) ||
	! grep -q '/ip_vs\.ko\.xz:' <<<"$probe"; then
	tap_skip "dkms build and install name the modules as modules.dep does ($suffix_cases)" \
		"no private mount namespace with an overlay on $(readlink -f /lib) here: $(head -n 1 <<<"$probe")"
else
	abi=$first_abi
	for suffix in $suffix_cases; do
		format=${suffix#.ko.}
		[ "$suffix" = .ko ] && format=elf
		cdir=$tmp/suffix${suffix//./-}
		ctrees=(--dkmstree "$cdir/dkms" --sourcetree "$root/usr/src" --installtree "$cdir/lib/modules")
		mkdir -p "$cdir/dkms" "$cdir/lib/modules/$abi"
		dkms add "$mv_arg" "${ctrees[@]}" >/dev/null 2>&1
		start=$SECONDS
		out=$(IPVS_DRAIN_LINUX_SOURCE_DIR=$(dirname "$first_tarball") sign_file=$first_signer \
			with_modules_dep "$abi" "$suffix" "$cdir/ns" \
			dkms build "$mv_arg" -k "$abi" --kernelsourcedir "$first_kdir" "${ctrees[@]}" 2>&1)
		rc=$?
		mod=$cdir/dkms/ipvs-drain/$version/$abi/x86_64/module
		want=$(for m in $first_names; do echo "$m$suffix"; done | sort)
		wrote=$(files_in "$mod")
		{ [ "$rc" = 0 ] && [ -n "$want" ] && [ "$wrote" = "$want" ]; }
		tap_result $? "$abi, modules.dep listing $suffix modules: dkms build writes the $(wc -w <<<"$first_names") modules as NAME$suffix ($((SECONDS - start)) s)" \
			"wanted: $(xargs <<<"$want")"$'\n'"wrote:  $(xargs <<<"$wrote")"$'\n'"$out"
		bad=
		for f in "$mod"/*; do
			[ ! -e "$f" ] || [ "$(format_of "$f")" = "$format" ] || bad+="${f##*/} is $(format_of "$f")"$'\n'
		done
		{ [ -n "$wrote" ] && [ -z "$bad" ]; }
		tap_result $? "$abi, $suffix modules: every file DKMS wrote is $format" "$bad"
		# modinfo (kmod 30: +XZ +ZSTD) reads the compressed files as they are.
		differ=$(diff <(describe "$first_ref") <(describe "$mod"))
		want_signer="DKMS module signing key"
		! grep -q "modules won't be signed" <<<"$out" || want_signer=
		signed_by=$(modinfo -F signer "$mod/ip_vs$suffix" 2>&1)
		{ [ -n "$wrote" ] && [ -z "$differ" ] && [ "$signed_by" = "$want_signer" ]; }
		tap_result $? "$abi, $suffix modules: modinfo reads make kmod's variant, version, vermagic and srcversion from each, and signer '$want_signer'" \
			"$differ"$'\n'"signer of ip_vs$suffix: $signed_by"
		out=$(with_modules_dep "$abi" "$suffix" "$cdir/ns" \
			dkms install "$mv_arg" -k "$abi" --kernelsourcedir "$first_kdir" --no-depmod "${ctrees[@]}" 2>&1)
		rc=$?
		dest=$cdir/lib/modules/$abi/updates/dkms
		installed=$(files_in "$dest")
		{ [ "$rc" = 0 ] && [ -n "$wrote" ] && [ "$installed" = "$want" ] &&
			cmp -s "$mod/ip_vs$suffix" "$dest/ip_vs$suffix"; }
		tap_result $? "$abi, $suffix modules: dkms install puts the NAME$suffix files in updates/dkms/ (status $rc)" \
			"wanted:    $(xargs <<<"$want")"$'\n'"installed: $(xargs <<<"$installed")"$'\n'"$out"
	done
fi

after=$(host_state)
{ [ "$before" = "$after" ]; }
tap_result $? "the host's DKMS state is untouched (/var/lib/dkms, no ipvs-drain in /usr/src or /lib/modules)" \
	"$(diff <(echo "$before") <(echo "$after"))"

tap_end
