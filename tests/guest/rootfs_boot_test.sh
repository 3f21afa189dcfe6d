#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the rootfs guest (build/guest/rootfs.ext4 and rootfs-initrd.cpio.gz,
# see Documentation/testing.rst) on the host under QEMU's microvm machine,
# whose virtio-mmio devices are announced through ACPI as pagetrack's VMM
# announces them, with TCG (no KVM needed), once on each supported kernel:
# the initramfs must find the drive, mount it and switch to it, the
# rootfs's init must find the entropy device and start fnd.  Then the
# failure paths: a read-only root still serves, a missing drive ends the
# boot with INITRD-FAIL instead of hanging.  Prints TAP.
#
# microvm has no HPET nor ACPI PM timer, so the guest kernel measures its
# TSC against the PIT alone, which fails when TCG is slowed down by a
# loaded host, and 6.1 then stalls early in boot: the guest is told the
# frequency, which under TCG is the host's (rdtsc passes through).  Same
# reason for -cpu max: with TCG's default CPU 6.1 never calibrates.
# usage: rootfs_boot_test.sh [RESULTS_DIR]

set -u
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
cd "$srcdir" || exit 1
out=${1:-build/results/guest}
rootfs=build/guest/rootfs.ext4
initrd=build/guest/rootfs-initrd.cpio.gz
qemu=${QEMU:-qemu-system-x86_64}
timeout_s=${BOOT_TIMEOUT:-180}
mkdir -p "$out"

releases=$(scripts/kdirs.sh | sed 's,.*/linux-headers-,,')
n=0
tsc_khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
tsc_arg=${tsc_khz:+tsc_early_khz=$tsc_khz }

# boot NAME RELEASE ARGS DRIVE WANT...: boot RELEASE's kernel with ARGS on
# the command line (and the rootfs as a drive when DRIVE is "drive") until
# the last WANT line, or the guest ends; ok if every WANT line came.
boot() {
	local name=$1 rel=$2 args=$3 drive=$4 log pid t0 w missing
	shift 4
	n=$((n + 1))
	log=$out/$name.log
	rm -f "$log"
	local -a dev=(-device virtio-rng-device)
	if [ "$drive" = drive ]; then
		# snapshot=on: the guest's writes never reach the image.
		# shellcheck disable=SC2054 # QEMU's commas, not elements
		dev+=(-drive "id=d0,file=$rootfs,format=raw,if=none,snapshot=on"
		      -device virtio-blk-device,drive=d0)
	fi
	t0=$(date +%s.%N)
	"$qemu" -M microvm,acpi=on -accel tcg -cpu max -m 512 -smp 1 \
		-kernel "/boot/vmlinuz-$rel" -initrd "$initrd" \
		-append "console=ttyS0 reboot=k panic=1 $tsc_arg$args" \
		-display none -monitor none -serial "file:$log" -no-reboot \
		"${dev[@]}" </dev/null >"$out/$name.qemu" 2>&1 &
	pid=$!
	w=$(($# > 0 ? $# : 1))
	for ((i = 0; i < timeout_s * 5; i++)); do
		grep -qF "${!w}" "$log" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	missing=
	for w in "$@"; do
		grep -qF "$w" "$log" || missing="$missing '$w'"
	done
	if [ -z "$missing" ]; then
		awk -v n=$n -v name="$name" -v t0="$t0" -v t1="$(date +%s.%N)" \
			'BEGIN { printf "ok %d - %s (%.1f s)\n", n, name, t1 - t0 }'
	else
		echo "not ok $n - $name: missing$missing"
		sed 's/^/# /' "$log" | tail -n 25
	fi
}

echo "1..$(($(echo "$releases" | wc -w) + 2))"
for rel in $releases; do
	boot "boot-$rel" "$rel" "root=/dev/vda rw" drive \
		"INITRD-VIRTIO 0x0002 0x0004 " "INITRD-ROOT /dev/vda ext4 rw" \
		"ROOTFS-BOOTED $rel root=/dev/vda rw" \
		"ROOTFS-HWRNG virtio_rng" "FND-LISTENING vsock:5000"
done
rel=$(echo "$releases" | head -n1)
boot "read-only-$rel" "$rel" "root=/dev/vda ro" drive \
	"INITRD-ROOT /dev/vda ext4 ro" "ROOTFS-BOOTED $rel root=/dev/vda ro" \
	"FND-LISTENING vsock:5000"
boot "no-drive-$rel" "$rel" "root=/dev/vda rootdelay=3" none \
	"INITRD-VIRTIO 0x0004 " "INITRD-FAIL no /dev/vda after 3s"
