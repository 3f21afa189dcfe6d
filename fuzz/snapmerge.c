// SPDX-License-Identifier: GPL-2.0
/*
 * snapmerge's inputs: a Diff's vmstate, checked against the chain and its
 * bitmap applied (tools/diff-chain.c), and a memory file's identity page
 * (memfile__read_id, memfile__check), which name the snapshots.
 * Each input is tried as both.  The chain is a fixed small VM, the one
 * fuzz/mkseeds.c writes the Diffs of.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bitmap.h"
#include "diff-chain.h"
#include "fuzz_util.h"
#include "seeds.h"

static void try_diff(const char *path)
{
	static uint8_t merged[SEED_MEM_SIZE], diff[SEED_MEM_SIZE];
	struct diff_chain c = {
		.mem_size = SEED_MEM_SIZE, .merged = merged,
	};
	uint64_t p, npages = SEED_MEM_SIZE / VMSTATE_PAGE_SIZE;
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	struct vstate vs;
	char err[512];

	if (vstate__read_file(path, &vs, err, sizeof(err)))
		return;
	seed__base_id(c.id);
	memset(merged, 0xaa, sizeof(merged));
	memset(diff, 0x55, sizeof(diff));
	if (!diff_chain__check(&c, &vs, &vm, &mem, err, sizeof(err))) {
		const uint64_t *bm = (const uint64_t *)(mem + 1);

		FUZZ_ASSERT(mem->type == VS_MEM_DIFF);
		FUZZ_ASSERT(mem->bitmap_bytes == bitmap__bytes(npages));
		diff_chain__apply(&c, vm, mem, diff);
		/* The Diff's pages, and only those, are the Diff's. */
		for (p = 0; p < npages; p++)
			FUZZ_ASSERT(merged[p * VMSTATE_PAGE_SIZE] ==
				    (bitmap__test(bm, p) ? 0x55 : 0xaa));
		FUZZ_ASSERT(!memcmp(c.id, vm->id, VS_ID_BYTES));
	}
	vstate__free(&vs);
}

static void try_memfile(int fd, const char *path, uint64_t size)
{
	struct memfile_id t;
	char err[512];

	if (memfile__read_id(fd, &t))
		return;
	FUZZ_ASSERT(t.mem_size == size);
	FUZZ_ASSERT(!memfile__check(fd, path, t.mem_size, t.id, err,
				    sizeof(err)));
	t.id[0] ^= 1;
	FUZZ_ASSERT(memfile__check(fd, path, t.mem_size, t.id, err,
				   sizeof(err)) == -ESTALE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[FUZZ_PATH_MAX];
	uint64_t file_size;
	int fd;

	fd = fuzz__memfd(data, size, path, fuzz__fix_vmstate);
	if (fd < 0)
		return 0;
	try_diff(path);
	close(fd);
	fd = fuzz__memfile(data, size, path, &file_size);
	if (fd < 0)
		return 0;
	try_memfile(fd, path, file_size);
	close(fd);
	return 0;
}
