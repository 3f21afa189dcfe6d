// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crc32.h"

/* The standard check value, and what zlib's crc32() gives. */
static void test_known_values(void **state)
{
	(void)state;
	assert_int_equal(crc32__update(0, "123456789", 9), 0xcbf43926);
	assert_int_equal(crc32__update(0, "", 0), 0);
	assert_int_equal(crc32__update(0, "a", 1), 0xe8b7be43);
}

static void test_incremental(void **state)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	uint32_t crc;

	(void)state;
	crc = crc32__update(0, s, 10);
	crc = crc32__update(crc, s + 10, strlen(s) - 10);
	assert_int_equal(crc, crc32__update(0, s, strlen(s)));
	assert_int_equal(crc, 0x414fa339);
}

static void test_detects_one_bit(void **state)
{
	uint8_t buf[4096] = { 0 };
	uint32_t a, b;

	(void)state;
	a = crc32__update(0, buf, sizeof(buf));
	buf[2047] ^= 0x10;
	b = crc32__update(0, buf, sizeof(buf));
	assert_int_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_detects_one_bit),
	};

	return cmocka_run_group_tests_name("crc32", tests, NULL, NULL);
}
