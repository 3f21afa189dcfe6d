/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The small VM the seed corpora describe (fuzz/mkseeds.c), which the
 * snapmerge target's chain is: 16 pages, a base snapshot of fixed id.
 */
#ifndef FUZZ_SEEDS_H
#define FUZZ_SEEDS_H

#include <string.h>

#include "vmstate.h"

#define SEED_MEM_SIZE	(16 * VMSTATE_PAGE_SIZE)

static inline void seed__base_id(uint8_t id[VS_ID_BYTES])
{
	memset(id, 0xba, VS_ID_BYTES);
}

#endif
