#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of the snapshot tests: run the memory workload.
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "GUEST-BOOTED"
# MEMCHECK_* settings come from the kernel command line, read here rather
# than trusted to reach init's environment.
for arg in $(cat /proc/cmdline); do
	case $arg in
	MEMCHECK_*=*) export "$arg" ;;
	esac
done
exec /bin/memcheck
