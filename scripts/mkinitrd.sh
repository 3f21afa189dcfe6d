#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of the rootfs guest: static busybox, INIT as /init,
# and for each supported kernel the modules that mounting an ext4 root
# on virtio-blk over virtio-mmio needs (scripts/kmods.sh), since Debian
# builds them all as modules.
# usage: mkinitrd.sh INIT OUTPUT.cpio.gz

set -e
init=${1:?usage: mkinitrd.sh INIT OUTPUT}
out=${2:?usage: mkinitrd.sh INIT OUTPUT}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
stage=$out.d

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" \
	 "$stage/newroot"
cp /bin/busybox "$stage/bin/busybox"
cp "$init" "$stage/init"
chmod 755 "$stage/init"
"$srcdir/scripts/kmods.sh" "$stage" virtio_mmio virtio_blk ext4
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) \
	>"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
