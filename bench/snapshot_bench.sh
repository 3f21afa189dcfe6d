#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# snapshot_bench - vmm's boot, snapshot and restore times, side by side with
# QEMU (-accel kvm) on the same kernel, initrd and workload, in one run,
# and what the Full memory file holds (non-zero pages, read back by
# bench/page_census) against what it occupies, beside the size of QEMU's
# migration stream.
# Runs inside the test VM ('make bench-snapshot').  Nested emulation makes
# absolute times meaningless; the ratios are the result.
#
# usage: snapshot_bench.sh [MEM_MIB...]   (default: 256 1024)

set -u
kernel=/boot/vmlinuz-$(uname -r)
initrd=build/guest/memcheck.cpio.gz
dir=$(mktemp -d /tmp/snapbench.XXXXXX)
trap 'pkill -P $$ 2>/dev/null; rm -rf "$dir"' EXIT

prog=snapshot_bench
. "$(dirname "$0")/lib.sh"

last_tick() { grep -o '^TICK [0-9][0-9]*' "$1" | tail -n 1 | cut -d' ' -f2; }

declare -A R

bench_vmm() {
	local mem=$1 sock=$dir/vmm.sock log=$dir/vmm.log t0 n pid
	build/vmm --api-sock "$sock" >"$log" 2>&1 &
	pid=$!
	while [ ! -S "$sock" ]; do sleep 0.02; done
	api "$sock" PUT /boot-source "{\"kernel_image_path\":\"$kernel\",\"initrd_path\":\"$initrd\",\"boot_args\":\"$boot_args\"}" &&
	api "$sock" PUT /machine-config "{\"vcpu_count\":2,\"mem_size_mib\":$mem,\"track_dirty_pages\":true}" || return 1
	t0=$(now_ms)
	api "$sock" PUT /actions '{"action_type":"InstanceStart"}' || return 1
	wait_for "$log" GUEST-BOOTED 600 || return 1
	R[vmm,$mem,boot]=$(($(now_ms) - t0))
	wait_for "$log" "VERIFY 10 ok" 300 || return 1

	api "$sock" PATCH /vm '{"state":"Paused"}'
	R[vmm,$mem,full]=$(api_ms "$sock" PUT /snapshot/create "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"$dir/f.vmstate\",\"mem_file_path\":\"$dir/f.mem\"}") || return 1
	# What the sparse Full file holds against what it costs.
	# (No process substitution: the test VM has no /dev/fd.)
	set -- $(build/bench/page_census "$dir/f.mem") && [ $# -eq 7 ] || return 1
	R[vmm,$mem,nonzero]=$3 R[vmm,$mem,data]=$5
	api "$sock" PATCH /vm '{"state":"Resumed"}'
	sleep 1
	api "$sock" PATCH /vm '{"state":"Paused"}'
	R[vmm,$mem,diff]=$(api_ms "$sock" PUT /snapshot/create "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"$dir/d.vmstate\",\"mem_file_path\":\"$dir/d.mem\"}") || return 1
	R[vmm,$mem,diffkb]=$(du -k "$dir/d.mem" | cut -f1)
	n=$(last_tick "$log")
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	rm -f "$dir"/d.* "$sock"

	t0=$(now_ms)
	build/vmm --api-sock "$sock" >"$log" 2>&1 &
	pid=$!
	while [ ! -S "$sock" ]; do sleep 0.01; done
	R[vmm,$mem,load]=$(api_ms "$sock" PUT /snapshot/load "{\"snapshot_path\":\"$dir/f.vmstate\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$dir/f.mem\"},\"resume_vm\":true}") || return 1
	wait_for "$log" "^TICK " 120 || return 1
	R[vmm,$mem,restore]=$(($(now_ms) - t0))
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	rm -f "$dir"/f.* "$sock"
}

hmp() { echo "$2" | socat - "UNIX-CONNECT:$1" >/dev/null 2>&1; }

bench_qemu() {
	local mem=$1 mon=$dir/qemu.mon log=$dir/qemu.log t0 pid st
	local qemu=(qemu-system-x86_64 -accel kvm -cpu host -smp 2 -m "$mem"
		-nodefaults -display none -kernel "$kernel" -initrd "$initrd"
		-append "$boot_args" -serial "file:$log")
	t0=$(now_ms)
	"${qemu[@]}" -monitor "unix:$mon,server,nowait" 2>"$dir/qemu.err" &
	pid=$!
	wait_for "$log" GUEST-BOOTED 600 || return 1
	R[qemu,$mem,boot]=$(($(now_ms) - t0))
	wait_for "$log" "VERIFY 10 ok" 300 || return 1
	hmp "$mon" stop
	t0=$(now_ms)
	hmp "$mon" "migrate \"exec:cat > $dir/q.mig\""
	while :; do
		st=$(echo "info migrate" | socat - "UNIX-CONNECT:$mon" 2>/dev/null |
			sed -n 's/.*Migration status: \([a-z-]*\).*/\1/p')
		case "$st" in
		completed) break ;;
		failed|cancelled)
			echo "snapshot_bench: QEMU migration $st" >&2
			cat "$dir/qemu.err" >&2
			return 1 ;;
		esac
		[ $(($(now_ms) - t0)) -lt 600000 ] || {
			echo "snapshot_bench: QEMU migration still '$st' after 600 s" >&2
			return 1
		}
		sleep 0.02
	done
	R[qemu,$mem,full]=$(($(now_ms) - t0))
	R[qemu,$mem,streamkb]=$(($(stat -c %s "$dir/q.mig") / 1024))
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	rm -f "$mon"

	: >"$log"
	t0=$(now_ms)
	"${qemu[@]}" -monitor "unix:$mon,server,nowait" \
		-incoming "exec:cat $dir/q.mig" 2>>"$dir/qemu.err" &
	pid=$!
	# The source was stopped before it migrated, so the destination
	# stays paused until told to continue (refused until it has loaded).
	while [ ! -S "$mon" ]; do sleep 0.01; done
	until grep -q "^TICK " "$log"; do
		hmp "$mon" cont 2>/dev/null
		sleep 0.02
		kill -0 $pid 2>/dev/null || { echo "snapshot_bench: QEMU died" >&2; return 1; }
	done
	R[qemu,$mem,restore]=$(($(now_ms) - t0))
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	rm -f "$dir"/q.mig "$mon"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'
}

