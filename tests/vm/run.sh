#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a Debian kernel under QEMU (TCG) on the host's own root and run one command in it.
set -euo pipefail

readonly SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_ROOT="$(cd "$SELF_DIR/../.." && pwd)"
# Downloads and derived files; IPVS_DRAIN_CACHE moves them out of the checkout.
readonly CACHE_DIR="$(realpath -m "${IPVS_DRAIN_CACHE:-$REPO_ROOT/.cache}")"
readonly INITRAMFS_CACHE="$CACHE_DIR/initramfs"
# The modules PID 1 needs before it can reach the host root and the command's console.
readonly BOOT_MODULES=(virtio_pci 9pnet_virtio 9p virtio_console)
readonly EXIT_USAGE=2 EXIT_TIMEOUT=124 EXIT_HARNESS=125
readonly CONSOLE_TAIL_LINES=60
# x86-64-v2 on a plain model: "max" adds features (AVX-512, LA57, ...) that TCG emulates
# slowly and that made the guest two to three times slower to boot.
readonly CPU_MODEL="${IPVS_VM_CPU:-qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt}"

usage() {
	cat <<'EOF'
Usage: tests/vm/run.sh --abi ABI [options] -- CMD [ARGS...]

Boot the Debian kernel ABI (e.g. 6.1.0-56-amd64, see kmod/kernel.sh resolve) under
qemu-system-x86_64 with TCG, with the host's / shared read-only over 9p, and run CMD as
root in it. CMD's output streams to stdout; the kernel console goes to OUT/console.log.
Exits with CMD's status, 124 on timeout, 125 if the guest died without a status (panic,
oops, crash, setup failure), 2 on bad usage.

