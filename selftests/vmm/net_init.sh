#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of net_test: eth0 (virtio-net, a module in Debian's kernels)
# at 10.0.2.2/24, an HTTP server with a 1 MiB file the host knows the sum
# of, a TCP echo server on port 7, and a ping of the host at 10.0.2.1.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
load-modules
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
ip link set lo up
ip addr add 10.0.2.2/24 dev eth0
ip link set eth0 up
mkdir -p /www
yes pagetrack | head -c 1048576 >/www/blob
httpd -p 80 -h /www
nc -ll -p 7 -e cat &
echo "NET-UP $(cat /sys/class/net/eth0/address) $(cat /sys/class/net/eth0/mtu)"
echo "NET-PING $(ping -c 3 -W 5 10.0.2.1 | grep 'packets transmitted')"
exec sleep 100000
