#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A "test binary" for tests/harness/vm-suite_test.sh: the first $1 times it
# runs (counted in the file $2) it fails as a test fails whose guest
# triple-faulted, then passes.
n=$(cat "$2" 2>/dev/null || echo 0)
echo $((n + 1)) >"$2"
sync
if [ "$n" -lt "$1" ]; then
	echo "# console: vmm: vCPU 0: triple fault, stopping"
	echo "# console: vmm: guest triple-faulted"
	echo "not ok 1 triple_faults: the guest never ticked"
	exit 1
fi
echo "ok 1 triple_faults passed"
