/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel series pagetrack is built and tested for.  The module leans
 * on internals that change from one series to the next (the page-table
 * helpers, KVM's MMU notifier, the name of a pidfd's file), so it refuses
 * to build for a series nobody has tested it on.
 *
 * Keep in step with BUILD_EXCLUSIVE_KERNEL in kmod/dkms.conf.  Another
 * series is another [KERNEL_VERSION(x, y, 0), KERNEL_VERSION(x, y + 1, 0))
 * range that the condition below excludes.
 */
#ifndef PAGETRACK_COMPAT_H
#define PAGETRACK_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#error "pagetrack supports the Linux 6.1 series (Debian 12) only"
#endif

#endif
