#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make check' after the build: run every suite, keep each one's TAP in
# build/results/, print a summary per suite and the closing line
# "N passed, N failed[, N skipped]".  Exits non-zero on any failure.

set -u
res=build/results
rm -rf "$res"
mkdir -p "$res"

declare -a suites=()
total_pass=0
total_fail=0
total_skip=0

# count SUITE FILE: tally a TAP file's results under SUITE.
count() {
	local suite=$1 file=$2 pass fail skip
	pass=$(grep -E '^ok ' "$file" | grep -vc '# SKIP')
	skip=$(grep -E '^ok .*# SKIP' -c "$file")
	fail=$(grep -Ec '^not ok ' "$file")
	suites+=("$(printf '%-12s %3d passed, %d failed, %d skipped' \
		"$suite" "$pass" "$fail" "$skip")")
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	if [ "$fail" -gt 0 ]; then
		echo "--- $suite: failing tests:"
		grep -E '^not ok ' "$file"
	fi
}

echo "=== unit tests (host, ASan/UBSan)"
for t in build/unit/*_test; do
	name=$(basename "$t")
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$res/unit-$name.tap" 2>&1
	st=$?
	cat "$res/unit-$name.tap"
	if [ $st -ne 0 ] && ! grep -q '^not ok ' "$res/unit-$name.tap"; then
		echo "not ok - $name exited with status $st" | tee -a "$res/unit-$name.tap"
	fi
done
cat "$res"/unit-*.tap >"$res/unit.tap" 2>/dev/null
count unit "$res/unit.tap"

echo "=== kmod: checkpatch --strict, module metadata"
{
	make --no-print-directory -s checkpatch
	scripts/module-info.sh
} >"$res/kmod.tap" 2>&1
cat "$res/kmod.tap"
count kmod "$res/kmod.tap"

echo "=== selftests (nested test VM)"
vmlog=$res/vm-console.log
run_vm_suite() {
	tools/vmtest --insmod build/pagetrack.ko --log "$vmlog" --out "$res/vm" \
		--timeout "${VMTEST_TIMEOUT:-900}" -- \
		selftests/run_vm_tests.sh \
		$(find build/selftests -name '*_test' -type f | sort) \
		2>&1 | tee "$res/vm.tap"
	return "${PIPESTATUS[0]}"
}
run_vm_suite
st=$?
# QEMU 7.2's software SVM has been seen to break the test VM itself: a
# kernel entry faulting until its stack overflows, a stalled CPU, a reset
# out of the blue, both vCPUs spinning with no progress until vmtest's
# timeout.  A test running at that moment fails too (its guest stops
# ticking), so a VM death or timeout voids the whole attempt: say so, keep
# the console and what failed, and run the suite again, at most twice.  A
# test that really fails fails in every attempt; only a VM that dies
# every time makes the VM suite fail as a whole.
attempt=1
while { [ "$st" -eq 125 ] || [ "$st" -eq 124 ]; } && [ "$attempt" -lt 3 ]; do
	cp "$vmlog" "$res/vm-console-crash$attempt.log"
	cp "$res/vm.tap" "$res/vm-crash$attempt.tap"
	echo "--- the test VM died or hung (status $st; console kept in $res/vm-console-crash$attempt.log):"
	{ grep -m1 -B2 -A12 'BUG:\|Kernel panic' "$vmlog" ||
		tail -n 5 "$vmlog"; } | sed 's/^/    /'
	if grep -q '^not ok ' "$res/vm.tap"; then
		echo "--- failed in the voided attempt:"
		grep '^not ok ' "$res/vm.tap" | sed 's/^/    /'
	fi
	attempt=$((attempt + 1))
	echo "--- running the VM suite again (attempt $attempt of 3)"
	run_vm_suite
	st=$?
done
if [ "$st" -ne 0 ] && ! grep -q '^not ok ' "$res/vm.tap"; then
	echo "not ok - test VM failed (vmtest status $st; console: $vmlog)" |
		tee -a "$res/vm.tap"
fi
count vm "$res/vm.tap"

echo
echo "=== summary"
printf '%s\n' "${suites[@]}"
if [ "$total_skip" -gt 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
