#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# restore_bench - the FaaSnap experiment: first-invocation latency of a
# restored serverless function (fn: reads a 64 MiB dataset, computes,
# writes 8 MiB), restored five ways in one run:
#
#   cold     File backend, lazy, page cache dropped
#   warm     File backend, memory file already in the page cache (bound)
#   layers   pagetrack working-set layers, mapped over it and prefetched
#   uffd     Uffd backend, uffd-handler installing the working set
#   mincore  layers taken from page-cache residency (FaaSnap's method)
#
# The guest is the rootfs guest (Documentation/testing.rst): it boots from
# build/guest/rootfs.ext4, a read-only root drive on virtio-blk, and its
# init runs fnd, which serves fn on vsock port 5000; the snapshot holds
# both devices.  Each invocation is a request from the host through the
# VMM's uds_path (build/fn-invoke: CONNECT 5000, "go", the reply), on a
# new connection, as a restore resets the guest's old ones.  A case's
# time runs from the PUT /snapshot/load to the reply; the request-to-reply
# part, the invocation alone, is shown beside it.
#
# Runs inside the test VM with pagetrack.ko loaded ('make bench-restore').
# Snapshot files live on ext4 over zram behind dm-delay, which adds
# DELAY_MS to every read (default 1 ms, a network disk's latency), so
# dropping the page cache makes a restore wait for storage as it would on
# a real host.  zram alone is memory: every read would cost only CPU, and
# a prefetch could hide nothing.  Nested emulation makes absolute times
# meaningless; the ratios are the result.
#
# usage: [REPS=N] [CASES="cold warm ..."] [DELAY_MS=N] restore_bench.sh
# (REPS=3, all five cases and DELAY_MS=1 by default)

set -u
kernel=/boot/vmlinuz-$(uname -r)
initrd=build/guest/rootfs-initrd.cpio.gz
rootfs=$PWD/build/guest/rootfs.ext4
# Not the VMM's default: its nomodule would stop the initramfs's insmod.
args="console=ttyS0 reboot=k panic=1 pci=off quiet"
reps=${REPS:-3}
cases=${CASES:-cold warm layers uffd mincore}
delay_ms=${DELAY_MS:-1}

dir=$(mktemp -d /tmp/restorebench.XXXXXX)
zdev=
dm=
export DM_DISABLE_UDEV=1
cleanup() {
	pkill -KILL -P $$ 2>/dev/null
	wait
	umount "$dir" 2>/dev/null
	[ -n "$dm" ] && dmsetup remove "$dm"
	[ -n "$zdev" ] && echo "${zdev#zram}" >/sys/class/zram-control/hot_remove
	rm -rf "$dir"
}
trap cleanup EXIT

modprobe zram && modprobe ext4 && modprobe dm-delay || exit 1
zdev=zram$(cat /sys/class/zram-control/hot_add)
echo 1G >/sys/block/$zdev/disksize
# Reads wait delay_ms; writes go straight through.
dm=${dir##*/}
echo "0 $(blockdev --getsz "/dev/$zdev") delay /dev/$zdev 0 $delay_ms /dev/$zdev 0 0" |
	dmsetup create "$dm" || { dm=; exit 1; }
mkfs.ext4 -q "/dev/mapper/$dm" && mount "/dev/mapper/$dm" "$dir" || exit 1

prog=restore_bench
. "$(dirname "$0")/lib.sh"
die() { echo "$prog: $*" >&2; exit 1; }

# start_vmm NAME: a vmm whose console input is a FIFO held open on fd 9;
# the vsock socket of a killed one is gone, so that this one can bind it.
start_vmm() {
	sock=$dir/$1.sock log=$dir/$1.log
	rm -f "$sock" "$dir/$1.in" "$log" "$uds"
	mkfifo "$dir/$1.in"
	exec 9<>"$dir/$1.in"
	build/vmm --api-sock "$sock" <"$dir/$1.in" >"$log" 2>&1 &
	vmm_pid=$!
	while [ ! -S "$sock" ]; do sleep 0.005; done
}

stop_vmm() {
	kill -9 "$vmm_pid" 2>/dev/null
	wait "$vmm_pid" 2>/dev/null
	exec 9>&-
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

load_body() { # BACKEND PATH [EXTRA]
	echo "{\"snapshot_path\":\"$dir/fn.vmstate\",\"mem_backend\":{\"backend_type\":\"$1\",\"backend_path\":\"$2\"},\"resume_vm\":true${3:+,$3}}"
}

# invoke N: fn's "go" over vsock, which must be its Nth invocation since
# boot; prints its checksum, and its request-to-reply ms in $dir/ms.
invoke() {
	local reply
	reply=$(build/fn-invoke --timeout 300 "$uds" go 2>"$dir/invoke.err")
	case "$reply" in
	"FN-DONE n=$1 "*) ;;
	*) echo "$prog: fnd answered '$reply', not invocation $1" >&2
	   cat "$dir/invoke.err" >&2
	   return 1 ;;
	esac
	sed -n 's/^fn-invoke: request-to-reply \([0-9]*\)\..*/\1/p' \
		"$dir/invoke.err" >"$dir/ms"
	echo "${reply##*sum=}"
}

