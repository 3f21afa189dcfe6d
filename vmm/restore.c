// SPDX-License-Identifier: GPL-2.0
/*
 * Restore from layers: the snapshot's memory file is mapped privately as
 * the base, and each range of the working-set file is mapped privately
 * over it, so the pages the guest will touch come from one compact file.
 * A thread then prefetches them while the guest runs: readahead of the
 * layer file's pages in file order (read-only layer first), then
 * MADV_POPULATE_READ of the guest ranges, so the guest's first touch
 * finds the host page mapped and KVM only has to build its own entry.
 * Pages the recorded window wrote are populated for writing, which makes
 * their private copies now rather than at the guest's write; not when
 * this window is recorded too, as the host's write would count as the
 * guest's.
 *
 * Read-only faults on a private file mapping map the page read-only, so
 * working-set recording stays exact in a VM restored this way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layers.h"
#include "vmm.h"
#include "vmstate.h"

struct prefetch {
	struct vm *vm;
	struct layers l;
	pthread_t thread;
	bool started;
	volatile bool stop;
};

static void *prefetch__run(void *arg)
{
	struct prefetch *pf = arg;
	const struct layers *l = &pf->l;
	uint32_t i;

	posix_fadvise(l->fd, l->h.data_offset,
		      (l->h.ro_pages + l->h.dirty_pages) * LAYERS_PAGE_SIZE,
		      POSIX_FADV_WILLNEED);
	for (i = 0; i < l->h.nr_ranges && !pf->stop; i++) {
		const struct layers_range *r = &l->ranges[i];

		madvise(pf->vm->mem + r->first_page * LAYERS_PAGE_SIZE,
			r->nr_pages * LAYERS_PAGE_SIZE,
			r->class == LAYER_DIRTY && !pf->vm->ws ?
			MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	}
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

/* Map every range over guest memory and start prefetching. */
int restore__map_layers(struct vm *vm, char *err, size_t errlen)
{
	struct prefetch *pf = vm->prefetch;
	const struct layers *l = &pf->l;
	uint32_t i;
	int ret;

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
