#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test VM for 'make demo': the module, then the story it
# exists for - record a function's working set, restore from it.
set -e
echo "== kernel $(uname -r), KVM module: $(lsmod | awk '/^kvm_(amd|intel)/ {print $1}')"
echo "== pagetrack: $(modinfo -F description build/pagetrack.ko) $(modinfo -F version build/pagetrack.ko)"
ls -l /dev/pagetrack /dev/kvm
echo "== KVM smoke guest: real-mode payload, exits and dirty log"
build/selftests/kvm/smoke_test
cat <<'STORY'
== Working-set layers
   A Linux guest runs fn, a function that reads a 64 MiB dataset and
   writes 8 MiB, served on vsock by fnd and invoked from the host through
   the VMM's uds_path.  vmm boots it from its root drive and takes a
   Full snapshot; a new vmm loads the snapshot with track_working_set,
   fn is invoked once, the VM is paused, and PUT /snapshot/layers
   writes what the invocation touched (KVM's accessed bits through /dev/pagetrack, sampled every 20 ms for
   the order of first access, and its dirty log) as a layer file.  Then
   the snapshot, on a disk with 1 ms of read latency, is restored five
   ways and invoked again: lazily with a cold and a warm page cache, with
   the pagetrack layers (File backend, prefetch; Uffd backend,
   uffd-handler), and with the layers FaaSnap would take from mincore().
STORY
REPS=1 bench/restore_bench.sh
