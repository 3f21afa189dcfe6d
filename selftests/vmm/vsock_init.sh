#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of vsock_test's guest: load the vsock modules (Debian builds them
# as modules), then serve on vsock: an echo server on port 5001, an echo
# client to the host's port 5002, reconnecting whenever its stream ends
# (so that after a restore a new one follows the reset one), and fnd, the
# function server, on port 5000 (it prints FND-LISTENING).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

load-modules
# The driver's directory holds a link per device it bound.
set -- /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio*
if [ -e "$1" ]; then
	echo "VSOCK-GUEST virtio"
else
	echo "VSOCK-GUEST none"
fi
vsock_echo listen 5001 &
(while :; do vsock_echo connect 5002; sleep 0.2; done) &
exec fnd
