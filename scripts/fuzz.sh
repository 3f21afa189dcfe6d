#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fuzz.sh SECONDS TARGET... - run each libFuzzer target of build/fuzz for
# SECONDS, one at a time, from its seeds: fuzz/corpus/TARGET (in the tree,
# with every crash found so far, replayed first) and build/fuzz/seeds/
# TARGET (written by mkseeds).  New inputs go to build/fuzz/corpus/TARGET,
# so a longer run starts where the last one stopped.  Prints per target
# the executions, coverage (cov: edges, ft: features) and crashes, and a
# TAP line; exits 1 if any target crashed, leaked or hung.
#
# Crash inputs are kept in build/fuzz/artifacts/TARGET/; replay one with
#	build/fuzz/TARGET build/fuzz/artifacts/TARGET/crash-...

srcdir=$(cd "$(dirname "$0")/.." && pwd)
b=$srcdir/build/fuzz
secs=${1:?usage: fuzz.sh SECONDS TARGET...}
shift

# Leaks are failures; a hang is an input taking over 10 s.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=0
n=0
for t in "$@"; do
	n=$((n + 1))
	work=$b/corpus/$t art=$b/artifacts/$t log=$b/$t.log
	mkdir -p "$work" "$art"
	rm -f "$art"/*
	seeds=
	for d in "$srcdir/fuzz/corpus/$t" "$b/seeds/$t"; do
		[ -d "$d" ] && seeds="$seeds $d"
	done
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$b/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" $seeds >"$log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	crashes=$(find "$art" -type f | wc -l)
	printf '# fuzz %-15s %8s execs  cov %5s  ft %6s  crashes %s  (%ss)\n' \
		"$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$took"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		failed=$((failed + 1))
		grep -E 'ERROR: |SUMMARY: |does not hold|Test unit written' \
			"$log" | head -n 8 | sed 's/^/#   /'
		echo "#   log: $log"
		echo "not ok $n - fuzz $t"
	else
		echo "ok $n - fuzz $t"
	fi
done
[ "$failed" -eq 0 ]
