#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A "test binary" for tests/harness/vm-suite_test.sh: it panics the test VM
# the first $1 times it runs (counted in the file $2, in the results share),
# then passes.
n=$(cat "$2" 2>/dev/null || echo 0)
if [ "$n" -lt "$1" ]; then
	echo $((n + 1)) >"$2"
	sync
	echo "# vm_dies: crashing the VM (run $((n + 1)))"
	echo c >/proc/sysrq-trigger
	sleep 60
fi
echo "ok 1 vm_dies survived"
