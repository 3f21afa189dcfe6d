#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-suite.sh DIR BINARY...: run selftest binaries in the test VM so that a
# death of the VM costs one binary, not the suite.
#
# All binaries run in one boot of the test VM (selftests/run_vm_tests.sh).
# When the VM dies (no status) or hangs (timeout, or a console silent for
# VM_SUITE_STALL seconds) while binary B runs, the results of the binaries
# that finished stand, B runs again in a fresh VM, at most VM_SUITE_RERUNS
# times, and then the binaries not yet run continue.  A binary that fails
# while the VM survives is never rerun; one that kills the VM every time
# fails with its name and the console's last words, and so does one whose
# death shows pagetrack.ko in a kernel trace, at once.
#
# DIR receives:
#	vm.tap			the finished binaries' TAP and one kernel-log
#				result per surviving boot
#	boot-N.tap, console-N.log   each boot's raw stream and console
#	reruns.txt		one line per rerun: binary, reason, console
#	boots.txt		one line per boot: status, binaries, outcome
# Exits 0 when nothing failed.
#
# A binary that fails with a guest's triple fault in its output, in a test
# VM under TCG, runs once more in a fresh VM (VM_SUITE_FAULT_RERUNS): the
# emulated CPU makes guests triple-fault now and then, QEMU's own guests
# too, and corrupts the test VM's memory as it does
# (Documentation/testing.rst, "The guests' triple faults").  The failed attempt stays in boot-N.tap
# and reruns.txt; a second failure fails, whatever its cause.
#
# Environment: VMTEST_QEMU_BIN (or VM_SUITE_QEMU, a --qemu argument),
# VM_SUITE_BUDGET (seconds for all boots, default 900), VM_SUITE_STALL
# (default 150), VM_SUITE_RERUNS (default 2), VM_SUITE_FAULT_RERUNS
# (default 1), VM_SUITE_INSMOD.

set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: vm-suite.sh DIR BINARY...}
shift
budget=${VM_SUITE_BUDGET:-900}
stall=${VM_SUITE_STALL:-150}
reruns=${VM_SUITE_RERUNS:-2}
fault_reruns=${VM_SUITE_FAULT_RERUNS:-1}
insmod=${VM_SUITE_INSMOD-$srcdir/build/pagetrack.ko}
qemu=${VM_SUITE_QEMU:-${VMTEST_QEMU_BIN:-qemu-system-x86_64}}

mkdir -p "$dir"
tap=$dir/vm.tap
: >"$tap"
: >"$dir/reruns.txt"
: >"$dir/boots.txt"

queue=("$@")
declare -A deaths=() faults=()
boot=0
empty_boots=0
start=$SECONDS

# section FILE NAME: the lines from "# === begin NAME" to its end line.
section() {
	awk -v b="# === begin $2" -v e="# === end $2 status " '
		$0 == b { on = 1 }
		on { print }
		on && index($0, e) == 1 { exit }' "$1"
}

# triple_faulted FILE NAME: NAME failed, and a guest triple-faulted in it,
# in a test VM whose CPU QEMU emulated (vmtest names the accelerator).
# Under KVM the excuse does not hold, and a triple fault fails at once.
triple_faulted() {
	grep -q '^vmtest: QEMU .*, accelerator tcg$' "$1" &&
		grep -q "^# === end $2 status [1-9]" "$1" &&
		section "$1" "$2" | grep -q 'guest triple-faulted\|: triple fault'
}

# last_words CONSOLE: why the VM died, in a few lines.
last_words() {
	grep -m1 -B2 -A14 'BUG: \|Oops\|Kernel panic - \|rcu: INFO: ' "$1" ||
		tail -n 12 "$1"
}

# fail NAME WHY CONSOLE: NAME fails for WHY, with the console's last words.
fail() {
	{
		echo "not ok - $1: $2 (console: $3)"
		last_words "$3" | sed 's/^/# /'
	} | tee -a "$tap"
}

