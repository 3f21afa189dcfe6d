/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory of a chosen backing for selftests, and the kernel's own view of
 * it: how much of a range the host maps huge (/proc/self/smaps), the page
 * frame behind an address (/proc/self/pagemap) and that frame's flags
 * (/proc/kpageflags), and the pool of 2 MiB hugetlb pages.  The page
 * frame and its flags need CAP_SYS_ADMIN: the selftests run as root in the
 * test VM.
 */
#ifndef PAGETRACK_MEM_UTIL_H
#define PAGETRACK_MEM_UTIL_H

#include <asm-generic/hugetlb_encode.h>
#include <linux/kernel-page-flags.h>
#include <stdbool.h>
#include <stdint.h>

#include "test_util.h"

#define MEM_PAGE_SIZE		4096UL
#define HUGE_PAGE_SIZE		(2UL << 20)
#define HUGE_PAGE_PAGES		(HUGE_PAGE_SIZE / MEM_PAGE_SIZE)

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB		HUGETLB_FLAG_ENCODE_2MB
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB		HUGETLB_FLAG_ENCODE_2MB
#endif

enum mem_backing {
	MEM_4K,		/* anonymous, MADV_NOHUGEPAGE: base pages only */
	MEM_THP,	/* anonymous, 2 MiB aligned, MADV_HUGEPAGE */
	MEM_HUGETLB,	/* anonymous MAP_HUGETLB | MAP_HUGE_2MB, private */
};

const char *mem_backing__name(enum mem_backing backing);

/*
 * Map @len bytes of @backing, unpopulated.  THP and hugetlb need @len a
 * multiple of 2 MiB and start on a 2 MiB boundary; hugetlb needs the pages
 * in the pool first (hugetlb__reserve()).
 */
void *mem__map(uint64_t len, enum mem_backing backing);
/*
 * Fail the test unless the host maps every 2 MiB of [addr, addr + len)
 * with one huge entry: PMD-mapped THPs (smaps AnonHugePages), or hugetlb
 * pages.  The range must be populated.
 */
void mem__require_huge(const void *addr, uint64_t len,
		       enum mem_backing backing);
/*
 * Bytes of [addr, addr + len) mapped by PMD-sized THP entries, summed over
 * the VMAs inside the range; a VMA that straddles either end fails the
 * test, since its count cannot be split.
 */
uint64_t mem__thp_bytes(const void *addr, uint64_t len);
/* The THP policy: "always", "madvise" or "never". */
const char *thp__mode(char *buf, int len);

/* Page frame mapped at @addr, which must be present. */
uint64_t page__pfn(const void *addr);
/* /proc/kpageflags of the page frame mapped at @addr. */
uint64_t page__kflags(const void *addr);
/* Whether pagemap reports a present page at @addr. */
bool page__present(const void *addr);

/*
 * The 2 MiB hugetlb pool.  hugetlb__reserve() grows it until @npages are
 * free and unreserved, and returns its size before, for
 * hugetlb__restore().  A binary that ends with the pool changed (a test
 * that died before its teardown) puts it back when it exits.
 */
long hugetlb__reserve(long npages);
void hugetlb__restore(long pool);

#endif
