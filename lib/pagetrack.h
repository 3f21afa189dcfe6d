/* SPDX-License-Identifier: GPL-2.0 */
/* Thin userspace wrappers of /dev/pagetrack's ioctls: 0 or -errno. */
#ifndef PAGETRACK_LIB_PAGETRACK_H
#define PAGETRACK_LIB_PAGETRACK_H

#include <linux/pagetrack.h>
#include <stdint.h>

#define PAGETRACK_DEVICE	"/dev/" PAGETRACK_DEVICE_NAME

int pagetrack__open(void);
int pagetrack__attach(int fd, uint64_t start, uint64_t length,
		      uint32_t flags, int pid, int kvm_fd);
int pagetrack__scan(int fd, struct pagetrack_scan *scan);

#endif
