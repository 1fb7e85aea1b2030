#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test: the man page and the bash completion say what the tool's --help says, command for
# command and option for option; groff finds nothing to warn about.
set -eEuo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
# shellcheck source=tests/lib/tap.sh
source tests/lib/tap.sh
tap_bail_on_error

usage() {
	cat <<'EOF'
usage: tests/doc/check.sh [--bin PATH]

Compares three descriptions of ipvs-drain with the tool itself (default binary:
build/userspace/ipvs-drain, from make userspace):
  - the commands of 'ipvs-drain --help' (the lines under "Commands:"), the .SS
    sections under .SH COMMANDS of userspace/man/ipvs-drain.8, and what the
    completion offers after 'ipvs-drain ';
  - per command, the options of 'ipvs-drain COMMAND --help', those of its man
    section, and those the completion offers after 'ipvs-drain COMMAND -';
  - every option --help names is one the parser knows, and its Usage: line
    names no option that its option lines do not explain;
  - groff -man -Tutf8 -ww reports nothing, and .TH names the version in VERSION;
  - the completion's values: --mode, --configs, --netns (/run/netns), --ko
    directories, nothing after a value nobody can guess, the --opt=value form.
The completion is driven twice: sourced alone in a plain bash, and loaded by
Debian's bash-completion from a completions directory, as once installed in
/usr/share/bash-completion/completions/ (skipped when that package is missing).

Conventions the parsers rely on:
  --help:   an option line starts with blanks and '-'; its option column ends at
            the first two blanks; every -x and --name in that column counts.
  man page: an option of a command is a .TP paragraph in the command's .SS
            section whose tag line starts with \- (.BR \-n ", " \-\-numeric).
  -h/--help is every command's; it is left out of the comparisons (the man page
  describes it once, the completion must still offer it).
EOF
}

