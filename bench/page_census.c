// SPDX-License-Identifier: GPL-2.0
/*
 * page_census - what a memory file costs against what it holds: its
 * 4 KiB pages that are not all zero (read, not taken from the writer's
 * word), its pages in data extents (SEEK_DATA runs: a written page of
 * zeros counts, a hole does not), and its size.
 * snapshot_bench prints these beside QEMU's migration stream: a sparse
 * Full file should allocate about its non-zero pages and no more.
 *
 * usage: page_census FILE...
 * prints per file: "FILE nonzero N data N size N" (pages, pages,
 * bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE		4096
#define CHUNK		(256 * PAGE)

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

/* Pages in data extents: a page any of whose bytes is allocated counts. */
static uint64_t data_pages(int fd, off_t size)
{
	uint64_t pages = 0;
	off_t data = 0, hole;

	while (data < size) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		pages += (hole + PAGE - 1) / PAGE - data / PAGE;
		data = hole;
	}
	return pages;
}

/* Non-zero pages, reading only the data extents: holes are zero. */
static int nonzero_pages(int fd, off_t size, uint64_t *out)
{
	uint8_t *buf = malloc(CHUNK);
	off_t data = 0, hole, at;
	uint64_t n = 0;
	ssize_t got, i;

	if (!buf)
		return -ENOMEM;
	while (data < size) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0)
			break;
		data &= ~(off_t)(PAGE - 1);
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		for (at = data; at < hole; at += got) {
			size_t len = hole - at < CHUNK ? hole - at : CHUNK;

			got = pread(fd, buf, len, at);
			if (got <= 0) {
				free(buf);
				return got ? -errno : -EIO;
			}
			/* A short last page reads as zero-padded. */
			if (got % PAGE)
				memset(buf + got, 0, PAGE - got % PAGE);
			for (i = 0; i < got; i += PAGE)
				n += !page_is_zero(buf + i);
		}
		data = hole;
	}
	free(buf);
	*out = n;
	return 0;
}

int main(int argc, char **argv)
{
	int i, ret = 0;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: page_census FILE...\n"
			"For each FILE: its non-zero 4 KiB pages, its pages in "
			"data extents, its size in bytes.\n");
		return argc < 2 ? 2 : 0;
	}
	for (i = 1; i < argc; i++) {
		uint64_t nonzero = 0;
		struct stat st;
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		int err;

		if (fd < 0 || fstat(fd, &st)) {
			fprintf(stderr, "page_census: %s: %s\n", argv[i],
				strerror(errno));
			ret = 1;
			if (fd >= 0)
				close(fd);
			continue;
		}
		err = nonzero_pages(fd, st.st_size, &nonzero);
		if (err) {
			fprintf(stderr, "page_census: %s: %s\n", argv[i],
				strerror(-err));
			ret = 1;
		} else {
			printf("%s nonzero %llu data %llu size %lld\n",
			       argv[i], (unsigned long long)nonzero,
			       (unsigned long long)data_pages(fd, st.st_size),
			       (long long)st.st_size);
		}
		close(fd);
	}
	return ret;
}
