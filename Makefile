# SPDX-License-Identifier: GPL-2.0
# Top-level entry: the ipvs-drain tool, the patched IPVS module set, the tests.

KVER ?= $(shell uname -r)
KSRC ?=
KDIR ?=
KERNELS ?= 6.1 6.1:oldest 6.12+deb12 6.12+deb13 5.10 7
BUILD_TYPE ?= RelWithDebInfo
KNOB ?= 0
PREFIX ?= /usr/local
DESTDIR ?=

KMOD_FLAGS = --kver $(KVER) $(if $(KSRC),--ksrc $(KSRC)) $(if $(KDIR),--kdir $(KDIR))

.PHONY: all userspace kmod kmod-stock deps unit fuzz check check-doc check-fresh check-matrix check-debug lab bench style clean help
.PHONY: install uninstall dkms-source deb check-deb
.PHONY: upstream check-upstream

all: userspace

help:
	@echo "make                      build build/bin/ipvs-drain"
	@echo "make deps                 (root) install the Debian packages the builds and tests need"
	@echo "make kmod KVER=ABI        build the patched IPVS module set into build/ABI/ (installs nothing;"
	@echo "                          KDIR=headers dir, KSRC=kernel tree to override what it finds)"
	@echo "make kmod-stock KVER=ABI  the same sources without our patches, into build/ABI-stock/"
	@echo "make lab                  QEMU lab: the bug on stock IPVS, its absence with the variant"
	@echo "make check [KERNELS=6.1]  every test (what CI runs); installs what it needs"
	@echo "make check-fresh          (root) make lab, make check and the node build in brand-new"
	@echo "                          Debian roots made with mmdebstrap (not in CI)"
	@echo "make unit                 userspace unit tests only (ASan+UBSan)"
	@echo "make check-doc            the man page and bash completion against the tool's --help"
	@echo "make fuzz                 10 minutes of libFuzzer per parser (not in CI)"
	@echo "make check-matrix         build and boot every Debian ABI of 5.10, 6.1, 6.12 and 7.x,"
	@echo "                          print built/refused/booted per ABI (not in CI)"
	@echo "make check-debug          scenarios + stress on a KASAN/lockdep/kmemleak 6.1 kernel (not in CI)"
	@echo "make bench [BENCH_ROUNDS=5] [BENCH_KERNELS=\"6.1 7\"]  counted bench figures (not in CI)"
	@echo "make style                checkpatch on the patch series"
	@echo "make upstream             regenerate patches/upstream/, the series in upstream form for Linux 7.3"
	@echo "make check-upstream       (root) build 7.3's IPVS from that series, boot it, run the extended"
	@echo "                          ipvs.sh selftest: stock fails the new case, the series passes (not in CI)"
	@echo "make install [KNOB=1]     (root) the variant for KVER, ipvs-drain, modprobe.d snippet"
	@echo "make uninstall            (root) remove every file make install wrote"
	@echo "make dkms-source          (root) the DKMS source tree in /usr/src/ipvs-drain-VERSION"
	@echo "make deb                  build/deb/: the packages ipvs-drain (the tool, its man page"
	@echo "                          and completion) and ipvs-drain-dkms (the module sources for DKMS),"
	@echo "                          checked with lintian; installs its own build dependencies"
	@echo "make check-deb            (root) make deb, then the packages in a brand-new Debian root:"
	@echo "                          apt install, DKMS refusal and build for 6.1, modinfo, purge (in make check)"

userspace:
	cmake -S userspace -B build/userspace -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	cmake --build build/userspace -j2
	mkdir -p build/bin
	cp build/userspace/ipvs-drain build/bin/ipvs-drain

kmod:
	kmod/build.sh $(KMOD_FLAGS)

kmod-stock:
	kmod/build.sh $(KMOD_FLAGS) --stock

# Builds only what is missing or older than its sources, so that an install
# from a read-only checkout (the QEMU tests) copies what is there.
INSTALL_FLAGS = --kver $(KVER) --knob $(KNOB) --prefix $(PREFIX) $(if $(DESTDIR),--destdir $(DESTDIR))

install: build/$(KVER)/ip_vs.ko build/bin/ipvs-drain
	kmod/install.sh install $(INSTALL_FLAGS)

build/$(KVER)/ip_vs.ko: Kbuild VERSION kmod/build.sh kmod/kernel.sh $(wildcard patches/hooks/*.patch)
	$(MAKE) kmod KVER=$(KVER)

build/bin/ipvs-drain: $(shell find userspace -type f 2>/dev/null)
	$(MAKE) userspace

uninstall:
	kmod/install.sh uninstall $(if $(DESTDIR),--destdir $(DESTDIR))

dkms-source:
	kmod/install.sh dkms-source $(if $(DESTDIR),--destdir $(DESTDIR))

# The Debian packages, from this checkout, into build/deb/ (debian/build.sh --help).
deb:
	tests/install-deps.sh --deb
	debian/build.sh

# make deb and lintian, then the packages from apt install to purge in a fresh root (tests/deb/).
check-deb:
	tests/deb/run.sh --build

deps:
	tests/install-deps.sh

unit:
	tests/run-unit.sh

fuzz:
	tests/fuzz/run.sh --seconds 600

# userspace/man/ipvs-drain.8 and userspace/bash-completion/ipvs-drain against the tool's --help.
check-doc: userspace
	tests/doc/check.sh

check:
	tests/check.sh --kernels "$(KERNELS)"

# The cold path: the README's commands in brand-new Debian roots (FRESH_KERNELS for make check).
FRESH_KERNELS ?= 6.1
check-fresh:
	tests/fresh/run.sh --kernels "$(FRESH_KERNELS)"

# Every Debian ABI of the supported series: built and booted, or refused with the reason.
MATRIX_SERIES ?= 5.10 6.1 6.12 7
check-matrix:
	tests/install-deps.sh
	tests/matrix/run.sh --series "$(MATRIX_SERIES)"

check-debug:
	tests/debug/run.sh

lab:
	tests/check.sh --lab --kernels "$(firstword $(KERNELS))"

# The performance figures of RESULTS.md: counted work under QEMU -icount, plus one wall-clock
# latency figure (tests/vm-bench/run.sh --help).
BENCH_ROUNDS ?= 5
BENCH_KERNELS ?= 6.1 7
bench: userspace
	tests/install-deps.sh --bench
	tests/vm-bench/run.sh --rounds $(BENCH_ROUNDS) --kernels "$(BENCH_KERNELS)"

style:
	tests/style.sh

# The upstream form of the series (patches/upstream/README.md); not part of make check.
upstream:
	patches/upstream/make.sh

check-upstream:
	tests/upstream/check.sh

clean:
	rm -rf build
