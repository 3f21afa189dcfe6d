#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# Guest /init of the SendCtrlAltDel test: busybox init, as a distribution
# runs it.  Its start turns the kernel's Ctrl-Alt-Del into SIGINT to init
# (reboot(CAD_OFF)), and SIGINT runs the ::ctrlaltdel: action, which
# prints a marker and powers off.  The sysinit script says when the
# keyboard (atkbd on the i8042) is bound, and only then that it is ready.
/bin/busybox --install -s /bin
mkdir -p /etc
cat >/etc/rc <<'RC'
mount -t proc proc /proc
mount -t sysfs sysfs /sys
i=0
while ! grep -q 'AT .*keyboard' /proc/bus/input/devices 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ]; then
		echo "GUEST-NO-KEYBOARD"
		dmesg | grep -i 'i8042\|serio\|atkbd'
		poweroff -f
	fi
	sleep 0.1
done
echo "GUEST-KBD $(grep -o 'AT .*keyboard' /proc/bus/input/devices)"
RC
cat >/etc/inittab <<'TAB'
::sysinit:/bin/sh /etc/rc
::ctrlaltdel:/bin/sh -c 'echo GUEST-CTRLALTDEL; poweroff -f'
::respawn:/bin/sh -c 'sleep 3600'
TAB
exec /bin/busybox init
