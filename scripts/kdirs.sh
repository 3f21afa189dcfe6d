#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# List the installed Debian kernel build trees pagetrack.ko supports, one
# per line, the newest release of each series, in the order of
# PT_SERIES: the first is the default (scripts/kdir.sh), and 'make check'
# runs the whole VM suite on it and the module's suite on the others.
# Keep PT_SERIES in step with kmod/compat.h and kmod/dkms.conf.

PT_SERIES="6.1 6.12"

for series in $PT_SERIES; do
	ls -d /usr/src/linux-headers-"$series".*-amd64 2>/dev/null |
		sort -V | tail -n1
done
