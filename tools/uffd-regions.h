/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The handshake message of Firecracker's Uffd protocol: a JSON array of
 * the guest memory regions, sent with the userfaultfd.  Parsed apart from
 * the socket so that it can be tested and fuzzed on its own.
 */
#ifndef UFFD_REGIONS_H
#define UFFD_REGIONS_H

#include <stddef.h>
#include <stdint.h>

#define UFFD_PAGE		4096ULL
#define UFFD_HUGE_PAGE		(2ULL << 20)	/* huge_pages "2M" */
#define UFFD_MAX_REGIONS	16

struct uffd_region {
	uint64_t base;		/* host address in the VMM */
	uint64_t size;
	uint64_t offset;	/* in the memory file */
	uint64_t page_size;	/* UFFD_PAGE or UFFD_HUGE_PAGE */
};

/*
 * The @len bytes of @buf (no NUL needed) into @regions, @nr of them:
 * 1 to UFFD_MAX_REGIONS, each of 4 KiB or 2 MiB pages, aligned to its
 * page size and inside a memory file of @mem_size bytes.  0, or -EINVAL
 * with the reason printed.
 */
int uffd_regions__parse(const char *buf, size_t len, uint64_t mem_size,
			struct uffd_region *regions, unsigned int *nr);

#endif
