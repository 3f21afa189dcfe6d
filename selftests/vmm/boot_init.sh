#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of the vmm boot test: report what the guest sees, reboot,
# or with guest.poweroff on the command line power off at once.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "GUEST-BOOTED cpus=$(grep -c ^processor /proc/cpuinfo) mem_kb=$(sed -n 's/MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "GUEST-CMDLINE $(cat /proc/cmdline)"
case " $(cat /proc/cmdline) " in
*" guest.poweroff "*)
	echo GUEST-POWEROFF
	poweroff -f
	;;
esac
echo GUEST-WAITING
read -t 120 line && echo "GUEST-READ $line"
echo "GUEST-T1 $(cut -d' ' -f1 /proc/uptime)"
sleep 1
echo "GUEST-T2 $(cut -d' ' -f1 /proc/uptime)"
reboot -f
