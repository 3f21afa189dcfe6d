#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of the snapshot tests: run the memory workload.
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "GUEST-BOOTED"
exec /bin/memcheck
