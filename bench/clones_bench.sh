#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# clones_bench - clone fan-out: K VMs restored at once from one snapshot
# of the function of bench-restore (fnd on the rootfs guest, invoked over
# vsock), each invoked once.  Per backend and K: the time from the first
# load to the last reply, and memory: the VMMs' PSS summed (and the
# uffd-handlers' with Uffd), the page cache the snapshot files hold, and
# the system's used memory (MemTotal - MemAvailable) before and after.
#
#   cold     File backend, page cache dropped first
#   layers   pagetrack's working-set layers: the read-only layer is one
#            copy in the page cache for every clone, the dirty layer each
#            clone's own
#   huge     the same layers with layers_prefetch HugePages: each clone
#            reads the working set's 2 MiB chunks into its own memory
#   mincore  FaaSnap's layers (page-cache residency of one invocation)
#   uffd     Uffd backend, one uffd-handler per clone with the working
#            set: every clone gets its own copy of every page it touches,
#            as with Firecracker's handler
#
# A snapshot names one vsock uds_path, and K clones cannot all bind it:
# each clone runs in a mount namespace of its own with a private tmpfs
# over the directory of that path, as Firecracker's jailer gives every
# clone a root of its own; the invocation enters that namespace.
#
# Runs inside the test VM with pagetrack.ko loaded ('make bench-clones').
# Snapshot files live on ext4 over a memory-backed null_blk device with
# LAT_US per request (bench/storage.sh).
#
# usage: [KS="1 4 8"] [BACKENDS="cold layers huge mincore uffd"] [LAT_US=200]
#        clones_bench.sh

set -u
kernel=/boot/vmlinuz-$(uname -r)
initrd=build/guest/rootfs-initrd.cpio.gz
rootfs=build/guest/rootfs.ext4
ks=${KS:-1 4 8}
backends=${BACKENDS:-cold layers huge mincore uffd}
lat=${LAT_US:-200}

prog=clones_bench
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/storage.sh"
die() { echo "$prog: $*" >&2; exit 1; }

top=$(mktemp -d /tmp/clonesbench.XXXXXX)
cleanup() {
	pkill -KILL -P $$ 2>/dev/null
	wait
	storage_teardown
	rm -rf "$top"
}
trap cleanup EXIT

dir=$top/snap
mkdir "$dir" && storage_add clones 1024 "$lat" "$dir" ||
	die "cannot make the $lat us device"
# The directory each clone's private tmpfs covers: uds_path lies in it.
ns=$top/ns
mkdir "$ns"
uds=$ns/fn.vsock

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
used_kib() {
	awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 }
	     END { print t - a }' /proc/meminfo
}
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

load_body() { # BACKEND PATH [EXTRA]
	echo "{\"snapshot_path\":\"$dir/fn.vmstate\",\"mem_backend\":{\"backend_type\":\"$1\",\"backend_path\":\"$2\"},\"resume_vm\":true${3:+,$3}}"
}

# invoke PID: one "go" in the mount namespace of vmm PID; its checksum.
invoke() {
	nsenter -t "$1" -m -r -w build/fn-invoke --timeout 300 "$uds" go \
		2>>"$top/invoke.log" |
		sed -n 's/^FN-DONE n=1 .*sum=\([0-9a-f]*\).*/\1/p' | grep .
}

# start_clone N: vmm N in a mount namespace of its own; sets pid[N].
declare -a pid hpid
start_clone() {
	local sock=$top/c$1.sock

	rm -f "$sock"
	unshare -m --propagation private sh -c \
		"mount -t tmpfs clone$1 '$ns' && exec build/vmm --api-sock '$sock'" \
		</dev/null >"$top/c$1.log" 2>&1 &
	pid[$1]=$!
	while [ ! -S "$sock" ]; do
		kill -0 "${pid[$1]}" 2>/dev/null || die "clone $1 did not start"
		sleep 0.005
	done
}

echo "$prog: booting the function" >&2
build/vmm --api-sock "$top/base.sock" </dev/null >"$top/base.log" 2>&1 &
base=$!
while [ ! -S "$top/base.sock" ]; do sleep 0.005; done
sock=$top/base.sock
api "$sock" PUT /boot-source "{\"kernel_image_path\":\"$kernel\",\"initrd_path\":\"$initrd\",\"boot_args\":\"$boot_args\"}" &&
api "$sock" PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$rootfs\",\"is_root_device\":true,\"is_read_only\":true}" &&
api "$sock" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$uds\"}" &&
api "$sock" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256}' &&
api "$sock" PUT /actions '{"action_type":"InstanceStart"}' || die "boot failed"
wait_for "$top/base.log" FND-LISTENING 600 "$base" || exit 1
api "$sock" PATCH /vm '{"state":"Paused"}' &&
api "$sock" PUT /snapshot/create "{\"snapshot_path\":\"$dir/fn.vmstate\",\"mem_file_path\":\"$dir/fn.mem\"}" ||
	die "snapshot failed"
