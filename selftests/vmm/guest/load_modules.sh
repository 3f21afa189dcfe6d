#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# load-modules: insmod, in the order scripts/kmods.sh wrote, those of the
# running kernel's modules in this image that are not loaded yet.  A
# module that does not load is reported, not fatal: crc32c-intel, say,
# needs SSE4.2, which an emulated CPU may lack (crc32c_generic stands
# in); the caller checks for the device it needs.
dir=/lib/modules/$(uname -r)
if [ ! -f "$dir/load.order" ]; then
	echo "load-modules: no modules for $(uname -r)"
	exit 1
fi
while read -r ko; do
	name=$(echo "${ko%.ko}" | tr - _)
	[ -d "/sys/module/$name" ] && continue
	insmod "$dir/$ko" 2>/dev/null || echo "load-modules: $ko did not load"
done <"$dir/load.order"
exit 0
