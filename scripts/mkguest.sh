#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build a guest initramfs: static busybox, INIT as /init, and any further
# (static) programs in /bin.  With GUEST_KMODS="module ...", those kernel
# modules too, for every supported kernel, with bin/load-modules to load
# them (scripts/kmods.sh).
# usage: [GUEST_KMODS=...] mkguest.sh INIT OUTPUT.cpio.gz [PROGRAM...]

set -e
init=${1:?usage: mkguest.sh INIT OUTPUT}
out=${2:?usage: mkguest.sh INIT OUTPUT}
stage=$out.d
srcdir=$(cd "$(dirname "$0")/.." && pwd)

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp"
cp /bin/busybox "$stage/bin/busybox"
cp "$init" "$stage/init"
shift 2
for prog in "$@"; do
	cp "$prog" "$stage/bin/"
done
chmod 755 "$stage/init"
# shellcheck disable=SC2086 # a list of module names
[ -z "$GUEST_KMODS" ] || "$srcdir/scripts/kmods.sh" "$stage" $GUEST_KMODS
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
