// SPDX-License-Identifier: GPL-2.0
/*
 * The region array a VMM sends uffd-handler with the userfaultfd
 * (tools/uffd-regions.c).  Every region accepted must be one the fault
 * path can serve pages of without reading past the memory file.
 */
#include "fuzz_util.h"
#include "uffd-regions.h"

/* The memory file of a small guest: room for a few 2 MiB pages. */
#define MEM_SIZE	(4 * UFFD_HUGE_PAGE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uffd_region r[UFFD_MAX_REGIONS];
	unsigned int i, nr;

	if (uffd_regions__parse((const char *)data, size, MEM_SIZE, r, &nr))
		return 0;
	FUZZ_ASSERT(nr >= 1 && nr <= UFFD_MAX_REGIONS);
	for (i = 0; i < nr; i++) {
		FUZZ_ASSERT(r[i].page_size == UFFD_PAGE ||
			    r[i].page_size == UFFD_HUGE_PAGE);
		FUZZ_ASSERT(r[i].size && r[i].offset + r[i].size <= MEM_SIZE);
		FUZZ_ASSERT(!((r[i].base | r[i].size | r[i].offset) %
			      r[i].page_size));
	}
	return 0;
}

