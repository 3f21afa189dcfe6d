#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the rootfs guest's initramfs: load what mounting the root needs
# (virtio-mmio, virtio-blk, ext4: modules in Debian's kernels), wait for
# the root device, mount it and switch to its /sbin/init.  Honours the
# kernel's root=/dev/..., rootfstype=, ro/rw, rootdelay= and init=; the
# devices are found through ACPI or virtio_mmio.device=, by the kernel.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

die() {
	echo "INITRD-FAIL $*"
	sleep 1
	reboot -f
}

root=/dev/vda
fstype=ext4
mode=ro
wait_s=30
init=/sbin/init
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	root=/dev/*) root=${arg#root=} ;;
	root=*) die "root=${arg#root=}: only root=/dev/... is supported" ;;
	rootfstype=*) fstype=${arg#rootfstype=} ;;
	rootdelay=*) wait_s=${arg#rootdelay=} ;;
	init=*) init=${arg#init=} ;;
	ro|rw) mode=$arg ;;
	esac
done

load-modules || die "no modules for kernel $(uname -r)"
# The virtio device IDs virtio_mmio found (2 block, 4 entropy, 19 vsock).
echo "INITRD-VIRTIO $(cat /sys/bus/virtio/devices/*/device 2>/dev/null |
	sort | tr '\n' ' ')"
# Devices probe asynchronously; devtmpfs makes the node when it is ready.
i=0
while [ ! -b "$root" ]; do
	[ $i -lt $((wait_s * 10)) ] || die "no $root after ${wait_s}s"
	sleep 0.1
	i=$((i + 1))
done
mount -t "$fstype" -o "$mode" "$root" /newroot ||
	die "cannot mount $root ($fstype, $mode)"
[ -x "/newroot$init" ] || die "no $init on $root"
echo "INITRD-ROOT $root $fstype $mode"
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot "$init"
