// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitmap.h"
#include "crc32.h"
#include "layers.h"

_Static_assert(sizeof(struct layers_header) == 72, "layers header size");
_Static_assert(sizeof(struct layers_range) == 24, "layers range size");

const char *layers__class_name(uint32_t class)
{
	switch (class) {
	case LAYER_RO:
		return "read-only";
	case LAYER_DIRTY:
		return "dirty";
	default:
		return "?";
	}
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Sort key of page @p: its sample, 0 (never seen) wrapping to the last. */
static inline uint16_t order_key(const uint16_t *first_seen, uint64_t p)
{
	return first_seen ? (uint16_t)(first_seen[p] - 1) : 0;
}

/*
 * The pages of @bm in the order a restore should read them: by the sample
 * they were first seen in, pages never seen last, then by address; by
 * address alone without @first_seen.  A counting sort on the sample.
 */
static uint32_t *class_order(const uint64_t *bm, uint64_t npages,
			     const uint16_t *first_seen, uint64_t *count)
{
	uint64_t p, n = bitmap__weight(bm, npages), *slot;
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));
	unsigned int key;

	slot = calloc(UINT16_MAX + 1, sizeof(*slot));
	if (!order || !slot) {
		free(order);
		free(slot);
		return NULL;
	}
	for (p = 0; p < npages; p++)
		if (bitmap__test(bm, p))
			slot[order_key(first_seen, p)]++;
	for (key = 0, n = 0; key <= UINT16_MAX; key++) {
		uint64_t c = slot[key];

		slot[key] = n;
		n += c;
	}
	for (p = 0; p < npages; p++)
		if (bitmap__test(bm, p))
			order[slot[order_key(first_seen, p)]++] = p;
	free(slot);
	*count = n;
	return order;
}

/* Runs of guest-consecutive pages in @order: one range each. */
static uint64_t count_runs(const uint32_t *order, uint64_t n)
{
	uint64_t i, runs = 0;

	for (i = 0; i < n; i++)
		runs += !i || order[i] != order[i - 1] + 1;
	return runs;
}

/* Append the ranges of @order to the index and their pages to the data. */
static int write_class(int fd, const uint8_t *mem, const uint32_t *order,
		       uint64_t n, uint32_t class, struct layers_range **r,
		       uint64_t *off, uint32_t *crc)
{
	uint64_t i = 0, j, len;
	const uint8_t *src;
	int ret;

	while (i < n) {
		for (j = i + 1; j < n && order[j] == order[j - 1] + 1; j++)
			;
		len = (j - i) * LAYERS_PAGE_SIZE;
		src = mem + order[i] * LAYERS_PAGE_SIZE;
		**r = (struct layers_range) {
			.first_page = order[i], .nr_pages = j - i,
			.class = class, .file_offset = *off,
		};
		ret = write_all(fd, src, len, *off);
		if (ret)
			return ret;
		*crc = crc32__update(*crc, src, len);
		*off += len;
		(*r)++;
		i = j;
	}
	return 0;
}

/* Guest memory is at most a few GiB: a range's page count fits 32 bits. */
int layers__write(int fd, const uint8_t *mem, uint64_t mem_size,
		  const uint64_t *ro, const uint64_t *dirty,
		  const uint16_t *first_seen, uint32_t snapshot_crc,
		  char *err, size_t errlen)
{
	uint64_t npages = mem_size / LAYERS_PAGE_SIZE, nr, off, nr_ro, nr_dirty;
	struct layers_header h = {
		.version = LAYERS_VERSION,
		.header_size = sizeof(h),
		.mem_size = mem_size,
		.snapshot_crc = snapshot_crc,
		.flags = first_seen ? LAYERS_FIRST_ACCESS_ORDER : 0,
	};
	uint32_t *ro_order, *dirty_order;
	struct layers_range *index = NULL, *r;
	size_t index_len;
	int ret = -ENOMEM;

	ro_order = class_order(ro, npages, first_seen, &nr_ro);
	dirty_order = class_order(dirty, npages, first_seen, &nr_dirty);
	if (!ro_order || !dirty_order)
		goto out;
	h.ro_pages = nr_ro;
	h.dirty_pages = nr_dirty;
	nr = count_runs(ro_order, nr_ro) + count_runs(dirty_order, nr_dirty);
	if (nr > LAYERS_MAX_RANGES) {
		snprintf(err, errlen, "working set too fragmented: %llu ranges",
			 (unsigned long long)nr);
		ret = -E2BIG;
		goto out;
	}
	index_len = nr * sizeof(*index);
	index = calloc(nr ? nr : 1, sizeof(*index));
	if (!index)
		goto out;
	h.nr_ranges = nr;
	h.data_offset = (sizeof(h) + index_len + LAYERS_PAGE_SIZE - 1) &
			~(LAYERS_PAGE_SIZE - 1);
	off = h.data_offset;
	r = index;
	ret = write_class(fd, mem, ro_order, nr_ro, LAYER_RO, &r, &off,
			  &h.data_crc);
	if (!ret)
		ret = write_class(fd, mem, dirty_order, nr_dirty, LAYER_DIRTY,
				  &r, &off, &h.data_crc);
	if (!ret) {
		memcpy(h.magic, LAYERS_MAGIC, sizeof(h.magic));
		h.index_crc = crc32__update(0, index, index_len);
		h.header_crc = crc32__update(0, &h,
					     offsetof(struct layers_header,
						      header_crc));
		ret = write_all(fd, index, index_len, sizeof(h));
	}
	if (!ret)
		ret = write_all(fd, &h, sizeof(h), 0);
	if (!ret && ftruncate(fd, off))
		ret = -errno;
out:
	if (ret && ret != -E2BIG)
		snprintf(err, errlen, "writing the layers: %s", strerror(-ret));
	free(index);
	free(ro_order);
	free(dirty_order);
	return ret;
}

