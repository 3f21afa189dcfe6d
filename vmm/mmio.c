// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO dispatch: the register windows of the virtio devices.  Ranges are
 * registered before the vCPUs start and never change while they run, so
 * the table needs no lock.
 */
#include <errno.h>
#include <string.h>

#include "vmm.h"

#define MMIO_MAX_RANGES		32

struct mmio_range {
	uint64_t base;
	uint64_t len;
	mmio_fn fn;
	void *dev;
};

static struct mmio_range ranges[MMIO_MAX_RANGES];
static unsigned int nr_ranges;

int mmio__register(uint64_t base, uint64_t len, mmio_fn fn, void *dev)
{
	if (nr_ranges == MMIO_MAX_RANGES)
		return -ENOSPC;
	ranges[nr_ranges++] = (struct mmio_range) {
		.base = base, .len = len, .fn = fn, .dev = dev,
	};
	return 0;
}

void mmio__unregister(uint64_t base)
{
	unsigned int i;

	for (i = 0; i < nr_ranges; i++) {
		if (ranges[i].base == base) {
			ranges[i] = ranges[--nr_ranges];
			return;
		}
	}
}

/* Nothing mapped at @addr: reads float high, writes are dropped. */
void mmio__dispatch(uint64_t addr, uint8_t *data, uint32_t len,
		    bool is_write)
{
	unsigned int i;

	for (i = 0; i < nr_ranges; i++) {
		if (addr >= ranges[i].base &&
		    addr - ranges[i].base < ranges[i].len &&
		    len <= ranges[i].len - (addr - ranges[i].base)) {
			ranges[i].fn(ranges[i].dev, addr - ranges[i].base,
				     data, len, is_write);
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
}
