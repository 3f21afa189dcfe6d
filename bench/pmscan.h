/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PAGEMAP_SCAN, the ioctl of /proc/PID/pagemap that Linux 6.7 added, and
 * the userfaultfd write protection in asynchronous mode that gives it
 * PAGE_IS_WRITTEN, for tracker_bench.  The definitions are those of the
 * 6.7+ uAPI, for building against older headers; at run time
 * pmscan__available() tells whether the kernel has the ioctl.
 */
#ifndef PAGETRACK_BENCH_PMSCAN_H
#define PAGETRACK_BENCH_PMSCAN_H

#include <linux/fs.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)

#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
#endif

struct pmscan {
	int pagemap_fd;		/* /proc/self/pagemap */
	int uffd;		/* -1 until pmscan__wp_register() */
	struct page_region *vec;
	uint64_t vec_len;
};

/* The kernel answers PAGEMAP_SCAN (else the ioctl is ENOTTY). */
bool pmscan__available(int pagemap_fd);
/*
 * Scan [start, start + len) for pages with all of @mask, with @flags
 * (PM_SCAN_WP_MATCHING: write-protect them again).  Returns the pages
 * found, in runs in p->vec, or -errno.
 */
int64_t pmscan__scan(struct pmscan *p, uint64_t start, uint64_t len,
		     uint64_t mask, uint64_t flags);
/*
 * Register [start, start + len) for userfaultfd write protection in
 * asynchronous mode (UFFD_FEATURE_WP_ASYNC): a write to a protected page
 * unprotects it without a message, and PAGEMAP_SCAN then reports it
 * PAGE_IS_WRITTEN.  Nothing is protected yet.  0 or -errno.
 */
int pmscan__wp_register(struct pmscan *p, uint64_t start, uint64_t len);
/* Protect (@wp) or unprotect the range with UFFDIO_WRITEPROTECT. */
int pmscan__wp_range(struct pmscan *p, uint64_t start, uint64_t len,
		     bool wp);
int pmscan__wp_unregister(struct pmscan *p, uint64_t start, uint64_t len);

#endif
