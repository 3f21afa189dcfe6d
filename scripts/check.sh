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

# failing_output FILE: each "not ok" line of a TAP file, after the lines the
# test printed since it started (kselftest's "#  RUN", or a binary's start).
failing_output() {
	awk '/^#  RUN |^# === begin |^ok / { n = 0 }
	     { buf[n++] = $0 }
	     /^not ok / { for (i = 0; i < n; i++) print "    " buf[i]; n = 0 }' "$1"
}

# count SUITE FILE: tally a TAP file's results under SUITE.
count() {
	local suite=$1 file=$2 pass fail skip
	pass=$(grep -E '^ok ' "$file" | grep -vc '# SKIP')
	skip=$(grep -E '^ok .*# SKIP' -c "$file")
	fail=$(grep -Ec '^not ok ' "$file")
	suites+=("$(printf '%-34s %3d passed, %d failed, %d skipped' \
		"$suite" "$pass" "$fail" "$skip")")
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	if [ "$fail" -gt 0 ]; then
		echo "--- $suite: failing tests, each with its output:"
		failing_output "$file"
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

echo "=== harness: the VM suite's reruns, with VMs that die on purpose"
tests/harness/vm-suite_test.sh "$res/harness" >"$res/harness.tap" 2>&1
cat "$res/harness.tap"
count harness "$res/harness.tap"

echo "=== guest: the rootfs guest on each kernel, QEMU microvm on the host"
tests/guest/rootfs_boot_test.sh "$res/guest" >"$res/guest.tap" 2>&1
cat "$res/guest.tap"
count guest "$res/guest.tap"

echo "=== fuzz: each libFuzzer target ${FUZZ_SMOKE_TIME:-10} s from its corpus (host)"
make --no-print-directory -s fuzz-smoke \
	${FUZZ_SMOKE_TIME:+FUZZ_SMOKE_TIME=$FUZZ_SMOKE_TIME} >"$res/fuzz.tap" 2>&1
st=$?
cat "$res/fuzz.tap"
# A build that fails runs no target: that must count too.
if [ $st -ne 0 ] && ! grep -q '^not ok ' "$res/fuzz.tap"; then
	echo "not ok - make fuzz-smoke exited with status $st" |
		tee -a "$res/fuzz.tap"
fi
count fuzz "$res/fuzz.tap"

# kernel_release KDIR: the release a kernel build tree is for.
kernel_release() {
	sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' \
		"$1/include/generated/utsrelease.h"
}

qemu=$(tools/vmtest --qemu-version) || qemu="no usable QEMU"
declare -a vm_lines=()

# vm_suite NAME DIR BINARY...: the binaries in fresh test VMs (a VM death
# costs the binary it was running, which runs again in a fresh VM, see
# scripts/vm-suite.sh; nothing that finished is run twice), counted as NAME.
vm_suite() {
	local name=$1 dir=$2 boots reruns
	shift 2
	VM_SUITE_BUDGET=${VM_SUITE_BUDGET:-2400} scripts/vm-suite.sh "$dir" "$@"
	cp "$dir/vm.tap" "$dir.tap"
	count "$name" "$dir.tap"
	boots=$(wc -l <"$dir/boots.txt")
	reruns=$(wc -l <"$dir/reruns.txt")
	vm_lines+=("$name: $boots test-VM boots, $reruns reruns")
	# The slowest binaries, to see the per-binary timeout coming.
	slowest=$(sed -n 's|^# === end build/selftests/[a-z]*/\(.*\) status [0-9]*, \([0-9]*\) s$|\2 s \1|p' \
		"$dir"/boot-*.tap 2>/dev/null | sort -rn | awk '!seen[$3]++' |
		head -n 3 | paste -sd, | sed 's/,/, /g')
	[ -n "$slowest" ] && vm_lines+=("    slowest: $slowest")
	while read -r line; do
		vm_lines+=("    $line")
	done <"$dir/reruns.txt"
}

# The whole VM suite on each supported kernel scripts/kdirs.sh lists: first
# on the one 'make all' built the module for, then on each other one, with
# the module built for it beside the default build.
first=$(scripts/kdir.sh)
echo "--- $qemu"
for kdir in "$first" $(scripts/kdirs.sh | grep -vxF "$first"); do
	rel=$(kernel_release "$kdir")
	ko=build/pagetrack.ko
	if [ "$kdir" != "$first" ]; then
		ko=build/$rel/pagetrack.ko
		if ! make --no-print-directory -s module KDIR="$kdir" \
			>"$res/module-$rel.log" 2>&1; then
			cat "$res/module-$rel.log"
			echo "not ok - pagetrack.ko builds for $rel" \
				>"$res/vm-$rel.tap"
			count "vm $rel" "$res/vm-$rel.tap"
			continue
		fi
	fi
	echo "=== selftests on Linux $rel (nested test VM)"
	KDIR="$kdir" VM_SUITE_INSMOD="$ko" vm_suite "vm $rel" "$res/vm-$rel" \
		$(find build/selftests -name '*_test' -type f | sort)
done

echo
echo "=== summary"
printf '%s\n' "${suites[@]}"
echo "vm suites: $qemu"
printf '%s\n' "${vm_lines[@]}"
if [ "$total_skip" -gt 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
