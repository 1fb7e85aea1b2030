#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-deb: make deb's two packages in a pristine Debian root, from apt install to purge.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/deb/run.sh [--build | --debs DIR] [--series 6.1] [--keep]

With --build, first make deb on this machine: tests/install-deps.sh --deb,
debian/build.sh, and lintian on the result, which must show no error and no
warning. Then installs the packages of make deb (DIR/ipvs-drain_VERSION_ARCH.deb and
DIR/ipvs-drain-dkms_VERSION_all.deb, DIR default build/deb) in a pristine
Debian root of this machine's release (tests/lib/root.sh: the mmdebstrap
tarball of make check-fresh, in the cache under fresh/), entered with chroot,
and checks, in this order:

  - apt-get install --no-install-recommends of both .debs pulls in what they
    depend on (dkms, make, patch, xz-utils, openssl, the tool's libraries): the tool
    runs, its man page and bash completion are installed, and the postinst
    registered ipvs-drain/VERSION with DKMS and built nothing (the root has
    no kernel; in a chroot `uname -r` is the host's);
  - linux-headers-ABI (ABI: the newest buildable one of --series, from apt)
    without linux-source-SERIES: apt's DKMS hook refuses ABI with kmod/dkms.sh's
    sentence naming linux-source-SERIES and the headers' version, and so does
    dkms build -k ABI; nothing is built;
  - linux-source-SERIES of exactly the headers' version: the hook builds and
    installs the set for ABI when apt configures the headers again; then
    dkms remove -k ABI and dkms install -k ABI, the explicit way, build it
    again. modinfo shows the variant, the version make deb stamped into the
    package and ABI's vermagic, for the whole set dkms.conf names;
  - apt-get purge of both leaves nothing of theirs (/usr/src, /var/lib/dkms,
    /lib/modules/*/updates, the tool), and after purging every package
    installed since, the root holds the same files as before the first
    install, outside /proc, /sys, /dev, /run, /tmp, apt's and dpkg's state,
    caches and logs, and but for two leftovers that are not ours (see
    "leftovers" below).

apt's downloads are kept in the cache (fresh/apt-archives) across runs.
Prints TAP (tests/lib/tap.sh); logs in build/logs/deb/. Needs root.

  --build        make deb first (what make check-deb and make check run)
  --debs DIR     where the .debs are (default build/deb, make deb's)
  --series X.Y   the kernel series to build for (default 6.1: its headers
                 install without an image)
  --keep         keep the root (in the cache under fresh/) for inspection
EOF
}

die() {
	echo "check-deb: $*" >&2
	exit 1
}

top=$(cd "$(dirname "$0")/../.." && pwd)
debs=$top/build/deb
series=6.1
keep=0
build=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=1; shift ;;
	--debs) debs=${2:?--debs needs a directory}; shift 2 ;;
	--series) series=${2:?--series needs X.Y}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; echo "check-deb: unknown option '$1'" >&2; exit 2 ;;
	esac
done

cache=$(realpath -m "${IPVS_DRAIN_CACHE:-$top/.cache}")/fresh
version=$(cat "$top/VERSION")
name=ipvs-drain/$version

# shellcheck source=tests/lib/tap.sh
source "$top/tests/lib/tap.sh"
# shellcheck source=tests/lib/root.sh
source "$top/tests/lib/root.sh"

start=$SECONDS
# ---- make deb, on this machine
if [ "$build" = 1 ]; then
	debs=$top/build/deb
	mkdir -p "$top/build/logs"
	"$top/tests/install-deps.sh" --deb >&2 || tap_bail "tests/install-deps.sh --deb installs make deb's build dependencies"
	t0=$SECONDS
	rc=0
	"$top/debian/build.sh" --no-lintian >"$top/build/logs/deb-build.log" 2>&1 || rc=$?
	out=$(cd "$debs" 2>/dev/null && ls -- ipvs-drain_"$version"_*.deb "ipvs-drain-dkms_${version}_all.deb" 2>&1) || true
	st=0
	{ [ "$rc" = 0 ] && [ "$(wc -l <<<"$out")" = 2 ]; } || st=1
	tap_result "$st" "make deb: dpkg-buildpackage -b builds $(echo "$out" | tr '\n' ' ')into build/deb/ (exit $rc, $((SECONDS - t0)) s)" \
		"$(tail -20 "$top/build/logs/deb-build.log")"
	rc=0
	out=$(lintian --fail-on error,warning --display-info "$debs/ipvs-drain_${version}_$(dpkg-architecture -q DEB_HOST_ARCH).changes" 2>&1) ||
		rc=$?
	tap_result "$rc" "lintian on the .changes and both .debs: no error, no warning (exit $rc)" "$out"
	mapfile -t lines <<<"$out"
	printf '#   lintian: %s\n' "${lines[@]}"
fi

tool_deb=$(compgen -G "$debs/ipvs-drain_${version}_*.deb" | head -1) ||
	die "no ipvs-drain_${version}_*.deb in $debs: run make deb first"
dkms_deb=$debs/ipvs-drain-dkms_${version}_all.deb
[ -f "$dkms_deb" ] || die "no ${dkms_deb##*/} in $debs: run make deb first"
# The version make deb stamped into the DKMS tree, which modinfo must show.
stamp=$(dpkg-deb --fsys-tarfile "$dkms_deb" | tar -xOf - "./usr/src/ipvs-drain-$version/kmod/source-version") ||
	die "${dkms_deb##*/} has no usr/src/ipvs-drain-$version/kmod/source-version"

abi=$("$top/kmod/kernel.sh" resolve "$series") || die "no buildable $series kernel in apt (kmod/kernel.sh resolve $series)"
[[ $abi =~ ^([0-9]+\.[0-9]+)[.+-] ]] || die "cannot tell the series of $abi"
src_pkg=linux-source-${BASH_REMATCH[1]}
hdr_ver=$(apt-cache show --no-all-versions "linux-headers-$abi" | sed -n 's/^Version: //p' | head -1)
[ -n "$hdr_ver" ] || die "apt shows no version of linux-headers-$abi"
sentence="refusing to build for $abi: install $src_pkg version $hdr_ver, the exact sources of its headers ($src_pkg is not installed; DKMS runs inside apt and cannot download it)"
# The set dkms.conf names; ip_vs_twos joins it where the headers' config has it (6.12 on).
mapfile -t modules < <(sed -n '/^_ipvs_drain_modules=(/,/)/p' "$top/dkms.conf" |
	tr -s '()= \t' '\n' | grep '^ip_vs' | sort)

root_init check-deb "$cache"
ROOT_KEEP=$keep
trap root_cleanup EXIT
trap 'exit 130' INT TERM

logs=$top/build/logs/deb
rm -rf "$logs"
mkdir -p "$logs"
echo "# packages: ${tool_deb##*/} ${dkms_deb##*/} (DKMS tree $stamp); kernel $abi, headers $hdr_ver"

root_new deb822 "$cache/apt-archives"
echo "# root: $root"
mkdir -p "$root/tmp/debs"
cp "$tool_deb" "$dkms_deb" "$root/tmp/debs/"
debs_in_root="/tmp/debs/${tool_deb##*/} /tmp/debs/${dkms_deb##*/}"

# in_root LOG SCRIPT: SCRIPT in the root, its output in LOG; the command, its exit status and
# its time as comments.
in_root() {
	local log=$1 script=$2 rc=0 t0=$SECONDS
	echo "# ---- $script ($(date +%H:%M:%S))"
	root_run "$root" "export DEBIAN_FRONTEND=noninteractive; $script" >"$log" 2>&1 || rc=$?
	echo "# exit $rc after $((SECONDS - t0)) s; log $log"
	return "$rc"
}

# The root's files, but for the kernel's and the chroot's own trees, apt's and dpkg's state
# and caches, debconf's cache, ldconfig's cache and the logs.
snapshot() {
	root_run "$root" 'find / \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/cache/apt \
		-o -path /var/cache/debconf -o -path /var/cache/ldconfig -o -path /var/log \) -prune \
		-o -print | sort'
}

packages() {
	root_run "$root" "dpkg-query -W -f '\${Package}\n' | sort"
}

# ---- install
in_root "$logs/update.log" "apt-get update -q" || tap_bail "apt-get update in the root (see $logs/update.log)"
snapshot >"$logs/files-before"
packages >"$logs/packages-before"

rc=0
in_root "$logs/install.log" "apt-get install -y -q --no-install-recommends $debs_in_root" || rc=$?
tap_result "$rc" "apt-get install --no-install-recommends of both .debs (exit $rc)" "$(tail -20 "$logs/install.log")"
[ "$rc" = 0 ] || tap_bail "the packages do not install; nothing else can be checked"

out=$(root_run "$root" "dpkg-query -W -f '\${db:Status-Abbrev} \${Package}\n' dkms make patch xz-utils openssl gcc kmod &&
	ipvs-drain --help >/dev/null && echo tool-runs" 2>&1) || true
missing=$(awk '$1 != "ii" && NF == 2 { print $2 }' <<<"$out")
st=0
{ [ -z "$missing" ] && grep -qx tool-runs <<<"$out"; } || st=1
tap_result "$st" "they pulled in dkms, make, patch, xz-utils, openssl, gcc, kmod and the tool's libraries (ipvs-drain --help runs)" "$out"

st=0
out=$(root_run "$root" 'ls -l /usr/sbin/ipvs-drain /usr/share/man/man8/ipvs-drain.8.gz \
	/usr/share/bash-completion/completions/ipvs-drain &&
	bash -c ". /usr/share/bash-completion/completions/ipvs-drain && complete -p ipvs-drain"' 2>&1) || st=1
tap_result "$st" "ipvs-drain installs /usr/sbin/ipvs-drain, its man page and its bash completion" "$out"

out=$(root_run "$root" "dkms status $name; cat /usr/src/ipvs-drain-$version/kmod/source-version" 2>&1) || true
st=0
{
	grep -q "Loading new ipvs-drain-$version DKMS files" "$logs/install.log" &&
		[ "$(head -1 <<<"$out")" = "$name: added" ] && [ "$(sed -n 2p <<<"$out")" = "$stamp" ]
} || st=1
tap_result "$st" "the postinst added $name to DKMS from /usr/src/ipvs-drain-$version ($stamp) and built nothing: the root has no kernel" \
	"$out"$'\n'"$(grep -A3 'Loading new' "$logs/install.log")"
grep -E "belongs to a chroot's host|^Building for" "$logs/install.log" | sed 's/^/#   postinst: /' || true

# ---- the refusal: headers, no linux-source
rc=0
in_root "$logs/headers.log" "apt-get install -y -q --no-install-recommends linux-headers-$abi" || rc=$?
built=$(root_run "$root" "ls /lib/modules/$abi/updates/dkms/ 2>/dev/null; dkms status $name -k $abi" 2>&1 || true)
st=0
{ grep -qF "$sentence" "$logs/headers.log" && ! grep -q 'ip_vs.*\.ko' <<<"$built" && ! grep -q 'installed\|built' <<<"$built"; } || st=1
tap_result "$st" "linux-headers-$abi without $src_pkg: apt's DKMS hook refuses, naming $src_pkg $hdr_ver, and builds nothing" \
	"$(grep -B2 -A8 'pre_build' "$logs/headers.log")"$'\n'"$built"
echo "#   apt-get exit $rc: $(root_run "$root" "dpkg-query -W -f '\${db:Status-Abbrev} \${Package} \${Version}' linux-headers-$abi")"
echo "#   $(grep -F "$sentence" "$logs/headers.log" | head -1)"

rc=0
in_root "$logs/build-refused.log" "dkms build $name -k $abi" || rc=$?
last=$(root_run "$root" "tail -1 /var/lib/dkms/ipvs-drain/$version/build/make.log" 2>&1 || true)
st=0
{ [ "$rc" != 0 ] && grep -qF "$sentence" "$logs/build-refused.log" && grep -qF "$sentence" <<<"$last"; } || st=1
tap_result "$st" "dkms build $name -k $abi fails (exit $rc) with the same sentence, the last line of make.log too" \
	"$(cat "$logs/build-refused.log")"$'\n'"make.log: $last"

# ---- linux-source of the headers' version: the hook builds, then the explicit way
rc=0
in_root "$logs/source.log" "apt-get install -y -q --no-install-recommends $src_pkg=$hdr_ver" || rc=$?
status=$(root_run "$root" "dkms status $name -k $abi" 2>&1 || true)
st=0
{ [ "$rc" = 0 ] && grep -q "^$name, $abi, [^:]*: installed" <<<"$status"; } || st=1
tap_result "$st" "$src_pkg $hdr_ver installed (exit $rc): apt configures the headers again and their DKMS hook builds and installs the set ($status)" \
	"$(tail -20 "$logs/source.log")"

rc=0
in_root "$logs/explicit.log" "dkms remove $name -k $abi && ! dkms status $name -k $abi | grep -q installed &&
	dkms install $name -k $abi" || rc=$?
status=$(root_run "$root" "dkms status $name -k $abi" 2>&1 || true)
st=0
{ [ "$rc" = 0 ] && grep -q "^$name, $abi, [^:]*: installed" <<<"$status"; } || st=1
tap_result "$st" "explicitly: dkms remove $name -k $abi, then dkms install $name -k $abi builds and installs it again" \
	"$(tail -20 "$logs/explicit.log")"

# What make kmod stamps (kmod/build.sh, Kbuild, ip_vs_reuse.c): variant, version, vermagic.
if root_run "$root" "grep -qx CONFIG_IP_VS_TWOS=m /lib/modules/$abi/build/include/config/auto.conf"; then
	modules+=(ip_vs_twos)
fi
out=$(root_run "$root" "for m in ${modules[*]}; do
	f=\$(modinfo -k $abi -F filename \$m) && echo \"\$f \$(modinfo -k $abi -F vermagic \$m | cut -d' ' -f1)\"
done; echo variant=\$(modinfo -k $abi -F variant ip_vs); echo version=\$(modinfo -k $abi -F version ip_vs)
ls /lib/modules/$abi/updates/dkms" 2>&1) || true
bad=$(awk -v d="/lib/modules/$abi/updates/dkms/" -v k="$abi" '
	/^\// && (index($1, d) != 1 || $2 != k)' <<<"$out")
count=$(grep -c "^/lib/modules/$abi/updates/dkms/.* $abi$" <<<"$out" || true)
ls_count=$(grep -c '^ip_vs.*\.ko' <<<"$out" || true)
st=0
{
	[ -z "$bad" ] && [ "$count" = "${#modules[@]}" ] && [ "$ls_count" = "${#modules[@]}" ] &&
		grep -qx 'variant=ipvs-drain conn_reuse_quiescent' <<<"$out" && grep -qx "version=$stamp" <<<"$out"
} || st=1
tap_result "$st" "modinfo -k $abi: the ${#modules[@]} modules of dkms.conf load from updates/dkms/ with vermagic $abi; ip_vs is variant 'ipvs-drain conn_reuse_quiescent', version $stamp" "$out"
grep -E '^(variant|version)=' <<<"$out" | sed 's/^/#   ip_vs /' || true

# ---- purge
rc=0
in_root "$logs/purge.log" "apt-get purge -y -q ipvs-drain ipvs-drain-dkms" || rc=$?
left=$(root_run "$root" "ls -d /usr/src/ipvs-drain* /var/lib/dkms/ipvs-drain /lib/modules/*/updates/dkms/ip_vs* \
	/lib/modules/*/updates/ipvs-drain /usr/sbin/ipvs-drain /usr/share/doc/ipvs-drain* \
	/usr/share/man/man8/ipvs-drain.8.gz /usr/share/bash-completion/completions/ipvs-drain 2>/dev/null;
	dpkg-query -W -f '\${db:Status-Abbrev} \${Package}\n' ipvs-drain ipvs-drain-dkms 2>/dev/null | grep -v '^un'" 2>&1 || true)
st=0
{ [ "$rc" = 0 ] && [ -z "$left" ]; } || st=1
tap_result "$st" "apt-get purge ipvs-drain ipvs-drain-dkms (exit $rc) leaves nothing of theirs: no DKMS tree in /var/lib/dkms or /usr/src, no module, no tool" \
	"$left"$'\n'"$(tail -10 "$logs/purge.log")"

packages >"$logs/packages-installed"
mapfile -t added < <(comm -13 "$logs/packages-before" "$logs/packages-installed")
rc=0
[ ${#added[@]} = 0 ] || in_root "$logs/purge-deps.log" "apt-get purge -y -q ${added[*]}" || rc=$?
snapshot >"$logs/files-after"
# leftovers, the files that are not ours and stay by design:
# - depmod's index of ABI (/lib/modules/ABI/modules.*): DKMS runs depmod for ABI when it
#   installs and removes the set, and the index belongs to the kernel, whose image's postrm
#   deletes it on purge; this root has no image of ABI;
# - DKMS's module signing key /var/lib/dkms/mok.key and its certificate mok.pub, made by
#   dkms on its first build and kept by its purge (dpkg says /var/lib/dkms is not empty), so
#   that a key enrolled as a MOK stays valid.
diff=$(diff "$logs/files-before" "$logs/files-after" | grep '^[<>]' |
	grep -vxE "> /usr/lib/modules(/${abi//./\\.}(/modules\.[a-z.]+)?)?" |
	grep -vxE '> /var/lib/dkms(/mok\.(key|pub))?' || true)
st=0
{ [ "$rc" = 0 ] && [ -z "$diff" ]; } || st=1
tap_result "$st" "after purging the ${#added[@]} packages installed since (exit $rc), the root's files are those before the install, but for depmod's index of $abi and DKMS's signing key" \
	"$diff"
diff "$logs/files-before" "$logs/files-after" | grep '^[<>]' | sed 's/^/#   left, not ours: /' || true

echo "# check-deb wall time: $((SECONDS - start)) s; logs in $logs"
tap_end