kill -9 "$base"
wait "$base" 2>/dev/null

echo "$prog: recording the working set of one invocation" >&2
drop_caches
start_clone 0
api "$top/c0.sock" PUT /snapshot/load "$(load_body File "$dir/fn.mem" '"track_working_set":true')" ||
	die "recording load failed"
want=$(invoke "${pid[0]}") || {
	tail -n 5 "$top/invoke.log" "$top/c0.log" >&2
	die "the recording invocation failed"
}
api "$top/c0.sock" PATCH /vm '{"state":"Paused"}' || exit 1
build/bench/mincore_layers "$dir/fn.vmstate" "$dir/fn.mem" "$dir/mc.layers" >/dev/null ||
	die "mincore_layers failed"
api "$top/c0.sock" PUT /snapshot/layers "{\"layers_path\":\"$dir/ws.layers\"}" || exit 1
kill -9 "${pid[0]}"
wait "${pid[0]}" 2>/dev/null

# run BACKEND K: sets t (ms or FAIL) and m ("PSS CACHE USED_BEFORE
# USED_AFTER", MiB).
run() {
	local i k=$2 body used0 pss=0 cache fail= t0
	local -a calls=()

	drop_caches
	used0=$(used_kib)
	for i in $(seq "$k"); do
		start_clone "$i"
		if [ "$1" = uffd ]; then
			rm -f "$top/h$i.sock"
			build/uffd-handler --socket "$top/h$i.sock" --mem "$dir/fn.mem" \
				--layers "$dir/ws.layers" 2>"$top/h$i.log" &
			hpid[$i]=$!
			while [ ! -S "$top/h$i.sock" ]; do sleep 0.005; done
		fi
	done
	case $1 in
	cold) body=$(load_body File "$dir/fn.mem") ;;
	layers) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/ws.layers\"") ;;
	huge) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/ws.layers\",\"layers_prefetch\":\"HugePages\"") ;;
	mincore) body=$(load_body File "$dir/fn.mem" "\"layers_path\":\"$dir/mc.layers\"") ;;
	esac
	t0=$(now_ms)
	for i in $(seq "$k"); do
		[ "$1" = uffd ] && body=$(load_body Uffd "$top/h$i.sock")
		( api "$top/c$i.sock" PUT /snapshot/load "$body" &&
		  got=$(invoke "${pid[$i]}") && [ "$got" = "$want" ] ) ||
			touch "$top/fail.$i" &
		calls+=($!)
	done
	wait "${calls[@]}"
	t=$(($(now_ms) - t0))
	for i in $(seq "$k"); do
		[ -e "$top/fail.$i" ] && fail=1 && rm -f "$top/fail.$i" &&
			echo "$prog: $1, K=$k: clone $i failed" >&2 &&
			tail -n 5 "$top/c$i.log" | sed 's/^/  /' >&2
		pss=$((pss + $(pss_kib "${pid[$i]}")))
		[ -n "${hpid[$i]:-}" ] && pss=$((pss + $(pss_kib "${hpid[$i]}")))
	done
	cache=$(fincore -b -n -o RES "$dir/fn.mem" "$dir/ws.layers" "$dir/mc.layers" |
		awk '{ s += $1 } END { print int(s / 1048576) }')
	m="$((pss / 1024)) $cache $((used0 / 1024)) $(($(used_kib) / 1024))"
	[ -n "$fail" ] && t=FAIL
	for i in $(seq "$k"); do
		kill -9 "${pid[$i]}" ${hpid[$i]:+"${hpid[$i]}"} 2>/dev/null
		wait "${pid[$i]}" ${hpid[$i]:+"${hpid[$i]}"} 2>/dev/null
		hpid[$i]=
	done
}

echo "pagetrack clone fan-out: fn (reads 64 MiB, writes 8 MiB), 256 MiB guests, 2 vCPUs, storage $lat us per request"
printf '%-8s %3s %9s %9s %9s %9s\n' backend K "ms (all)" "PSS MiB" "cache MiB" "used +MiB"
for k in $ks; do
	for b in $backends; do
		run "$b" "$k"
		set -- $m
		printf '%-8s %3s %9s %9s %9s %9s\n' "$b" "$k" "$t" "$1" "$2" "$(($4 - $3))"
		echo "DAT $b $k $t $*"
	done
done