while [ ${#queue[@]} -gt 0 ]; do
	left=$((budget - (SECONDS - start)))
	if [ "$left" -le 30 ]; then
		for t in "${queue[@]}"; do
			echo "not ok - $t not run: the VM suite's ${budget}s are spent" |
				tee -a "$tap"
		done
		break
	fi
	boot=$((boot + 1))
	raw=$dir/boot-$boot.tap
	console=$dir/console-$boot.log
	insmod_opt=()
	[ -n "$insmod" ] && insmod_opt=(--insmod "$insmod")
	"$srcdir/tools/vmtest" --qemu "$qemu" "${insmod_opt[@]}" \
		--log "$console" --out "$dir/share" \
		--timeout "$left" --stall "$stall" -- \
		selftests/run_vm_tests.sh "${queue[@]}" 2>&1 | tee "$raw"
	st=${PIPESTATUS[0]}

	# What finished stands, whatever happened to the VM afterwards.
	rest=()
	again=()
	running=
	for t in "${queue[@]}"; do
		if grep -qxF "# === begin $t" "$raw"; then
			if triple_faulted "$raw" "$t" &&
			   [ "${faults[$t]:-0}" -lt "$fault_reruns" ]; then
				faults[$t]=$((${faults[$t]:-0} + 1))
				echo "rerun $t, boot $boot: it failed, a guest triple-faulted; its output: $raw" \
					>>"$dir/reruns.txt"
				echo "# vm-suite: $t failed in boot $boot with a guest's triple fault; it runs again" |
					tee -a "$tap"
				again+=("$t")
			elif grep -q "^# === end $t status " "$raw"; then
				section "$raw" "$t" >>"$tap"
			else
				running=$t
			fi
		else
			rest+=("$t")
		fi
	done
	if grep -q '^# === end kernel log status ' "$raw"; then
		section "$raw" "kernel log" | sed \
			"s/^\(\(not \)\?ok - kernel log\)/\1 of boot $boot/" >>"$tap"
	fi

	case $st in
	124) why="the VM hung" ;;
	125) why="the VM died"
	     # A silent death may be the test VM's own triple fault (vmtest).
	     grep -qs '^Triple fault$' "${console%.log}.qemu.log" &&
		why="the VM died: its CPU triple-faulted" ;;
	*)  echo "boot $boot: status $st, ${#queue[@]} binaries, VM survived" \
		>>"$dir/boots.txt"
	    for t in $running "${rest[@]}"; do
		echo "not ok - $t did not run, though the VM survived" | tee -a "$tap"
	    done
	    [ ${#again[@]} -gt 0 ] || break
	    queue=("${again[@]}")
	    continue ;;
	esac
	echo "boot $boot: status $st, ${#queue[@]} binaries, $why${running:+ in $running}" \
		>>"$dir/boots.txt"
	echo "--- vm-suite: $why (status $st)${running:+ while $running ran}; console kept in $console:"
	last_words "$console" | sed 's/^/    /'

	if [ -z "$running" ]; then
		# Before the first binary or after the last: nothing to blame,
		# but a VM that never gets to run anything must not loop.
		if [ ${#rest[@]} -eq ${#queue[@]} ]; then
			empty_boots=$((empty_boots + 1))
			if [ $empty_boots -gt "$reruns" ]; then
				fail "test VM" "$why $empty_boots times before running a test" "$console"
				break
			fi
			echo "rerun (whole queue), boot $boot: $why before the first binary; console: $console" \
				>>"$dir/reruns.txt"
		fi
		queue=("${rest[@]}" "${again[@]}")
		continue
	fi

	deaths[$running]=$((${deaths[$running]:-0} + 1))
	if grep -q '\[pagetrack\]' "$console"; then
		fail "$running" "$why with pagetrack.ko in a kernel trace" "$console"
		queue=("${rest[@]}" "${again[@]}")
	elif [ "${deaths[$running]}" -gt "$reruns" ]; then
		fail "$running" "$why ${deaths[$running]} times while it ran" "$console"
		queue=("${rest[@]}" "${again[@]}")
	else
		echo "rerun $running, boot $boot: $why; console: $console" >>"$dir/reruns.txt"
		queue=("$running" "${rest[@]}" "${again[@]}")
	fi
done

! grep -q '^not ok ' "$tap"
