#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/vm-suite.sh itself, with "test binaries" that crash or
# silence the test VM on purpose: a VM death costs only the binary it
# interrupted, which runs again; what finished is never run twice; a test
# that fails is never rerun and still fails the suite, with its output; a
# binary that kills the VM every time fails with its name; a test whose
# guest triple-faulted runs once more.  TAP on stdout.

set -u
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
here=$srcdir/tests/harness
work=${1:-$srcdir/build/results/harness}
rm -rf "$work"
mkdir -p "$work"
n=0
failed=0

check() {
	n=$((n + 1))
	if eval "$2"; then
		echo "ok $n $1"
	else
		echo "not ok $n $1"
		failed=1
	fi
}

# make_bin SCENARIO NAME SCRIPT ARG...: a test binary at a path the VM also
# sees, with its arguments (state files in the results share) built in.
make_bin() {
	local dir=$work/$1/share/bin f
	mkdir -p "$dir"
	f=$dir/$2_test
	printf '#!/bin/sh\nexec %q' "$here/$3" >"$f"
	shift 3
	printf ' %q' "$@" >>"$f"
	printf '\n' >>"$f"
	chmod +x "$f"
	echo "$f"
}

runs() {
	cat "$1" 2>/dev/null || echo 0
}

suite() {
	local name=$1
	shift
	VM_SUITE_INSMOD= scripts/vm-suite.sh "$work/$name" "$@" \
		>"$work/$name.out" 2>&1
}

cd "$srcdir" || exit 1
echo "TAP version 13"

# A: a death in the middle costs one rerun of that binary.
s=$work/A/share
p1=$(make_bin A first passes.sh "$s/first.runs")
d=$(make_bin A dies_once vm_dies.sh 1 "$s/dies.runs")
p2=$(make_bin A last passes.sh "$s/last.runs")
suite A "$p1" "$d" "$p2"
st=$?
check "a VM death once: the suite passes" "[ $st -eq 0 ]"
check "a VM death once: the binaries that finished ran once" \
	"[ $(runs "$s/first.runs") -eq 1 ] && [ $(runs "$s/last.runs") -eq 1 ]"
check "a VM death once: the interrupted binary ran again" \
	"[ $(runs "$s/dies.runs") -eq 1 ] && grep -q '^ok 1 vm_dies survived' $work/A/vm.tap"
check "a VM death once: one rerun, named with its reason and console" \
	"[ \$(wc -l <$work/A/reruns.txt) -eq 1 ] && grep -q 'rerun $d, boot 1: the VM died; console: ' $work/A/reruns.txt"
check "a VM death once: the kernel log of the surviving boot is checked" \
	"grep -q '^ok - kernel log of boot 2 ' $work/A/vm.tap"

# B: a failing test is not rerun and fails the suite; a binary that kills
# the VM every time fails with its name after two reruns; the rest runs.
s=$work/B/share
f=$(make_bin B fails fails.sh "$s/fails.runs")
d=$(make_bin B dies_always vm_dies.sh 99 "$s/dies.runs")
p=$(make_bin B after passes.sh "$s/after.runs")
suite B "$f" "$d" "$p"
st=$?
check "a failing test fails the suite" "[ $st -ne 0 ]"
check "a failing test is never rerun, even when the VM dies later" \
	"[ $(runs "$s/fails.runs") -eq 1 ]"
check "a failing test keeps its output in the TAP" \
	"grep -q '^not ok 1 fails as it should' $work/B/vm.tap && grep -q '^# fails: the output of a failing test' $work/B/vm.tap"
check "a binary that kills the VM three times fails with its name" \
	"[ $(runs "$s/dies.runs") -eq 3 ] && grep -q '^not ok - $d: the VM died 3 times while it ran' $work/B/vm.tap"
check "the death's console excerpt is in the TAP" \
	"grep -q '^# .*sysrq' $work/B/vm.tap"
check "the binaries after it still run" \
	"[ $(runs "$s/after.runs") -eq 1 ] && grep -q '^ok 1 passes' $work/B/vm.tap"

# C: a VM whose console falls silent is a hang: killed, and rerun.
s=$work/C/share
h=$(make_bin C hangs vm_hangs.sh "$s/hung")
p=$(make_bin C after passes.sh "$s/after.runs")
VM_SUITE_STALL=20 suite C "$h" "$p"
st=$?
check "a hung VM: the suite passes after a rerun" "[ $st -eq 0 ]"
check "a hung VM: the rerun says the VM hung" \
	"grep -q 'rerun $h, boot 1: the VM hung' $work/C/reruns.txt"

# D: a test whose guest triple-faulted runs once more in a fresh VM; a
# second triple fault fails it, with its output.  Only under TCG, whose
# emulated CPU is the excuse: the test VM runs under TCG here.
s=$work/D/share
t1=$(make_bin D faults_once triple_faults.sh 1 "$s/once.runs")
t2=$(make_bin D faults_always triple_faults.sh 99 "$s/always.runs")
p=$(make_bin D after passes.sh "$s/after.runs")
VMTEST_ACCEL=tcg suite D "$t1" "$t2" "$p"
st=$?
check "a guest's triple fault twice fails the suite" "[ $st -ne 0 ]"
check "a guest's triple fault once: run again, and passing" \
	"[ $(runs "$s/once.runs") -eq 2 ] && grep -q '^ok 1 triple_faults passed' $work/D/vm.tap"
check "a guest's triple fault: the rerun is named with its reason" \
	"grep -q 'rerun $t1, boot 1: it failed, a guest triple-faulted' $work/D/reruns.txt"
check "a guest's triple fault twice: run twice, failing with its output" \
	"[ $(runs "$s/always.runs") -eq 2 ] && grep -q '^not ok 1 triple_faults: the guest never ticked' $work/D/vm.tap"
check "a guest's triple fault: the binaries after it run once" \
	"[ $(runs "$s/after.runs") -eq 1 ]"

echo "1..$n"
exit $failed
