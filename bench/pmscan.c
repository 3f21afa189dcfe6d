// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pmscan.h"

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif

bool pmscan__available(int pagemap_fd)
{
	/* An empty scan: the arguments are checked, nothing is walked. */
	struct pm_scan_arg arg = { .size = sizeof(arg) };

	return ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) >= 0;
}

int64_t pmscan__scan(struct pmscan *p, uint64_t start, uint64_t len,
		     uint64_t mask, uint64_t flags)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = start,
		.end = start + len,
		.vec = (uintptr_t)p->vec,
		.vec_len = p->vec_len,
		.category_mask = mask,
		.return_mask = mask,
	};
	int64_t pages = 0;
	long i, n;

	/*
	 * A scan that fills the vector stops at walk_end; the next goes on
	 * from there.  A vector not filled means the scan is complete:
	 * walk_end is not to be trusted then, for after a scan whose runs
	 * overflowed the kernel's bounce buffer (512 runs) at least once it
	 * still holds the point of the last overflow, not the end (6.12's
	 * do_pagemap_scan() only sets it at an overflow, or when 0).
	 */
	for (;;) {
		n = ioctl(p->pagemap_fd, PAGEMAP_SCAN, &arg);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++)
			pages += (p->vec[i].end - p->vec[i].start) / 4096;
		if ((uint64_t)n < p->vec_len || arg.walk_end >= arg.end)
			return pages;
		arg.start = arg.walk_end;
	}
}

int pmscan__wp_register(struct pmscan *p, uint64_t start, uint64_t len)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct uffdio_register reg = {
		.range = { .start = start, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	int err;

	p->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (p->uffd < 0)
		return -errno;
	if (ioctl(p->uffd, UFFDIO_API, &api) ||
	    ioctl(p->uffd, UFFDIO_REGISTER, &reg)) {
		err = -errno;
		close(p->uffd);
		p->uffd = -1;
		return err;
	}
	return 0;
}

int pmscan__wp_range(struct pmscan *p, uint64_t start, uint64_t len, bool wp)
{
	struct uffdio_writeprotect w = {
		.range = { .start = start, .len = len },
		.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(p->uffd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

int pmscan__wp_unregister(struct pmscan *p, uint64_t start, uint64_t len)
{
	struct uffdio_range range = { .start = start, .len = len };
	int err = ioctl(p->uffd, UFFDIO_UNREGISTER, &range) ? -errno : 0;

	close(p->uffd);
	p->uffd = -1;
	return err;
}
