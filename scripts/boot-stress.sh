#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-stress.sh - boot the ticker guest N times in this VMM and in QEMU,
# interleaved, and count the boots that never reach their third tick.
#
# Runs inside the test VM (make stress-boot).  A fresh boot involves no
# snapshot, no restore and no pagetrack: a guest that triple-faults here
# is a fault of KVM, of the CPU (the emulator, in the test VM), or of
# the little a VMM does at boot: CPUID, registers, memory and the
# tables it writes.  Booting the same kernel, initrd and command line
# in QEMU (-cpu host: the CPUID KVM supports, as this VMM sets it) in
# the same run is the control.
#
# Environment: BOOT_STRESS_N (20 per VMM), BOOT_STRESS_VCPUS (2),
# BOOT_STRESS_MIB (256), BOOT_STRESS_VMMS ("vmm qemu"), BOOT_STRESS_SECONDS
# (stop starting boots after this long; 0: no limit), BOOT_STRESS_DIR
# (where each boot's outcome goes, as a line of results.txt, and failed
# boots' consoles; default build/boot-stress).

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
n=${BOOT_STRESS_N:-20}
vcpus=${BOOT_STRESS_VCPUS:-2}
mib=${BOOT_STRESS_MIB:-256}
vmms=${BOOT_STRESS_VMMS:-vmm qemu}
budget=${BOOT_STRESS_SECONDS:-0}
keep=${BOOT_STRESS_DIR:-$top/build/boot-stress}
kernel=/boot/vmlinuz-$(uname -r)
initrd=$top/build/guest/ticker.cpio.gz
prog=boot-stress
. "$top/bench/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$keep"

for f in "$kernel" "$initrd"; do
	[ -r "$f" ] || { echo "boot-stress: $f is missing" >&2; exit 2; }
done
for vmm in $vmms; do
	case "$vmm" in
	vmm) [ -x "$top/build/vmm" ] ||
		{ echo "boot-stress: $top/build/vmm is missing" >&2; exit 2; } ;;
	qemu) command -v qemu-system-x86_64 >/dev/null ||
		{ echo "boot-stress: no qemu-system-x86_64" >&2; exit 2; } ;;
	*) echo "boot-stress: BOOT_STRESS_VMMS names vmm and qemu, not '$vmm'" >&2
	   exit 2 ;;
	esac
done

declare -A ok failed cause total_ms

# Wait for PID to print "TICK 3" in LOG, or to exit, or 180 s.
# Prints ok, triple, panic, reboot, exit or timeout.  The VMM reports a
# triple fault on its stderr (LOG.err), QEMU through its kvm_run_exit
# trace (LOG.trace).
watch_boot() {
	local pid=$1 log=$2 i
	for ((i = 0; i < 1800; i++)); do
		if grep -q '^TICK 3' "$log" 2>/dev/null; then
			echo ok
			return
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			if grep -qs 'triple fault' "$log" "$log.err"; then
				echo triple
			elif grep -q 'Kernel panic' "$log"; then
				echo panic
			elif grep -q 'reboot: ' "$log"; then
				echo reboot
			elif grep -q 'kvm_run_exit.*reason 8$' "$log.trace" 2>/dev/null; then
				# QEMU -no-reboot exits, silently, on the
				# reset that KVM_EXIT_SHUTDOWN (8) requests.
				echo triple
			else
				echo exit
			fi
			return
		fi
		sleep 0.1
	done
	echo timeout
}

boot_one() {
	local vmm=$1 i=$2 log=$tmp/$1.$2.console pid t0 res
	t0=$(date +%s%N)
	case "$vmm" in
	vmm)
		"$top/build/vmm" --kernel "$kernel" --initrd "$initrd" \
			--cmdline "$boot_args" --mem "${mib}M" --vcpus "$vcpus" \
			--console "$log" </dev/null >"$log.err" 2>&1 &
		;;
	qemu)
		qemu-system-x86_64 -accel kvm -cpu host -smp "$vcpus" \
			-m "$mib" -nodefaults -display none -no-reboot \
			-kernel "$kernel" -initrd "$initrd" -append "$boot_args" \
			-serial "file:$log" -d trace:kvm_run_exit -D "$log.trace" \
			</dev/null >"$log.err" 2>&1 &
		;;
	esac
	pid=$!
	res=$(watch_boot "$pid" "$log")
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	total_ms[$vmm]=$((${total_ms[$vmm]:-0} + ($(date +%s%N) - t0) / 1000000))
	# One line per boot as it ends: a death of the test VM, which the
	# emulator's faults can cause too, keeps what came before it.
	echo "$vmm $i $res $(( ($(date +%s%N) - t0) / 1000000 ))" >>"$keep/results.txt"
	sync "$keep/results.txt"
	if [ "$res" = ok ]; then
		ok[$vmm]=$((${ok[$vmm]:-0} + 1))
	else
		failed[$vmm]=$((${failed[$vmm]:-0} + 1))
		cause[$vmm]="${cause[$vmm]:-} $i:$res"
		cat "$log" "$log.err" >"$keep/$vmm.$i.console" 2>/dev/null
		[ -f "$log.trace" ] && tail -n 20 "$log.trace" >"$keep/$vmm.$i.trace"
		echo "boot-stress: $vmm boot $i: $res (console kept in $keep/$vmm.$i.console)"
		tail -n 5 "$log" | sed 's/^/boot-stress:   /'
	fi
	rm -f "$log" "$log.err" "$log.trace"
}

start=$(date +%s)
for ((i = 1; i <= n; i++)); do
	if [ "$budget" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$budget" ]; then
		echo "boot-stress: stopping after $((i - 1)) rounds: ${budget} s spent"
		break
	fi
	for vmm in $vmms; do
		boot_one "$vmm" "$i"
	done
done

printf '%-6s %6s %6s %10s  %s\n' VMM ok failed "ms/boot" causes
status=0
for vmm in $vmms; do
	o=${ok[$vmm]:-0} f=${failed[$vmm]:-0}
	printf '%-6s %6d %6d %10d  %s\n' "$vmm" "$o" "$f" \
		$((${total_ms[$vmm]:-0} / (o + f > 0 ? o + f : 1))) "${cause[$vmm]:-}"
	[ "$f" -eq 0 ] || status=1
done
exit $status
