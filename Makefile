# SPDX-License-Identifier: GPL-2.0
#
# pagetrack top-level Makefile; 'make help' lists the targets.
#
# The kernel module is built by Kbuild (the Kbuild file beside this one);
# everything else here is userspace.

ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

# Evaluated lazily so that 'make deps' works before any headers exist.
KDIR = $(shell scripts/kdir.sh)
KSRC_TAR ?= /usr/src/linux-source-6.1.tar.xz

SHELL := /bin/bash
B := build

# Quiet like Kbuild; V=1 shows the commands.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @echo
endif
KSRC := $(B)/ksrc
CC ?= gcc

CFLAGS_COMMON := -std=gnu11 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
		 -Iinclude/uapi -Ilib
CFLAGS ?= -O2
SANITIZE := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all

LIB_SRCS := $(wildcard lib/*.c)
LIB_HDRS := $(wildcard lib/*.h) include/uapi/linux/pagetrack.h

# --- tests ------------------------------------------------------------------

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/*_test.c))

SELFTEST_SRCS := $(wildcard selftests/*/*_test.c)
SELFTESTS := $(patsubst selftests/%.c,$(B)/selftests/%,$(SELFTEST_SRCS))
SELFTEST_LIB := $(wildcard selftests/lib/*.c) $(wildcard selftests/lib/*.S) \
		$(wildcard selftests/lib/*.h)
# The harness is borrowed code: its own warnings are not ours to fix.
SELFTEST_CFLAGS := -isystem $(KSRC)/tools/testing/selftests -Iselftests/lib -Ivmm

KERNEL_SRCS := $(wildcard kmod/*.c kmod/*.h) include/uapi/linux/pagetrack.h

.PHONY: all module tools vmm tests deps check demo clean help checkpatch \
	bench bench-tracker bench-snapshot bench-restore bench-clones dkms-install \
	stress-vm stress-restore stress-boot trace-restore

all: module tools vmm

help:
	@echo "make            build the module and the tools"
	@echo "make deps       install the Debian packages needed (as root)"
	@echo "make check      deps, build, unit tests, checkpatch, VM tests"
	@echo "make demo       in the test VM: the module, then a function's working set recorded and restored five ways"
	@echo "make bench      benchmarks in the test VM: bench-tracker, bench-snapshot, bench-restore, bench-clones"
	@echo "make tests      build unit tests and selftests only"
	@echo "make stress-restore  restore the function guest N times per backend, File, layers, Uffd and QEMU's -incoming as control (N=100); kill 20 creates; 3 and 4 GiB snapshots"
	@echo "make stress-boot  boot the ticker guest N times in this VMM and in QEMU, interleaved (N=50, VCPUS=2, KREL: the test VM's kernel)"
	@echo "make trace-restore  N restores (N=100, VCPUS=2, BACKENDS=\"File layers Uffd\"), KVM events traced; failures' traces in build/trace-restore/"
	@echo "make stress-vm  boot the test VM K times per QEMU with the whole VM suite (K=5 QEMUS=\"stable backports\")"
	@echo "make fuzz       libFuzzer on every parser, FUZZ_TIME s each (60); fuzz-smoke: 10 s each"
	@echo "make fuzz-kmod  in the test VM: the ioctl fuzzer, FUZZ_KMOD_CALLS calls (100000)"
	@echo "make fuzz-api   in the test VM: the API fuzzer, API_FUZZ_REQUESTS requests (100000)"
	@echo "make clean      remove build outputs"
	@echo "variables: KDIR=<kernel build tree>  (default: scripts/kdir.sh)"
	@echo "           VMTEST_QEMU=stable|backports  which QEMU make deps installs for the test VM"

deps:
	@scripts/deps.sh

# Kbuild writes its objects, and generated sources such as pagetrack.mod.c,
# next to the sources it is given: give it a tree of links under build/ so
# that kmod/ holds only what is ours.
# A tree named on the command line (make module KDIR=...) builds beside
# the default one, so both kernels' modules can be at hand.
ifeq ($(origin KDIR),command line)
KBUILD_DIR = $(B)/kbuild-$(KREL)
PT_KO = $(B)/$(KREL)/pagetrack.ko
else
KBUILD_DIR := $(B)/kbuild
PT_KO := $(B)/pagetrack.ko
endif

module:
	@mkdir -p $(KBUILD_DIR)/kmod
	@ln -sfn $(CURDIR)/include $(KBUILD_DIR)/include
	@ln -sf $(CURDIR)/Kbuild $(KBUILD_DIR)/Kbuild
	@find $(KBUILD_DIR)/kmod -maxdepth 1 -type l -delete
	@for f in kmod/Kbuild kmod/*.c kmod/*.h; do \
		ln -s $(CURDIR)/$$f $(KBUILD_DIR)/$$f; done
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(KBUILD_DIR) modules
	@mkdir -p $(dir $(PT_KO))
	@ln -sf $(CURDIR)/$(KBUILD_DIR)/kmod/pagetrack.ko $(PT_KO)

NL_CFLAGS = $(shell pkg-config --cflags libnl-genl-3.0)
NL_LIBS = $(shell pkg-config --libs libnl-genl-3.0)
PTCTL_SRCS := $(wildcard tools/ptctl/*.c)

tools: $(B)/ptctl $(B)/snapmerge $(B)/snapinfo $(B)/uffd-handler \
       $(B)/fn-invoke

# The host client of the guests' function server on vsock (fnd).
$(B)/fn-invoke: tools/fn-invoke.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ tools/fn-invoke.c $(LIB_SRCS)

SNAPMERGE_SRCS := tools/snapmerge.c tools/diff-chain.c

$(B)/snapmerge: $(SNAPMERGE_SRCS) tools/diff-chain.h vmm/vmstate.c vmm/vmstate.h \
		$(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Ivmm -o $@ $(SNAPMERGE_SRCS) \
		vmm/vmstate.c $(LIB_SRCS)

$(B)/snapinfo: tools/snapinfo.c vmm/vmstate.c vmm/vmstate.h $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Ivmm -o $@ tools/snapinfo.c \
		vmm/vmstate.c $(LIB_SRCS)

UFFD_HANDLER_SRCS := tools/uffd-handler.c tools/uffd-regions.c

$(B)/uffd-handler: $(UFFD_HANDLER_SRCS) tools/uffd-regions.h vmm/vmstate.c \
		   vmm/vmstate.h $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Ivmm -o $@ $(UFFD_HANDLER_SRCS) \
		vmm/vmstate.c $(LIB_SRCS) -ljansson -lpthread

# kvmtool's layout: the core flat, legacy devices in hw/, virtio in virtio/.
VMM_SRCS := $(wildcard vmm/*.c vmm/hw/*.c vmm/virtio/*.c)
VMM_HDRS := $(wildcard vmm/*.h vmm/hw/*.h vmm/virtio/*.h)

vmm: $(B)/vmm

$(B)/vmm: $(VMM_SRCS) $(VMM_HDRS) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Ivmm -o $@ $(VMM_SRCS) $(LIB_SRCS) \
		-lpthread -ljansson -lcap

$(B)/ptctl: $(PTCTL_SRCS) tools/ptctl/ptctl.h $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) $(NL_CFLAGS) -o $@ \
		$(PTCTL_SRCS) $(LIB_SRCS) $(NL_LIBS) -lcap

GUEST_IMAGES := $(B)/guest/boot.cpio.gz $(B)/guest/ticker.cpio.gz \
		$(B)/guest/memcheck.cpio.gz $(B)/guest/fn.cpio.gz \
		$(B)/guest/rootfs.ext4 $(B)/guest/rootfs-initrd.cpio.gz \
		$(B)/guest/vsock.cpio.gz $(B)/guest/net.cpio.gz \
		$(B)/guest/blk.cpio.gz $(B)/guest/ctrlaltdel.cpio.gz

# Each installed kernel as an uncompressed ELF vmlinux, for the tests of
# the VMM's ELF boot (the test VM runs one of them).
GUEST_VMLINUX := $(patsubst /boot/vmlinuz-%,$(B)/guest/vmlinux-%,\
		   $(wildcard /boot/vmlinuz-*))

$(B)/guest/vmlinux-%: /boot/vmlinuz-% scripts/extract-vmlinux.sh
	@mkdir -p $(dir $@)
	$(quiet) "  VMLINUX $@"
	$(Q)scripts/extract-vmlinux.sh $< $@

# Helper programs the selftests run: built as tools are, no sanitizers.
SELFTEST_HELPERS := $(B)/selftests/vmm/fc_uffd_handler

tests: $(UNIT_TESTS) $(SELFTESTS) $(SELFTEST_HELPERS) $(GUEST_IMAGES) \
       $(GUEST_VMLINUX)

# A page-fault handler written to Firecracker's Uffd protocol alone.
$(B)/selftests/vmm/fc_uffd_handler: selftests/vmm/fc_uffd_handler.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< -ljansson

$(B)/guest/%.cpio.gz: selftests/vmm/%_init.sh scripts/mkguest.sh
	@mkdir -p $(dir $@)
	$(quiet) "  GUEST   $@"
	$(Q)scripts/mkguest.sh $< $@ $(filter $(B)/guest/bin/%,$^)

# Programs that run inside test guests: static, no sanitizers.
$(B)/guest/bin/%: selftests/vmm/guest/%.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

$(B)/guest/bin/fn $(B)/guest/bin/fnd: selftests/vmm/guest/fn.h
$(B)/guest/memcheck.cpio.gz: $(B)/guest/bin/memcheck
$(B)/guest/fn.cpio.gz: $(B)/guest/bin/fn

# The rootfs guest: an ext4 root on virtio-blk, whose init serves fn on
# vsock, and the initramfs that mounts it (Documentation/testing.rst).
GUEST_KMODS := scripts/kmods.sh scripts/kdirs.sh selftests/vmm/guest/load_modules.sh

$(B)/guest/rootfs.ext4: selftests/vmm/rootfs_init.sh scripts/mkrootfs.sh \
			$(GUEST_KMODS) $(B)/guest/bin/fnd
	@mkdir -p $(dir $@)
	$(quiet) "  ROOTFS  $@"
	$(Q)scripts/mkrootfs.sh $< $@ $(filter $(B)/guest/bin/%,$^)

$(B)/guest/rootfs-initrd.cpio.gz: selftests/vmm/rootfs_initrd.sh \
				  scripts/mkinitrd.sh $(GUEST_KMODS)
	@mkdir -p $(dir $@)
	$(quiet) "  INITRD  $@"
	$(Q)scripts/mkinitrd.sh $< $@

# vsock_test's guest: an initramfs with the vsock modules, fnd and an
# echo program, no disk (Documentation/testing.rst).
$(B)/guest/vsock.cpio.gz: GUEST_KMODS_LIST := virtio_mmio vmw_vsock_virtio_transport
$(B)/guest/vsock.cpio.gz: selftests/vmm/vsock_init.sh scripts/mkguest.sh \
			  $(GUEST_KMODS) $(B)/guest/bin/fnd \
			  $(B)/guest/bin/vsock_echo
	@mkdir -p $(dir $@)
	$(quiet) "  GUEST   $@"
	$(Q)GUEST_KMODS="$(GUEST_KMODS_LIST)" scripts/mkguest.sh \
		selftests/vmm/vsock_init.sh $@ $(filter $(B)/guest/bin/%,$^)

# net_test's guest: busybox and the virtio-net modules, no disk.
$(B)/guest/net.cpio.gz: selftests/vmm/net_init.sh scripts/mkguest.sh \
			$(GUEST_KMODS)
	@mkdir -p $(dir $@)
	$(quiet) "  GUEST   $@"
	$(Q)GUEST_KMODS="virtio_mmio virtio_net" scripts/mkguest.sh $< $@

# The block test's guest: busybox and the virtio-blk modules, no root.
$(B)/guest/blk.cpio.gz: selftests/vmm/blk_init.sh scripts/mkinitrd.sh \
			$(GUEST_KMODS)
	@mkdir -p $(dir $@)
	$(quiet) "  INITRD  $@"
	$(Q)scripts/mkinitrd.sh $< $@

$(KSRC)/.stamp: scripts/extract-ksrc.sh
	scripts/extract-ksrc.sh $(KSRC_TAR) $(KSRC)

$(B)/unit/%: tests/unit/%.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -o $@ $< $(LIB_SRCS) -lcmocka

# fnd's test runs the static guest binary and checks it against fn.h.
$(B)/unit/fnd_test: CFLAGS_COMMON += -Iselftests/vmm/guest
$(B)/unit/fnd_test: selftests/vmm/guest/fn.h $(B)/guest/bin/fnd

# fn-invoke's client against a stand-in muxer and the real fnd.
$(B)/unit/vsock_call_test: CFLAGS_COMMON += -Iselftests/vmm/guest
$(B)/unit/vsock_call_test: selftests/vmm/guest/fn.h $(B)/guest/bin/fnd

# vsock's packet protocol against a driver the test plays: the device and
# the real virtqueues, the rest of the VMM stubbed in the test.
$(B)/unit/vsock_proto_test: tests/unit/vsock_proto_test.c vmm/virtio/vsock.c \
			    vmm/virtio/virtq.c $(VMM_HDRS) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Ivmm -o $@ $< vmm/virtio/vsock.c \
		vmm/virtio/virtq.c $(LIB_SRCS) -lcmocka -lpthread

# The vmstate format is the VMM's, not lib's: its test builds vmstate.c too.
$(B)/unit/vmstate_test: tests/unit/vmstate_test.c vmm/vmstate.c vmm/vmstate.h \
			$(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Ivmm -o $@ $< vmm/vmstate.c \
		$(LIB_SRCS) -lcmocka

# The API socket's HTTP parser is the VMM's.
$(B)/unit/http_test: tests/unit/http_test.c vmm/http.c vmm/http.h vmm/logger.c \
		     vmm/metrics.c \
		     $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Ivmm -o $@ $< vmm/http.c \
		vmm/logger.c vmm/metrics.c $(LIB_SRCS) -lcmocka -ljansson -lpthread

# What a Full of a restored VM reads: memscan.c is the VMM's.
$(B)/unit/memscan_test: tests/unit/memscan_test.c vmm/memscan.c vmm/memscan.h \
			$(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Ivmm -o $@ $< vmm/memscan.c \
		$(LIB_SRCS) -lcmocka

# snapmerge_test runs build/snapmerge on chains it writes with vmstate.c.
$(B)/unit/snapmerge_test: tests/unit/snapmerge_test.c vmm/vmstate.c \
			  vmm/vmstate.h $(B)/snapmerge $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Ivmm -o $@ $< vmm/vmstate.c \
		$(LIB_SRCS) -lcmocka

# virtio-blk's requests on fake chains: blk.c with the real virtq.c.
$(B)/unit/virtio_blk_test: tests/unit/virtio_blk_test.c vmm/virtio/blk.c \
			   vmm/virtio/virtq.c vmm/virtio/limiter.c vmm/vmstate.c \
			   $(VMM_HDRS) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Ivmm -o $@ $< \
		vmm/virtio/virtq.c vmm/virtio/limiter.c vmm/vmstate.c \
		$(LIB_SRCS) -lcmocka -lpthread

# uffd-handler's handshake parser is a tool's.
$(B)/unit/uffd_regions_test: tests/unit/uffd_regions_test.c tools/uffd-regions.c \
			     tools/uffd-regions.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Itools -o $@ $< \
		tools/uffd-regions.c -lcmocka -ljansson

# The metrics registry is the VMM's: its test builds metrics.c too.
$(B)/unit/metrics_test: tests/unit/metrics_test.c vmm/metrics.c vmm/metrics.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANITIZE) -Ivmm -o $@ $< vmm/metrics.c \
		-lcmocka -ljansson -lpthread

# A test foo_test.c may come with a guest payload foo_guest.S.
.SECONDEXPANSION:
$(B)/selftests/%: selftests/%.c $$(wildcard selftests/$$(subst _test,_guest,$$*).S) \
		  $(SELFTEST_LIB) $(LIB_SRCS) $(LIB_HDRS) $(KSRC)/.stamp
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SELFTEST_CFLAGS) $(SANITIZE) -o $@ \
		$(filter %.c %.S,$^) -lpthread $(SELFTEST_LDLIBS)

# The API fuzzer parses the answers it gets, and its own bodies.
$(B)/selftests/vmm/api_fuzz_test: SELFTEST_LDLIBS := -ljansson

BENCH_LIB := selftests/lib/kvm_util.c selftests/lib/mem_util.c \
	     selftests/lib/sys_util.c selftests/lib/reader_guest.S \
	     selftests/lib/test_util.c $(LIB_SRCS)

TRACKER_BENCH_SRCS := bench/tracker_bench.c bench/tracker_guest.S \
		      bench/damon.c bench/pmscan.c

$(B)/bench/tracker_bench: $(TRACKER_BENCH_SRCS) bench/damon.h bench/pmscan.h \
			  $(BENCH_LIB) $(SELFTEST_LIB) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) -Iselftests/lib $(CFLAGS) -o $@ \
		$(TRACKER_BENCH_SRCS) $(BENCH_LIB) -lpthread

$(B)/bench/mincore_layers: bench/mincore_layers.c vmm/vmstate.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Ivmm -o $@ bench/mincore_layers.c \
		vmm/vmstate.c $(LIB_SRCS)

$(B)/bench/page_census: bench/page_census.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $<

bench: bench-tracker bench-snapshot bench-restore bench-clones

# bench_plot NAME[,SCRIPT[,TITLE]]: the "DAT " lines of
# build/bench/NAME.txt plotted by bench/SCRIPT.gp (default NAME) into
# build/bench/NAME.png, under TITLE where the script takes one.
define bench_plot
sed -n 's/^DAT //p' $(B)/bench/$(1).txt >$(B)/bench/$(1).dat; \
if command -v gnuplot >/dev/null; then \
	gnuplot -e "data='$(B)/bench/$(1).dat'; out='$(B)/bench/$(1).png'" \
		$(if $(3),-e "what='$(3)'") \
		bench/$(or $(2),$(1)).gp && echo "plot: $(B)/bench/$(1).png"; \
else echo "gnuplot not installed (make deps): no plot"; fi
endef

bench-snapshot: vmm $(GUEST_IMAGES) $(B)/bench/page_census
	@mkdir -p $(B)/bench
	set -o pipefail; tools/vmtest --timeout 3000 -- \
		bench/snapshot_bench.sh $(BENCH_ARGS) | tee $(B)/bench/snapshot.txt
	@$(call bench_plot,snapshot)

# make bench-restore REPS=5 CASES="cold layers" LAT_US="100 5000", say;
# CMP_VMM=build/vmm-old CASES="warm layers cmp" measures the layers case of
# another build of the VMM (inside the tree) beside this one's ("cmphuge"
# its huge case; CMP_HANDLER=build/uffd-handler-old and "cmpuffd" the uffd
# case served by another build of the handler).  LARGE=1:
# a 1 GiB guest whose function reads 256 MiB, in a test VM of 8 GiB
# (above the 3 GiB default that testing.rst explains, which QEMU 7.2's
# nested paging needed; it has run under QEMU 10); its table and plot
# are build/bench/restore-large.{txt,png}.
RESTORE_ENV = $(if $(REPS),REPS=$(REPS)) $(if $(CASES),CASES="$(CASES)") \
	      $(if $(LAT_US),LAT_US="$(LAT_US)") \
	      $(if $(CMP_VMM),CMP_VMM="$(CMP_VMM)") \
	      $(if $(CMP_HANDLER),CMP_HANDLER="$(CMP_HANDLER)") \
	      $(if $(filter 1,$(LARGE)),LARGE=1)
RESTORE_OUT = restore$(if $(filter 1,$(LARGE)),-large)
RESTORE_TITLE = $(if $(filter 1,$(LARGE)),fn: read 256 MiB of a 1 GiB guest$(comma) write 8 MiB)
comma := ,

bench-restore: module vmm tools $(B)/bench/mincore_layers \
	       $(B)/guest/rootfs.ext4 $(B)/guest/rootfs-initrd.cpio.gz
	@mkdir -p $(B)/bench
	set -o pipefail; tools/vmtest --insmod $(PT_KO) \
		$(if $(filter 1,$(LARGE)),--mem 8192 --timeout 7200,--timeout 3000) -- \
		env $(RESTORE_ENV) bench/restore_bench.sh | \
		tee $(B)/bench/$(RESTORE_OUT).txt
	@$(call bench_plot,$(RESTORE_OUT),restore,$(RESTORE_TITLE))

# make stress-restore N=100: N restores per backend, each in a new VMM,
# the function invoked and its checksum checked; make check runs N=5.
# Also 20 killed creates, and the 256 MiB, 3 and 4 GiB snapshots of
# snapshot_size_test (make check: 1 and 4 GiB).
STRESS_N = $(or $(N),100)

stress-restore: module vmm tools tests
	tools/vmtest --insmod $(PT_KO) \
		--timeout $$((3300 + 80 * $(STRESS_N))) -- \
		env RESTORE_STRESS_N=$(STRESS_N) CRASH_CREATE_TRIALS=20 \
		RESTORE_STRESS_BACKENDS="$(or $(BACKENDS),File layers huge Uffd QEMU)" \
		SNAPSHOT_SIZES="256 3072 4096" VM_TEST_TIMEOUT=$$((2400 + 80 * $(STRESS_N))) \
		selftests/run_vm_tests.sh $(B)/selftests/vmm/restore_stress_test \
		$(B)/selftests/vmm/crash_create_test \
		$(B)/selftests/vmm/snapshot_size_test

# make stress-boot N=50: fresh boots only, no snapshot, no pagetrack, this
# VMM's and QEMU's interleaved (scripts/boot-stress.sh): the control that
# shows whose the guests' triple faults are.  KREL picks the test VM's
# kernel; each boot's outcome lands in build/boot-stress/results.txt.
BOOT_STRESS_OUT = $(CURDIR)/$(B)/boot-stress

stress-boot: vmm tests
	rm -rf $(BOOT_STRESS_OUT) && mkdir -p $(BOOT_STRESS_OUT)
	tools/vmtest $(if $(KREL),--kernel-release $(KREL)) --out $(BOOT_STRESS_OUT) \
		--timeout $$((600 + 90 * $(or $(N),50))) -- \
		env BOOT_STRESS_N=$(or $(N),50) BOOT_STRESS_VCPUS=$(or $(VCPUS),2) \
		BOOT_STRESS_SECONDS=$$((90 * $(or $(N),50))) \
		BOOT_STRESS_DIR=$(BOOT_STRESS_OUT) scripts/boot-stress.sh

# make trace-restore N=100 VCPUS=2 BACKENDS=File: restores only, each
# traced (KVM events, stopped by a shutdown exit); a failed restore's
# trace and console go to build/trace-restore/, with what
# scripts/trace-syms.sh needs to name the guest's RIPs.
TRACE_DIR = $(CURDIR)/$(B)/trace-restore

trace-restore: module vmm tools tests
	mkdir -p $(TRACE_DIR)
	tools/vmtest --insmod $(PT_KO) --out $(TRACE_DIR) \
		--timeout $$((600 + 15 * $(STRESS_N))) -- \
		env RESTORE_STRESS_N=$(STRESS_N) \
		RESTORE_STRESS_VCPUS=$(or $(VCPUS),2) \
		RESTORE_STRESS_BACKENDS="$(or $(BACKENDS),File layers Uffd)" \
		RESTORE_TRACE_DIR=$(TRACE_DIR) \
		VM_TEST_TIMEOUT=$$((500 + 15 * $(STRESS_N))) \
		selftests/run_vm_tests.sh $(B)/selftests/vmm/restore_stress_test

# make bench-clones KS="1 2 4" BACKENDS="cold layers", say.
CLONES_ENV = $(if $(KS),KS="$(KS)") $(if $(BACKENDS),BACKENDS="$(BACKENDS)") \
	     $(if $(LAT_US),LAT_US="$(LAT_US)")

bench-clones: module vmm tools $(B)/bench/mincore_layers \
	      $(B)/guest/rootfs.ext4 $(B)/guest/rootfs-initrd.cpio.gz
	@mkdir -p $(B)/bench
	set -o pipefail; tools/vmtest --insmod $(PT_KO) --timeout 3000 -- \
		env $(CLONES_ENV) bench/clones_bench.sh | \
		tee $(B)/bench/clones.txt
	@$(call bench_plot,clones)

bench-tracker: module $(B)/bench/tracker_bench
	set -o pipefail; tools/vmtest --insmod $(PT_KO) -- \
		$(B)/bench/tracker_bench $(BENCH_ARGS) | tee $(B)/bench/tracker.txt

# DKMS wants its source tree laid out as the module's build expects it.
PT_VERSION = $(shell sed -n 's/^\#define PAGETRACK_VERSION "\(.*\)"/\1/p' kmod/pagetrack.h)
DKMS_SRC = /usr/src/pagetrack-$(PT_VERSION)
KREL = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	 $(KDIR)/include/generated/utsrelease.h)

# The node's owner and mode come from a udev rule, as /dev/kvm's do;
# udevadm, where there is one, applies it to a node that already exists.
UDEV_RULES := kmod/60-pagetrack.rules
UDEV_RULES_DIR ?= /etc/udev/rules.d

dkms-install:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)/kmod $(DKMS_SRC)/include/uapi/linux
	cp Kbuild $(DKMS_SRC)/
	cp kmod/Kbuild kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	cp include/uapi/linux/pagetrack.h $(DKMS_SRC)/include/uapi/linux/
	cp kmod/dkms.conf $(DKMS_SRC)/dkms.conf
	dkms install pagetrack/$(PT_VERSION) -k $(KREL)
	install -D -m 0644 $(UDEV_RULES) $(UDEV_RULES_DIR)/$(notdir $(UDEV_RULES))
	@if ! command -v udevadm >/dev/null; then \
		echo "no udevadm: $(notdir $(UDEV_RULES)) applies once udev runs"; \
	elif ! { udevadm control --reload && \
		 udevadm trigger --subsystem-match=misc --sysname-match=pagetrack; }; then \
		echo "udevadm failed (no udevd?): $(notdir $(UDEV_RULES)) applies once udev runs"; \
	fi

# --- fuzzing (fuzz/, Documentation/testing.rst "Fuzzing") -------------------

FUZZ_CC ?= clang
# struct vs_vcpu holds a struct kvm_xsave, which ends in a flexible array
# in newer uapi headers: GCC takes that silently, clang only when told.
FUZZ_CFLAGS := $(CFLAGS_COMMON) -Ivmm -Itools -Ifuzz -O1 \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	       -fno-omit-frame-pointer -Wno-gnu-variable-sized-type-not-at-end
FUZZ_TARGETS := vmstate layers snapmerge api http uffd_handshake ptctl_range
FUZZ_BINS := $(patsubst %,$(B)/fuzz/%,$(FUZZ_TARGETS))
FUZZ_COMMON := fuzz/fuzz_util.c fuzz/fuzz_util.h fuzz/seeds.h $(LIB_SRCS) \
	       $(LIB_HDRS)
# What each target links beside lib/, and the libraries.
FUZZ_SRCS_vmstate := vmm/vmstate.c
FUZZ_SRCS_layers :=
FUZZ_SRCS_snapmerge := vmm/vmstate.c tools/diff-chain.c
FUZZ_SRCS_api := vmm/api.c vmm/http.c vmm/metrics.c vmm/logger.c
FUZZ_LIBS_api := -ljansson -lpthread
FUZZ_SRCS_http := vmm/http.c vmm/logger.c vmm/metrics.c
FUZZ_LIBS_http := -ljansson -lpthread
FUZZ_SRCS_uffd_handshake := tools/uffd-regions.c
FUZZ_LIBS_uffd_handshake := -ljansson
FUZZ_SRCS_ptctl_range :=
FUZZ_TIME ?= 60
FUZZ_SMOKE_TIME ?= 10

.PHONY: fuzz fuzz-build fuzz-smoke

$(B)/fuzz/%: fuzz/%.c $$(FUZZ_SRCS_$$*) $(FUZZ_COMMON) \
		$(wildcard vmm/*.h vmm/virtio/*.h tools/*.h)
	@mkdir -p $(dir $@)
	$(quiet) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS_$*) \
		fuzz/fuzz_util.c $(LIB_SRCS) $(FUZZ_LIBS_$*)

# The binary seeds, written by the VMM's own writers: built, not stored.
$(B)/fuzz/seeds/.stamp: fuzz/mkseeds.c fuzz/seeds.h fuzz/fuzz_util.c \
			fuzz/fuzz_util.h vmm/vmstate.c vmm/vmstate.h \
			$(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(B)/fuzz
	$(quiet) "  SEEDS   $(B)/fuzz/seeds"
	$(Q)$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Ivmm -Ifuzz -o $(B)/fuzz/mkseeds \
		fuzz/mkseeds.c fuzz/fuzz_util.c vmm/vmstate.c $(LIB_SRCS)
	$(Q)rm -rf $(B)/fuzz/seeds && $(B)/fuzz/mkseeds $(B)/fuzz/seeds
	@touch $@

fuzz-build: $(FUZZ_BINS) $(B)/fuzz/seeds/.stamp

# make fuzz FUZZ_TIME=600 FUZZ_TARGETS=vmstate, for instance.
fuzz: fuzz-build
	@scripts/fuzz.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@scripts/fuzz.sh $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)

# The ioctl fuzzer at length in the test VM (make check runs 10^4 calls):
# make fuzz-kmod FUZZ_KMOD_CALLS=1000000 PT_FUZZ_SEED=N, for instance.
FUZZ_KMOD_CALLS ?= 100000

.PHONY: fuzz-kmod
fuzz-kmod: module tests
	tools/vmtest --insmod $(PT_KO) --timeout 3000 -- \
		env PT_FUZZ_CALLS=$(FUZZ_KMOD_CALLS) VM_TEST_TIMEOUT=2700 \
		$(if $(PT_FUZZ_SEED),PT_FUZZ_SEED=$(PT_FUZZ_SEED)) \
		selftests/run_vm_tests.sh $(B)/selftests/pagetrack/ioctl_fuzz_test

# The API fuzzer at length in the test VM (make check runs 10^4 requests):
# make fuzz-api API_FUZZ_REQUESTS=1000000 API_FUZZ_SEED=N, for instance.
API_FUZZ_REQUESTS ?= 100000

.PHONY: fuzz-api
fuzz-api: vmm tests
	tools/vmtest --timeout 3000 -- \
		env API_FUZZ_REQUESTS=$(API_FUZZ_REQUESTS) VM_TEST_TIMEOUT=2700 \
		$(if $(API_FUZZ_SEED),API_FUZZ_SEED=$(API_FUZZ_SEED)) \
		selftests/run_vm_tests.sh $(B)/selftests/vmm/api_fuzz_test

checkpatch: $(KSRC)/.stamp
	@scripts/checkpatch.sh $(KERNEL_SRCS)

# K attempts per QEMU, each the whole VM suite in one boot, no reruns.
stress-vm: all tests
	K=$(or $(K),5) QEMUS="$(or $(QEMUS),stable backports)" scripts/stress-vm.sh

check:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all tests
	@scripts/check.sh

demo:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory module vmm tools tests $(B)/bench/mincore_layers
	tools/vmtest --insmod $(PT_KO) --timeout 1800 -- scripts/demo.sh

clean:
	rm -rf $(B)

endif
