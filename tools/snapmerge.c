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

#include "diff-chain.h"
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
	struct diff_chain chain = { 0 };
	struct vsbuf full;
	struct vstate vs = { 0 };
	uint64_t mem_size = 0;
	int c, i, ret;

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
	if (base_identity(base, chain.id, &mem_size))
		return 1;
	chain.mem_size = mem_size;

	for (i = optind; i < argc; i += 2) {
		const struct vs_memory *mem;
		const struct vs_vm *vm;
		const uint8_t *diff;

		vstate__free(&vs);
		if (vstate__read_file(argv[i], &vs, err, sizeof(err)))
			return die("%s", argv[i], err);
		/* Each Diff must be a diff of what the chain holds so far. */
		ret = diff_chain__check(&chain, &vs, &vm, &mem, err,
					sizeof(err));
		if (ret == -ESTALE) {
			fprintf(stderr, "snapmerge: %s %s (the file before it "
				"is %s)\n", argv[i], err,
				i == optind ? base : argv[i - 2]);
			return 1;
		}
		if (ret)
			return die("%s", argv[i], err);
		if (i == optind) {
			chain.merged = malloc(mem_size);
			if (!chain.merged)
				return die("%s", "out of memory", NULL);
			diff = map_memory(base, mem_size, chain.id, err,
					  sizeof(err));
			if (!diff)
				return die("%s", base, err);
			memcpy(chain.merged, diff, mem_size);
			munmap((void *)diff, mem_size);
		}
		diff = map_memory(argv[i + 1], mem_size, vm->id, err,
				  sizeof(err));
		if (!diff)
			return die("%s", argv[i + 1], err);
		diff_chain__apply(&chain, vm, mem, diff);
		munmap((void *)diff, mem_size);
	}

	/* The result is the last Diff's snapshot, whole: it keeps its id. */
	file__remove_stale_temps(out_mem);
	file__remove_stale_temps(out_vmstate);
	if (vstate__as_full(&vs, &full))
		return die("%s", out_vmstate, strerror(-full.error));
	if (memfile__write_temp(out_mem, chain.merged, mem_size, NULL, chain.id,
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
