// SPDX-License-Identifier: GPL-2.0
/*
 * Restore from layers: the snapshot's memory file is mapped privately as
 * the base, and each range of the working-set file is mapped privately
 * over it, so the pages the guest will touch come from one compact file.
 * A thread then prefetches them, from the moment they are mapped, while
 * the vCPUs and devices are restored and (layers_prefetch Background, the
 * default) while the guest runs: the dirty layer first, since a guest's
 * write to a page not yet there costs a read and a copy in the vCPU's own
 * fault, then the read-only layer in file order.  Each class is read
 * ahead whole (file__readahead(): every request queued at once) and
 * its guest ranges populated, MADV_POPULATE_WRITE for dirty ones, which
 * makes their private copies now rather than at the guest's write, and
 * MADV_POPULATE_READ for read-only ones, so the guest's first touch finds
 * the host page mapped and KVM only has to build its own entry.  Dirty
 * ranges are populated for reading only when this window is recorded
 * too, as the host's write would count as the guest's.
 *
 * Read-only faults on a private file mapping map the page read-only, so
 * working-set recording stays exact in a VM restored this way.
 *
 * That costs one nested page fault per page the guest touches, since KVM
 * maps a 4 KiB host page with a 4 KiB entry, and in a nested test VM a
 * nested page fault is the costliest event there is.  layers_prefetch
 * HugePages trades the clones' sharing for fewer of them: each 2 MiB of
 * guest memory that holds a page of the working set is read whole from
 * the memory file into private anonymous memory that may be backed by a
 * transparent huge page, before the guest resumes, and KVM maps it with
 * one entry.  The rest stays mapped from the memory file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bitmap.h"
#include "layers.h"
#include "readahead.h"
#include "vmm.h"
#include "vmstate.h"

struct prefetch {
	struct vm *vm;
	struct layers l;
	pthread_t thread;
	bool started;
	volatile bool stop;
};

/* Read ahead and populate every range of @class. */
static void prefetch__class(struct prefetch *pf, uint32_t class)
{
	const struct layers *l = &pf->l;
	uint64_t off = l->h.data_offset, pages = l->h.ro_pages;
	int advice = MADV_POPULATE_READ;
	uint32_t i;

	if (class == LAYER_DIRTY) {
		off += l->h.ro_pages * LAYERS_PAGE_SIZE;
		pages = l->h.dirty_pages;
		if (!pf->vm->ws)
			advice = MADV_POPULATE_WRITE;
	}
	file__readahead(l->fd, off, pages * LAYERS_PAGE_SIZE);
	for (i = 0; i < l->h.nr_ranges && !pf->stop; i++) {
		const struct layers_range *r = &l->ranges[i];

		if (r->class == class)
			madvise(pf->vm->mem + r->first_page * LAYERS_PAGE_SIZE,
				r->nr_pages * LAYERS_PAGE_SIZE, advice);
	}
}

static void *prefetch__run(void *arg)
{
	struct prefetch *pf = arg;

	prefetch__class(pf, LAYER_DIRTY);
	prefetch__class(pf, LAYER_RO);
	return NULL;
}

/* Open and check the layers before anything is built: a refusal changes nothing. */
int restore__open_layers(struct vm *vm, const char *path, uint64_t mem_size,
			 uint32_t crc, char *err, size_t errlen)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));
	char used[4200];
	int ret;

	if (!pf)
		return -ENOMEM;
	ret = vstate__open_layers(path, mem_size, crc, &pf->l, used, err,
				  errlen);
	if (ret) {
		free(pf);
		return ret;
	}
	vm->prefetch = pf;
	return 0;
}

#define HUGE_SIZE	VMM_MEM_ALIGN

