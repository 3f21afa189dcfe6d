#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print the kernel build tree pagetrack.ko is built against: $KDIR if set,
# else the running kernel's if installed, else the first supported Debian
# linux-headers-*-amd64 tree scripts/kdirs.sh lists.  The test VM boots the kernel release of this tree
# (its include/config/kernel.release), so the module always matches the
# kernel that loads it.  No ABI number is ever written down.

if [ -n "$KDIR" ]; then
	echo "$KDIR"
	exit 0
fi

running=/lib/modules/$(uname -r)/build
if [ -d "$running" ]; then
	echo "$running"
	exit 0
fi

best=$("$(dirname "$0")/kdirs.sh" | head -n1)
if [ -z "$best" ]; then
	echo "kdir: no supported kernel headers found; run 'make deps' as root" >&2
	exit 1
fi
echo "$best"
