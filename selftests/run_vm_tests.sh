#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run selftest binaries inside the test VM, one after the other, as one TAP
# stream, then check the kernel log.  A binary that dies without reporting
# a failing test still counts as a failure.
#
# Each binary's output is framed by
#	# === begin BINARY
#	# === end BINARY status N, S s
# so that scripts/vm-suite.sh, on the host, knows which binaries finished
# if the VM dies, and which one was running.  While a binary runs, a line
# goes to the kernel console every HEARTBEAT seconds: a console that stays
# silent much longer than that means the VM itself is stuck (vmtest --stall).

timeout_s=${VM_TEST_TIMEOUT:-600}
heartbeat_s=${VM_TEST_HEARTBEAT:-20}

kmsg() {
	echo "run_vm_tests: $*" >/dev/kmsg 2>/dev/null
}

rc=0
for t in "$@"; do
	echo "# === begin $t"
	# The console log then shows which binary a dead VM was running.
	kmsg "$t"
	(
		n=0
		while sleep "$heartbeat_s"; do
			n=$((n + heartbeat_s))
			kmsg "$t running for ${n}s"
		done
	) &
	beat=$!
	out=$(mktemp)
	began=$SECONDS
	timeout -k 10 "$timeout_s" "$t" 2>&1 | tee "$out"
	st=${PIPESTATUS[0]}
	kill "$beat"
	wait "$beat" 2>/dev/null
	if [ "$st" -ne 0 ]; then
		rc=1
		if [ "$st" -eq 124 ]; then
			echo "not ok - $t timed out after ${timeout_s}s"
		elif ! grep -q '^not ok ' "$out"; then
			echo "not ok - $t exited with status $st before reporting a failure"
		fi
	elif ! grep -q '^ok \|^not ok ' "$out"; then
		echo "not ok - $t ran no test"
		rc=1
	fi
	rm -f "$out"
	# Its time, against the ${timeout_s}s it may take.
	echo "# === end $t status $st, $((SECONDS - began)) s"
done

echo "# === begin kernel log"
if dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace:|UBSAN|KASAN' >/tmp/klog-bad; then
	echo "not ok - kernel log is free of WARN/BUG/oops"
	sed 's/^/# /' /tmp/klog-bad
	dmesg | tail -n 60 | sed 's/^/# dmesg: /'
	rc=1
else
	echo "ok - kernel log is free of WARN/BUG/oops"
fi
echo "# === end kernel log status $rc"
exit $rc
