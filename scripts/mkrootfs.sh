#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the root filesystem image of the rootfs guest, an ext4 image made
# by mke2fs from a staging directory (no loop mount, no root needed):
# static busybox with its applets linked at build time (the root may be
# mounted read-only), INIT as /sbin/init, the static PROGRAMs in /bin, and
# for each supported kernel the vsock and virtio-rng modules
# (scripts/kmods.sh) that the init loads; the initramfs
# (scripts/mkinitrd.sh) has already loaded what mounting the root needs.
# usage: mkrootfs.sh INIT OUTPUT.ext4 [PROGRAM...]

set -e
init=${1:?usage: mkrootfs.sh INIT OUTPUT [PROGRAM...]}
out=${2:?usage: mkrootfs.sh INIT OUTPUT [PROGRAM...]}
shift 2
srcdir=$(cd "$(dirname "$0")/.." && pwd)
stage=$out.d

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" \
	 "$stage/sys" "$stage/tmp" "$stage/run" "$stage/etc"
cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
cp "$init" "$stage/sbin/init"
chmod 755 "$stage/sbin/init"
for prog in "$@"; do
	cp "$prog" "$stage/bin/"
done
"$srcdir/scripts/kmods.sh" "$stage" vmw_vsock_virtio_transport virtio-rng

# Twice the contents and 16 MiB for the journal and the guest's own files.
size_kb=$(( $(du -sk "$stage" | cut -f1) * 2 + 16384 ))
rm -f "$out.tmp"
truncate -s "${size_kb}k" "$out.tmp"
mke2fs -q -t ext4 -L pt-rootfs -E root_owner=0:0 -d "$stage" \
	"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
