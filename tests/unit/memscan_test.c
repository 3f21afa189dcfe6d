// SPDX-License-Identifier: GPL-2.0
/*
 * memscan__maybe_data() on a sparse memory file mapped privately, as the
 * VMM maps the file it restores from: the pages it must read are the
 * file's data and the pages written since, whatever their content; the
 * holes not written, read or not, are left out.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "bitmap.h"
#include "memscan.h"

#define PAGE		4096
#define PAGES		256
#define MEM		(PAGES * PAGE)

static void test_holes_not_written_left_out(void **state)
{
	static const int data[] = { 0, 10, 11, 255 };
	char path[] = "/tmp/memscan_test.XXXXXX";
	uint8_t page[PAGE], *mem;
	uint64_t *bm = bitmap__alloc(PAGES), i;
	volatile uint8_t sink;
	int fd;

	(void)state;
	assert_non_null(bm);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	/* Data pages, the last page of the file one of them. */
	assert_int_equal(ftruncate(fd, MEM), 0);
	memset(page, 0x5a, sizeof(page));
	for (i = 0; i < 4; i++)
		assert_int_equal(pwrite(fd, page, PAGE, data[i] * PAGE), PAGE);
	if (lseek(fd, 0, SEEK_HOLE) >= MEM)
		skip();		/* /tmp keeps no holes */

	mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(mem != MAP_FAILED);
	/* Written: a hole (with data, then with zeros) and a data page. */
	mem[20 * PAGE] = 1;
	mem[21 * PAGE + 7] = 0;
	mem[10 * PAGE] = 2;
	/* Only read: a hole. */
	sink = mem[30 * PAGE];
	(void)sink;

	memset(bm, 0xff, bitmap__bytes(PAGES));
	assert_int_equal(memscan__maybe_data(fd, mem, MEM, bm), 0);
	for (i = 0; i < PAGES; i++) {
		bool want = i == 0 || i == 10 || i == 11 || i == 255 ||
			    i == 20 || i == 21;

		if (bitmap__test(bm, i) != want)
			fail_msg("page %llu: %s", (unsigned long long)i,
				 want ? "left out" : "read");
	}
	assert_int_equal(bitmap__weight(bm, PAGES), 6);
	munmap(mem, MEM);
	close(fd);
	free(bm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holes_not_written_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
