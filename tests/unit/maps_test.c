// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "maps.h"

static FILE *text(const char *s)
{
	return fmemopen((void *)s, strlen(s), "r");
}

static void test_parse(void **state)
{
	FILE *f = text(
		"55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 123 /bin/cat\n"
		"7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0   [stack]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n");
	struct maps m;

	(void)state;
	assert_int_equal(maps__parse(f, 0x800000000000ULL, &m), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.ranges[0].start, 0x55d0c0a00000ULL);
	assert_int_equal(m.ranges[0].end, 0x55d0c0a02000ULL);
	assert_int_equal(m.ranges[1].end, 0x7ffd1c021000ULL);
	maps__free(&m);
	fclose(f);
}

static void test_limit_clips(void **state)
{
	FILE *f = text("1000-5000 rw-p 0 0:0 0\n");
	struct maps m;

	(void)state;
	assert_int_equal(maps__parse(f, 0x3000, &m), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(m.ranges[0].end, 0x3000);
	maps__free(&m);
	fclose(f);
}

static void test_garbage(void **state)
{
	FILE *f = text("1000-5000 rw-p\nnot a mapping\n");
	struct maps m;

	(void)state;
	assert_int_equal(maps__parse(f, ~0ULL, &m), -EINVAL);
	assert_null(m.ranges);
	fclose(f);
	f = text("5000-1000 rw-p\n");
	assert_int_equal(maps__parse(f, ~0ULL, &m), -EINVAL);
	fclose(f);
}

static void test_many(void **state)
{
	char buf[200 * 32], *p = buf;
	struct maps m;
	FILE *f;
	int i;

	(void)state;
	for (i = 0; i < 200; i++)
		p += sprintf(p, "%x-%x rw-p 0 0:0 0\n", (i + 1) * 0x10000,
			     (i + 1) * 0x10000 + 0x1000);
	f = text(buf);
	assert_int_equal(maps__parse(f, ~0ULL, &m), 0);
	assert_int_equal(m.nr, 200);
	assert_int_equal(m.ranges[199].start, 200 * 0x10000);
	maps__free(&m);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_limit_clips),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests_name("maps", tests, NULL, NULL);
}