mems=${*:-256 1024}
for mem in $mems; do
	echo "snapshot_bench: $mem MiB: vmm..." >&2
	bench_vmm "$mem" || exit 1
	echo "snapshot_bench: $mem MiB: QEMU..." >&2
	bench_qemu "$mem" || exit 1
done

echo "pagetrack snapshot benchmark: Linux guest, 2 vCPUs, memcheck workload"
printf '%-34s %8s %9s %9s %8s\n' "" "MiB" "vmm ms" "QEMU ms" "vmm/QEMU"
for mem in $mems; do
	printf '%-34s %8s %9s %9s %8s\n' "boot to init" "$mem" \
		"${R[vmm,$mem,boot]}" "${R[qemu,$mem,boot]}" \
		"$(ratio "${R[vmm,$mem,boot]}" "${R[qemu,$mem,boot]}")"
	printf '%-34s %8s %9s %9s %8s\n' "full snapshot (QEMU: migrate)" "$mem" \
		"${R[vmm,$mem,full]}" "${R[qemu,$mem,full]}" \
		"$(ratio "${R[vmm,$mem,full]}" "${R[qemu,$mem,full]}")"
	printf '%-34s %8s %9s %9s %8s\n' "restore to first output" "$mem" \
		"${R[vmm,$mem,restore]}" "${R[qemu,$mem,restore]}" \
		"$(ratio "${R[vmm,$mem,restore]}" "${R[qemu,$mem,restore]}")"
	awk -v m="$mem" -v f="${R[vmm,$mem,full]}" -v d="${R[vmm,$mem,diff]}" \
		-v nz="${R[vmm,$mem,nonzero]}" -v da="${R[vmm,$mem,data]}" \
		-v q="${R[qemu,$mem,streamkb]}" \
		-v k="${R[vmm,$mem,diffkb]}" -v l="${R[vmm,$mem,load]}" 'BEGIN {
		printf "%-34s %8s %9d  (%.0f MiB/s)\n", "vmm full snapshot throughput", m, f, f ? m * 1000 / f : 0
		printf "%-34s %8s %9d  (%d KiB written after 1 s of work)\n", "vmm diff snapshot", m, d, k
		printf "%-34s %8s %9d  (%.1f MiB)\n", "full file: non-zero guest pages", m, nz, nz / 256
		printf "%-34s %8s %9d  (%.1f MiB, %.3f per non-zero page)\n", "full file: pages on disk", m, da, da / 256, nz ? da / nz : 0
		printf "%-34s %8s %9d  (QEMU skips zero pages too)\n", "QEMU migration stream KiB", m, q
		printf "%-34s %8s %9d\n", "vmm snapshot/load request", m, l
	}'
done
# The plot's data (bench/snapshot.gp).
for mem in $mems; do
	echo "DAT $mem ${R[vmm,$mem,full]} ${R[qemu,$mem,full]}" \
		"${R[vmm,$mem,restore]} ${R[qemu,$mem,restore]}" \
		"$(awk -v nz="${R[vmm,$mem,nonzero]}" -v da="${R[vmm,$mem,data]}" \
			-v q="${R[qemu,$mem,streamkb]}" \
			'BEGIN { printf "%.1f %.1f %.1f", nz / 256, da / 256, q / 1024 }')"
done
