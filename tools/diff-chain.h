/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapmerge's core: a Full snapshot's memory, and the Diffs applied to it
 * one by one, each checked to be a diff of what the chain holds so far.
 * No files here: the callers map them, so the checks can be fuzzed.
 */
#ifndef DIFF_CHAIN_H
#define DIFF_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "vmstate.h"

struct diff_chain {
	uint64_t mem_size;
	uint8_t id[VS_ID_BYTES];	/* the snapshot @merged now is */
	uint8_t *merged;		/* mem_size bytes */
};

/*
 * That @vs is a Diff of the chain's snapshot, of its memory size; its
 * layout in @vm and @mem.  0, -EINVAL, or -ESTALE when it is a diff of
 * another snapshot; the reason in @err.
 */
int diff_chain__check(const struct diff_chain *c, const struct vstate *vs,
		      const struct vs_vm **vm, const struct vs_memory **mem,
		      char *err, size_t errlen);
/*
 * Copy the pages @mem's bitmap names from @diff (that Diff's memory,
 * mem_size bytes) into the chain, which becomes snapshot @vm's.
 */
void diff_chain__apply(struct diff_chain *c, const struct vs_vm *vm,
		       const struct vs_memory *mem, const uint8_t *diff);

#endif
