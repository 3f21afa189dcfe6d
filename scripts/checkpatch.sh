#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --strict over the kernel-side sources, as TAP: one test a
# file, with checkpatch's own report on failure.

cp=build/ksrc/scripts/checkpatch.pl
n=0
echo "TAP version 13"
echo "1..$#"
for f in "$@"; do
	n=$((n + 1))
	ignore=FILE_PATH_CHANGES
	if report=$(perl "$cp" --strict --no-tree --terse --show-types \
			--ignore "$ignore" -f "$f" 2>&1); then
		echo "ok $n checkpatch $f"
	else
		echo "not ok $n checkpatch $f"
		echo "$report" | sed 's/^/# /'
	fi
done
