/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Working-set recording: which guest pages a window of execution touched,
 * and which of them it wrote.  Accessed bits are KVM's, from /dev/pagetrack
 * attached with the VM (guest reads set them in NPT/EPT only; the host's
 * own bits also carry fault-around, which maps a faulting file page's
 * neighbours young).  Writes come from KVM_GET_DIRTY_LOG, the host's dirty
 * bits that became set in the window, and what the VMM itself wrote.
 *
 *	present   = accessed | dirty
 *	dirty     = dirty log | new host D bits | VMM writes
 *	read-only = present & ~dirty
 *
 * The dirty log is shared with diff snapshots: everything a harvest takes
 * out of KVM is also ORed into the caller's @carry bitmap, so recording a
 * window never hides a page from the next diff.
 *
 * Sampling (wset__sample, while the vCPUs run) reads and clears KVM's
 * accessed bits now and then, which tells in which sample each page was
 * first touched: the first-access order a restore should prefetch in.
 */
#ifndef PAGETRACK_LIB_WSET_H
#define PAGETRACK_LIB_WSET_H

#include <stdbool.h>
#include <stdint.h>

#define WSET_PAGE_SIZE	4096ULL

struct wset {
	int pt_fd;		/* pagetrack session with the VM */
	int vm_fd;
	/* Memory slots 0 (its first slot0_pages) and 1, dirty logging on. */
	uint64_t slot0_pages;
	uint8_t *mem;		/* its host mapping */
	uint64_t npages;
	bool recording;		/* a window is open */
	bool recorded;		/* a window closed: its sets are valid */
	uint64_t *accessed;	/* at stop: accessed in the window */
	uint64_t *dirty;	/* written in the window, so far */
	uint64_t *host_dirty0;	/* host D bits when the window opened */
	uint64_t *scratch;
	uint64_t *sampled;	/* one sample's accessed bits */
	uint16_t *first_seen;	/* per page: sample it was first seen in */
	uint16_t samples;	/* taken in this window, the closing one too */
};

int wset__init(struct wset *w, uint8_t *mem, uint64_t npages, int vm_fd,
	       uint64_t slot0_pages);
void wset__exit(struct wset *w);
int wset__start(struct wset *w, uint64_t *carry);
int wset__stop(struct wset *w, uint64_t *carry);
int wset__sample(struct wset *w);
const uint16_t *wset__first_access(const struct wset *w);
void wset__mark_written(struct wset *w, uint64_t first, uint64_t count);
void wset__present(const struct wset *w, uint64_t *present);
void wset__read_only(const struct wset *w, uint64_t *ro);
int kvm__get_dirty_log(int vm_fd, uint32_t slot, uint64_t *bitmap);
/*
 * The logs of slot 0, its first @slot0_pages pages (a multiple of 64),
 * and, when @npages is more, slot 1's, end to end in @bitmap.
 */
int kvm__get_dirty_logs(int vm_fd, uint64_t npages, uint64_t slot0_pages,
			uint64_t *bitmap);

#endif
