// SPDX-License-Identifier: GPL-2.0
/*
 * snapmerge - turn a Full snapshot plus a chain of Diff snapshots into one
 * Full snapshot that vmm can load.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitmap.h"
#include "vmstate.h"

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"	snapmerge - merge Diff snapshots onto their Full base\n"
"\n"
"SYNOPSIS\n"
"	snapmerge -o OUT_VMSTATE OUT_MEM BASE_MEM DIFF_VMSTATE DIFF_MEM\n"
"	          [DIFF_VMSTATE DIFF_MEM]...\n"
"\n"
"DESCRIPTION\n"
"	A Diff snapshot's memory file holds only the pages dirtied since\n"
"	the snapshot before it; its vmstate records which.  snapmerge\n"
"	copies BASE_MEM (the memory file of the Full snapshot the chain\n"
"	starts from), applies each Diff's pages in the order given, and\n"
"	writes OUT_MEM with the last Diff's vmstate, marked Full, as\n"
"	OUT_VMSTATE.  Both outputs are written to temporary files and\n"
"	renamed into place; inputs are never modified.\n"
"\n"
"EXAMPLE\n"
"	snapmerge -o gen2.vmstate gen2.mem full.mem \\\n"
"	    diff1.vmstate diff1.mem diff2.vmstate diff2.mem\n", f);
}

static int die(const char *fmt, const char *arg, const char *why)
{
	fprintf(stderr, "snapmerge: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "%s%s\n", why ? ": " : "", why ? why : "");
	return 1;
}

static uint8_t *map_file(const char *path, uint64_t size)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || (uint64_t)st.st_size < size) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
	const char *out_vmstate = NULL, *out_mem, *base;
	struct vsbuf full;
	struct vstate vs = { 0 };
	uint64_t mem_size = 0;
	uint8_t *merged = NULL;
	char err[512];
	int c, i;

	while ((c = getopt(argc, argv, "o:h")) != -1) {
		if (c == 'o') {
			out_vmstate = optarg;
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!out_vmstate || argc - optind < 4 || (argc - optind) % 2) {
		usage(stderr);
		return 2;
	}
	out_mem = argv[optind++];
	base = argv[optind++];

	for (i = optind; i < argc; i += 2) {
		const struct vs_memory *mem;
		const struct vs_vm *vm;
		uint64_t s, e, from = 0, pages;
		const uint8_t *diff;

		vstate__free(&vs);
		if (vstate__read_file(argv[i], &vs, err, sizeof(err)))
			return die("%s", argv[i], err);
		if (vstate__layout(&vs, &vm, &mem, err, sizeof(err)))
			return die("%s", argv[i], err);
		if (mem->type != VS_MEM_DIFF)
			return die("%s is not a Diff snapshot", argv[i], NULL);
		if (i == optind) {
			mem_size = mem->mem_size;
			merged = malloc(mem_size);
			if (!merged)
				return die("%s", "out of memory", NULL);
			diff = map_file(base, mem_size);
			if (!diff)
				return die("%s", base, strerror(errno));
			memcpy(merged, diff, mem_size);
			munmap((void *)diff, mem_size);
		} else if (mem->mem_size != mem_size) {
			return die("%s belongs to another VM", argv[i], NULL);
		}
		pages = mem_size / 4096;
		diff = map_file(argv[i + 1], mem_size);
		if (!diff)
			return die("%s", argv[i + 1], strerror(errno));
		while (bitmap__next_run((const uint64_t *)(mem + 1), pages,
					from, &s, &e)) {
			memcpy(merged + s * 4096, diff + s * 4096,
			       (e - s) * 4096);
			from = e;
		}
		munmap((void *)diff, mem_size);
	}

	if (file__write_atomic(out_mem, merged, mem_size, err, sizeof(err)))
		return die("%s", out_mem, err);
	if (vstate__as_full(&vs, &full) ||
	    vstate__write_file(out_vmstate, &full, err, sizeof(err)))
		return die("%s", out_vmstate, err);
	printf("snapmerge: %s + %d diff(s) -> %s, %s\n", base,
	       (argc - optind) / 2, out_vmstate, out_mem);
	return 0;
}
