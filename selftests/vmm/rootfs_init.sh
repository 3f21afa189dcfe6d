#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /sbin/init of the rootfs guest: load the vsock and virtio-rng modules,
# report what the guest has, and become fnd, the function server on vsock
# (guest/fnd.c), which prints FND-LISTENING once it accepts requests.
# "fnd.dataset_mib=N" on the kernel command line sizes fnd's dataset.
# The initramfs has moved its devtmpfs to /dev; booted without one, the
# guest mounts its own.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

load-modules
root=$(awk '$2 == "/" { r = $1 " " $4 } END { print r }' /proc/mounts)
echo "ROOTFS-BOOTED $(uname -r) root=$root"
# The entropy device is optional; /dev/hwrng exists when one was found.
if [ -c /dev/hwrng ]; then
	echo "ROOTFS-HWRNG $(cat /sys/class/misc/hw_random/rng_current)"
else
	echo "ROOTFS-HWRNG none"
fi
# fnd listens without a transport too; say whether the host can reach it.
vsock=none
for dev in /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio*; do
	[ -e "$dev" ] && vsock=virtio
done
echo "ROOTFS-VSOCK $vsock"
mib=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^fnd\.dataset_mib=//p' | tail -n 1)
# fnd refuses a size that is not a number by exiting, which would end
# PID 1 in a panic: say so here and keep the default.
case $mib in
*[!0-9]*)
	echo "ROOTFS-BAD-DATASET fnd.dataset_mib=$mib: not a number of MiB"
	mib= ;;
esac
exec /bin/fnd ${mib:+--dataset-mib "$mib"}
