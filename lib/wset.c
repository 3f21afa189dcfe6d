// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bitmap.h"
#include "pagetrack.h"
#include "wset.h"

int kvm__get_dirty_log(int vm_fd, uint32_t slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) ? -errno : 0;
}

int kvm__get_dirty_logs(int vm_fd, uint64_t npages, uint64_t slot0_pages,
			uint64_t *bitmap)
{
	int ret = kvm__get_dirty_log(vm_fd, 0, bitmap);

	if (ret || npages <= slot0_pages)
		return ret;
	return kvm__get_dirty_log(vm_fd, 1,
				  bitmap + slot0_pages / BITMAP_WORD_BITS);
}

/* -ENODEV: no /dev/pagetrack, i.e. pagetrack.ko is not loaded. */
int wset__init(struct wset *w, uint8_t *mem, uint64_t npages, int vm_fd,
	       uint64_t slot0_pages)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->pt_fd = pagetrack__open();
	if (w->pt_fd < 0) {
		ret = w->pt_fd == -ENOENT ? -ENODEV : w->pt_fd;
		w->pt_fd = -1;
		return ret;
	}
	ret = pagetrack__attach(w->pt_fd, (uintptr_t)mem, npages * WSET_PAGE_SIZE,
				PAGETRACK_ATTACH_KVM, 0, vm_fd);
	if (ret)
		goto fail;
	w->vm_fd = vm_fd;
	w->slot0_pages = slot0_pages;
	w->mem = mem;
	w->npages = npages;
	w->accessed = bitmap__alloc(npages);
	w->dirty = bitmap__alloc(npages);
	w->host_dirty0 = bitmap__alloc(npages);
	w->scratch = bitmap__alloc(npages);
	w->sampled = bitmap__alloc(npages);
	w->first_seen = calloc(npages, sizeof(*w->first_seen));
	if (w->accessed && w->dirty && w->host_dirty0 && w->scratch &&
	    w->sampled && w->first_seen)
		return 0;
	ret = -ENOMEM;
fail:
	wset__exit(w);
	return ret;
}

void wset__exit(struct wset *w)
{
	if (w->pt_fd >= 0)
		close(w->pt_fd);
	free(w->accessed);
	free(w->dirty);
	free(w->host_dirty0);
	free(w->scratch);
	free(w->sampled);
	free(w->first_seen);
	memset(w, 0, sizeof(*w));
	w->pt_fd = -1;
}

static int wset__scan(struct wset *w, uint32_t flags, uint64_t *accessed,
		      uint64_t *host_dirty)
{
	struct pagetrack_scan scan = {
		.flags = flags,
		.start = (uintptr_t)w->mem,
		.length = w->npages * WSET_PAGE_SIZE,
		.bitmap_bytes = bitmap__bytes(w->npages),
		.accessed = (uintptr_t)accessed,
		.dirty = (uintptr_t)host_dirty,
	};

	return pagetrack__scan(w->pt_fd, &scan);
}

/* Take KVM's log into @carry, and into the window when one is open. */
static int wset__harvest(struct wset *w, uint64_t *carry)
{
	int ret = kvm__get_dirty_logs(w->vm_fd, w->npages, w->slot0_pages,
				      w->scratch);

	if (ret)
		return ret;
	bitmap__or(carry, carry, w->scratch, w->npages);
	if (w->recording)
		bitmap__or(w->dirty, w->dirty, w->scratch, w->npages);
	return 0;
}

/*
 * Open a window: clear KVM's accessed bits (the host's are not used),
 * drain the dirty log, and note which host D bits are already set, since
 * the module never clears them.
 */
int wset__start(struct wset *w, uint64_t *carry)
{
	int ret;

	w->recording = false;
	w->recorded = false;
	ret = wset__harvest(w, carry);
	if (!ret)
		ret = wset__scan(w, PAGETRACK_SCAN_GUEST_ONLY |
				 PAGETRACK_SCAN_CLEAR_ACCESSED, NULL,
				 w->host_dirty0);
	if (ret)
		return ret;
	memset(w->dirty, 0, bitmap__bytes(w->npages));
	memset(w->accessed, 0, bitmap__bytes(w->npages));
	memset(w->first_seen, 0, w->npages * sizeof(*w->first_seen));
	w->samples = 0;
	w->recording = true;
	return 0;
}

/* Add the sample in w->sampled: its new pages were first seen in it. */
static void wset__fold_sample(struct wset *w)
{
	uint64_t word, bits, p;

	if (w->samples < UINT16_MAX)
		w->samples++;
	for (word = 0; word < bitmap__words(w->npages); word++) {
		bits = w->sampled[word] & ~w->accessed[word];
		w->accessed[word] |= bits;
		for (; bits; bits &= bits - 1) {
			p = word * BITMAP_WORD_BITS + __builtin_ctzll(bits);
			w->first_seen[p] = w->samples;
		}
	}
}

/*
 * One sample of a window, with the vCPUs running: KVM's accessed bits
 * are read and cleared.  Not to be called concurrently with wset__stop().
 */
int wset__sample(struct wset *w)
{
	int ret;

	if (!w->recording)
		return -EINVAL;
	ret = wset__scan(w, PAGETRACK_SCAN_GUEST_ONLY |
			 PAGETRACK_SCAN_CLEAR_ACCESSED, w->sampled, NULL);
	if (!ret)
		wset__fold_sample(w);
	return ret;
}

/*
 * Close the window: the vCPUs must not run while this reads the bits.
 * The last sample is this one.
 */
int wset__stop(struct wset *w, uint64_t *carry)
{
	int ret;

	if (!w->recording)
		return -EINVAL;
	ret = wset__harvest(w, carry);
	if (!ret)
		ret = wset__scan(w, PAGETRACK_SCAN_GUEST_ONLY, w->sampled,
				 w->scratch);
	if (ret)
		return ret;
	wset__fold_sample(w);
	bitmap__andnot(w->scratch, w->scratch, w->host_dirty0, w->npages);
	bitmap__or(w->dirty, w->dirty, w->scratch, w->npages);
	w->recording = false;
	w->recorded = true;
	return 0;
}

/* The VMM wrote pages [first, first + count) during the window. */
void wset__mark_written(struct wset *w, uint64_t first, uint64_t count)
{
	uint64_t p;

	if (!w->recording)
		return;
	/* Device threads write guest memory concurrently. */
	for (p = first; p < first + count && p < w->npages; p++)
		bitmap__set_atomic(w->dirty, p);
}

/*
 * Per page, the sample of the last window that first saw it, for
 * layers__write(); NULL when only the closing scan sampled, which tells
 * no order.
 */
const uint16_t *wset__first_access(const struct wset *w)
{
	return w->samples > 1 ? w->first_seen : NULL;
}

void wset__present(const struct wset *w, uint64_t *present)
{
	bitmap__or(present, w->accessed, w->dirty, w->npages);
}

void wset__read_only(const struct wset *w, uint64_t *ro)
{
	bitmap__andnot(ro, w->accessed, w->dirty, w->npages);
}
