#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of the snapshot tests: run the memory workload.
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "GUEST-BOOTED"
# MEMCHECK_TSCWARP=1 on the kernel command line: also measure, every
# second, how far the CPUs' TSCs disagree (snapshot_size_test).
[ -n "$MEMCHECK_TSCWARP" ] && /bin/tscwarp &
exec /bin/memcheck
