#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# restore_bench - the FaaSnap experiment: first-invocation latency of a
# restored serverless function (fnd, selftests/vmm/guest/fn.h: reads a
# 64 MiB dataset, computes, writes 8 MiB), invoked as a Firecracker user
# invokes one: the rootfs guest (read-only root drive, vsock) serves it
# on vsock port 5000, build/fn-invoke calls it through the VMM's
# uds_path on a new connection after each restore.  Restored these ways
# in one run:
#
#   cold     File backend, lazy, page cache dropped
#   warm     File backend, memory file already in the page cache (bound)
#   layers   pagetrack working-set layers, first-access order, prefetched
#            while the guest runs
#   huge     the same working set, each 2 MiB of memory that holds a page
#            of it read into private transparent huge pages before the
#            guest resumes (layers_prefetch HugePages)
#   addr     the same layers recorded without sampling: address order
#   uffd     Uffd backend, uffd-handler installing the working set
#   fcuffd   Uffd backend, uffd-handler without a working set: page by
#            page, as Firecracker's own example handler restores
#   uffd2m   the same, of a snapshot of the function booted with
#            "huge_pages": "2M": Firecracker's huge-page restore, a
#            fault per 2 MiB page the guest touches (the bench raises
#            the 2 MiB pool by what the guest needs, and gives it back)
#   mincore  layers taken from page-cache residency (FaaSnap's method)
#
# Runs inside the test VM with pagetrack.ko loaded ('make bench-restore').
# Snapshot files live on ext4 over a memory-backed null_blk device whose
# every request takes a set latency (bench/storage.sh): a read that misses
# the page cache waits as on a disk and costs no CPU.  One device per
# latency in LAT_US, each with its own copy of the files.
#
# Beside each time, counters that do not depend on the emulator's speed
# (bench/counters.sh): requests and MiB read from the device, what was
# read against the working set, the VMM's major and minor faults and CPU
# time, KVM's page faults, and for Uffd the faults the handler served.
# Times are medians of REPS with every run shown; nested emulation makes
# them noisy and only their ratios meaningful.
#
# usage: [REPS=N] [CASES="cold warm ..."] [LAT_US="200 2000"]
#        [CMP_VMM=path] [CMP_HANDLER=path] [LARGE=1] restore_bench.sh
# LARGE=1 runs the same function over a 256 MiB dataset in a 1 GiB guest,
# to show how each way scales with the working set (the test VM needs
# about 6 GiB for it: 'make bench-restore LARGE=1' gives it 8).
# CMP_VMM names another build of the VMM: its cases "cmp" and "cmphuge"
# are the layers and huge cases run by it, to measure a change of the VMM
# against its parent in one run; CMP_HANDLER names another build of
# uffd-handler, and its case "cmpuffd" is the uffd case served by it.
# (REPS=3, every case, 200 us and 2 ms by default).  Lines "DAT LAT CASE
# MS MIB" at the end are the plot's data (bench/restore.gp).

set -u
kernel=/boot/vmlinuz-$(uname -r)
initrd=build/guest/rootfs-initrd.cpio.gz
rootfs=build/guest/rootfs.ext4
reps=${REPS:-3}
cases=${CASES:-cold warm layers huge addr uffd fcuffd uffd2m mincore}
cmp_vmm=${CMP_VMM:-}
cmp_handler=${CMP_HANDLER:-}
lats=${LAT_US:-200 2000}
if [ "${LARGE:-0}" = 1 ]; then
	guest_mib=1024 data_mib=256 dev_mib=2560
else
	guest_mib=256 data_mib=64 dev_mib=1024
fi

prog=restore_bench
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/storage.sh"
. "$(dirname "$0")/counters.sh"
die() { echo "$prog: $*" >&2; exit 1; }

case " $cases " in
*" cmp "*|*" cmphuge "*)
	[ -x "$cmp_vmm" ] || die "cases cmp and cmphuge need CMP_VMM, a VMM binary" ;;
esac
case " $cases " in
*" cmpuffd "*)
	[ -x "$cmp_handler" ] || die "case cmpuffd needs CMP_HANDLER, an uffd-handler binary" ;;
