# SPDX-License-Identifier: GPL-2.0
#
# Deterministic counters beside the benchmarks' times: they do not depend
# on how fast the emulator runs, so they separate the methods where times
# are noisy.  Source it after lib.sh.
#
#   proc_counters PID     "MINFLT MAJFLT CPU_MS" of a live process
#                         (/proc/PID/stat: faults, user + system time)
#   kvm_counters PID      "PF_TAKEN PF_FIXED" summed over the VMs of PID
#                         (KVM's debugfs statistics: page faults taken by
#                         KVM's MMU, and those it fixed by mapping a page);
#                         "- -" when debugfs or the VM is not there

proc_counters() {
	# The command name (field 2) may hold spaces: cut after its ')'.
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v hz="$(getconf CLK_TCK)" \
			'{ printf "%d %d %d\n", $8, $10, ($12 + $13) * 1000 / hz }'
}

kvm_counters() {
	local t d taken=0 fixed=0 found=

	[ -d /sys/kernel/debug/kvm ] ||
		mount -t debugfs none /sys/kernel/debug 2>/dev/null
	# KVM names a VM's directory after the thread that created it (the
	# VMM's API thread), not the process: try each thread.
	for t in /proc/"$1"/task/*; do
		for d in /sys/kernel/debug/kvm/"${t##*/}"-*; do
			[ -r "$d/pf_taken" ] || continue
			found=1
			taken=$((taken + $(cat "$d/pf_taken")))
			fixed=$((fixed + $(cat "$d/pf_fixed")))
		done
	done
	if [ -n "$found" ]; then echo "$taken $fixed"; else echo "- -"; fi
}
