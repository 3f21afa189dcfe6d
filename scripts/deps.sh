#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install every Debian package pagetrack needs to build, test and benchmark.
# Idempotent: packages already installed are not touched, and when nothing
# is missing nothing is run at all.
#
# VMTEST_QEMU=backports (the default, see Documentation/testing.rst) takes
# QEMU from Debian's backports suite, added from the mirror this machine's
# apt sources already name and pinned so that nothing else comes from it;
# VMTEST_QEMU=stable takes the release's own QEMU.
#
# The module is also tested on Debian 13's kernel series, 6.12, which
# backports carries for this release: its image and headers are installed
# from there too (scripts/kdirs.sh lists the series).

set -e
srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/scripts/apt-backports.sh"
. "$srcdir/scripts/qemu-suite.sh"

PACKAGES="
	build-essential pkg-config
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 kmod
	busybox-static cpio gzip xz-utils
	libnl-genl-3-dev libcap-dev libcmocka-dev
	libjansson-dev
	perl curl socat e2fsprogs dmsetup gnuplot-nox
	clang libclang-rt-dev
"

qemu_suite=$(qemu_suite_default)
case "$qemu_suite" in
backports) BACKPORTS="$QEMU_PACKAGES" ;;
stable) BACKPORTS= ; PACKAGES="$PACKAGES $QEMU_PACKAGES" ;;
*) echo "deps: VMTEST_QEMU is stable or backports, not '$qemu_suite'" >&2
   exit 1 ;;
esac

# is_installed PKG [bpo|nobpo]: installed; and from backports, or not.
is_installed() {
	local v
	v=$(dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null) || return 1
	case "$v" in
	"install ok installed "*) ;;
	*) return 1 ;;
	esac
	case "${2:-any}" in
	bpo) [ -z "${v##*~bpo*}" ] ;;
	nobpo) [ -n "${v##*~bpo*}" ] ;;
	*) return 0 ;;
	esac
}

missing=
for pkg in $PACKAGES; do
	case " $QEMU_PACKAGES " in
	*" $pkg "*) is_installed "$pkg" nobpo || missing="$missing $pkg/$(backports_codename)" ;;
	*) is_installed "$pkg" || missing="$missing $pkg" ;;
	esac
done
for pkg in $BACKPORTS; do
	is_installed "$pkg" bpo || missing="$missing $pkg/$(backports_suite)"
done

# Kernel packages carry their ABI in their names (linux-image-6.12.95+deb12-
# amd64): the ones to install are what backports' metapackages depend on.
BPO_KERNEL_SERIES=6.12
bpo_kernel_installed() {
	ls -d /usr/src/linux-headers-$BPO_KERNEL_SERIES.*-amd64 \
	      /boot/vmlinuz-$BPO_KERNEL_SERIES.*-amd64 >/dev/null 2>&1
}
bpo_kernel_packages() {
	local v meta
	v=$(apt-cache madison linux-image-amd64 | awk -F' *[|] *' \
		-v s="$(backports_suite)/" 'index($3, s) { print $2; exit }')
	[ -n "$v" ] || return 1
	for meta in linux-image-amd64 linux-headers-amd64; do
		apt-cache show "$meta=$v" |
			sed -n 's/^Depends: \([^ ,]*\).*/\1/p' | head -n1
	done
}
bpo_kernel_installed || missing="$missing linux-$BPO_KERNEL_SERIES"

# The pin is kept up to date even when nothing is missing, so that a later
# 'apt-get upgrade' follows what the project asked for.
if [ "$(id -u)" -eq 0 ]; then
	# shellcheck disable=SC2086
	backports_enable $BACKPORTS || [ $? -eq 1 ] || exit 1
fi

if [ -z "$missing" ]; then
	echo "deps: all $(echo $PACKAGES $BACKPORTS | wc -w) packages and Linux" \
	     "$BPO_KERNEL_SERIES installed (QEMU: $qemu_suite)"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if ! bpo_kernel_installed; then
	kpkgs=$(bpo_kernel_packages) || {
		echo "deps: no Linux $BPO_KERNEL_SERIES in $(backports_suite)" >&2
		exit 1
	}
	missing=${missing/ linux-$BPO_KERNEL_SERIES/}
	for pkg in $kpkgs; do
		missing="$missing $pkg/$(backports_suite)"
	done
fi
echo "deps: installing$missing"
# An explicit pkg/suite picks that suite's version, also when that is a
# downgrade from the other suite's.
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends --allow-downgrades $missing
