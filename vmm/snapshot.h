/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm.h"

enum snapshot_type { SNAPSHOT_FULL, SNAPSHOT_DIFF };

/* With @layers_path, also the layers of the window that just closed. */
int snapshot__create(struct vm *vm, enum snapshot_type type,
		     const char *vmstate_path, const char *mem_path,
		     const char *layers_path, char *err, size_t errlen);
/* The layers of the snapshot this VM was loaded from, as last recorded. */
int snapshot__write_base_layers(struct vm *vm, const char *layers_path,
				char *err, size_t errlen);

struct snapshot_load {
	const char *vmstate_path;
	const char *mem_path;		/* or the Uffd handler's socket */
	bool uffd;
	const char *layers_path;	/* or NULL */
	bool layers_huge;		/* in private THPs, before resume */
	bool track_dirty;
	bool track_ws;
	unsigned int ws_interval_ms;
	bool resume;
	int console_in;
	int console_out;
};

int snapshot__load(struct vm *vm, const struct snapshot_load *p,
		   char *err, size_t errlen);

#endif
