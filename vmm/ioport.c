// SPDX-License-Identifier: GPL-2.0
/* Port I/O dispatch: a short table of device ranges. */
#include <errno.h>
#include <string.h>

#include "vmm.h"

#define IOPORT_MAX_RANGES	16

struct ioport_range {
	uint16_t base;
	uint16_t count;
	ioport_fn fn;
	void *dev;
};

static struct ioport_range ranges[IOPORT_MAX_RANGES];
static unsigned int nr_ranges;

int ioport__register(uint16_t base, uint16_t count, ioport_fn fn, void *dev)
{
	if (nr_ranges == IOPORT_MAX_RANGES)
		return -ENOSPC;
	ranges[nr_ranges++] = (struct ioport_range) {
		.base = base, .count = count, .fn = fn, .dev = dev,
	};
	return 0;
}

/* Unclaimed ports read as all ones, like an ISA bus with nothing on it. */
void ioport__dispatch(uint16_t port, uint8_t *data, uint32_t len,
		      bool is_write)
{
	unsigned int i;

	for (i = 0; i < nr_ranges; i++) {
		if (port >= ranges[i].base &&
		    port - ranges[i].base < ranges[i].count) {
			ranges[i].fn(ranges[i].dev, port, data, len, is_write);
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
}
