#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# CI test of dkms.conf: DKMS builds the same module set as make kmod for each
# kernel series, refuses other series, names a missing linux-source, and
# refuses to compete with make install. Host only, private DKMS trees.
set -uo pipefail

readonly HERE="$(cd "$(dirname "$0")" && pwd)"
readonly REPO="$(cd "$HERE/../.." && pwd)"

usage() {
	cat <<'EOF'
usage: tests/dkms/run.sh [--kernels "6.1 6.12 5.10"] [--rebuild]

For each series: resolve the newest Debian ABI, unpack its headers and its
linux-source tarball into .cache/ (tests/vm/kernel.sh; nothing kernel-related
is installed), run `dkms build` on the tree `make dkms-source` produces, and
compare the result with make kmod's set for that ABI: the same module names,
and the same variant, version, vermagic and srcversion for every module.
Then, on the first series:
  - dkms install into a private install tree, after which make install
    (DESTDIR) refuses;
  - make install first, after which dkms build and dkms install refuse;
  - a missing /usr/src/linux-source-SERIES.tar.xz fails with a sentence
    naming the package;
and for a fake 6.6 ABI, BUILD_EXCLUSIVE_KERNEL refuses with our sentence.

DKMS runs with --dkmstree, --sourcetree, --installtree and a MOK key pair in
a temporary directory: the host's /var/lib/dkms, /usr/src and /lib/modules
are never written (the last test checks that). Installs dkms with apt if it
is missing.

  --kernels LIST  series to build for (default "6.1 6.12 5.10")
  --rebuild       build make kmod's reference set even when build/ABI/ is
                  current (it is reused when its version is the checkout's)

Prints "ok N - x" / "not ok N - x" / "ok N - x # SKIP why", then
"N passed, N failed, N skipped"; exits 1 when anything failed.
EOF
}

kernels="6.1 6.12 5.10"
rebuild=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=${2:?--kernels needs a list}; shift 2 ;;
	--rebuild) rebuild=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "dkms/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done

N=0 PASSED=0 FAILED=0 SKIPPED=0
tap_ok() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
tap_skip() { N=$((N + 1)); SKIPPED=$((SKIPPED + 1)); echo "ok $N - $1 # SKIP $2"; }
tap_not_ok() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	[ -z "${2:-}" ] || head -n 40 <<<"$2" | sed 's/^/#   /'
}
# verdict STATUS NAME DETAIL: ok when STATUS is 0, else DETAIL is shown.
# STATUS comes first: NAME and DETAIL may run command substitutions, which
# would overwrite $? before it is expanded.
verdict() {
	if [ "$1" = 0 ]; then tap_ok "$2"; else tap_not_ok "$2" "${3:-}"; fi
}
summary() { echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"; }

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
if ! command -v dkms >/dev/null; then
	tap_not_ok "dkms is installed" "apt-get install dkms failed"
	summary
	exit 1
fi
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
verdict $? "dkms.conf PACKAGE_VERSION ($conf_version) is VERSION ($version)" ""
conf_series=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="^(\(.*\))\[.+-\]"$/\1/p' "$REPO/dkms.conf" |
	tr '|' '\n' | sed 's/[\\]//g' | sort -V | xargs)
patch_series=$(cd "$REPO/patches" && ls -d -- */ | tr -d / | sort -V | xargs)
{ [ -n "$conf_series" ] && [ "$conf_series" = "$patch_series" ]; }
verdict $? "BUILD_EXCLUSIVE_KERNEL series ($conf_series) are patches/ ($patch_series)" ""

out=$("$REPO/kmod/install.sh" dkms-source --destdir "$root" 2>&1)
{ [ -f "$root/usr/src/ipvs-drain-$version/dkms.conf" ]; }
verdict $? "make dkms-source puts the tree in usr/src/ipvs-drain-$version" "$out"
source_version=$(cat "$root/usr/src/ipvs-drain-$version/kmod/source-version" 2>/dev/null)
out=$(dkms add "$mv_arg" "${trees[@]}" 2>&1)
{ [ -L "$root/var/lib/dkms/ipvs-drain/$version/source" ]; }
verdict $? "dkms add $mv_arg" "$out"

