#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install every Debian package pagetrack needs to build, test and benchmark.
# Idempotent: packages already installed are not touched, and when nothing
# is missing nothing is run at all.

set -e

PACKAGES="
	build-essential pkg-config
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 kmod
	qemu-system-x86 busybox-static cpio gzip xz-utils
	libnl-genl-3-dev libcap-dev libcmocka-dev
	libmicrohttpd-dev libjansson-dev
	perl curl socat e2fsprogs dmsetup gnuplot-nox
"

missing=
for pkg in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all $(echo $PACKAGES | wc -w) packages installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root, or: apt-get install$missing" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
