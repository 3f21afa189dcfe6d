// SPDX-License-Identifier: GPL-2.0
/*
 * The layer file as a restore opens it (layers__open: header, index,
 * ranges) and then reads it (layers__verify_data).  What an accepted file
 * promises is checked here: every range inside guest memory, in class
 * order, its pages where the index says, and the counts adding up.
 */
#include <unistd.h>

#include "fuzz_util.h"
#include "layers.h"

static void check_accepted(const struct layers *l, size_t size)
{
	uint64_t npages = l->h.mem_size / LAYERS_PAGE_SIZE, ro = 0, dirty = 0;
	uint64_t off = l->h.data_offset;
	uint32_t i;

	for (i = 0; i < l->h.nr_ranges; i++) {
		const struct layers_range *r = &l->ranges[i];

		FUZZ_ASSERT(r->nr_pages && r->first_page < npages &&
			    r->nr_pages <= npages - r->first_page);
		FUZZ_ASSERT(r->file_offset == off);
		FUZZ_ASSERT(r->class == LAYER_RO || r->class == LAYER_DIRTY);
		FUZZ_ASSERT(i == 0 || r->class >= l->ranges[i - 1].class);
		off += (uint64_t)r->nr_pages * LAYERS_PAGE_SIZE;
		*(r->class == LAYER_RO ? &ro : &dirty) += r->nr_pages;
	}
	FUZZ_ASSERT(ro == l->h.ro_pages && dirty == l->h.dirty_pages);
	FUZZ_ASSERT(off <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[FUZZ_PATH_MAX], err[512];
	struct layers l;
	int fd;

	fd = fuzz__memfd(data, size, path, fuzz__fix_layers);
	if (fd < 0)
		return 0;
	/* As snapinfo opens it: the file's own memory size. */
	if (!layers__open(path, 0, &l, err, sizeof(err))) {
		uint64_t mem_size = l.h.mem_size;

		check_accepted(&l, size);
		layers__verify_data(&l, err, sizeof(err));
		layers__close(&l);
		/* As a restore does: the snapshot's, which must match. */
		FUZZ_ASSERT(!layers__open(path, mem_size, &l, err,
					  sizeof(err)));
		layers__close(&l);
		FUZZ_ASSERT(layers__open(path, mem_size + LAYERS_PAGE_SIZE, &l,
					 err, sizeof(err)));
	}
	close(fd);
	return 0;
}
