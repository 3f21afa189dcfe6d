#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of bench-restore and the demo: the function, fed by the console.
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "GUEST-BOOTED"
stty -echo
exec /bin/fn