esac

top=$(mktemp -d /tmp/restorebench.XXXXXX)
pool=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
pool_was=
cleanup() {
	pkill -KILL -P $$ 2>/dev/null
	wait
	storage_teardown
	rm -rf "$top"
	[ -z "$pool_was" ] || echo "$pool_was" >"$pool"
}
trap cleanup EXIT

# uffd2m: the guest's 2 MiB pages, one copy booted or restored at a time.
case " $cases " in
*" uffd2m "*)
	pool_was=$(cat "$pool")
	echo 1 >/proc/sys/vm/compact_memory
	echo $((pool_was + guest_mib / 2 + 8)) >"$pool"
	[ "$(cat "$pool")" -ge $((pool_was + guest_mib / 2)) ] ||
		die "the test VM gave $(cat "$pool") of $((pool_was + guest_mib / 2 + 8)) 2 MiB pages" ;;
esac

for lat in $lats; do
	mkdir "$top/$lat" && storage_add "l$lat" "$dev_mib" "$lat" "$top/$lat" ||
		die "cannot make the $lat us device"
done
first=${lats%% *}
dir=$top/$first

# The vsock's uds_path, in the snapshot: each restore binds it anew.
uds=$top/fn.vsock

# start_vmm NAME [BINARY]: a vmm whose console input is a FIFO held open
# on fd 9, so that it never ends (the function is called over vsock).
start_vmm() {
	sock=$top/$1.sock log=$top/$1.log
	rm -f "$sock" "$top/$1.in" "$log" "$uds"
	mkfifo "$top/$1.in"
	exec 9<>"$top/$1.in"
	"${2:-build/vmm}" --api-sock "$sock" <"$top/$1.in" >"$log" 2>&1 &
	vmm_pid=$!
	while [ ! -S "$sock" ]; do sleep 0.005; done
}

stop_vmm() {
	kill -9 "$vmm_pid" 2>/dev/null
	wait "$vmm_pid" 2>/dev/null
	exec 9>&-
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

load_body() { # BACKEND PATH [EXTRA [SNAPSHOT]]
	echo "{\"snapshot_path\":\"$dir/${4:-fn}.vmstate\",\"mem_backend\":{\"backend_type\":\"$1\",\"backend_path\":\"$2\"},\"resume_vm\":true${3:+,$3}}"
}

# invoke: one "go" on a new vsock connection; prints its checksum.
invoke() {
	local out

	out=$(build/fn-invoke --timeout 300 "$uds" go 2>>"$top/invoke.log") ||
		return 1
	echo "$out" | sed -n 's/^FN-DONE n=1 .*sum=\([0-9a-f]*\).*/\1/p' | grep .
}

# record LAYERS [EXTRA]: restore cold, invoke once, write the working set.
record() {
	drop_caches
	start_vmm record
	api "$sock" PUT /snapshot/load "$(load_body File "$dir/fn.mem" "\"track_working_set\":true${2:+,$2}")" || die "load failed"
	want=$(invoke) || exit 1
	api "$sock" PATCH /vm '{"state":"Paused"}' || exit 1
	if [ "$1" = ws ]; then
		# FaaSnap's set: what the cold invocation left in the page cache.
		mc_pages=$(build/bench/mincore_layers "$dir/fn.vmstate" "$dir/fn.mem" "$dir/mc.layers") ||
			die "mincore_layers failed"
	fi
	api "$sock" PUT /snapshot/layers "{\"layers_path\":\"$dir/$1.layers\"}" || exit 1
	stop_vmm
}

