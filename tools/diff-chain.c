// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bitmap.h"
#include "diff-chain.h"

int diff_chain__check(const struct diff_chain *c, const struct vstate *vs,
		      const struct vs_vm **vm, const struct vs_memory **mem,
		      char *err, size_t errlen)
{
	char want[2 * VS_ID_BYTES + 1], got[2 * VS_ID_BYTES + 1];

	if (vstate__layout(vs, vm, mem, err, errlen))
		return -EINVAL;
	if ((*mem)->type != VS_MEM_DIFF) {
		snprintf(err, errlen, "not a Diff snapshot");
		return -EINVAL;
	}
	if ((*vm)->mem_size != c->mem_size) {
		snprintf(err, errlen, "belongs to another VM (its memory "
			 "size differs)");
		return -EINVAL;
	}
	if (memcmp((*vm)->parent_id, c->id, VS_ID_BYTES)) {
		vstate__format_id((*vm)->parent_id, got);
		vstate__format_id(c->id, want);
		snprintf(err, errlen, "is a diff of snapshot %s, not of %s: "
			 "wrong base, or diffs missing or out of order", got,
			 want);
		return -ESTALE;
	}
	return 0;
}

/* The bitmap's size was checked against mem_size by vstate__layout(). */
void diff_chain__apply(struct diff_chain *c, const struct vs_vm *vm,
		       const struct vs_memory *mem, const uint8_t *diff)
{
	uint64_t s, e, from = 0, pages = c->mem_size / VMSTATE_PAGE_SIZE;

	while (bitmap__next_run((const uint64_t *)(mem + 1), pages, from,
				&s, &e)) {
		memcpy(c->merged + s * VMSTATE_PAGE_SIZE,
		       diff + s * VMSTATE_PAGE_SIZE,
		       (e - s) * VMSTATE_PAGE_SIZE);
		from = e;
	}
	memcpy(c->id, vm->id, VS_ID_BYTES);
}
