// SPDX-License-Identifier: GPL-2.0
/*
 * The layer file round-trips, and every kind of damage is refused with a
 * reason: truncation, a flipped byte in the header, index or pages, ranges
 * that overlap or leave guest memory, a file for another memory size.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bitmap.h"
#include "crc32.h"
#include "layers.h"

#define NPAGES		64
#define MEM_SIZE	(NPAGES * LAYERS_PAGE_SIZE)

static char path[] = "/tmp/layers-test-XXXXXX";
static uint8_t mem[MEM_SIZE];
static char err[256];

/* Read-only {1, 2, 3, 10}, dirty {4, 20, 21, 63}. */
static int setup(void **state)
{
	uint64_t *ro = bitmap__alloc(NPAGES), *dirty = bitmap__alloc(NPAGES);
	uint64_t p;
	int fd;

	(void)state;
	for (p = 0; p < NPAGES; p++)
		memset(mem + p * LAYERS_PAGE_SIZE, (int)p, LAYERS_PAGE_SIZE);
	for (p = 1; p <= 3; p++)
		bitmap__set(ro, p);
	bitmap__set(ro, 10);
	bitmap__set(dirty, 4);
	bitmap__set(dirty, 20);
	bitmap__set(dirty, 21);
	bitmap__set(dirty, 63);
	fd = mkstemp(path);
	if (fd < 0 || layers__write(fd, mem, MEM_SIZE, ro, dirty, NULL, 0x1234,
				    err, sizeof(err)))
		return -1;
	close(fd);
	free(ro);
	free(dirty);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* Run layers__open on a damaged copy of the file; return the reason. */
static const char *open_damaged(void (*damage)(int fd), uint64_t mem_size)
{
	static char copy[] = "/tmp/layers-copy-XXXXXX";
	static char buf[1 << 20];
	struct layers l;
	int in = open(path, O_RDONLY), out;
	ssize_t n;

	strcpy(copy, "/tmp/layers-copy-XXXXXX");
	out = mkstemp(copy);
	assert_true(in >= 0 && out >= 0);
	n = read(in, buf, sizeof(buf));
	assert_int_equal(write(out, buf, n), n);
	close(in);
	damage(out);
	close(out);
	err[0] = '\0';
	if (!layers__open(copy, mem_size, &l, err, sizeof(err))) {
		if (layers__verify_data(&l, err, sizeof(err)) == 0)
			strcpy(err, "accepted");
		layers__close(&l);
	}
	unlink(copy);
	return err;
}

static void no_damage(int fd)
{
	(void)fd;
}

static void patch(int fd, off_t off, const void *data, size_t len)
{
	assert_int_equal(pwrite(fd, data, len, off), (ssize_t)len);
}

/* Rewrite the index with @r at slot @i, keeping every checksum right. */
static void patch_range(int fd, unsigned int i, const struct layers_range *r)
{
	struct layers_header h;
	struct layers_range idx[8];

	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	assert_true(h.nr_ranges <= 8);
	assert_int_equal(pread(fd, idx, h.nr_ranges * sizeof(*idx), sizeof(h)),
			 (ssize_t)(h.nr_ranges * sizeof(*idx)));
	idx[i] = *r;
	h.index_crc = crc32__update(0, idx, h.nr_ranges * sizeof(*idx));
	h.header_crc = crc32__update(0, &h, offsetof(struct layers_header,
						     header_crc));
	patch(fd, sizeof(h), idx, h.nr_ranges * sizeof(*idx));
	patch(fd, 0, &h, sizeof(h));
}

static void test_round_trip(void **state)
{
	struct layers l;
	uint8_t page[LAYERS_PAGE_SIZE];

	(void)state;
	assert_int_equal(layers__open(path, MEM_SIZE, &l, err, sizeof(err)), 0);
	assert_int_equal(l.h.snapshot_crc, 0x1234);
	assert_int_equal(l.h.ro_pages, 4);
	assert_int_equal(l.h.dirty_pages, 4);
	/* {1-3}, {10}; then {4}, {20-21}, {63}. */
	assert_int_equal(l.h.nr_ranges, 5);
	assert_int_equal(l.ranges[0].first_page, 1);
	assert_int_equal(l.ranges[0].nr_pages, 3);
	assert_int_equal(l.ranges[1].first_page, 10);
	assert_int_equal(l.ranges[2].class, LAYER_DIRTY);
	assert_int_equal(l.ranges[2].first_page, 4);
	assert_int_equal(l.ranges[3].nr_pages, 2);
	assert_int_equal(l.ranges[0].file_offset % LAYERS_PAGE_SIZE, 0);
	/* The read-only layer is one extent, the dirty pages follow it. */
	assert_int_equal(l.ranges[2].file_offset,
			 l.h.data_offset + 4 * LAYERS_PAGE_SIZE);
	assert_int_equal(pread(l.fd, page, sizeof(page),
			       l.ranges[3].file_offset + LAYERS_PAGE_SIZE),
			 sizeof(page));
	assert_int_equal(page[0], 21);
	assert_int_equal(page[4095], 21);
	assert_int_equal(layers__verify_data(&l, err, sizeof(err)), 0);
	layers__close(&l);
	assert_string_equal(open_damaged(no_damage, 0), "accepted");
}

static void truncate_data(int fd)
{
	assert_int_equal(ftruncate(fd, lseek(fd, 0, SEEK_END) - 1), 0);
}

static void truncate_index(int fd)
{
	assert_int_equal(ftruncate(fd, sizeof(struct layers_header) + 30), 0);
}

static void truncate_header(int fd)
{
	assert_int_equal(ftruncate(fd, 40), 0);
}

static void flip_header(int fd)
{
	uint8_t b = 0xff;

	patch(fd, offsetof(struct layers_header, ro_pages), &b, 1);
}

static void flip_index(int fd)
{
	uint8_t b = 0x7f;

	patch(fd, sizeof(struct layers_header) + 1, &b, 1);
}

static void flip_page(int fd)
{
	uint8_t b = 0xee;

	patch(fd, LAYERS_PAGE_SIZE + 100, &b, 1);
}

static void bad_magic(int fd)
{
	patch(fd, 0, "PTLAYERX", 8);
}

static void overlap(int fd)
{
	/* The second read-only range {10} moved onto {1-3}. */
	struct layers_range r = {
		.first_page = 2, .nr_pages = 1, .class = LAYER_RO,
		.file_offset = 0,
	};
	struct layers_header h;

	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	r.file_offset = h.data_offset + 3 * LAYERS_PAGE_SIZE;
	patch_range(fd, 1, &r);
}

static void outside(int fd)
{
	struct layers_range r = {
		.first_page = 63, .nr_pages = 2, .class = LAYER_DIRTY,
	};
	struct layers_header h;

	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	r.file_offset = h.data_offset + 7 * LAYERS_PAGE_SIZE;
	patch_range(fd, 4, &r);
}

static void bad_class(int fd)
{
	struct layers_range r = {
		.first_page = 4, .nr_pages = 1, .class = 7,
	};
	struct layers_header h;

	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	r.file_offset = h.data_offset + 4 * LAYERS_PAGE_SIZE;
	patch_range(fd, 2, &r);
}

static void unknown_flag(int fd)
{
	struct layers_header h;

	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	h.flags |= 1U << 5;
	h.header_crc = crc32__update(0, &h, offsetof(struct layers_header,
						     header_crc));
	patch(fd, 0, &h, sizeof(h));
}

static void expect(const char *got, const char *want)
{
	if (!strstr(got, want))
		fail_msg("got \"%s\", wanted \"%s\"", got, want);
}

/*
 * A header's memory size is not trusted to size the page bitmap the
 * open takes: fuzz/layers.c found a header asking for a 16 TiB one.
 */
static void huge_memory(int fd)
{
	struct layers_header h;

	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	h.mem_size = 1ULL << 60;
	h.header_crc = crc32__update(0, &h, offsetof(struct layers_header,
						     header_crc));
	patch(fd, 0, &h, sizeof(h));
}

static void test_damage_refused(void **state)
{
	(void)state;
	expect(open_damaged(truncate_data, 0), "truncated: pages missing");
	expect(open_damaged(truncate_index, 0), "truncated: index incomplete");
	expect(open_damaged(truncate_header, 0), "truncated: no header");
	expect(open_damaged(flip_header, 0), "header checksum mismatch");
	expect(open_damaged(flip_index, 0), "index checksum mismatch");
	expect(open_damaged(flip_page, 0), "page data checksum mismatch");
	expect(open_damaged(bad_magic, 0), "not a layer file");
	expect(open_damaged(overlap, 0), "overlapping ranges");
	expect(open_damaged(outside, 0), "range outside guest memory");
	expect(open_damaged(bad_class, 0), "bad range class");
	expect(open_damaged(unknown_flag, 0), "unknown flags");
	expect(open_damaged(huge_memory, 0), "bad header fields");
	expect(open_damaged(no_damage, 2 * MEM_SIZE),
	       "made for a different memory size");
}

/*
 * Recorded order: read-only pages 1-3 and 10 first seen in samples 2, 2,
 * 1 and 1, dirty pages 4 and 20 in samples 2 and 1, page 21 never (a
 * VMM write): pages go in sample order, then address order, pages never
 * seen last.
 */
static void test_first_access_order(void **state)
{
	uint64_t *ro = bitmap__alloc(NPAGES), *dirty = bitmap__alloc(NPAGES);
	static const struct { uint32_t page, class; } want[] = {
		{ 3, LAYER_RO }, { 10, LAYER_RO }, { 1, LAYER_RO },
		{ 20, LAYER_DIRTY }, { 4, LAYER_DIRTY }, { 21, LAYER_DIRTY },
	};
	static const uint32_t want_len[] = { 1, 1, 2, 1, 1, 1 };
	char ordered[] = "/tmp/layers-order-XXXXXX";
	uint16_t first_seen[NPAGES] = {
		[1] = 2, [2] = 2, [3] = 1, [10] = 1, [4] = 2, [20] = 1,
	};
	uint8_t page[LAYERS_PAGE_SIZE];
	struct layers l;
	unsigned int i;
	int fd = mkstemp(ordered);

	(void)state;
	assert_true(fd >= 0 && ro && dirty);
	for (i = 1; i <= 3; i++)
		bitmap__set(ro, i);
	bitmap__set(ro, 10);
	bitmap__set(dirty, 4);
	bitmap__set(dirty, 20);
	bitmap__set(dirty, 21);
	assert_int_equal(layers__write(fd, mem, MEM_SIZE, ro, dirty, first_seen,
				       0x1234, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(layers__open(ordered, MEM_SIZE, &l, err, sizeof(err)),
			 0);
	assert_int_equal(l.h.flags, LAYERS_FIRST_ACCESS_ORDER);
	assert_int_equal(l.h.nr_ranges, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(l.ranges[i].first_page, want[i].page);
		assert_int_equal(l.ranges[i].nr_pages, want_len[i]);
		assert_int_equal(l.ranges[i].class, want[i].class);
	}
	/* Each range's data is its own page, in file order. */
	for (i = 0; i < 6; i++) {
		assert_int_equal(pread(l.fd, page, sizeof(page),
				       l.ranges[i].file_offset), sizeof(page));
		assert_int_equal(page[0], (uint8_t)want[i].page);
	}
	assert_int_equal(layers__verify_data(&l, err, sizeof(err)), 0);
	layers__close(&l);
	unlink(ordered);
	free(ro);
	free(dirty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_first_access_order),
	};

	return cmocka_run_group_tests_name("layers", tests, setup, teardown);
}
