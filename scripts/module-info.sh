#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TAP checks of the built module's metadata: what modinfo shows, and that
# dkms.conf packages the version the module reports.

ko=build/pagetrack.ko
n=0
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1"
		echo "# got '$2', expected '$3'"
	fi
}

version=$(modinfo -F version "$ko")
echo "TAP version 13"
echo "1..7"
check "modinfo license" "$(modinfo -F license "$ko")" "GPL"
check "modinfo description" \
	"$(modinfo -F description "$ko" | grep -c 'KVM guest accessed bits')" 1
check "modinfo version is set" "$(echo "$version" | grep -cE '^[0-9]+\.[0-9]+\.[0-9]+$')" 1
check "dkms.conf version matches" \
	"$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)" "$version"
# kmod/compat.h refuses other series at compile time; DKMS must agree.
check "dkms.conf BUILD_EXCLUSIVE_KERNEL accepts the built kernel" \
	"$(modinfo -F vermagic "$ko" | cut -d' ' -f1 | grep -cE \
		"$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"/\1/p' kmod/dkms.conf)")" 1
check "no hard dependency on kvm.ko" "$(modinfo -F depends "$ko")" ""
# kernel-doc -none prints a warning per malformed or missing description.
check "kernel-doc of the uAPI is complete" \
	"$(perl build/ksrc/scripts/kernel-doc -none \
		include/uapi/linux/pagetrack.h 2>&1)" ""
