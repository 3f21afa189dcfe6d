#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# stress-vm.sh: boot the test VM K times per QEMU, each time running the
# whole VM suite with no rerun, and count what the VM itself lost.  This is
# the measurement behind the test VM's default QEMU (testing.rst).
#
# Environment: K (attempts per QEMU, default 5), QEMUS (default
# "stable backports"; each a tools/vmtest --qemu argument), OUT (default
# build/stress-vm).  The QEMUs take turns, so that a slow or busy hour of
# the machine falls on both.

set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir" || exit 1
k=${K:-5}
qemus=${QEMUS:-stable backports}
out=${OUT:-build/stress-vm}
case "$k" in ''|*[!0-9]*|0) echo "stress-vm: K is a count, not '$k'" >&2; exit 1 ;; esac

mapfile -t bins < <(find build/selftests -name '*_test' -type f | sort)
[ ${#bins[@]} -gt 0 ] || { echo "stress-vm: no selftests built" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"

declare -A version attempts deaths hangs failing secs
for q in $qemus; do
	version[$q]=$(tools/vmtest --qemu "$q" --qemu-version) || exit 1
	attempts[$q]=0 deaths[$q]=0 hangs[$q]=0 failing[$q]=0 secs[$q]=0
done

for i in $(seq 1 "$k"); do
	for q in $qemus; do
		name=$q-$i
		echo "=== stress-vm: attempt $i of $k, ${version[$q]}"
		t0=$SECONDS
		tools/vmtest --qemu "$q" --insmod build/pagetrack.ko \
			--log "$out/$name.console.log" --out "$out/share" \
			--timeout 1200 --stall 150 -- \
			selftests/run_vm_tests.sh "${bins[@]}" >"$out/$name.tap" 2>&1
		st=$?
		dt=$((SECONDS - t0))
		attempts[$q]=$((attempts[$q] + 1))
		secs[$q]=$((secs[$q] + dt))
		nfail=$(grep -c '^not ok ' "$out/$name.tap")
		failing[$q]=$((failing[$q] + nfail))
		running=$(sed -n 's/^# === begin //p' "$out/$name.tap" | tail -n1)
		case $st in
		124) hangs[$q]=$((hangs[$q] + 1)); what="hang in $running" ;;
		125) deaths[$q]=$((deaths[$q] + 1)); what="death in $running" ;;
		*) what="VM survived" ;;
		esac
		line="$name: ${dt}s, status $st, $what, $nfail failing"
		if [ "$st" -eq 124 ] || [ "$st" -eq 125 ]; then
			cause=$(grep -m1 'BUG: \|Oops\|Kernel panic - \|rcu: INFO: ' \
				"$out/$name.console.log")
			line="$line; ${cause:-nothing on the console}"
		fi
		echo "$line" | tee -a "$out/attempts.txt"
		grep '^not ok ' "$out/$name.tap" | sed 's/^/    /'
	done
done

echo
echo "=== stress-vm: K=$k, the whole VM suite per attempt, no reruns"
printf '%-64s %8s %6s %5s %8s %9s\n' QEMU attempts deaths hangs failing "mean (s)"
for q in $qemus; do
	printf '%-64s %8d %6d %5d %8d %9d\n' "${version[$q]%%,*} ($q)" \
		"${attempts[$q]}" "${deaths[$q]}" "${hangs[$q]}" "${failing[$q]}" \
		$((secs[$q] / attempts[$q]))
done | tee "$out/summary.txt"
echo "every attempt: $out/attempts.txt"
