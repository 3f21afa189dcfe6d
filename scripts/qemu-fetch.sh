#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-fetch.sh SUITE [DIR]: print the qemu-system-x86_64 of Debian's SUITE
# ("stable" or "backports").  The one apt installed is used when it is from
# SUITE; otherwise SUITE's packages are downloaded and unpacked, not
# installed, under DIR (default build/qemu/SUITE), so that 'make stress-vm'
# can run both QEMUs on one machine.  tools/vmtest finds the unpacked
# QEMU's modules and firmware beside its binary.

set -e
srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/scripts/apt-backports.sh"
. "$srcdir/scripts/qemu-suite.sh"

suite=${1:?usage: qemu-fetch.sh stable|backports [DIR]}
dir=${2:-$srcdir/build/qemu/$suite}
case "$suite" in
stable) release=$(backports_codename) ;;
backports) release=$(backports_suite) ;;
*) echo "qemu-fetch: SUITE is stable or backports, not '$suite'" >&2; exit 1 ;;
esac

installed=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
case "$installed" in
'') from= ;;
*~bpo*) from=backports ;;
*) from=stable ;;
esac
if [ "$from" = "$suite" ]; then
	command -v qemu-system-x86_64
	exit 0
fi

bin=$dir/usr/bin/qemu-system-x86_64
if [ -x "$bin" ] && [ -e "$dir/.complete" ]; then
	echo "$bin"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "qemu-fetch: the $suite QEMU is not unpacked in $dir; run as root" >&2
	exit 1
fi
if [ ! -f "$BACKPORTS_SOURCES" ]; then
	echo "qemu-fetch: apt does not know $(backports_suite); run 'make deps'" >&2
	exit 1
fi

echo "qemu-fetch: unpacking the $release QEMU into $dir" >&2
rm -rf "$dir"
mkdir -p "$dir/debs"
(
	cd "$dir/debs"
	pkgs=
	for p in $QEMU_PACKAGES; do pkgs="$pkgs $p/$release"; done
	# shellcheck disable=SC2086
	apt-get download -q -o APT::Sandbox::User=root $pkgs >&2 || {
		apt-get update -q >&2
		apt-get download -q -o APT::Sandbox::User=root $pkgs >&2
	}
)
for deb in "$dir"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir"
done
rm -rf "$dir/debs"
"$bin" --version >/dev/null
touch "$dir/.complete"
echo "$bin"
