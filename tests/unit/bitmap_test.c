// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bitmap.h"

static void test_words_and_bytes(void **state)
{
	(void)state;
	assert_int_equal(bitmap__words(0), 0);
	assert_int_equal(bitmap__words(1), 1);
	assert_int_equal(bitmap__words(64), 1);
	assert_int_equal(bitmap__words(65), 2);
	assert_int_equal(bitmap__bytes(65), 16);
}

/* Bit i of little-endian u64 words is page i: KVM's dirty-log layout. */
static void test_dirty_log_layout(void **state)
{
	uint64_t bm[2] = { 0 };
	const uint8_t *bytes = (const uint8_t *)bm;

	(void)state;
	bitmap__set(bm, 0);
	bitmap__set(bm, 9);
	bitmap__set(bm, 64);
	assert_int_equal(bytes[0], 0x01);
	assert_int_equal(bytes[1], 0x02);
	assert_int_equal(bytes[8], 0x01);
	assert_true(bitmap__test(bm, 9));
	bitmap__clear(bm, 9);
	assert_false(bitmap__test(bm, 9));
}

static void test_weight_ignores_bits_past_end(void **state)
{
	uint64_t bm[2] = { ~0ULL, ~0ULL };

	(void)state;
	assert_int_equal(bitmap__weight(bm, 70), 70);
	assert_int_equal(bitmap__weight(bm, 64), 64);
	assert_int_equal(bitmap__weight(bm, 3), 3);
}

static void test_equal_ignores_bits_past_end(void **state)
{
	uint64_t a[1] = { 0x0f }, b[1] = { 0xff };

	(void)state;
	assert_true(bitmap__equal(a, b, 4));
	assert_false(bitmap__equal(a, b, 5));
}

static void test_or_andnot(void **state)
{
	uint64_t a[2] = { 0x0c, 1 }, b[2] = { 0x0a, 2 }, d[2];

	(void)state;
	bitmap__or(d, a, b, 128);
	assert_int_equal(d[0], 0x0e);
	assert_int_equal(d[1], 3);
	bitmap__andnot(d, a, b, 128);
	assert_int_equal(d[0], 0x04);
	assert_int_equal(d[1], 1);
}

static void test_next_run(void **state)
{
	uint64_t bm[3] = { 0 };
	uint64_t s, e;

	(void)state;
	bitmap__set(bm, 3);
	bitmap__set(bm, 4);
	bitmap__set(bm, 63);
	bitmap__set(bm, 64);
	bitmap__set(bm, 150);

	assert_true(bitmap__next_run(bm, 192, 0, &s, &e));
	assert_int_equal(s, 3);
	assert_int_equal(e, 5);
	assert_true(bitmap__next_run(bm, 192, e, &s, &e));
	assert_int_equal(s, 63);
	assert_int_equal(e, 65);
	assert_true(bitmap__next_run(bm, 192, e, &s, &e));
	assert_int_equal(s, 150);
	assert_int_equal(e, 151);
	assert_false(bitmap__next_run(bm, 192, e, &s, &e));
	/* A run is cut at nbits. */
	assert_false(bitmap__next_run(bm, 150, 65, &s, &e));
}

static void test_format_runs(void **state)
{
	uint64_t bm[2] = { 0 };
	char buf[64], tiny[4];

	(void)state;
	assert_int_equal(bitmap__format_runs(bm, 128, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	bitmap__set(bm, 0);
	bitmap__set(bm, 1);
	bitmap__set(bm, 2);
	bitmap__set(bm, 7);
	bitmap__set(bm, 100);
	bitmap__set(bm, 101);
	assert_int_equal(bitmap__format_runs(bm, 128, buf, sizeof(buf)), 13);
	assert_string_equal(buf, "0-2,7,100-101");
	/* Truncation reports the length needed and stays terminated. */
	assert_int_equal(bitmap__format_runs(bm, 128, tiny, sizeof(tiny)), 13);
	assert_string_equal(tiny, "0-2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_and_bytes),
		cmocka_unit_test(test_dirty_log_layout),
		cmocka_unit_test(test_weight_ignores_bits_past_end),
		cmocka_unit_test(test_equal_ignores_bits_past_end),
		cmocka_unit_test(test_or_andnot),
		cmocka_unit_test(test_next_run),
		cmocka_unit_test(test_format_runs),
	};

	return cmocka_run_group_tests_name("bitmap", tests, NULL, NULL);
}
