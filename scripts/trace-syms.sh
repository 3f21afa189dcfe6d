#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# trace-syms.sh DIR TRACE [LINES]: the last LINES (default 80) events of a
# restore's KVM trace (restore_stress_test with RESTORE_TRACE_DIR=DIR), each
# guest RIP followed by its symbol in the guest kernel.
#
# The test guests boot the test VM's own kernel image, so the test VM's
# kallsyms (DIR/kallsyms.txt) names the guest's code once shifted by the
# difference of the two kernels' KASLR offsets: the guest's LSTAR (its
# entry_SYSCALL_64, from the snapshot's snapinfo in DIR/snapinfo.txt) minus
# the test VM's.  Kernel text lies in one 4 GiB window, so the low 32 bits
# suffice and awk's doubles hold them exactly.
set -eu
dir=${1:?usage: trace-syms.sh DIR TRACE [LINES]}
trace=${2:?usage: trace-syms.sh DIR TRACE [LINES]}
lines=${3:-80}

lstar=$(sed -n 's/.* lstar 0x\([0-9a-f]*\) .*/\1/p' "$dir/snapinfo.txt" |
	head -n 1)
[ -n "$lstar" ] || { echo "trace-syms: no lstar in $dir/snapinfo.txt" >&2; exit 1; }

grep -v '^#' "$trace" | tail -n "$lines" |
awk -v lstar="$lstar" -v syms="$dir/kallsyms.txt" '
# The low 32 bits of hex @h (mawk has no strtonum).
function low(h,    i, v) {
	h = tolower(substr(h, length(h) - 7))
	v = 0
	for (i = 1; i <= length(h); i++)
		v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
	return v
}
BEGIN {
	# kallsyms is nearly sorted; the search needs it sorted.
	cmd = "sort " syms
	while ((cmd | getline l) > 0) {
		split(l, f, " ")
		if (f[2] !~ /^[tTwW]$/)
			continue
		n++
		addr[n] = low(f[1])
		name[n] = f[3]
		if (f[3] == "entry_SYSCALL_64")
			entry = addr[n]
	}
	close(cmd)
	shift = (low(lstar) - entry + 2^32) % 2^32
}
# The nearest symbol at or below @a: kallsyms is sorted by address.
function sym(a,    lo, hi, mid) {
	a = (a - shift + 2^32) % 2^32
	lo = 1; hi = n
	if (a < addr[1])
		return "?"
	while (lo < hi) {
		mid = int((lo + hi + 1) / 2)
		if (addr[mid] <= a)
			lo = mid
		else
			hi = mid - 1
	}
	return sprintf("%s+0x%x", name[lo], a - addr[lo])
}
{
	s = ""
	if (match($0, /rip 0x[0-9a-f]+/)) {
		r = substr($0, RSTART + 6, RLENGTH - 6)
		if (length(r) == 16 && substr(r, 1, 8) == "ffffffff")
			s = " [" sym(low(r)) "]"
	}
	print $0 s
}'
