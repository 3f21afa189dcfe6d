// SPDX-License-Identifier: GPL-2.0
/*
 * mincore_layers - FaaSnap's working set, for comparison: the pages of a
 * snapshot's memory file that are in the page cache, written as a layer
 * file.  mincore() cannot tell read pages from written ones, nor pages the
 * guest touched from readahead around them, so every resident page goes
 * into the read-only layer.
 *
 * usage: mincore_layers VMSTATE MEM OUT_LAYERS
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bitmap.h"
#include "layers.h"
#include "vmstate.h"

int main(int argc, char **argv)
{
	uint64_t npages, p, *resident, *none;
	unsigned char *vec;
	struct memfile_id t;
	uint64_t mem_size;
	struct vstate vs;
	char err[512];
	uint8_t *mem;
	int fd, out;

	if (argc != 4) {
		fprintf(stderr, "usage: mincore_layers VMSTATE MEM OUT_LAYERS\n");
		return 2;
	}
	if (vstate__read_file(argv[1], &vs, err, sizeof(err))) {
		fprintf(stderr, "mincore_layers: %s\n", err);
		return 1;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	/* The memory file is guest memory, as long as its identity says. */
	if (memfile__read_id(fd, &t)) {
		fprintf(stderr, "mincore_layers: %s: no snapshot identity\n",
			argv[2]);
		return 1;
	}
	mem_size = t.mem_size;
	mem = mmap(NULL, mem_size, PROT_READ, MAP_SHARED, fd, 0);
	npages = mem_size / LAYERS_PAGE_SIZE;
	vec = malloc(npages);
	resident = bitmap__alloc(npages);
	none = bitmap__alloc(npages);
	if (mem == MAP_FAILED || !vec || !resident || !none ||
	    mincore(mem, mem_size, vec)) {
		perror("mincore_layers");
		return 1;
	}
	/* Counted before the layers are written: writing reads every page. */
	for (p = 0; p < npages; p++)
		if (vec[p] & 1)
			bitmap__set(resident, p);
	out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || layers__write(out, mem, mem_size, resident, none, NULL,
				     vstate__id(&vs), err, sizeof(err)) ||
	    fsync(out)) {
		fprintf(stderr, "mincore_layers: %s\n", err);
		return 1;
	}
	printf("%llu\n", (unsigned long long)bitmap__weight(resident, npages));
	return 0;
}
