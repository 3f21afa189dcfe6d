# SPDX-License-Identifier: GPL-2.0
#
# Sourced: which QEMU the test VM runs.  Two are known: the Debian
# release's own ("stable", 7.2 on Debian 12) and its backports suite's
# ("backports", 10.0).  The default is the one 'make stress-vm' measured
# to lose fewer runs (Documentation/testing.rst, "Which QEMU").

QEMU_SUITE_DEFAULT=backports

# What the test VM needs of QEMU, all from one suite: the x86 emulator,
# its data (option ROMs), and the BIOS that data expects.
QEMU_PACKAGES="qemu-system-x86 qemu-system-common qemu-system-data seabios"

qemu_suite_default() {
	echo "${VMTEST_QEMU:-$QEMU_SUITE_DEFAULT}"
}
