// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse.h"

static void test_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse__u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse__u64("0x7f0000001000", &v), 0);
	assert_int_equal(v, 0x7f0000001000ULL);
	assert_int_equal(parse__u64("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(parse__u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(parse__u64("", &v), -EINVAL);
	assert_int_equal(parse__u64("-1", &v), -EINVAL);
	assert_int_equal(parse__u64("12abc", &v), -EINVAL);
	assert_int_equal(parse__u64(" 1", &v), -EINVAL);
	assert_int_equal(parse__u64(NULL, &v), -EINVAL);
}

/*
 * strtoull() skips any white space and takes a sign after it: found by
 * fuzz/ptctl_range.c ("\r0"), which then took "\t-1" as 2^64 - 1.
 */
static void test_u64_blank_then_sign(void **state)
{
	uint64_t v = 7, a = 7, b = 7;

	(void)state;
	assert_int_equal(parse__u64("\r0", &v), -EINVAL);
	assert_int_equal(parse__u64("\t-1", &v), -EINVAL);
	assert_int_equal(parse__u64("\n5", &v), -EINVAL);
	assert_int_equal(parse__size("\v-1k", &v), -EINVAL);
	assert_int_equal(parse__range("0x1000-\f-1", &a, &b), -EINVAL);
	assert_int_equal(parse__range("0x1000+\t-4096", &a, &b), -EINVAL);
	assert_int_equal(v, 7);
	assert_int_equal(a, 7);
	assert_int_equal(b, 7);
}

static void test_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse__size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse__size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse__size("256M", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(parse__size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(parse__size("2t", &v), 0);
	assert_int_equal(v, 2ULL << 40);
	assert_int_equal(parse__size("1Q", &v), -EINVAL);
	assert_int_equal(parse__size("1MB", &v), -EINVAL);
	assert_int_equal(parse__size("M", &v), -EINVAL);
	assert_int_equal(parse__size("-1M", &v), -EINVAL);
	assert_int_equal(parse__size("17179869184G", &v), -ERANGE);
}

static void test_range(void **state)
{
	uint64_t s, e;

	(void)state;
	assert_int_equal(parse__range("0x1000-0x3000", &s, &e), 0);
	assert_int_equal(s, 0x1000);
	assert_int_equal(e, 0x3000);
	assert_int_equal(parse__range("0x1000+8k", &s, &e), 0);
	assert_int_equal(e, 0x3000);
	assert_int_equal(parse__range("0x3000-0x1000", &s, &e), -EINVAL);
	assert_int_equal(parse__range("0x1000-0x1000", &s, &e), -EINVAL);
	assert_int_equal(parse__range("0x1000", &s, &e), -EINVAL);
	assert_int_equal(parse__range("-0x1000", &s, &e), -EINVAL);
	assert_int_equal(parse__range("0x1000-", &s, &e), -EINVAL);
	assert_int_equal(parse__range("0xffffffffffffffff+2", &s, &e), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_u64_blank_then_sign),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_range),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