# boot_and_snapshot NAME [MACHINE-CONFIG EXTRA]: the function booted and
# snapshotted to $dir/NAME.vmstate and NAME.mem.
boot_and_snapshot() {
	start_vmm base
	api "$sock" PUT /boot-source "{\"kernel_image_path\":\"$kernel\",\"initrd_path\":\"$initrd\",\"boot_args\":\"$boot_args fnd.dataset_mib=$data_mib\"}" &&
	api "$sock" PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$rootfs\",\"is_root_device\":true,\"is_read_only\":true}" &&
	api "$sock" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$uds\"}" &&
	api "$sock" PUT /machine-config "{\"vcpu_count\":2,\"mem_size_mib\":$guest_mib${2:-}}" &&
	api "$sock" PUT /actions '{"action_type":"InstanceStart"}' || die "boot failed"
	wait_for "$log" FND-LISTENING 600 || exit 1
	api "$sock" PATCH /vm '{"state":"Paused"}' &&
	api "$sock" PUT /snapshot/create "{\"snapshot_path\":\"$dir/$1.vmstate\",\"mem_file_path\":\"$dir/$1.mem\"}" || die "snapshot failed"
	stop_vmm
}

echo "restore_bench: booting the function" >&2
boot_and_snapshot fn
case " $cases " in
*" uffd2m "*)
	echo "restore_bench: booting it again in 2 MiB huge pages" >&2
	boot_and_snapshot fn2m ',"huge_pages":"2M"' ;;
esac

echo "restore_bench: recording the working set of one invocation" >&2
record ws
record addr '"working_set_interval_ms":0'
info=$(build/snapinfo "$dir/ws.layers")
ws_ro=$(echo "$info" | awk '/read-only/ { print $2 }')
ws_dirty=$(echo "$info" | awk '/ dirty/ { print $2 }')
ws_pages=$((ws_ro + ws_dirty))
for lat in $lats; do
	[ "$lat" = "$first" ] ||
		cp --sparse=always "$dir"/fn*.vmstate "$dir"/fn*.mem "$dir"/*.layers "$top/$lat/" ||
		die "cannot copy the snapshot to the $lat us device"
done

# run_case CASE: one restore and invocation from $dir; sets t (ms or
# FAIL) and c (the counters).
run_case() {
	local c0 d1 body handler_pid= i reads secs
	case $1 in
	warm) cat "$dir/fn.mem" >/dev/null ;;
	*) drop_caches ;;
	esac
	start_vmm "$1" $(case $1 in cmp|cmphuge) echo "$cmp_vmm" ;; esac)
	# From here: a handler reads its layer file from its start, and that
	# is part of its restore.
	c0=$(storage_stat "l$lat")
	t0=$(now_ms)
	case $1 in
	uffd|fcuffd|cmpuffd|uffd2m)
		rm -f "$top/handler.sock"
		"$([ "$1" = cmpuffd ] && echo "$cmp_handler" || echo build/uffd-handler)" \
			--socket "$top/handler.sock" \
			--mem "$dir/$([ "$1" = uffd2m ] && echo fn2m || echo fn).mem" \
			$(case $1 in uffd|cmpuffd) echo --layers "$dir/ws.layers" ;; esac) \
			2>"$top/handler.log" &
		handler_pid=$!
		for i in $(seq 1000); do
			[ -S "$top/handler.sock" ] && break
			sleep 0.01
		done ;;
	esac
	case $1 in
	cold|warm) body=$(load_body File "$dir/fn.mem") ;;
	layers|cmp) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/ws.layers\"") ;;
	huge|cmphuge) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/ws.layers\",\"layers_prefetch\":\"HugePages\"") ;;
	addr) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/addr.layers\"") ;;
	mincore) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/mc.layers\"") ;;
	uffd|fcuffd|cmpuffd) body=$(load_body Uffd "$top/handler.sock") ;;
	uffd2m) body=$(load_body Uffd "$top/handler.sock" "" fn2m) ;;
	esac
	# A restore that fails is reported and the run goes on.
	if api "$sock" PUT /snapshot/load "$body" && got=$(invoke); then
		t=$(($(now_ms) - t0))
		[ "$got" = "$want" ] ||
			die "$1: the function computed $got, not $want"
	else
		echo "restore_bench: $1 failed; vmm said:" >&2
		tail -n 12 "$log" | sed 's/^/  /' >&2
		tail -n 3 "$top/invoke.log" 2>/dev/null | sed 's/^/  fn-invoke: /' >&2
		[ -n "$handler_pid" ] && sed 's/^/  handler: /' "$top/handler.log" >&2
		t=FAIL
	fi
	d1=$(storage_stat "l$lat")
	reads=$(($(echo "$d1" | cut -d' ' -f1) - $(echo "$c0" | cut -d' ' -f1)))
	secs=$(($(echo "$d1" | cut -d' ' -f2) - $(echo "$c0" | cut -d' ' -f2)))
	c="$reads $((secs / 8)) $(proc_counters "$vmm_pid") $(kvm_counters "$vmm_pid")"
	stop_vmm
	if [ -n "$handler_pid" ]; then
		# The VMM is gone, so the handler's userfaultfd hangs up; a
		# handler that still does not exit is killed and said so.
		kill "$handler_pid" 2>/dev/null
		for i in $(seq 100); do
			kill -0 "$handler_pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$handler_pid" 2>/dev/null &&
			echo "$prog: uffd-handler ignored SIGTERM; killed" >&2 &&
			kill -KILL "$handler_pid"
		wait "$handler_pid" 2>/dev/null
		c="$c $(sed -n 's/.*: \([0-9]*\) faults served, \([0-9]*\) pages.*/\1 \2/p' "$top/handler.log")"
	fi
}