bin=$top/build/userspace/ipvs-drain
while (($#)); do
	case $1 in
	--bin) bin=${2:?--bin needs a path}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; echo "doc/check: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

readonly MAN=userspace/man/ipvs-drain.8
readonly COMPLETION=userspace/bash-completion/ipvs-drain
readonly BASH_COMPLETION=/usr/share/bash-completion/bash_completion

[[ -x $bin ]] || tap_bail "no $bin: run make userspace (or give --bin PATH)"
[[ -f $MAN ]] || tap_bail "no $MAN"
[[ -f $COMPLETION ]] || tap_bail "no $COMPLETION"
command -v groff >/dev/null || tap_bail "no groff: tests/install-deps.sh installs groff-base"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# ---- the three parsers --------------------------------------------------------------------------

# The commands of 'ipvs-drain --help', one a line.
help_commands() {
	"$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }'
}

# The options in the option column of --help text on stdin; with "usage", those of its Usage:
# lines instead. One a line, sorted, -h and --help left out.
help_options() {
	awk -v want="${1:-options}" '
		function tokens(text,   n, i, parts) {
			n = split(text, parts, /[^A-Za-z0-9-]+/)
			for (i = 1; i <= n; i++)
				if (parts[i] ~ /^-[A-Za-z0-9]$/ || parts[i] ~ /^--[A-Za-z0-9][A-Za-z0-9-]*$/)
					print parts[i]
		}
		/^Usage:/ || (usage && /^       /) { usage = 1; if (want == "usage") tokens($0); next }
		{ usage = 0 }
		want == "options" && /^ +-[-A-Za-z0-9]/ {
			col = $0
			sub(/^ +/, "", col)
			if ((i = index(col, "  ")) > 0)
				col = substr(col, 1, i - 1)
			tokens(col)
		}' | grep -vxE -- '-h|--help' | sort -u || true
}

# man_extract: "cmd NAME" for each .SS of .SH COMMANDS, "opt NAME OPTION" for each option tag.
man_extract() {
	awk '
		function plain(s) {
			gsub(/\\-/, "-", s)
			gsub(/\\f(\[[^]]*\]|\(..|.)/, "", s)
			gsub(/\\&/, "", s)
			gsub(/"/, " ", s)
			return s
		}
		/^\.SH/ { commands = ($0 ~ /^\.SH +"?COMMANDS"? *$/); cmd = ""; next }
		!commands { next }
		/^\.SS/ {
			cmd = plain($0)
			sub(/^\.SS +/, "", cmd)
			sub(/ +$/, "", cmd)
			print "cmd", cmd
			next
		}
		cmd != "" && /^\.TP/ { tag = 1; next }
		tag {
			tag = 0
			t = plain($0)
			sub(/^\.[A-Za-z]+ +/, "", t)
			sub(/^ +/, "", t)
			if (t !~ /^-/)
				next
			n = split(t, parts, /[^A-Za-z0-9-]+/)
			for (i = 1; i <= n; i++)
				if (parts[i] ~ /^-[A-Za-z0-9]$/ || parts[i] ~ /^--[A-Za-z0-9][A-Za-z0-9-]*$/)
					print "opt", cmd, parts[i]
		}' "$MAN"
}

man_commands() { man_extract | awk '$1 == "cmd" { print $2 }'; }
man_options() { man_extract | awk -v c="$1" '$1 == "opt" && $2 == c { print $3 }' | grep -vxE -- '-h|--help' | sort -u || true; }

# The completion driver: complete.sh MODE LINE prints the completion of LINE (the cursor at its
# end), one word a line. MODE plain: the file sourced in a bare bash. MODE bash-completion:
# Debian's bash_completion loaded, and the file found by its loader in a completions directory.
cat >"$scratch/complete.sh" <<'EOF'
set -u
mode=$1 line=$2 file=$3 dir=$4
if [[ $mode == bash-completion ]]; then
	. /usr/share/bash-completion/bash_completion || exit 3
	mkdir -p "$dir/completions"
	cp "$file" "$dir/completions/ipvs-drain"
	export BASH_COMPLETION_USER_DIR=$dir
	if declare -F _comp_load >/dev/null; then _comp_load ipvs-drain; else __load_completion ipvs-drain; fi || exit 3
else
	. "$file" || exit 3
fi
spec=$(complete -p ipvs-drain) || { echo "no 'complete ... ipvs-drain' after loading" >&2; exit 3; }
[[ $spec =~ -F\ ([^ ]+) ]] || { echo "not a function completion: $spec" >&2; exit 3; }
fn=${BASH_REMATCH[1]}
# Split LINE as bash does for COMP_WORDS: at blanks, and '=' a word of its own.
COMP_WORDS=() w=
for ((i = 0; i < ${#line}; i++)); do
	c=${line:i:1}
	if [[ $c == ' ' ]]; then
		[[ -n $w ]] && COMP_WORDS+=("$w")
		w=
	elif [[ $c == = ]]; then
		[[ -n $w ]] && COMP_WORDS+=("$w")
		COMP_WORDS+=("=")
		w=
	else
		w+=$c
	fi
done
if [[ -n $w ]]; then COMP_WORDS+=("$w"); elif [[ $line == *' ' ]]; then COMP_WORDS+=(""); fi
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMPREPLY=()
"$fn" ipvs-drain "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}"
EOF

completes() {
	bash --norc --noprofile "$scratch/complete.sh" "$1" "$2" "$top/$COMPLETION" "$scratch/bc-$1"
}

# same NAME-A A NAME-B B: equal sets (one word a line), else the words only one side has.
same() {
	local d
	d=$(comm -3 <(sed '/^$/d' <<<"$2" | sort -u) <(sed '/^$/d' <<<"$4" | sort -u) |
		awk -v a="$1" -v b="$3" '/^\t/ { sub(/^\t/, ""); print "only in " b ": " $0; next } { print "only in " a ": " $0 }')
	[[ -z $d ]] && return 0
	echo "$d"
	return 1
}

# ---- the checks ---------------------------------------------------------------------------------

# quiet CMD...: CMD exits 0 and prints nothing.
quiet() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	[[ $rc == 0 && -z $out ]] && return 0
	echo "${out:-exit status $rc}"
	return 1
}
# -Tutf8: formatted for a terminal (78 columns), as man shows it; -ww: every warning.
tap_check "man page: groff -man -Tutf8 -ww -z reports nothing" quiet groff -man -Tutf8 -ww -z "$MAN"

version=$(cat VERSION)
th=$(grep -m1 '^\.TH' "$MAN" || true)
rc=0
[[ $th == *"\"ipvs-drain $version\""* ]] || rc=1
tap_result $rc "man page: .TH names ipvs-drain $version (VERSION)" "$th"

commands=$(help_commands)
[[ -n $commands ]] || tap_bail "'$bin --help' lists no commands under 'Commands:'"
tap_check "commands: --help and the man page's COMMANDS sections agree" \
	same "--help" "$commands" "the man page" "$(man_commands)"

modes=(plain)
if [[ -f $BASH_COMPLETION ]]; then
	modes+=(bash-completion)
else
	tap_skip "completion under bash-completion" "$BASH_COMPLETION missing (tests/install-deps.sh installs bash-completion)"
fi

for mode in "${modes[@]}"; do
	got=$(completes "$mode" "ipvs-drain " 2>&1 || true)
	tap_check "commands: --help and the completion ($mode) agree" \
		same "--help" "$commands" "the completion" "$got"
done

for cmd in $commands; do
	if ! "$bin" "$cmd" --help >"$scratch/help" 2>&1 || ! grep -q '^Usage: ' "$scratch/help"; then
		tap_not_ok "$cmd: --help exits 0 with a Usage: line" "$(cat "$scratch/help")"
		continue
	fi
	opts=$(help_options <"$scratch/help")

	tap_check "$cmd: options of --help and of its man section agree" \
		same "--help" "$opts" "the man page" "$(man_options "$cmd")"

	missing=$(comm -23 <(help_options usage <"$scratch/help") <(sort -u <<<"$opts"))
	rc=0
	[[ -z $missing ]] || rc=1
	tap_result $rc "$cmd: every option of its Usage: line is explained in --help" \
		"not on an option line: $missing"

	bad=
	for o in $opts; do
		rc=0
		err=$("$bin" "$cmd" --help "$o" 2>&1 >/dev/null) || rc=$?
		# 0: help printed; 2 with a sentence about its value or place. Never "Unknown option",
		# "Unknown protocol" or "Unknown command".
		if ((rc != 0 && rc != 2)) || [[ $err == *Unknown\ * ]]; then
			bad+="${bad:+$'\n'}$o (exit $rc: $err)"
		fi
	done
	rc=0
	[[ -z $bad ]] || rc=1
	tap_result $rc "$cmd: the parser knows every option --help names" "$bad"

	for mode in "${modes[@]}"; do
		got=$(completes "$mode" "ipvs-drain $cmd -" 2>&1 || true)
		want=$(printf '%s\n' "$opts" -h --help)
		tap_check "$cmd: --help and the completion ($mode) offer the same options" \
			same "--help (and -h, --help)" "$want" "the completion" "$got"
	done
done

# Values, in both modes: "WHAT|LINE|the words LINE must complete to, exactly".
netns=$(find /run/netns -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort || true)
mkdir -p "$scratch/ko/set-a" "$scratch/ko/set-b"
touch "$scratch/ko/set-file"
value_cases=(
	"the four modes|enable --mode |0 1 2 3"
	"the four modes after '='|enable --mode=|0 1 2 3"
	"the next element of a list|bench --configs legacy,|legacy,legacy legacy,variant legacy,upstream legacy,modern"
	"a configuration after '='|bench --configs=u|upstream"
	"the one word of --ports|bench --ports e|ephemeral"
	"nothing after a number|bench --duration |"
	"nothing after a service address|list -t |"
	"options after a flag that shares a value option's name|list --rate -|$(help_options <<<"$("$bin" list --help)" | tr '\n' ' ')-h --help"
	"directories only|swap-module --ko $scratch/ko/s|$scratch/ko/set-a $scratch/ko/set-b"
	"the $(wc -w <<<"$netns") names in /run/netns|status --netns |$(tr '\n' ' ' <<<"$netns")"
)
for mode in "${modes[@]}"; do
	for c in "${value_cases[@]}"; do
		what=${c%%|*} c=${c#*|}
		line="ipvs-drain ${c%%|*}"
		got=$(completes "$mode" "$line" 2>&1 || true)
		tap_check "completion ($mode): '${line/$scratch/TMP}': $what" \
			same "expected" "$(tr ' ' '\n' <<<"${c#*|}" | sed '/^$/d')" "the completion" "$got"
	done
done

tap_end