# A sign-file that runs here. The series' own comes first; 5.10's links
# OpenSSL 1.1, which bookworm lacks, so a host-built one from another
# series stands in: the signature format does not depend on the kernel.
runs() { [ -x "$1" ] && ! ldd "$1" 2>/dev/null | grep -q 'not found'; }
pick_signer() {
	local f
	for f in "$1/scripts/sign-file" /usr/lib/linux-kbuild-*/scripts/sign-file \
		"$REPO"/.cache/headers/*/usr/lib/linux-kbuild-*/scripts/sign-file; do
		if runs "$f"; then
			echo "$f"
			return
		fi
	done
}

# The set a module directory holds, one "name variant version vermagic srcversion" per line.
describe() {
	local ko
	for ko in "$1"/*.ko*; do
		[ -e "$ko" ] || continue
		printf '%s %s|%s|%s|%s\n' "$(basename "${ko%%.ko*}")" \
			"$(modinfo -F variant "$ko")" "$(modinfo -F version "$ko")" \
			"$(modinfo -F vermagic "$ko")" "$(modinfo -F srcversion "$ko")"
	done
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

first_abi='' first_kdir='' first_tarball='' first_ref=
for series in $kernels; do
	if ! abi=$("$REPO/tests/vm/kernel.sh" resolve "$series") ||
		! kdir=$("$REPO/tests/vm/kernel.sh" headers "$abi") ||
		! tarball=$("$REPO/tests/vm/kernel.sh" source "$abi"); then
		tap_not_ok "$series: resolve the ABI, unpack headers and linux-source"
		continue
	fi
	echo "# $series: $abi"
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
	verdict $? "$abi: dkms build succeeds ($((SECONDS - start)) s)" "$out"$'\n'"$log"
	names_dkms=$(describe "$built" | cut -d' ' -f1 | xargs)
	names_make=$(describe "$ref" | cut -d' ' -f1 | xargs)
	{ [ -n "$names_make" ] && [ "$names_dkms" = "$names_make" ]; }
	verdict $? "$abi: the same $(wc -w <<<"$names_make") modules as make kmod" \
		"dkms:      $names_dkms"$'\n'"make kmod: $names_make"
	differ=$(diff <(describe "$ref") <(describe "$built"))
	{ [ -z "$differ" ] && [ -n "$names_dkms" ]; }
	verdict $? "$abi: the same variant, version ($source_version), vermagic and srcversion per module" \
		"$differ"
	if grep -q "modules won't be signed" <<<"$out"; then
		tap_skip "$abi: DKMS signs the modules with its MOK key" "no sign-file for $abi on this host"
	else
		used=$signer
		signer=$(modinfo -F signer "$built/ip_vs.ko" 2>/dev/null)
		{ [ "$signer" = "DKMS module signing key" ]; }
		verdict $? "$abi: DKMS signs the modules with its MOK key ($signer)" \
			"$out"$'\n'"sign-file used: ${used:-none}"
	fi
	if [ -z "$first_abi" ] && [ "$rc" = 0 ]; then
		first_abi=$abi first_kdir=$kdir first_tarball=$tarball first_ref=$ref
	fi
done

# BUILD_EXCLUSIVE_KERNEL: a series without patches is refused before anything builds.
fake=6.6.0-99-amd64
out=$(dkms build "$mv_arg" -k "$fake" --kernelsourcedir "${first_kdir:-/nonexistent}" "${trees[@]}" 2>&1)
rc=$?
{ [ "$rc" = 77 ] && grep -q "no patch series for kernel $fake (supported series: 5.10, 6.1, 6.12)" <<<"$out"; }
verdict $? "fake $fake: refused by BUILD_EXCLUSIVE_KERNEL (status $rc) naming the supported series" "$out"

if [ -z "$first_abi" ]; then
	tap_skip "DKMS against make install, and the missing linux-source" "no series built"
else
	abi=$first_abi
	[[ $abi =~ ^([0-9]+\.[0-9]+) ]] && series=${BASH_REMATCH[1]}
	bin=$REPO/build/bin/ipvs-drain
	[ -x "$bin" ] || bin=/bin/true

	# A missing linux-source: a fresh DKMS tree, and a source dir without the tarball.
	miss=$tmp/miss
	mkdir -p "$miss/dkms" "$miss/src"
	dkms add "$mv_arg" --dkmstree "$miss/dkms" --sourcetree "$root/usr/src" >/dev/null 2>&1
	out=$(IPVS_DRAIN_LINUX_SOURCE_DIR=$miss/src dkms build "$mv_arg" -k "$abi" \
		--kernelsourcedir "$first_kdir" --dkmstree "$miss/dkms" --sourcetree "$root/usr/src" \
		--installtree "$root/lib/modules" 2>&1)
	rc=$?
	{ [ "$rc" != 0 ] && grep -q "install the package linux-source-$series (DKMS runs inside apt" <<<"$out"; }
	verdict $? "$abi without linux-source: dkms build fails, naming the package linux-source-$series" "$out"

	# DKMS first: install into the private tree; make install then refuses.
	mkdir -p "$root/lib/modules/$abi"
	out=$(dkms install "$mv_arg" -k "$abi" --kernelsourcedir "$first_kdir" --no-depmod "${trees[@]}" 2>&1)
	{ [ -f "$root/lib/modules/$abi/updates/dkms/ip_vs.ko" ]; }
	verdict $? "$abi: dkms install puts the set in updates/dkms/" "$out"
	out=$("$REPO/kmod/install.sh" install --kver "$abi" --destdir "$root" --ko "$first_ref" --bin "$bin" 2>&1)
	rc=$?
	{ [ "$rc" = 1 ] && grep -q "refusing: DKMS has ipvs-drain/$version built or installed for $abi" <<<"$out"; }
	verdict $? "$abi: make install refuses while DKMS holds ipvs-drain (status $rc)" "$out"
	{ [ ! -e "$root/lib/modules/$abi/updates/ipvs-drain" ] && [ ! -e "$root/var/lib/ipvs-drain" ]; }
	verdict $? "$abi: ... and wrote nothing" "$(find "$root/lib/modules/$abi/updates" "$root/var/lib/ipvs-drain" 2>&1)"
	out=$(dkms remove "$mv_arg" -k "$abi" --no-depmod "${trees[@]}" 2>&1)
	{ [ -z "$(ls -A "$root/lib/modules/$abi/updates/dkms" 2>/dev/null)" ]; }
	verdict $? "$abi: dkms remove empties updates/dkms/" "$out"

	# make install first: DKMS then refuses to build and to install.
	mi=$tmp/make-install
	out=$("$REPO/kmod/install.sh" install --kver "$abi" --destdir "$mi" --ko "$first_ref" --bin "$bin" 2>&1)
	{ [ -f "$mi/lib/modules/$abi/updates/ipvs-drain/ip_vs.ko" ]; }
	verdict $? "$abi: make install (DESTDIR) installs the set" "$out"
	mitrees=(--dkmstree "$root/var/lib/dkms" --sourcetree "$root/usr/src" --installtree "$mi/lib/modules")
	for verb in build install; do
		out=$(IPVS_DRAIN_LINUX_SOURCE_DIR=$(dirname "$first_tarball") dkms "$verb" "$mv_arg" -k "$abi" \
			--kernelsourcedir "$first_kdir" --no-depmod "${mitrees[@]}" 2>&1)
		rc=$?
		{ [ "$rc" != 0 ] && grep -q "refusing: make install's copy of ipvs-drain is installed" <<<"$out" &&
			[ ! -e "$mi/lib/modules/$abi/updates/dkms" ]; }
		verdict $? "$abi: dkms $verb refuses while make install's copy is there (status $rc)" "$out"
	done
	out=$("$REPO/kmod/install.sh" uninstall --destdir "$mi" 2>&1)
	left=$(cd "$mi" && find . -type f ! -name 'modules.*' | sort)
	{ [ -z "$left" ]; }
	verdict $? "$abi: make uninstall (DESTDIR) removes every file it wrote" "$out"$'\n'"$left"
fi

after=$(host_state)
{ [ "$before" = "$after" ]; }
verdict $? "the host's DKMS state is untouched (/var/lib/dkms, no ipvs-drain in /usr/src or /lib/modules)" \
	"$(diff <(echo "$before") <(echo "$after"))"

summary
[ "$FAILED" = 0 ]