Options:
  --abi ABI        kernel to boot (fetched into .cache/kernels/ on first use)
  --image DIR      boot a locally built kernel instead (tests/debug/build.sh): DIR has
                   boot/vmlinuz-REL, vmlinux and lib/modules/REL; --abi defaults to REL
  --timeout SEC    hard limit for the whole boot (default 600)
  --mem MB         guest RAM (default 2048)
  --ko DIR         install DIR/*.ko as /lib/modules/ABI/updates/ipvs-drain/ in the guest
  --out DIR        host directory mounted read-write at /out (default: a fresh
                   directory under build/vm/); holds console.log, output.log, exit-status
  --smp N          guest CPUs (default 2)
  --append ARGS    extra kernel command line
  --icount         count instead of time: single-threaded TCG with
                   -icount shift=0,sleep=on, so that while the vCPU runs, one guest
                   nanosecond is one executed instruction whatever the host's load
                   (implies --smp 1; the guest runs several times slower, so give
                   it a longer --timeout)
  -h, --help       show this text

In the guest: the host's / is read-only (so the repo is at its host path, but anything
under the host's /tmp, /run or /var/tmp is hidden by the guest's tmpfs there);
/lib/modules/ABI is a tmpfs with the image's modules (plus --ko ones in updates/);
the working directory is the caller's when the guest can see it, else /;
IPVS_VM_OUT=/out, IPVS_VM_ABI=ABI, HOME=/tmp; stdin is /dev/null.

Environment: IPVS_VM_CPU overrides the QEMU CPU model.
EOF
}

die_usage() {
	echo "run.sh: $*" >&2
	exit "$EXIT_USAGE"
}

die() {
	echo "run.sh: $*" >&2
	exit "$EXIT_HARNESS"
}

note() {
	echo "run.sh: $*" >&2
}

need_cmd() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 && return 0
	note "installing $pkg for $cmd"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
		die "cannot install $pkg (needed for $cmd)"
}

# The dynamic busybox cannot run in an initramfs without libc, so only the static build
# will do.
static_busybox() {
	if ! dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
		note "installing busybox-static"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 ||
			die "cannot install busybox-static"
	fi
	local bb
	bb=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n 1)
	[[ -x $bb ]] || die "busybox-static is installed but its busybox binary is missing"
	echo "$bb"
}

# Prints module paths (relative to the image's modules dir) in load order, skipping those
# built into the kernel (modprobe prints "builtin NAME" for them, from modules.builtin).
boot_module_paths() {
	local image=$1 abi=$2 mod line
	local moddir="$image/lib/modules/$abi/"
	for mod in "${BOOT_MODULES[@]}"; do
		modprobe -d "$image" -S "$abi" --show-depends "$mod" ||
			die "modprobe cannot resolve $mod in $image"
	done | while read -r line; do
		[[ $line == insmod\ * ]] || continue
		line=${line#insmod }
		line=${line%% *}
		echo "${line#"$moddir"}"
	done | awk '!seen[$0]++'
}

# Busybox insmod reads neither .ko.xz nor .ko.zst, so the initramfs holds them unpacked.
copy_module() {
	local src=$1 dst=$2
	case $src in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) need_cmd xz xz-utils && xz -dc "$src" >"$dst" ;;
	*.ko.zst) need_cmd zstd zstd && zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "unknown module format: $src" ;;
	esac
}

# Builds (once per ABI and per version of init and busybox) the initramfs; prints its path.
build_initramfs() {
	local image=$1 abi=$2 busybox key path
	busybox=$(static_busybox)
	local -a mods
	mapfile -t mods < <(boot_module_paths "$image" "$abi")
	key=$({
		sha256sum "$SELF_DIR/init" "$busybox"
		printf '%s\n' "${mods[@]}"
	} | sha256sum | cut -c1-16)
	path="$INITRAMFS_CACHE/$abi-$key.cpio"
	if [[ -s $path ]]; then
		echo "$path"
		return 0
	fi

	mkdir -p "$INITRAMFS_CACHE"
	local stage
	stage=$(mktemp -d "$INITRAMFS_CACHE/.stage.XXXXXX")
	mkdir -p "$stage/bin" "$stage/modules"
	cp "$busybox" "$stage/bin/busybox"
	install -m 0755 "$SELF_DIR/init" "$stage/init"
	local rel name i=0
	# Empty when every boot module is built in (7.x builds in virtio_pci and virtio_console).
	: >"$stage/modules/order"
	for rel in "${mods[@]}"; do
		name=$(printf '%02d-%s' "$i" "$(basename "${rel%.ko*}").ko")
		copy_module "$image/lib/modules/$abi/$rel" "$stage/modules/$name"
		echo "$name" >>"$stage/modules/order"
		i=$((i + 1))
	done
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) \
		>"$stage.cpio" || die "cannot build the initramfs"
	mv "$stage.cpio" "$path"
	rm -rf "$stage"
	# Older builds for this ABI are dead once init or busybox changed. QEMU reads the
	# initrd at start-up, so an hour is ample for any boot still using one.
	find "$INITRAMFS_CACHE" -maxdepth 1 -name "$abi-*.cpio" ! -name "${path##*/}" -mmin +60 -delete 2>/dev/null || true
	echo "$path"
}

