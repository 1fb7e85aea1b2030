#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make upstream: the conn_reuse_quiescent series in upstream form against Linux 7.3,
# regenerated from kmod/ip_vs_reuse.c's shared text into patches/upstream/*.patch.
set -euo pipefail

readonly SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly TOP="$(cd "$SELF_DIR/../.." && pwd)"
readonly CACHE_DIR="$(realpath -m "${IPVS_DRAIN_CACHE:-$TOP/.cache}")"
# shellcheck source=patches/upstream/target.sh
source "$SELF_DIR/target.sh"
readonly WORK="$CACHE_DIR/upstream"
readonly PRISTINE="$WORK/pristine-$DEB_VERSION"
readonly REPO="$WORK/series"
readonly OUT="$SELF_DIR"
readonly TEMPLATES="$SELF_DIR/templates"
# Fixed identity and dates: a rerun gives byte-identical patches.
readonly AUTHOR_NAME="ipvs-drain maintainers"
readonly AUTHOR_EMAIL="maintainers@users.noreply.r-seed-2190022e.example"
readonly DATE="2026-11-28 12:00:00 +0000"
readonly PREFIX="PATCH nf-next"
# Only what the series touches, what kmod/compat.sh probes, what kbuild reads to tell
# the version, and what checkpatch needs.
readonly MEMBERS=(
	Makefile
	include/net/ip_vs.h
	include/net/net_namespace.h
	include/linux/sysctl.h
	net/netfilter/ipvs
	Documentation/networking/ipvs-sysctl.rst
	tools/testing/selftests/net/netfilter/ipvs.sh
	tools/testing/selftests/net/netfilter/lib.sh
	tools/testing/selftests/net/lib.sh
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

usage() {
	cat <<'USAGE'
Usage: patches/upstream/make.sh [generate | pristine | checkpatch]

  generate    (default) make the series: extract the pristine Linux 7.3 files from
              Debian's linux-source-7.3 (7.3.4-1~bpo13+1, downloaded into the cache
              by kmod/kernel.sh), commit them as the base of a throwaway git repo in
              <cache>/upstream/series, apply patches/upstream/series.py's three steps
              as one commit each, write git format-patch --cover-letter into
              patches/upstream/ (the cover letter filled from
              templates/cover-letter.txt) and run checkpatch --strict on each patch
  pristine    print the directory holding the pristine 7.3 files (extracting them)
  checkpatch  checkpatch --strict on patches/upstream/0*.patch as they are

Nothing is committed to this checkout; kernel files stay in the cache.
USAGE
}

die() {
	echo "upstream: $*" >&2
	exit 1
}

pristine() {
	if [[ -e $PRISTINE/.complete ]]; then
		echo "$PRISTINE"
		return 0
	fi
	local tarball stage m
	tarball=$("$TOP/kmod/kernel.sh" source "$ABI" "$DEB_VERSION") ||
		die "no linux-source-$SERIES $DEB_VERSION (kmod/kernel.sh source $ABI $DEB_VERSION failed)"
	mkdir -p "$WORK"
	stage=$(mktemp -d "$WORK/.pristine.XXXXXX")
	local -a paths=()
	for m in "${MEMBERS[@]}"; do
		paths+=("linux-source-$SERIES/$m")
	done
	echo "upstream: extracting the files the series needs from $tarball" >&2
	tar -xJf "$tarball" -C "$stage" --strip-components=1 "${paths[@]}" ||
		die "cannot extract ${MEMBERS[*]} from $tarball"
	touch "$stage/.complete"
	rm -rf "$PRISTINE"
	mv "$stage" "$PRISTINE"
	echo "$PRISTINE"
}

git_repo() {
	GIT_AUTHOR_NAME="$AUTHOR_NAME" GIT_AUTHOR_EMAIL="$AUTHOR_EMAIL" \
		GIT_COMMITTER_NAME="$AUTHOR_NAME" GIT_COMMITTER_EMAIL="$AUTHOR_EMAIL" \
		GIT_AUTHOR_DATE="$DATE" GIT_COMMITTER_DATE="$DATE" \
		git -C "$REPO" -c core.abbrev=12 -c diff.renames=true -c format.signature= \
		-c commit.gpgsign=false -c core.autocrlf=false "$@"
}

checkpatch_all() {
	local src=$1 p rc=0
	# No Signed-off-by on purpose: whoever submits the series signs it off. The throwaway
	# repository has no upstream history, so checkpatch cannot look commit ids up.
	for p in "$OUT"/0*.patch; do
		[[ $(basename "$p") == 0000-cover-letter.patch ]] && continue
		if perl "$src/scripts/checkpatch.pl" --no-tree --strict --ignore MISSING_SIGN_OFF \
			--ignore UNKNOWN_COMMIT_ID --ignore FILE_PATH_CHANGES -q "$p"; then
			echo "upstream: checkpatch --strict ok: $(basename "$p")"
		else
			echo "upstream: checkpatch --strict FAILED: $(basename "$p")"
			rc=1
		fi
	done
	return "$rc"
}

