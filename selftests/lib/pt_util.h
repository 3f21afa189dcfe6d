/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for tests of /dev/pagetrack. */
#ifndef PAGETRACK_PT_UTIL_H
#define PAGETRACK_PT_UTIL_H

#include <linux/pagetrack.h>

#include "test_util.h"

#define PT_DEVICE	"/dev/" PAGETRACK_DEVICE_NAME

int pt_open(void);
int pt_module_refcount(void);

#endif