/* Read guest memory [@start, @end) from the memory file into @vm->mem. */
static int read_chunks(struct vm *vm, uint64_t start, uint64_t end,
		       char *err, size_t errlen)
{
	uint8_t *at = vm->mem + start;
	uint64_t off;
	ssize_t n;

	if (mmap(at, end - start, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED) {
		snprintf(err, errlen, "anonymous memory for the working set: "
			 "%s", strerror(errno));
		return -errno;
	}
	/* Advice only: without THPs it still saves the host's faults. */
	madvise(at, end - start, MADV_HUGEPAGE);
	for (off = start; off < end; off += n) {
		n = pread(vm->base_mem_fd, vm->mem + off, end - off, off);
		if (n <= 0) {
			snprintf(err, errlen, "reading the memory file at %llu: "
				 "%s", (unsigned long long)off,
				 n ? strerror(errno) : "end of file");
			return n ? -errno : -EIO;
		}
	}
	return 0;
}

/* The next run of set chunks at or after @*c: [@*c, @*end); false if none. */
static bool next_run(const uint64_t *chunks, uint64_t nr_chunks, uint64_t *c,
		     uint64_t *end)
{
	while (*c < nr_chunks && !bitmap__test(chunks, *c))
		(*c)++;
	if (*c >= nr_chunks)
		return false;
	for (*end = *c + 1; *end < nr_chunks && bitmap__test(chunks, *end);
	     (*end)++)
		;
	return true;
}

/*
 * layers_prefetch HugePages: every 2 MiB chunk of guest memory with a page
 * of the working set in it, read into private anonymous memory, one
 * mapping per run of adjacent chunks.  All the runs' reads are queued
 * before the first is waited for, so a device's latency is paid about
 * once rather than once per readahead window.
 */
static int restore__huge(struct vm *vm, const struct layers *l, char *err,
			 size_t errlen)
{
	uint64_t nr_chunks = (vm->mem_size + HUGE_SIZE - 1) / HUGE_SIZE;
	uint64_t *chunks = bitmap__alloc(nr_chunks), c, end, nr_read = 0;
	uint32_t i, nr_maps = 0;
	int ret = 0;

	if (!chunks)
		return -ENOMEM;
	for (i = 0; i < l->h.nr_ranges; i++) {
		const struct layers_range *r = &l->ranges[i];
		uint64_t first = r->first_page * LAYERS_PAGE_SIZE / HUGE_SIZE;
		uint64_t last = ((r->first_page + r->nr_pages) *
				 LAYERS_PAGE_SIZE - 1) / HUGE_SIZE;

		for (c = first; c <= last; c++)
			bitmap__set(chunks, c);
	}
	for (c = 0; next_run(chunks, nr_chunks, &c, &end); c = end)
		file__readahead(vm->base_mem_fd, c * HUGE_SIZE,
				(end - c) * HUGE_SIZE);
	for (c = 0; !ret && next_run(chunks, nr_chunks, &c, &end); c = end) {
		ret = read_chunks(vm, c * HUGE_SIZE, end * HUGE_SIZE <
				  vm->mem_size ? end * HUGE_SIZE : vm->mem_size,
				  err, errlen);
		nr_read += end - c;
		nr_maps++;
	}
	free(chunks);
	if (!ret)
		vmm__info("layers: %llu of %llu chunks of 2 MiB read into "
			 "private memory, in %u mappings",
			 (unsigned long long)nr_read,
			 (unsigned long long)nr_chunks, nr_maps);
	return ret;
}

/*
 * Map every range over guest memory and start prefetching, or with @huge
 * read the working set's 2 MiB chunks into private memory now.
 */
int restore__map_layers(struct vm *vm, bool huge, char *err, size_t errlen)
{
	struct prefetch *pf = vm->prefetch;
	const struct layers *l = &pf->l;
	uint32_t i;
	int ret;

	if (huge)
		return restore__huge(vm, l, err, errlen);
	for (i = 0; i < l->h.nr_ranges; i++) {
		const struct layers_range *r = &l->ranges[i];
		void *at = vm->mem + r->first_page * LAYERS_PAGE_SIZE;

		if (mmap(at, r->nr_pages * LAYERS_PAGE_SIZE,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, l->fd,
			 r->file_offset) == MAP_FAILED) {
			snprintf(err, errlen, "mapping layer range %u: %s%s", i,
				 strerror(errno), errno == ENOMEM ?
				 " (more ranges than vm.max_map_count allows?)" :
				 "");
			return -errno;
		}
	}
	pf->vm = vm;
	ret = -pthread_create(&pf->thread, NULL, prefetch__run, pf);
	if (ret) {
		snprintf(err, errlen, "prefetch thread: %s", strerror(-ret));
		return ret;
	}
	pf->started = true;
	return 0;
}

void restore__exit(struct vm *vm)
{
	struct prefetch *pf = vm->prefetch;

	if (!pf)
		return;
	pf->stop = true;
	if (pf->started)
		pthread_join(pf->thread, NULL);
	layers__close(&pf->l);
	free(pf);
	vm->prefetch = NULL;
}