# Replaces format-patch's two placeholders with the template's subject (its first line)
# and blurb (the rest).
fill_cover_letter() {
	local cover=$1 tmpl=$TEMPLATES/cover-letter.txt
	[[ -f $tmpl ]] || die "$tmpl missing"
	python3 - "$cover" "$tmpl" <<'PY'
import sys
cover, tmpl = sys.argv[1:]
text = open(cover).read()
lines = open(tmpl).read().split('\n', 1)
subject, blurb = lines[0].strip(), lines[1].strip('\n')
for marker in ('*** SUBJECT HERE ***', '*** BLURB HERE ***'):
    if text.count(marker) != 1:
        sys.exit('upstream: %s: expected one "%s"' % (cover, marker))
text = text.replace('*** SUBJECT HERE ***', subject).replace('*** BLURB HERE ***', blurb)
open(cover, 'w').write(text)
PY
}

# fill_cost COVER: the MEASURED-COST line becomes the counted figures of RESULTS.md's
# bench-count block (tests/vm-bench/report.py writes it): the change against stock of
# instructions per ip_vs_in_hook() call, per kernel and traffic class.
fill_cost() {
	local cover=$1
	python3 - "$cover" "$TOP/RESULTS.md" <<'PY' || die "cannot fill the cover letter's cost from RESULTS.md"
import re, sys
cover, results = sys.argv[1:]
doc = open(results).read()
b, e = doc.find("<!-- bench-count:begin -->"), doc.find("<!-- bench-count:end -->")
if b < 0 or e < b:
    sys.exit("upstream: RESULTS.md has no bench-count block")
out, head = [], None
for line in doc[b:e].splitlines():
    m = re.match(r"Run: (\S+)\. Kernel (\S+), instructions per hook call, (\d+) rounds", line)
    if m:
        head = m.groups()
        out.append(f"  {head[1]} ({head[0]}, medians of {head[2]} rounds):")
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if head and len(cells) == 7 and cells[1] == "`ip_vs_in_hook`":
        out.append(f"    {cells[0]}: stock {cells[2].split()[0]}, knob 0 {cells[4]}, knob 1 {cells[6]}")
if not out:
    sys.exit("upstream: the bench-count block of RESULTS.md has no ip_vs_in_hook rows")
lines = ["Instructions per ip_vs_in_hook() call under QEMU TCG with -icount (one",
         "guest nanosecond per executed instruction): Debian's stock modules",
         "against the out-of-tree build of the same decision (ipvs-drain) at",
         "knob 0 and knob 1; this series' own build has not been measured.  A",
         "change is the median of the round-by-round ratios to stock, with their",
         "range.  Established: short HTTP connections; fresh: SYNs on new ports;",
         "reused: SYNs that hit a CLOSE entry of a weight-0 server, rescheduled",
         "by conn_reuse_mode=1 (stock, knob 0) or by the knob at",
         "conn_reuse_mode=0 (knob 1):"] + out
text = open(cover).read()
marker = re.search(r"^MEASURED-COST:.*$", text, re.M)
if not marker:
    sys.exit("upstream: the cover letter has no MEASURED-COST line")
open(cover, "w").write(text[:marker.start()] + "\n".join(lines) + text[marker.end():])
PY
}

generate() {
	command -v git >/dev/null || die "git is needed: apt-get install git"
	command -v patch >/dev/null || die "patch is needed: apt-get install patch"
	local src
	src=$(pristine)
	rm -rf "$REPO"
	mkdir -p "$REPO"
	cp -a "$src/." "$REPO/"
	rm -f "$REPO/.complete"
	git_repo init -q -b base
	git_repo add -A
	git_repo commit -q -m "Linux $SERIES (Debian linux-source-$SERIES $DEB_VERSION), the files the series touches"
	git_repo tag pristine
	"$TOP/kmod/compat.sh" "$REPO" "$REPO/net/netfilter/ipvs" >"$WORK/compat-$SERIES.h" ||
		die "kmod/compat.sh cannot probe the pristine $SERIES tree"
	local step msg
	for step in 1 2 3; do
		msg=$(compgen -G "$TEMPLATES/$step-*.msg") || die "no commit message $TEMPLATES/$step-*.msg"
		python3 "$SELF_DIR/series.py" "$step" "$REPO" "$WORK/compat-$SERIES.h"
		git_repo add -A
		git_repo diff --cached --quiet && die "step $step changed nothing"
		git_repo commit -q -F "$msg"
	done
	rm -f "$OUT"/0*.patch
	git_repo format-patch -q --cover-letter --zero-commit --no-signature \
		--subject-prefix="$PREFIX" --to=lvs-devel@vger.kernel.org \
		--cc=netfilter-devel@vger.kernel.org -o "$OUT" pristine..HEAD >/dev/null
	fill_cover_letter "$OUT/0000-cover-letter.patch"
	fill_cost "$OUT/0000-cover-letter.patch"
	local p
	for p in "$OUT"/0*.patch; do
		echo "upstream: wrote ${p#"$TOP"/}"
	done
	checkpatch_all "$src"
}

main() {
	case ${1:-generate} in
	generate) generate ;;
	pristine) pristine ;;
	checkpatch) checkpatch_all "$(pristine)" ;;
	-h | --help) usage ;;
	*) usage >&2; exit 2 ;;
	esac
}

main "$@"