# Stages /lib/modules/ABI for the guest under OUT/.vm/modules. `kernel` links into the
# unpacked image (same path in the guest, over 9p) and depmod runs here, natively, on the
# very tree the guest will see, instead of scanning 4000 modules over 9p under TCG.
stage_modules() {
	local image=$1 abi=$2 ko_dir=$3 vm_dir=$4
	# Canonical, because the guest resolves the link against its own mounts (a path through
	# /tmp, say, would land in the guest's tmpfs).
	local src
	src=$(readlink -f "$image/lib/modules/$abi")
	local root="$vm_dir/modroot"
	local dst="$root/lib/modules/$abi"
	mkdir -p "$dst"
	ln -s "$src/kernel" "$dst/kernel"
	local f
	for f in "$src"/modules.*; do
		cp "$f" "$dst/"
	done
	# Kept so that a guest can build against the headers exactly as on the host.
	if [[ -L /lib/modules/$abi/build ]]; then
		cp -P "/lib/modules/$abi/build" "$dst/build"
	fi
	if [[ -n $ko_dir ]]; then
		local -a kos=("$ko_dir"/*.ko)
		[[ -e ${kos[0]} ]] || die "--ko $ko_dir holds no *.ko files"
		mkdir -p "$dst/updates/ipvs-drain"
		cp "${kos[@]}" "$dst/updates/ipvs-drain/"
		depmod -b "$root" "$abi" || die "depmod for the staged modules failed"
		# Ours must win over the image's own ip_vs, or the test would silently run stock.
		if [[ -e $ko_dir/ip_vs.ko ]]; then
			local resolved
			resolved=$(modprobe -d "$root" -S "$abi" --show-depends ip_vs | tail -n 1)
			[[ $resolved == *"/updates/ipvs-drain/ip_vs.ko"* ]] ||
				die "modprobe would not pick our ip_vs.ko: $resolved"
		fi
	fi
	mkdir -p "$vm_dir/modules"
	mv "$dst" "$vm_dir/modules/"
	rm -rf "$root"
}

# Prints the kernel to hand to QEMU. TCG needs seconds to run the xz decompressor of a
# bzImage, so where the kernel supports PVH entry, its ELF vmlinux is unpacked once on the
# host and booted directly. A KASAN kernel boots its bzImage: the PVH entry of the
# make check-debug kernel resets the guest before its first console line.
boot_kernel() {
	local image=$1 abi=$2
	local bzimage="$image/boot/vmlinuz-$abi" vmlinux="$image/vmlinux"
	if grep -qx 'CONFIG_KASAN=y' "$image/boot/config-$abi" 2>/dev/null; then
		echo "$bzimage"
		return 0
	fi
	if [[ -s $vmlinux ]]; then
		echo "$vmlinux"
		return 0
	fi
	if ! grep -qx 'CONFIG_PVH=y' "$image/boot/config-$abi" 2>/dev/null; then
		echo "$bzimage"
		return 0
	fi
	local tmp="$vmlinux.tmp.$$" entry magic tool pkg off
	# magic of the compressed payload, decompressor, package that provides it
	local -a formats=('\xfd7zXZ\x00 xz xz-utils' '\x28\xb5\x2f\xfd zstd zstd' '\x1f\x8b\x08 gzip gzip')
	for entry in "${formats[@]}"; do
		read -r magic tool pkg <<<"$entry"
		LC_ALL=C grep -qUaP "$magic" "$bzimage" || continue
		need_cmd "$tool" "$pkg"
		while read -r off; do
			# The payload is followed by trailer bytes that decompressors call garbage.
			tail -c +"$((off + 1))" "$bzimage" | "$tool" -dcq >"$tmp" 2>/dev/null || true
			if [[ $(head -c 4 "$tmp" 2>/dev/null) == $'\x7fELF' ]]; then
				mv "$tmp" "$vmlinux"
				echo "$vmlinux"
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "$magic" "$bzimage" | cut -d: -f1 | head -n 3)
	done
	rm -f "$tmp"
	note "cannot unpack vmlinux from $bzimage; booting the bzImage (slower)"
	echo "$bzimage"
}

print_console_tail() {
	local log=$1
	echo "run.sh: last $CONSOLE_TAIL_LINES lines of $log:" >&2
	tail -n "$CONSOLE_TAIL_LINES" "$log" 2>/dev/null | sed 's/^/  | /' >&2 || true
}

main() {
	local abi="" image_dir="" timeout=600 mem=2048 ko_dir="" out_dir="" smp="" append="" icount=0
	while (($#)); do
		case $1 in
		--abi | --image | --timeout | --mem | --ko | --out | --smp | --append)
			(($# >= 2)) || die_usage "$1 needs a value"
			;;&
		--abi) abi=$2 ;;
		--image) image_dir=$2 ;;
		--timeout) timeout=$2 ;;
		--mem) mem=$2 ;;
		--ko) ko_dir=$2 ;;
		--out) out_dir=$2 ;;
		--smp) smp=$2 ;;
		--append) append=$2 ;;
		--icount)
			icount=1
			shift
			continue
			;;
		-h | --help)
			usage
			exit 0
			;;
		--)
			shift
			break
			;;
		*) die_usage "unknown argument '$1' (see --help)" ;;
		esac
		shift 2
	done
	if [[ -n $image_dir ]]; then
		[[ -d $image_dir/lib/modules ]] || die_usage "--image $image_dir has no lib/modules (see tests/debug/build.sh)"
		image_dir=$(cd "$image_dir" && pwd)
		local -a rels=("$image_dir"/lib/modules/*/)
		((${#rels[@]} == 1)) || die_usage "--image $image_dir must hold exactly one lib/modules/RELEASE"
		rels[0]=${rels[0]%/}
		[[ -z $abi || $abi == "${rels[0]##*/}" ]] || die_usage "--abi $abi does not match --image ${rels[0]##*/}"
		abi=${rels[0]##*/}
	fi
	[[ -n $abi ]] || die_usage "--abi is required (see --help)"
	[[ $abi =~ ^[0-9]+\.[0-9]+[.0-9a-z+~-]*-amd64$ ]] || die_usage "bad --abi '$abi' (want e.g. 6.1.0-56-amd64)"
	[[ $timeout =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout wants a positive number of seconds, not '$timeout'"
	[[ $mem =~ ^[1-9][0-9]*$ ]] || die_usage "--mem wants megabytes, not '$mem'"
	[[ -z $smp || $smp =~ ^[1-9][0-9]*$ ]] || die_usage "--smp wants a CPU count, not '$smp'"
	(($#)) || die_usage "no command given after -- (see --help)"
	# icount counts one instruction stream: QEMU refuses it with multi-threaded TCG, and
	# with one vCPU the guest clock is that one CPU's instruction count.
	[[ -z $smp || $smp == 1 || icount -eq 0 ]] || die_usage "--icount runs one vCPU, not --smp $smp"
	[[ -n $smp ]] || smp=$((icount ? 1 : 2))
	if [[ -n $ko_dir ]]; then
		[[ -d $ko_dir ]] || die_usage "--ko $ko_dir is not a directory"
		ko_dir=$(cd "$ko_dir" && pwd)
	fi

	need_cmd qemu-system-x86_64 qemu-system-x86
	need_cmd modprobe kmod
	need_cmd depmod kmod

	local image=$image_dir
	[[ -n $image ]] || image=$("$REPO_ROOT/kmod/kernel.sh" fetch "$abi") || die "cannot fetch kernel $abi"
	local kernel
	kernel=$(boot_kernel "$image" "$abi")
	local initramfs
	initramfs=$(build_initramfs "$image" "$abi")

	if [[ -z $out_dir ]]; then
		mkdir -p "$REPO_ROOT/build/vm"
		out_dir=$(mktemp -d "$REPO_ROOT/build/vm/$(date +%Y%m%d-%H%M%S)-XXXXXX")
	fi
	mkdir -p "$out_dir"
	out_dir=$(cd "$out_dir" && pwd)
	local vm_dir="$out_dir/.vm"
	rm -rf "$vm_dir"
	rm -f "$out_dir/exit-status" "$out_dir/console.log" "$out_dir/output.log"
	mkdir -p "$vm_dir"

	stage_modules "$image" "$abi" "$ko_dir" "$vm_dir"
	echo "ipvs-vm" >"$vm_dir/hostname"
	# The guest puts tmpfs over /tmp, /run and /var/tmp; a checkout or working
	# directory below them is bound back in, read-only.
	printf '%s\n' "$REPO_ROOT" "$PWD" "$CACHE_DIR" >"$vm_dir/expose"
	{
		echo '# Generated by run.sh: the command to run in the guest, from the caller'"'"'s directory.'
		printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
		printf 'exec'
		printf ' %q' "$@"
		echo
	} >"$vm_dir/cmd.sh"

	# oops=panic: an oops in the module under test must fail the run, not leave a
	# half-dead guest for the timeout to find.
	local cmdline="console=ttyS0,115200 panic=-1 oops=panic rdinit=/init $append"
	local -a accel=(-accel tcg,thread=multi)
	# sleep=on: an idle vCPU lets guest time pass as host time does. With sleep=off the
	# clock jumps to the next timer at every idle moment, and a few reads over 9p were
	# seen to carry it past IPVS's 10 s CLOSE timeout. What runs is counted either way.
	((icount == 0)) || accel=(-accel tcg,thread=single -icount shift=0,sleep=on)
	local -a qemu=(
		qemu-system-x86_64
		-nodefaults -no-user-config -nographic -no-reboot
		-machine q35 "${accel[@]}" -cpu "$CPU_MODEL" -smp "$smp" -m "$mem"
		-kernel "$kernel" -initrd "$initramfs" -append "$cmdline"
		-serial "file:$out_dir/console.log"
		-device virtio-serial-pci
		-chardev "file,id=cmdout,path=/dev/stdout,append=on"
		-device virtconsole,chardev=cmdout
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$out_dir,mount_tag=ipvsout,security_model=none,multidevs=remap"
		-device virtio-rng-pci
	)

	local mode=""
	((icount == 0)) || mode=", icount"
	note "booting $abi (timeout ${timeout}s$mode), out: $out_dir"
	local start=$SECONDS status attempt
	local -a statuses
	for attempt in 1 2; do
		# The pipe keeps a copy of the command's output next to the console log.
		timeout -k 10 "$timeout" "${qemu[@]}" </dev/null | tee "$out_dir/output.log" &&
			statuses=("${PIPESTATUS[@]}") || statuses=("${PIPESTATUS[@]}")
		status=${statuses[0]}
		# A kernel that dies while booting, before init started the command, ran nothing
		# of the test: TCG's multi-threaded mode has been seen to trip a 7.x kernel's
		# early text patching (an int3 oops in the idle loop, no module loaded). Such a
		# boot is tried once more; anything that happens once the command ran never is.
		if ((attempt == 1 && status == 0)) && [[ ! -s $out_dir/exit-status ]] &&
			! grep -q 'ipvs-vm init .*: running the command' "$out_dir/console.log"; then
			mv "$out_dir/console.log" "$out_dir/console-boot1.log"
			note "the guest died while booting, before the command ran (console-boot1.log): booting once more"
			continue
		fi
		break
	done
	local elapsed=$((SECONDS - start))

	if ((status == 124 || status == 137)); then
		note "TIMEOUT: the guest did not finish within ${timeout}s"
		print_console_tail "$out_dir/console.log"
		exit "$EXIT_TIMEOUT"
	fi
	if ((status != 0)); then
		note "qemu failed with status $status"
		print_console_tail "$out_dir/console.log"
		exit "$EXIT_HARNESS"
	fi
	if [[ ! -s $out_dir/exit-status ]]; then
		note "the guest stopped without an exit status (panic, oops or setup failure)"
		print_console_tail "$out_dir/console.log"
		exit "$EXIT_HARNESS"
	fi
	local cmd_status
	cmd_status=$(<"$out_dir/exit-status")
	[[ $cmd_status =~ ^[0-9]+$ ]] || die "garbled exit status '$cmd_status' in $out_dir/exit-status"
	note "command exited with status $cmd_status after ${elapsed}s"
	exit "$cmd_status"
}

main "$@"
