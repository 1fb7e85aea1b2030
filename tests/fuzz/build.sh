#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the libFuzzer targets (ASan + UBSan + libFuzzer, clang++) into build/fuzz/ from the userspace sources.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/fuzz"
fuzz="$top/tests/fuzz"
src="$top/userspace/src"

# Debian 12 ships the libFuzzer and sanitizer runtimes in libclang-rt-14-dev.
probe() {
	echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long) { return 0; }' |
		"$CXX" -x c++ -fsanitize=address,undefined,fuzzer -o "$out/.probe" - 2>/dev/null
}
mkdir -p "$out/obj"
CXX=${CXX:-$(command -v clang++-14 || command -v clang++ || true)}
if [ -z "$CXX" ] || ! probe; then
	echo "build.sh: installing clang and its libFuzzer runtime" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y clang libclang-rt-14-dev >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y clang libclang-rt-14-dev >&2; }
	CXX=$(command -v clang++-14 || command -v clang++)
	probe || { echo "build.sh: $CXX cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi
rm -f "$out/.probe"

nl_cflags=$(pkg-config --cflags libnl-3.0 libnl-genl-3.0 popt)
nl_libs=$(pkg-config --libs libnl-3.0 libnl-genl-3.0 popt)
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
# shellcheck disable=SC2206
cxxflags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -Wall -Wextra $san
	-I"$top/userspace/include" -I"$fuzz" -I"$top/tests/unit" $nl_cflags)

# Rebuilds $1 only when it is missing or older than any of the files after it, or the flags changed.
stale() {
	local target=$1 dep
	shift
	[ -e "$target" ] || return 0
	for dep in "$@"; do
		[ "$dep" -nt "$target" ] && return 0
	done
	return 1
}
flags_file="$out/obj/flags"
if [ "$(cat "$flags_file" 2>/dev/null)" != "$CXX ${cxxflags[*]}" ]; then
	rm -f "$out"/obj/*.o
	echo "$CXX ${cxxflags[*]}" >"$flags_file"
fi
headers=("$top"/userspace/include/ipvs_drain/*.h "$fuzz"/*.h "$top/tests/unit/replies.h")

# Only the pure parts of the tool: nothing here opens a socket or reads /proc.
lib_sources=(args procfs model codec options format rules)
pids=()
objs=()
for s in "${lib_sources[@]}" replies; do
	c="$src/$s.cpp"
	[ "$s" = replies ] && c="$top/tests/unit/replies.cpp" # the test-only reply encoders, for the seeds
	o="$out/obj/$s.o"
	[ "$s" = replies ] || objs+=("$o")
	if stale "$o" "$c" "${headers[@]}" "$flags_file"; then
		"$CXX" "${cxxflags[@]}" -fsanitize=fuzzer-no-link -c "$c" -o "$o" &
		pids+=($!)
	fi
done
for p in "${pids[@]}"; do wait "$p"; done

targets=(procfs codec options rules)
pids=()
for t in "${targets[@]}"; do
	if stale "$out/fuzz_$t" "$fuzz/fuzz_$t.cpp" "${objs[@]}" "${headers[@]}"; then
		# shellcheck disable=SC2086
		"$CXX" "${cxxflags[@]}" -fsanitize=fuzzer "$fuzz/fuzz_$t.cpp" "${objs[@]}" $nl_libs -o "$out/fuzz_$t" &
		pids+=($!)
	fi
done
# The seed generator runs as an ordinary program (no libFuzzer main); see tests/fuzz/README.md.
if stale "$out/gen_codec_corpus" "$fuzz/gen_codec_corpus.cpp" "${objs[@]}" "$out/obj/replies.o" "${headers[@]}"; then
	# shellcheck disable=SC2086
	"$CXX" "${cxxflags[@]}" "$fuzz/gen_codec_corpus.cpp" "${objs[@]}" "$out/obj/replies.o" -fsanitize=fuzzer-no-link $nl_libs \
		-o "$out/gen_codec_corpus" &
	pids+=($!)
fi
for p in "${pids[@]}"; do wait "$p"; done
echo "build.sh: fuzz_procfs fuzz_codec fuzz_options fuzz_rules up to date in $out"