# Median of the runs that finished, or FAIL when none did.
median() { tr ' ' '\n' | grep '^[0-9]' | sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "FAIL" }'; }

declare -A T C
for lat in $lats; do
	dir=$top/$lat
	for rep in $(seq "$reps"); do
		for k in $cases; do
			run_case "$k"
			# As it goes, so that a run cut short still tells.
			echo "restore_bench: $lat us, run $rep: $k: $t ms; counters $c" >&2
			T[$lat,$k]="${T[$lat,$k]:-} $t"
			# The counters of the last run: they barely vary.
			C[$lat,$k]=$c
		done
	done
done

echo "pagetrack restore benchmark: fn (reads $data_mib MiB, writes 8 MiB), $guest_mib MiB guest, 2 vCPUs, median of $reps"
echo "working set (pagetrack): $ws_ro read-only + $ws_dirty dirty pages = $((ws_pages * 4 / 1024)) MiB"
echo "$info" | sed 's/^[^ ].*: layers/  layer file: layers/'
echo "  layer file on disk: $(du -k "$dir/ws.layers" | cut -f1) KiB; mincore's: $(du -k "$dir/mc.layers" | cut -f1) KiB"
echo "working set (mincore):   $mc_pages pages = $((mc_pages * 4 / 1024)) MiB ($(awk -v m="$mc_pages" -v w="$ws_pages" 'BEGIN { printf "%.2fx", m / w }') pagetrack's)"
for lat in $lats; do
	echo
	echo "storage latency $lat us per request"
	printf '%-8s %9s %7s %7s %8s %8s %7s %8s %7s %9s %9s  %s\n' case "ms" "/warm" "reads" "MiB rd" "rd/ws" \
		majflt minflt "cpu ms" "kvm pf" "uffd f/p" "every run"
	warm=$(echo "${T[$lat,warm]:-}" | median)
	for k in $cases; do
		m=$(echo "${T[$lat,$k]}" | median)
		set -- ${C[$lat,$k]}
		printf '%-8s %9s %7s %7s %8s %8s %7s %8s %7s %9s %9s %s\n' "$k" "$m" \
			"$(awk -v a="$m" -v b="$warm" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')" \
			"$1" "$(awk -v p="$2" 'BEGIN { printf "%.1f", p / 256 }')" \
			"$(awk -v p="$2" -v w="$ws_pages" 'BEGIN { printf "%.2f", p / w }')" \
			"$4" "$3" "$5" "$6" "${8:+$8/${9:-}}" "${T[$lat,$k]}"
	done
done
for lat in $lats; do
	for k in $cases; do
		m=$(echo "${T[$lat,$k]}" | median)
		set -- ${C[$lat,$k]}
		[ "$m" = FAIL ] || echo "DAT $lat $k $m $(awk -v p="$2" 'BEGIN { printf "%.1f", p / 256 }')"
	done
done
