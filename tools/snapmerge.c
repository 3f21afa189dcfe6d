// SPDX-License-Identifier: GPL-2.0
/*
 * snapmerge - turn a Full snapshot plus a chain of Diff snapshots into one
 * Full snapshot that vmm can load.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitmap.h"
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
"	OUT_VMSTATE.  Both outputs are written to temporary files,\n"
"	synced and renamed into place, the vmstate last, so a merge that\n"
"	fails or is killed leaves what was at the output paths; the next\n"
"	merge removes its temporaries.  Inputs are never modified.  The\n"
"	merged memory file is sparse where the guest's memory is zero.\n"
"\n"
"	Every memory file names its snapshot in an identity page (at\n"
"	offset 0xff000, reserved in the guest's memory map), and every\n"
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

/* Open memory file @path of @size bytes, which must be snapshot @id's. */
static int open_memory(const char *path, uint64_t size, const uint8_t *id,
		       char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (memfile__check(fd, path, size, id, err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

#define COPY_CHUNK	(1 << 20)

static bool is_zero(const uint8_t *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/*
 * Make [@off, @off + @len) of @out read as zeros without storing them:
 * punch a hole, or where the file system cannot, write the zeros.
 */
static int zero_range(int out, uint64_t off, uint64_t len)
{
	static const uint8_t zero[VMSTATE_PAGE_SIZE];

	if (!len || !fallocate(out, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       off, len))
		return 0;
	if (errno != EOPNOTSUPP)
		return errno;
	for (; len; off += VMSTATE_PAGE_SIZE, len -= VMSTATE_PAGE_SIZE)
		if (pwrite(out, zero, VMSTATE_PAGE_SIZE, off) !=
		    VMSTATE_PAGE_SIZE)
			return errno ? errno : EIO;
	return 0;
}

/*
 * Bytes [@off, @off + @len) of @in to the same offsets of @out, through
 * @buf of COPY_CHUNK bytes, all-zero pages left out of @out: skipped
 * where @out is known to be a hole there (@punch false, the base into a
 * fresh file), punched where a page copied before may be under them
 * (@punch true, a Diff's pages).  A booted guest's first Diff is mostly
 * zeros (the pages the guest's kernel cleared), and so is a merge that
 * starts from it.  0 or an errno.
 */
static int copy_range(int in, int out, uint64_t off, uint64_t len,
		      uint8_t *buf, bool punch)
{
	while (len) {
		size_t n = len < COPY_CHUNK ? len : COPY_CHUNK, i;
		ssize_t got = pread(in, buf, n, off);
		uint64_t zeros = 0;	/* the zero pages just before @i */
		int ret;

		if (got <= 0)
			return got < 0 ? errno : EIO;
		for (i = 0; i < (size_t)got; i += VMSTATE_PAGE_SIZE) {
			size_t page = got - i < VMSTATE_PAGE_SIZE ?
				      got - i : VMSTATE_PAGE_SIZE;

			if (is_zero(buf + i, page)) {
				zeros += page;
				continue;
			}
			ret = punch ? zero_range(out, off + i - zeros, zeros) :
			      0;
			if (ret)
				return ret;
			zeros = 0;
			if (pwrite(out, buf + i, page, off + i) !=
			    (ssize_t)page)
				return errno ? errno : EIO;
		}
		ret = punch ? zero_range(out, off + got - zeros, zeros) : 0;
		if (ret)
			return ret;
		off += got;
		len -= got;
	}
	return 0;
}

/*
 * The base's data, extent by extent (SEEK_DATA): a sparse base of a
 * 3 GiB guest is read in what it holds, not in 3 GiB.
 */
static int copy_base(int in, int out, uint64_t size, uint8_t *buf)
{
	off_t data = 0, hole;
	int ret;

	while ((uint64_t)data < size) {
		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : errno;
		if ((uint64_t)data >= size)
			return 0;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return errno;
		if ((uint64_t)hole > size)
			hole = size;
		ret = copy_range(in, out, data, hole - data, buf, false);
		if (ret)
			return ret;
		data = hole;
	}
	return 0;
}

/* The identity and size the base memory file's identity page gives. */
static int base_identity(const char *path, uint8_t *id, uint64_t *mem_size)
{
	struct memfile_id t;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return die("%s", path, strerror(errno));
	if (memfile__read_id(fd, &t)) {
		close(fd);
		return die("%s is not a pagetrack memory file, or its size "
			   "was changed: it has no valid snapshot identity",
			   path, NULL);
	}
	close(fd);
	memcpy(id, t.id, VS_ID_BYTES);
	*mem_size = t.mem_size;
	return 0;
}

struct diff {
	struct vstate vs;
	const struct vs_memory *mem;
	int fd;
};

/*
 * The Diff of vmstate @vs_path and memory @mem_path must be a diff of
 * snapshot @chain_id, which @prev holds (diff_chain__check()); on
 * success @chain_id becomes its own id.
 */
static int check_diff(struct diff *d, const char *vs_path,
		      const char *mem_path, const char *prev, uint64_t mem_size,
		      uint8_t *chain_id)
{
	struct diff_chain chain = { .mem_size = mem_size };
	const struct vs_vm *vm;
	char err[512];
	int ret;

	if (vstate__read_file(vs_path, &d->vs, err, sizeof(err)))
		return die("%s", vs_path, err);
	/* Each Diff must be a diff of what the chain holds so far. */
	memcpy(chain.id, chain_id, VS_ID_BYTES);
	ret = diff_chain__check(&chain, &d->vs, &vm, &d->mem, err,
				sizeof(err));
	if (ret == -ESTALE) {
		fprintf(stderr, "snapmerge: %s %s (the file before it is "
			"%s)\n", vs_path, err, prev);
		return 1;
	}
	if (ret)
		return die("%s", vs_path, err);
	d->fd = open_memory(mem_path, mem_size, vm->id, err, sizeof(err));
	if (d->fd < 0)
		return die("%s", mem_path, err);
	memcpy(chain_id, vm->id, VS_ID_BYTES);
	return 0;
}

/*
 * The base's data, then each Diff's pages over it, then the identity
 * page of snapshot @id (the last Diff's), into the synced temporary @tmp
 * next to @out_mem.  Memory use is one chunk, whatever the guest's size.
 */
static int write_merged(const char *out_mem, char *tmp, int base_fd,
			const struct diff *d, int nr, uint64_t mem_size,
			const uint8_t *id)
{
	uint64_t pages = mem_size / VMSTATE_PAGE_SIZE, s, e, from;
	uint8_t *buf = malloc(COPY_CHUNK);
	char err[512];
	int fd, i, ret;

	if (!buf)
		return die("%s", out_mem, strerror(ENOMEM));
	fd = file__create_temp(out_mem, tmp, err, sizeof(err));
	if (fd < 0) {
		free(buf);
		return die("%s", out_mem, err);
	}
	ret = ftruncate(fd, mem_size) ? errno : 0;
	if (!ret)
		ret = copy_base(base_fd, fd, mem_size, buf);
	for (i = 0; !ret && i < nr; i++) {
		const uint64_t *bm = (const uint64_t *)(d[i].mem + 1);

		from = 0;
		while (!ret && bitmap__next_run(bm, pages, from, &s, &e)) {
			ret = copy_range(d[i].fd, fd, s * VMSTATE_PAGE_SIZE,
					 (e - s) * VMSTATE_PAGE_SIZE, buf,
					 true);
			from = e;
		}
	}
	if (!ret)
		ret = -memfile__write_id(fd, mem_size, id);
	free(buf);
	if (ret) {
		close(fd);
		unlink(tmp);
		return die("writing %s", tmp, strerror(ret));
	}
	if (file__sync_temp(fd, tmp, err, sizeof(err)))
		return die("%s", out_mem, err);
	return 0;
}

/*
 * Everything is checked before anything is written, and the outputs are
 * written under temporary names, synced, and renamed into place, the
 * vmstate last: a chain that does not hold together, or a merge that
 * fails or is killed half way, changes no file at the output paths.
 */
int main(int argc, char **argv)
{
	const char *out_vmstate = NULL, *out_mem, *base;
	char err[512], mem_tmp[4200] = "", vs_tmp[4200] = "";
	uint8_t chain_id[VS_ID_BYTES];
	struct diff *d = NULL;
	struct vsbuf full;
	uint64_t mem_size = 0;
	int c, i, nr = 0, nr_diffs, base_fd = -1, ret = 1;

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
	base_fd = open_memory(base, mem_size, chain_id, err, sizeof(err));
	if (base_fd < 0)
		return die("%s", base, err);

	nr_diffs = (argc - optind) / 2;
	d = calloc(nr_diffs, sizeof(*d));
	if (!d)
		return die("%s", "out of memory", NULL);
	for (i = 0; i < nr_diffs; i++)
		d[i].fd = -1;
	for (i = optind; i < argc; i += 2, nr++) {
		if (check_diff(&d[nr], argv[i], argv[i + 1],
			       i == optind ? base : argv[i - 2], mem_size,
			       chain_id))
			goto out;
	}

	/* The result is the last Diff's snapshot, whole: it keeps its id. */
	file__remove_stale_temps(out_mem);
	file__remove_stale_temps(out_vmstate);
	if (vstate__as_full(&d[nr - 1].vs, &full)) {
		die("%s", out_vmstate, strerror(-full.error));
		goto out;
	}
	if (write_merged(out_mem, mem_tmp, base_fd, d, nr, mem_size,
			 chain_id)) {
		mem_tmp[0] = 0;
		goto out_full;
	}
	if (vstate__write_temp(out_vmstate, &full, vs_tmp, err, sizeof(err))) {
		vs_tmp[0] = 0;
		die("%s", out_vmstate, err);
		goto out_full;
	}
	/* The vmstate last, as the VMM does. */
	ret = file__rename_temp(mem_tmp, out_mem, err, sizeof(err));
	mem_tmp[0] = 0;
	if (ret) {
		ret = die("%s", out_mem, err);
		goto out_full;
	}
	ret = file__rename_temp(vs_tmp, out_vmstate, err, sizeof(err));
	vs_tmp[0] = 0;
	if (ret) {
		ret = die("%s", out_vmstate, err);
		goto out_full;
	}
	printf("snapmerge: %s + %d diff(s) -> %s, %s\n", base, nr,
	       out_vmstate, out_mem);
	ret = 0;
out_full:
	vsbuf__free(&full);
	if (mem_tmp[0])
		unlink(mem_tmp);
	if (vs_tmp[0])
		unlink(vs_tmp);
out:
	for (i = 0; i < nr_diffs; i++) {
		if (d[i].fd >= 0)
			close(d[i].fd);
		vstate__free(&d[i].vs);
	}
	free(d);
	close(base_fd);
	return ret;
}
