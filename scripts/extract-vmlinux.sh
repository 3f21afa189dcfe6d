#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Extract the uncompressed ELF vmlinux from a bzImage: find each
# compressed stream's magic in the image, try to decompress from there,
# and keep the first result that is an ELF file.  Debian's kernels are
# xz; gzip and zstd are tried too.
# usage: extract-vmlinux.sh BZIMAGE OUTPUT

set -e
img=${1:?usage: extract-vmlinux.sh BZIMAGE OUTPUT}
out=${2:?usage: extract-vmlinux.sh BZIMAGE OUTPUT}
tmp=$out.tmp

is_elf() {
	[ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "177ELF" ]
}

# try MAGIC(printf) COMMAND...: each offset of MAGIC in the image.
try() {
	magic=$1
	shift
	for off in $(LC_ALL=C grep -aboF "$(printf "$magic")" "$img" |
		     cut -d: -f1); do
		tail -c +$((off + 1)) "$img" | "$@" >"$tmp" 2>/dev/null || :
		if [ -s "$tmp" ] && is_elf "$tmp"; then
			mv "$tmp" "$out"
			exit 0
		fi
	done
}

try '\3757zXZ\000' xz -dc
try '\050\265\057\375' zstd -dc
try '\037\213\010' gzip -dc
rm -f "$tmp"
echo "extract-vmlinux.sh: no ELF vmlinux found in $img" >&2
exit 1
