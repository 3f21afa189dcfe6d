/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for tests of /dev/pagetrack. */
#ifndef PAGETRACK_PT_UTIL_H
#define PAGETRACK_PT_UTIL_H

#include "pagetrack.h"
#include <stdbool.h>
#include <stdint.h>

#include "test_util.h"

#define PT_DEVICE	PAGETRACK_DEVICE
#define PT_PAGE		4096UL

/* The four bitmaps of one scan of @npages pages, and its counts. */
struct pt_result {
	uint64_t npages;
	uint64_t *present;
	uint64_t *accessed;
	uint64_t *dirty;
	uint64_t *written;
	struct pagetrack_scan scan;
};

int pt_open(void);
int pt_module_refcount(void);

/* Attach; returns 0 or -errno, so tests can check refusals too. */
int pt_attach(int fd, const void *start, uint64_t len, uint32_t flags,
	      int pid, int kvm_fd);
/* Attach to the caller's own range, which must succeed. */
int pt_open_attached(const void *start, uint64_t len);

struct pt_result *pt_result_alloc(uint64_t npages);
void pt_result_free(struct pt_result *r);
/* Scan [start, start + r->npages pages) into @r; returns 0 or -errno. */
int pt_scan(int fd, const void *start, uint32_t flags, struct pt_result *r);

/* Bitmap of @npages with the listed pages set; the list ends with -1. */
uint64_t *pt_pages(uint64_t npages, ...);
/* Print both and return false when they differ. */
bool pt_expect_bitmap(const char *what, const uint64_t *got,
		      const uint64_t *want, uint64_t npages);

void *pt_map_anon(uint64_t npages, bool thp);
void pt_read_page(const void *base, uint64_t page);
void pt_write_page(void *base, uint64_t page);

#endif
