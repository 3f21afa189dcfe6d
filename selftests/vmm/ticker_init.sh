#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of the API test: a counter on the console, forever.
/bin/busybox --install -s /bin
mount -t proc proc /proc
n=0
while :; do
	echo "TICK $n"
	n=$((n + 1))
	sleep 0.2
done
