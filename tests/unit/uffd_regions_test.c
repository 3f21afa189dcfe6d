// SPDX-License-Identifier: GPL-2.0
/*
 * The Uffd handshake's region array as tools/uffd-handler reads it:
 * 4 KiB and 2 MiB pages, the page size from page_size or, as Firecracker
 * v1.10 fills it, from page_size_kib in bytes, and what it refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "uffd-regions.h"

#define MEM	(64ULL << 20)

static int parse(const char *json, struct uffd_region *r, unsigned int *nr)
{
	return uffd_regions__parse(json, strlen(json), MEM, r, nr);
}

static void test_small_pages(void **state)
{
	struct uffd_region r[UFFD_MAX_REGIONS];
	unsigned int nr;

	(void)state;
	assert_int_equal(parse("[{\"base_host_virt_addr\":4096,\"size\":8192,"
			       "\"offset\":4096,\"page_size_kib\":4096}]",
			       r, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(r[0].base, 4096);
	assert_int_equal(r[0].size, 8192);
	assert_int_equal(r[0].offset, 4096);
	assert_int_equal(r[0].page_size, UFFD_PAGE);
	/* Before Firecracker v1.7 there was no page size: 4 KiB. */
	assert_int_equal(parse("[{\"base_host_virt_addr\":4096,\"size\":4096,"
			       "\"offset\":0}]", r, &nr), 0);
	assert_int_equal(r[0].page_size, UFFD_PAGE);
}

/* huge_pages "2M": two regions, as the VMM sends them around the hole. */
static void test_huge_pages(void **state)
{
	struct uffd_region r[UFFD_MAX_REGIONS];
	unsigned int nr;

	(void)state;
	assert_int_equal(parse("[{\"base_host_virt_addr\":2097152,"
			       "\"size\":33554432,\"offset\":0,"
			       "\"page_size_kib\":2097152,"
			       "\"page_size\":2097152},"
			       "{\"base_host_virt_addr\":35651584,"
			       "\"size\":4194304,\"offset\":33554432,"
			       "\"page_size_kib\":2097152}]", r, &nr), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(r[0].page_size, UFFD_HUGE_PAGE);
	assert_int_equal(r[1].page_size, UFFD_HUGE_PAGE);
	assert_int_equal(r[1].offset, 33554432);
	/* page_size wins over page_size_kib (Firecracker v1.12). */
	assert_int_equal(parse("[{\"base_host_virt_addr\":2097152,"
			       "\"size\":2097152,\"offset\":0,"
			       "\"page_size_kib\":2048,"
			       "\"page_size\":2097152}]", r, &nr), 0);
	assert_int_equal(r[0].page_size, UFFD_HUGE_PAGE);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		/* 2 MiB pages at a 4 KiB-aligned address, size, offset */
		"[{\"base_host_virt_addr\":4096,\"size\":2097152,"
		"\"offset\":0,\"page_size\":2097152}]",
		"[{\"base_host_virt_addr\":2097152,\"size\":4096,"
		"\"offset\":0,\"page_size\":2097152}]",
		"[{\"base_host_virt_addr\":2097152,\"size\":2097152,"
		"\"offset\":4096,\"page_size\":2097152}]",
		/* page sizes there are not: 8 KiB, KiB taken as KiB */
		"[{\"base_host_virt_addr\":8192,\"size\":8192,"
		"\"offset\":0,\"page_size\":8192}]",
		"[{\"base_host_virt_addr\":4096,\"size\":4096,"
		"\"offset\":0,\"page_size_kib\":4}]",
		/* past the memory file */
		"[{\"base_host_virt_addr\":2097152,\"size\":67108864,"
		"\"offset\":2097152,\"page_size\":2097152}]",
		"[{\"base_host_virt_addr\":4096,\"size\":4096,"
		"\"offset\":0,\"page_size\":\"4096\"}]",
	};
	struct uffd_region r[UFFD_MAX_REGIONS];
	unsigned int nr, i;
	const char *json;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], r, &nr), -EINVAL);
	/* 1 GiB pages, aligned and inside a memory file big enough. */
	json = "[{\"base_host_virt_addr\":1073741824,"
	       "\"size\":1073741824,\"offset\":0,"
	       "\"page_size\":1073741824}]";
	assert_int_equal(uffd_regions__parse(json, strlen(json), 4ULL << 30,
					     r, &nr), -EINVAL);
	/* The same region in 2 MiB pages is one. */
	json = "[{\"base_host_virt_addr\":1073741824,"
	       "\"size\":1073741824,\"offset\":0,"
	       "\"page_size\":2097152}]";
	assert_int_equal(uffd_regions__parse(json, strlen(json), 4ULL << 30,
					     r, &nr), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_pages),
		cmocka_unit_test(test_huge_pages),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
