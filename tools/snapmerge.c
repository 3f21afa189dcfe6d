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
"	Every memory file names its snapshot in a trailer, and every\n"
"	Diff names the snapshot it is a diff of.  The first Diff must be a\n"
"	diff of BASE_MEM's snapshot, each further one of the Diff before\n"
"	it, and each memory file must be its vmstate's; otherwise nothing\n"
"	is written.  The result keeps the last Diff's identity.\n"
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

/* Map @size bytes of memory file @path, which must be snapshot @id's. */
static uint8_t *map_memory(const char *path, uint64_t size, const uint8_t *id,
			   char *err, size_t errlen)
{
	uint8_t *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (memfile__check(fd, path, size, id, err, errlen)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return NULL;
	}
	return p;
}

/* The identity and size the base memory file's trailer gives. */
static int base_identity(const char *path, uint8_t *id, uint64_t *mem_size)
{
	struct memfile_trailer t;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return die("%s", path, strerror(errno));
	if (memfile__read_trailer(fd, &t)) {
		close(fd);
		return die("%s is not a pagetrack memory file, or it is "
			   "truncated: it has no snapshot trailer", path, NULL);
	}
	close(fd);
	memcpy(id, t.id, VS_ID_BYTES);
	*mem_size = t.mem_size;
	return 0;
}

/*
 * Everything is checked, and merged in memory, before anything is
 * written: a chain that does not hold together changes no file.
 */
int main(int argc, char **argv)
{
	const char *out_vmstate = NULL, *out_mem, *base;
	char err[512], mem_tmp[4200], vs_tmp[4200];
	char want[2 * VS_ID_BYTES + 1], got[2 * VS_ID_BYTES + 1];
	uint8_t chain_id[VS_ID_BYTES];
	struct vsbuf full;
	struct vstate vs = { 0 };
	uint64_t mem_size = 0;
	uint8_t *merged = NULL;
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
	if (base_identity(base, chain_id, &mem_size))
		return 1;

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
		if (vm->mem_size != mem_size)
			return die("%s belongs to another VM (its memory "
				   "size differs)", argv[i], NULL);
		/* Each Diff must be a diff of what the chain holds so far. */
		if (memcmp(vm->parent_id, chain_id, VS_ID_BYTES)) {
			vstate__format_id(vm->parent_id, got);
			vstate__format_id(chain_id, want);
			fprintf(stderr, "snapmerge: %s is a diff of snapshot "
				"%s, not of %s (%s): wrong base, or diffs "
				"missing or out of order\n", argv[i], got,
				i == optind ? base : argv[i - 2], want);
			return 1;
		}
		if (i == optind) {
			merged = malloc(mem_size);
			if (!merged)
				return die("%s", "out of memory", NULL);
			diff = map_memory(base, mem_size, chain_id, err,
					  sizeof(err));
			if (!diff)
				return die("%s", base, err);
			memcpy(merged, diff, mem_size);
			munmap((void *)diff, mem_size);
		}
		pages = mem_size / VMSTATE_PAGE_SIZE;
		diff = map_memory(argv[i + 1], mem_size, vm->id, err,
				  sizeof(err));
		if (!diff)
			return die("%s", argv[i + 1], err);
		while (bitmap__next_run((const uint64_t *)(mem + 1), pages,
					from, &s, &e)) {
			memcpy(merged + s * VMSTATE_PAGE_SIZE,
			       diff + s * VMSTATE_PAGE_SIZE,
			       (e - s) * VMSTATE_PAGE_SIZE);
			from = e;
		}
		munmap((void *)diff, mem_size);
		memcpy(chain_id, vm->id, VS_ID_BYTES);
	}

	/* The result is the last Diff's snapshot, whole: it keeps its id. */
	file__remove_stale_temps(out_mem);
	file__remove_stale_temps(out_vmstate);
	if (vstate__as_full(&vs, &full))
		return die("%s", out_vmstate, strerror(-full.error));
	if (memfile__write_temp(out_mem, merged, mem_size, NULL, chain_id,
				mem_tmp, err, sizeof(err)))
		return die("%s", out_mem, err);
	if (vstate__write_temp(out_vmstate, &full, vs_tmp, err, sizeof(err))) {
		unlink(mem_tmp);
		return die("%s", out_vmstate, err);
	}
	/* The vmstate last, as the VMM does. */
	if (file__rename_temp(mem_tmp, out_mem, err, sizeof(err))) {
		unlink(vs_tmp);
		return die("%s", out_mem, err);
	}
	if (file__rename_temp(vs_tmp, out_vmstate, err, sizeof(err)))
		return die("%s", out_vmstate, err);
	printf("snapmerge: %s + %d diff(s) -> %s, %s\n", base,
	       (argc - optind) / 2, out_vmstate, out_mem);
	return 0;
}
