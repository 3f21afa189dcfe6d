#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run selftest binaries inside the test VM, one after the other, as one TAP
# stream.  A binary that dies without reporting a failing test still counts
# as a failure, and the kernel log must stay free of warnings and oopses.

rc=0
for t in "$@"; do
	echo "# === $t"
	# The console log then shows which binary a hung VM was running.
	echo "run_vm_tests: $t" >/dev/kmsg 2>/dev/null
	out=$(mktemp)
	timeout -k 10 "${VM_TEST_TIMEOUT:-600}" "$t" >"$out" 2>&1
	st=$?
	cat "$out"
	if [ $st -ne 0 ]; then
		rc=1
		grep -q '^not ok ' "$out" ||
			echo "not ok - $t exited with status $st before reporting a failure"
	elif ! grep -q '^ok \|^not ok ' "$out"; then
		echo "not ok - $t ran no test"
		rc=1
	fi
	rm -f "$out"
done

echo "# === kernel log"
if dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace:|UBSAN|KASAN' >/tmp/klog-bad; then
	echo "not ok - kernel log is free of WARN/BUG/oops"
	sed 's/^/# /' /tmp/klog-bad
	dmesg | tail -n 60 | sed 's/^/# dmesg: /'
	rc=1
else
	echo "ok - kernel log is free of WARN/BUG/oops"
fi
exit $rc