echo "restore_bench: booting the function" >&2
uds=$dir/v.sock
start_vmm base
api "$sock" PUT /boot-source "{\"kernel_image_path\":\"$kernel\",\"initrd_path\":\"$initrd\",\"boot_args\":\"$args\"}" &&
api "$sock" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256}' &&
api "$sock" PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$rootfs\",\"is_root_device\":true,\"is_read_only\":true}" &&
api "$sock" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$uds\"}" &&
api "$sock" PUT /actions '{"action_type":"InstanceStart"}' || die "boot failed"
wait_for "$log" FND-LISTENING 600 "$vmm_pid" || exit 1
grep -q "ROOTFS-VSOCK virtio" "$log" || die "the guest found no vsock device"
api "$sock" PATCH /vm '{"state":"Paused"}' &&
api "$sock" PUT /snapshot/create "{\"snapshot_path\":\"$dir/fn.vmstate\",\"mem_file_path\":\"$dir/fn.mem\"}" || die "snapshot failed"
stop_vmm

echo "restore_bench: recording the working set of one invocation" >&2
drop_caches
start_vmm record
api "$sock" PUT /snapshot/load "$(load_body File "$dir/fn.mem" '"track_working_set":true')" || die "load failed"
want=$(invoke 1) || exit 1
api "$sock" PATCH /vm '{"state":"Paused"}' || exit 1
# FaaSnap's set: what the cold invocation left in the page cache.
mc_pages=$(build/bench/mincore_layers "$dir/fn.vmstate" "$dir/fn.mem" "$dir/mc.layers") || die "mincore_layers failed"
api "$sock" PUT /snapshot/layers "{\"layers_path\":\"$dir/ws.layers\"}" || exit 1
stop_vmm
info=$(build/snapinfo "$dir/ws.layers")
ws_ro=$(echo "$info" | awk '/read-only/ { print $2 }')
ws_dirty=$(echo "$info" | awk '/ dirty/ { print $2 }')

declare -A T I
for rep in $(seq "$reps"); do
	for c in $cases; do
		echo "restore_bench: run $rep: $c" >&2
		case $c in
		warm) cat "$dir/fn.mem" >/dev/null ;;
		*) drop_caches ;;
		esac
		start_vmm "$c"
		if [ "$c" = uffd ]; then
			rm -f "$dir/handler.sock"
			build/uffd-handler --socket "$dir/handler.sock" --mem "$dir/fn.mem" \
				--layers "$dir/ws.layers" 2>"$dir/handler.log" &
			handler_pid=$!
			for i in $(seq 1000); do
				[ -S "$dir/handler.sock" ] && break
				sleep 0.01
			done
		fi
		case $c in
		cold|warm) body=$(load_body File "$dir/fn.mem") ;;
		layers) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/ws.layers\"") ;;
		mincore) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/mc.layers\"") ;;
		uffd) body=$(load_body Uffd "$dir/handler.sock") ;;
		esac
		t0=$(now_ms)
		# A restore that fails is reported and the run goes on.
		if api "$sock" PUT /snapshot/load "$body" && got=$(invoke 1); then
			t=$(($(now_ms) - t0))
			inv=$(cat "$dir/ms")
			[ "$got" = "$want" ] ||
				die "$c: the function computed $got, not $want"
		else
			echo "restore_bench: $c failed; vmm said:" >&2
			tail -n 12 "$log" | sed 's/^/  /' >&2
			[ "$c" = uffd ] && sed 's/^/  handler: /' "$dir/handler.log" >&2
			t=FAIL
			inv=FAIL
		fi
		stop_vmm
		if [ "$c" = uffd ]; then
			kill "$handler_pid" 2>/dev/null
			wait "$handler_pid" 2>/dev/null
			grep 'faults served' "$dir/handler.log" >&2
		fi
		T[$c]="${T[$c]:-} $t"
		I[$c]="${I[$c]:-} $inv"
	done
done

# Median of the runs that finished, or FAIL when none did.
median() { tr ' ' '\n' | grep '^[0-9]' | sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "FAIL" }'; }

echo "pagetrack restore benchmark: fn (reads 64 MiB, writes 8 MiB) over vsock, rootfs guest, 256 MiB, 2 vCPUs, $delay_ms ms read latency, median of $reps"
echo "working set (pagetrack): $ws_ro read-only + $ws_dirty dirty pages = $(((ws_ro + ws_dirty) * 4 / 1024)) MiB"
echo "$info" | sed 's/^[^ ].*: layers/  layer file: layers/'
echo "  layer file on disk: $(du -k "$dir/ws.layers" | cut -f1) KiB; mincore's: $(du -k "$dir/mc.layers" | cut -f1) KiB"
echo "working set (mincore):   $mc_pages pages = $((mc_pages * 4 / 1024)) MiB ($(awk -v m="$mc_pages" -v w="$((ws_ro + ws_dirty))" 'BEGIN { printf "%.2fx", m / w }') pagetrack's)"
echo "ms to done: from PUT /snapshot/load to fn's reply; request-to-reply: the vsock invocation alone"
printf '%-10s %12s %10s %18s   %s\n' restore "ms to done" "vs cold" "request-to-reply" "every run"
cold=$(echo "${T[cold]:-}" | median)
for c in $cases; do
	m=$(echo "${T[$c]}" | median)
	printf '%-10s %12s %10s %18s  %s\n' "$c" "$m" "$(awk -v a="$m" -v b="$cold" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')" "$(echo "${I[$c]}" | median)" "${T[$c]}"
done
for c in $cases; do
	m=$(echo "${T[$c]}" | median)
	[ "$m" = FAIL ] || echo "DAT $c $m"
done
