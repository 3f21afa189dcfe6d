#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# restore_bench - the FaaSnap experiment: first-invocation latency of a
# restored serverless function (build/guest/fn: reads a 64 MiB dataset,
# computes, writes 8 MiB), restored five ways in one run:
#
#   cold     File backend, lazy, page cache dropped
#   warm     File backend, memory file already in the page cache (bound)
#   layers   pagetrack working-set layers, mapped over it and prefetched
#   uffd     Uffd backend, uffd-handler installing the working set
#   mincore  layers taken from page-cache residency (FaaSnap's method)
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
initrd=build/guest/fn.cpio.gz
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

# start_vmm NAME: a vmm whose console input is a FIFO held open on fd 9.
start_vmm() {
	sock=$dir/$1.sock log=$dir/$1.log
	rm -f "$sock" "$dir/$1.in" "$log"
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

# invoke: one "go", until the function reports; prints its checksum.
invoke() {
	echo go >&9
	wait_for "$log" "FN-DONE n=1 " 300 "$vmm_pid" || return 1
	sed -n 's/.*FN-DONE n=1 .*sum=\([0-9a-f]*\).*/\1/p' "$log"
}

echo "restore_bench: booting the function" >&2
start_vmm base
api "$sock" PUT /boot-source "{\"kernel_image_path\":\"$kernel\",\"initrd_path\":\"$initrd\",\"boot_args\":\"$args\"}" &&
api "$sock" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256}' &&
api "$sock" PUT /actions '{"action_type":"InstanceStart"}' || die "boot failed"
wait_for "$log" FN-READY 600 || exit 1
api "$sock" PATCH /vm '{"state":"Paused"}' &&
api "$sock" PUT /snapshot/create "{\"snapshot_path\":\"$dir/fn.vmstate\",\"mem_file_path\":\"$dir/fn.mem\"}" || die "snapshot failed"
stop_vmm

echo "restore_bench: recording the working set of one invocation" >&2
drop_caches
start_vmm record
api "$sock" PUT /snapshot/load "$(load_body File "$dir/fn.mem" '"track_working_set":true')" || die "load failed"
want=$(invoke) || exit 1
api "$sock" PATCH /vm '{"state":"Paused"}' || exit 1
# FaaSnap's set: what the cold invocation left in the page cache.
mc_pages=$(build/bench/mincore_layers "$dir/fn.vmstate" "$dir/fn.mem" "$dir/mc.layers") || die "mincore_layers failed"
api "$sock" PUT /snapshot/layers "{\"layers_path\":\"$dir/ws.layers\"}" || exit 1
stop_vmm
info=$(build/snapinfo "$dir/ws.layers")
ws_ro=$(echo "$info" | awk '/read-only/ { print $2 }')
ws_dirty=$(echo "$info" | awk '/ dirty/ { print $2 }')

declare -A T
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
		if api "$sock" PUT /snapshot/load "$body" && got=$(invoke); then
			t=$(($(now_ms) - t0))
			[ "$got" = "$want" ] ||
				die "$c: the function computed $got, not $want"
		else
			echo "restore_bench: $c failed; vmm said:" >&2
			tail -n 12 "$log" | sed 's/^/  /' >&2
			[ "$c" = uffd ] && sed 's/^/  handler: /' "$dir/handler.log" >&2
			t=FAIL
		fi
		stop_vmm
		if [ "$c" = uffd ]; then
			kill "$handler_pid" 2>/dev/null
			wait "$handler_pid" 2>/dev/null
			grep 'faults served' "$dir/handler.log" >&2
		fi
		T[$c]="${T[$c]:-} $t"
	done
done

# Median of the runs that finished, or FAIL when none did.
median() { tr ' ' '\n' | grep '^[0-9]' | sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "FAIL" }'; }

echo "pagetrack restore benchmark: fn (reads 64 MiB, writes 8 MiB), 256 MiB guest, 2 vCPUs, $delay_ms ms read latency, median of $reps"
echo "working set (pagetrack): $ws_ro read-only + $ws_dirty dirty pages = $(((ws_ro + ws_dirty) * 4 / 1024)) MiB"
echo "$info" | sed 's/^[^ ].*: layers/  layer file: layers/'
echo "  layer file on disk: $(du -k "$dir/ws.layers" | cut -f1) KiB; mincore's: $(du -k "$dir/mc.layers" | cut -f1) KiB"
echo "working set (mincore):   $mc_pages pages = $((mc_pages * 4 / 1024)) MiB ($(awk -v m="$mc_pages" -v w="$((ws_ro + ws_dirty))" 'BEGIN { printf "%.2fx", m / w }') pagetrack's)"
printf '%-10s %12s %10s   %s\n' restore "ms to done" "vs cold" "every run"
cold=$(echo "${T[cold]:-}" | median)
for c in $cases; do
	m=$(echo "${T[$c]}" | median)
	printf '%-10s %12s %10s  %s\n' "$c" "$m" "$(awk -v a="$m" -v b="$cold" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')" "${T[$c]}"
done
for c in $cases; do
	m=$(echo "${T[$c]}" | median)
	[ "$m" = FAIL ] || echo "DAT $c $m"
done
