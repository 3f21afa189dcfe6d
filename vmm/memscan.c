// SPDX-License-Identifier: GPL-2.0
/*
 * The pages of a VM restored from a memory file that a Full snapshot
 * must read.  Reading a page through the private mapping of a tmpfs
 * file where the file has a hole makes tmpfs allocate that page: a Full
 * of a 4 GiB guest restored from a sparse file on tmpfs would fill the
 * tmpfs with zeros, 4 GiB of them, before writing a byte.  The file's
 * holes (SEEK_HOLE) and the process's page map (/proc/self/pagemap: is
 * there a private copy of the page, in memory or in swap) tell which
 * pages are zero without touching them.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "bitmap.h"
#include "memscan.h"

#define MEMSCAN_PAGE_SIZE	4096ULL
#define PM_PRESENT		(1ULL << 63)
#define PM_SWAP			(1ULL << 62)
/* A file's page (or shared anonymous): not a private copy. */
#define PM_FILE			(1ULL << 61)
#define PM_BATCH		512

/*
 * Clear in @bitmap the pages [@first, @end) of @mem that have no private
 * copy: those the VM has never written since the file was mapped.
 */
static int clear_unwritten(int pagemap, const uint8_t *mem, uint64_t first,
			   uint64_t end, uint64_t *bitmap)
{
	uint64_t pm[PM_BATCH], vpn = (uintptr_t)mem / MEMSCAN_PAGE_SIZE, i;

	while (first < end) {
		uint64_t n = end - first < PM_BATCH ? end - first : PM_BATCH;
		ssize_t got = pread(pagemap, pm, n * sizeof(pm[0]),
				    (vpn + first) * sizeof(pm[0]));

		if (got != (ssize_t)(n * sizeof(pm[0])))
			return got < 0 ? -errno : -EIO;
		for (i = 0; i < n; i++) {
			bool present = pm[i] & PM_PRESENT;
			bool copy = (pm[i] & PM_SWAP) ||
				    (present && !(pm[i] & PM_FILE));

			if (!copy)
				bitmap__clear(bitmap, first + i);
		}
		first += n;
	}
	return 0;
}

int memscan__maybe_data(int fd, const uint8_t *mem, uint64_t mem_size,
			uint64_t *bitmap)
{
	off_t hole = 0, data;
	int pagemap, ret = 0;

	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		return -errno;
	while (!ret && (uint64_t)hole < mem_size) {
		hole = lseek(fd, hole, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole >= mem_size)
			break;
		data = lseek(fd, hole, SEEK_DATA);
		/* None after it: the hole runs to the end of the file. */
		if (data < 0 || (uint64_t)data > mem_size)
			data = mem_size;
		/* Whole pages only; files are written in pages anyway. */
		ret = clear_unwritten(pagemap, mem,
				      (hole + MEMSCAN_PAGE_SIZE - 1) /
				      MEMSCAN_PAGE_SIZE,
				      data / MEMSCAN_PAGE_SIZE, bitmap);
		hole = data;
	}
	if (!ret && hole < 0)
		ret = -errno;
	close(pagemap);
	return ret;
}
