# SPDX-License-Identifier: GPL-2.0
#
# Storage that behaves like a disk, for the restore benchmarks: ext4 on a
# memory-backed null_blk device whose every request completes after a set
# latency (its timer mode: an hrtimer per request, so 200 us means 200 us,
# where dm-delay counts whole jiffies, 4 ms at HZ=250).  A read that
# misses the page cache then waits for that latency, and costs no CPU:
# zram's decompression made every read CPU-bound in the nested test VM,
# where the prefetch competed with the guest for the same two CPUs.
# Requests are served concurrently, as on an SSD or a network volume.
# Source it after lib.sh; needs root, null_blk, configfs and ext4.
#
#   storage_add NAME MIB LAT_US DIR  a MIB MiB file system at DIR whose
#                                    requests take LAT_US microseconds
#   storage_stat NAME                "READS SECTORS" NAME has read so far
#   storage_teardown                 unmount and remove every device

storage_cfs=/sys/kernel/config/nullb
storage_names=

# A device made through configfs is named after its configfs directory.
storage_dev() { echo "ptbench-$$-$1"; }

storage_add() {
	local name=$1 mib=$2 us=$3 dir=$4 d

	modprobe null_blk nr_devices=0 && modprobe ext4 || return 1
	[ -d "$storage_cfs" ] ||
		mount -t configfs none /sys/kernel/config 2>/dev/null
	d=$storage_cfs/ptbench-$$-$name
	mkdir "$d" || return 1
	storage_names="$storage_names $name"
	echo "$mib" >"$d/size" &&
	echo 1 >"$d/memory_backed" &&
	echo 4096 >"$d/blocksize" &&
	echo 2 >"$d/irqmode" &&
	echo $((us * 1000)) >"$d/completion_nsec" &&
	echo 64 >"$d/hw_queue_depth" &&
	echo 1 >"$d/power" || return 1
	mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 \
		"/dev/$(storage_dev "$name")" &&
		mount -o noatime "/dev/$(storage_dev "$name")" "$dir" || return 1
	# For storage_teardown.
	eval "storage_mnt_$name=\$dir"
}

storage_stat() {
	awk '{ print $1, $3 }' "/sys/block/$(storage_dev "$1")/stat"
}

storage_teardown() {
	local name mnt

	for name in $storage_names; do
		eval "mnt=\${storage_mnt_$name:-}"
		[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
		echo 0 >"$storage_cfs/ptbench-$$-$name/power" 2>/dev/null
		rmdir "$storage_cfs/ptbench-$$-$name" 2>/dev/null
	done
	storage_names=
}
