#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Extract the few files pagetrack borrows from Debian's linux-source-6.1
# (the kselftest harness and checkpatch.pl) into DEST.  They are build
# inputs, never committed.

set -e

tarball=${1:?usage: extract-ksrc.sh TARBALL DEST}
dest=${2:?usage: extract-ksrc.sh TARBALL DEST}

if [ ! -r "$tarball" ]; then
	echo "extract-ksrc: $tarball not found; run 'make deps' as root" >&2
	exit 1
fi

top=$(basename "$tarball" .tar.xz)
tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
tar -xJf "$tarball" -C "$tmp" --strip-components=1 \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/kernel-doc" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"
rm -rf "$dest"
mv "$tmp" "$dest"
touch "$dest/.stamp"