static int fail(char *err, size_t errlen, const char *path, const char *why)
{
	snprintf(err, errlen, "%s: %s", path, why);
	return -EINVAL;
}

static int check_ranges(const struct layers *l, const char *path,
			uint64_t file_size, char *err, size_t errlen)
{
	uint64_t npages = l->h.mem_size / LAYERS_PAGE_SIZE;
	uint64_t off = l->h.data_offset, ro = 0, dirty = 0, p;
	uint64_t *seen = bitmap__alloc(npages);
	uint32_t i, last_class = LAYER_RO;
	int ret = 0;

	if (!seen)
		return -ENOMEM;
	for (i = 0; i < l->h.nr_ranges && !ret; i++) {
		const struct layers_range *r = &l->ranges[i];

		if ((r->class != LAYER_RO && r->class != LAYER_DIRTY) ||
		    r->class < last_class)
			ret = fail(err, errlen, path, "bad range class or order");
		else if (!r->nr_pages || r->first_page >= npages ||
			 r->nr_pages > npages - r->first_page)
			ret = fail(err, errlen, path,
				   "range outside guest memory");
		else if (r->file_offset != off)
			ret = fail(err, errlen, path, "range data misplaced");
		for (p = r->first_page; !ret && p < r->first_page + r->nr_pages;
		     p++) {
			if (bitmap__test(seen, p))
				ret = fail(err, errlen, path,
					   "overlapping ranges");
			bitmap__set(seen, p);
		}
		last_class = r->class;
		off += (uint64_t)r->nr_pages * LAYERS_PAGE_SIZE;
		*(r->class == LAYER_RO ? &ro : &dirty) += r->nr_pages;
	}
	if (!ret && (ro != l->h.ro_pages || dirty != l->h.dirty_pages))
		ret = fail(err, errlen, path, "page counts do not add up");
	if (!ret && file_size < off)
		ret = fail(err, errlen, path, "truncated: pages missing");
	free(seen);
	return ret;
}

int layers__open(const char *path, uint64_t mem_size, struct layers *l,
		 char *err, size_t errlen)
{
	size_t index_len;
	struct stat st;
	int ret;

	memset(l, 0, sizeof(*l));
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	ret = fstat(l->fd, &st) ? -errno : 0;
	if (!ret && pread(l->fd, &l->h, sizeof(l->h), 0) != sizeof(l->h))
		ret = fail(err, errlen, path, "truncated: no header");
	else if (!ret && memcmp(l->h.magic, LAYERS_MAGIC, 8))
		ret = fail(err, errlen, path, "not a layer file");
	else if (!ret && l->h.version != LAYERS_VERSION)
		ret = fail(err, errlen, path, "unsupported format version");
	else if (!ret && (l->h.flags & ~LAYERS_FIRST_ACCESS_ORDER))
		ret = fail(err, errlen, path, "unknown flags");
	else if (!ret && (l->h.header_size != sizeof(l->h) ||
			  l->h.header_crc != crc32__update(0, &l->h,
				offsetof(struct layers_header, header_crc))))
		ret = fail(err, errlen, path, "header checksum mismatch");
	else if (!ret && (l->h.nr_ranges > LAYERS_MAX_RANGES ||
			  !l->h.mem_size || l->h.mem_size % LAYERS_PAGE_SIZE ||
			  l->h.mem_size > LAYERS_MAX_MEM ||
			  l->h.data_offset % LAYERS_PAGE_SIZE ||
			  l->h.data_offset < sizeof(l->h) +
			  (uint64_t)l->h.nr_ranges * sizeof(*l->ranges)))
		ret = fail(err, errlen, path, "bad header fields");
	else if (!ret && mem_size && mem_size != l->h.mem_size)
		ret = fail(err, errlen, path,
			   "made for a different memory size");
	if (ret)
		goto out;

	index_len = l->h.nr_ranges * sizeof(*l->ranges);
	l->ranges = malloc(index_len ? index_len : 1);
	if (!l->ranges) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(l->fd, l->ranges, index_len, sizeof(l->h)) !=
	    (ssize_t)index_len)
		ret = fail(err, errlen, path, "truncated: index incomplete");
	else if (crc32__update(0, l->ranges, index_len) != l->h.index_crc)
		ret = fail(err, errlen, path, "index checksum mismatch");
	else
		ret = check_ranges(l, path, st.st_size, err, errlen);
out:
	if (ret)
		layers__close(l);
	return ret;
}

int layers__verify_data(const struct layers *l, char *err, size_t errlen)
{
	uint64_t off = l->h.data_offset;
	uint64_t end = off + (l->h.ro_pages + l->h.dirty_pages) *
		       LAYERS_PAGE_SIZE;
	static uint8_t buf[1 << 20];
	uint32_t crc = 0;

	while (off < end) {
		size_t want = end - off < sizeof(buf) ? end - off : sizeof(buf);
		ssize_t n = pread(l->fd, buf, want, off);

		if (n <= 0) {
			snprintf(err, errlen, "reading pages: %s",
				 n < 0 ? strerror(errno) : "file truncated");
			return -EIO;
		}
		crc = crc32__update(crc, buf, n);
		off += n;
	}
	if (crc != l->h.data_crc) {
		snprintf(err, errlen, "page data checksum mismatch");
		return -EINVAL;
	}
	return 0;
}

void layers__close(struct layers *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->ranges);
	l->ranges = NULL;
	l->fd = -1;
}
