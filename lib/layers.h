/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The working-set layer file: the pages a recorded window touched, stored
 * contiguously so a restore can read them in one sequential sweep, with an
 * index of the guest ranges they came from and their class.
 *
 *	header | range index | pad to a page | read-only pages | dirty pages
 *
 * Read-only pages come first and dirty pages after, so the read-only
 * layer is one extent that many clones can share.  Within a class, pages
 * are in the order a restore should read them: by first access when the
 * recording sampled it (LAYERS_FIRST_ACCESS_ORDER), else by guest address.
 * A range's pages lie at its file_offset, one after another; ranges are
 * indexed in file order.
 * All integers are little endian.  The file names the snapshot it belongs
 * to by the CRC-32 of that snapshot's vmstate payload and its memory size.
 */
#ifndef PAGETRACK_LIB_LAYERS_H
#define PAGETRACK_LIB_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAYERS_MAGIC		"PTLAYERS"
#define LAYERS_VERSION		1
#define LAYERS_PAGE_SIZE	4096ULL
#define LAYERS_MAX_RANGES	(1U << 24)
/*
 * Opening a file takes a bitmap of its memory's pages: 32 MiB at this
 * size, far past the VMM's largest guest (3 GiB).
 */
#define LAYERS_MAX_MEM		(1ULL << 40)

enum layer_class { LAYER_RO = 1, LAYER_DIRTY = 2 };

/* Header flags. */
#define LAYERS_FIRST_ACCESS_ORDER	(1U << 0)

struct layers_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t mem_size;	/* guest memory of the snapshot */
	uint32_t snapshot_crc;	/* its vmstate payload's CRC-32 */
	uint32_t nr_ranges;
	uint64_t ro_pages;
	uint64_t dirty_pages;
	uint64_t data_offset;	/* page aligned */
	uint32_t index_crc;
	uint32_t data_crc;	/* of every page, in file order */
	uint32_t flags;		/* LAYERS_* above; others refused */
	uint32_t header_crc;	/* of the bytes above */
};

struct layers_range {
	uint64_t first_page;	/* guest page frame number */
	uint32_t nr_pages;
	uint32_t class;		/* enum layer_class */
	uint64_t file_offset;
};

/* A layer file opened and checked (layers__open); pages not read yet. */
struct layers {
	int fd;
	struct layers_header h;
	struct layers_range *ranges;
};

/*
 * Write the layers of @mem (@mem_size bytes of guest memory) to @fd: the
 * pages set in @ro and in @dirty (disjoint bitmaps of guest pages), each
 * class ordered by @first_seen (per page: the sample of a recording it
 * was first seen accessed in, 0 for never) or, when NULL, by address.
 */
int layers__write(int fd, const uint8_t *mem, uint64_t mem_size,
		  const uint64_t *ro, const uint64_t *dirty,
		  const uint16_t *first_seen, uint32_t snapshot_crc,
		  char *err, size_t errlen);
/*
 * Open and check @path: header, index, ranges inside @mem_size and not
 * overlapping, file long enough.  @mem_size 0 takes the file's own.
 */
int layers__open(const char *path, uint64_t mem_size, struct layers *l,
		 char *err, size_t errlen);
/* Read every page and compare with data_crc. */
int layers__verify_data(const struct layers *l, char *err, size_t errlen);
void layers__close(struct layers *l);

/* Whether @l was cut for the snapshot @crc (vstate__id) of @mem_size. */
static inline bool layers__belongs(const struct layers *l, uint32_t crc,
				   uint64_t mem_size)
{
	return l->h.snapshot_crc == crc && l->h.mem_size == mem_size;
}
const char *layers__class_name(uint32_t class);

#endif
