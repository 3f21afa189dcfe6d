/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMM_MEMSCAN_H
#define VMM_MEMSCAN_H

#include <stdint.h>

/*
 * Which pages of guest memory @mem (@mem_size bytes, a MAP_PRIVATE
 * mapping of memory file @fd from offset 0) may hold data: set in
 * @bitmap, which must be all set on entry; cleared for the pages that
 * are holes in @fd and that this process has not written (no private
 * copy exists), which read as zero.  0 or -errno, @bitmap then partly
 * cleared, still correct.
 */
int memscan__maybe_data(int fd, const uint8_t *mem, uint64_t mem_size,
			uint64_t *bitmap);

#endif
