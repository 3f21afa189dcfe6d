// SPDX-License-Identifier: GPL-2.0
/*
 * The vmstate file as snapshot/load reads it: the header and the section
 * tiling (vstate__read_file), the VM and memory sections (vstate__layout),
 * every section a restore reads (vstate__check_sections), then the Full
 * copy snapmerge writes, which must read back as a valid Full layout.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "crc32.h"
#include "fuzz_util.h"
#include "vmstate.h"

/* As snapshot__load() bounds them before building a VM. */
#define MAX_VCPUS	32

static void check_full_copy(const struct vstate *vs,
			    const struct vs_vm *vm)
{
	const struct vs_memory *fmem;
	const struct vs_vm *fvm;
	struct vmstate_header *h;
	struct vstate full;
	struct vsbuf out;
	char err[512];
	uint8_t *file;

	if (vstate__as_full(vs, &out)) {
		vsbuf__free(&out);
		return;
	}
	/* As vstate__write_file() would write it. */
	file = calloc(1, sizeof(*h) + out.len);
	FUZZ_ASSERT(file);
	h = (struct vmstate_header *)file;
	*h = *(const struct vmstate_header *)vs->data;
	h->payload_len = out.len;
	h->payload_crc = crc32__update(0, out.data, out.len);
	h->header_crc = crc32__update(0, h, offsetof(struct vmstate_header,
						     header_crc));
	memcpy(file + sizeof(*h), out.data, out.len);
	FUZZ_ASSERT(!vstate__parse(file, sizeof(*h) + out.len, &full, err,
				   sizeof(err)));
	free(file);
	FUZZ_ASSERT(!vstate__layout(&full, &fvm, &fmem, err, sizeof(err)));
	FUZZ_ASSERT(fmem->type == VS_MEM_FULL && !fmem->bitmap_bytes);
	FUZZ_ASSERT(fvm->mem_size == vm->mem_size);
	FUZZ_ASSERT(vstate__id_is_zero(fvm->parent_id));
	FUZZ_ASSERT(!memcmp(fvm->id, vm->id, VS_ID_BYTES));
	vstate__free(&full);
	vsbuf__free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	char path[FUZZ_PATH_MAX], err[512];
	struct vstate vs;
	int fd;

	fd = fuzz__memfd(data, size, path, fuzz__fix_vmstate);
	if (fd < 0)
		return 0;
	if (vstate__read_file(path, &vs, err, sizeof(err)))
		goto out;
	FUZZ_ASSERT(vs.len >= size);
	if (!vstate__layout(&vs, &vm, &mem, err, sizeof(err))) {
		FUZZ_ASSERT(vm->mem_size && mem->mem_size == vm->mem_size);
		if (vm->nr_vcpus && vm->nr_vcpus <= MAX_VCPUS)
			vstate__check_sections(&vs, vm, err, sizeof(err));
		check_full_copy(&vs, vm);
	}
	vstate__free(&vs);
out:
	close(fd);
	return 0;
}
