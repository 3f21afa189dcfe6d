#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the block test's guest (blk_test.c): load virtio-mmio and
# virtio-blk, wait for /dev/vda, then run the commands the test types on
# the console, one a line.  Each names a TAG, unique in the run, and is
# answered by one line "BLK TAG ...":
#	info TAG DEV		size=SECTORS ro=0|1 serial=S cache=C
#	sum TAG DEV [direct]	MD5 of the whole device (direct: not
#				through the page cache)
#	write TAG DEV SEEK N	rc=RC MD5: N 4 KiB blocks of a pattern
#				named TAG at block SEEK, fsync'd
#	rowrite TAG DEV		rc=RC: try to write a sector
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

load-modules || echo "BLK-FAIL no modules for $(uname -r)"
i=0
while [ ! -b /dev/vda ]; do
	if [ $i -ge 300 ]; then
		echo "BLK-FAIL no /dev/vda"
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
echo "BLK-READY $(cat /proc/cmdline)"

pattern() {
	yes "pagetrack-blk-$1" | head -c $(($2 * 4096))
}

while read -r cmd tag dev a b; do
	case "$cmd" in
	info)
		q=/sys/block/$dev
		echo "BLK $tag size=$(cat $q/size) ro=$(cat $q/ro)" \
		     "serial=$(cat $q/serial 2>/dev/null)" \
		     "cache=$(tr ' ' _ <$q/queue/write_cache)"
		;;
	sum)
		flag=
		[ "$a" = direct ] && flag=iflag=direct
		s=$(dd if=/dev/$dev bs=64k $flag 2>/dev/null | md5sum)
		echo "BLK $tag ${s%% *}"
		;;
	write)
		pattern "$tag" "$b" | dd of=/dev/$dev bs=4096 seek="$a" \
			conv=fsync,notrunc 2>/dev/null
		rc=$?
		s=$(pattern "$tag" "$b" | md5sum)
		echo "BLK $tag rc=$rc ${s%% *}"
		;;
	rowrite)
		dd if=/dev/zero of=/dev/$dev bs=512 count=1 conv=fsync \
			2>/dev/null
		echo "BLK $tag rc=$?"
		;;
	esac
done
echo "BLK-FAIL console closed"
sleep 1
poweroff -f
