// SPDX-License-Identifier: GPL-2.0
/*
 * Ground truth for PAGETRACK_IOC_SCAN on the test's own memory: touch known
 * pages, scan, and compare bit for bit.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "pt_util.h"

#define END	-1

/* Anonymous memory: reads map the zero page, writes a dirty page. */
TEST(anon_read_write_clear)
{
	const uint64_t n = 64;
	uint8_t *mem = pt_map_anon(n, false);
	struct pt_result *r = pt_result_alloc(n);
	uint64_t *want;
	int fd = pt_open_attached(mem, n * PT_PAGE);

	pt_read_page(mem, 1);
	pt_read_page(mem, 2);
	pt_read_page(mem, 40);
	pt_write_page(mem, 3);
	pt_write_page(mem, 63);

	ASSERT_EQ(0, pt_scan(fd, mem, PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	want = pt_pages(n, 1, 2, 3, 40, 63, END);
	EXPECT_TRUE(pt_expect_bitmap("present", r->present, want, n));
	EXPECT_TRUE(pt_expect_bitmap("accessed", r->accessed, want, n));
	free(want);
	want = pt_pages(n, 3, 63, END);
	EXPECT_TRUE(pt_expect_bitmap("dirty", r->dirty, want, n));
	free(want);
	EXPECT_EQ(0, bitmap__weight(r->written, n));
	EXPECT_EQ(5, r->scan.nr_present);
	EXPECT_EQ(5, r->scan.nr_accessed);
	EXPECT_EQ(2, r->scan.nr_dirty);
	EXPECT_EQ(0, r->scan.nr_written);
	EXPECT_EQ(0, r->scan.nr_kvm_queries);

	/*
	 * After the clear, only what is touched now is accessed, including
	 * pages touched before (their TLB entries must have been flushed).
	 */
	pt_read_page(mem, 2);
	pt_read_page(mem, 63);
	pt_write_page(mem, 1);
	pt_write_page(mem, 10);
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	want = pt_pages(n, 1, 2, 10, 63, END);
	EXPECT_TRUE(pt_expect_bitmap("accessed after clear", r->accessed,
				     want, n));
	free(want);
	want = pt_pages(n, 1, 2, 3, 10, 40, 63, END);
	EXPECT_TRUE(pt_expect_bitmap("present", r->present, want, n));
	free(want);
	/* Dirty bits are never cleared. */
	want = pt_pages(n, 1, 3, 10, 63, END);
	EXPECT_TRUE(pt_expect_bitmap("dirty", r->dirty, want, n));
	free(want);

	/* A scan without clear leaves the bits alone. */
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	EXPECT_EQ(4, r->scan.nr_accessed);

	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

/* A sub-range scan reports bit 0 for its own first page. */
TEST(sub_range)
{
	const uint64_t n = 128;
	uint8_t *mem = pt_map_anon(n, false);
	struct pt_result *r = pt_result_alloc(16);
	uint64_t *want;
	int fd = pt_open_attached(mem, n * PT_PAGE);

	pt_write_page(mem, 99);
	pt_write_page(mem, 100);
	pt_write_page(mem, 112);
	ASSERT_EQ(0, pt_scan(fd, mem + 97 * PT_PAGE, 0, r));
	want = pt_pages(16, 2, 3, 15, END);
	EXPECT_TRUE(pt_expect_bitmap("present", r->present, want, 16));
	free(want);
	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

static bool range_is_thp(const void *addr)
{
	char line[256], path[64];
	unsigned long start, end, kb;
	bool in = false, thp = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", getpid());
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &start, &end) == 2)
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			thp = kb >= 2048;
	}
	fclose(f);
	return thp;
}

/* One PMD, one A/D pair: all 512 pages reported alike. */
TEST(thp)
{
	const uint64_t n = 1024;
	uint8_t *mem = pt_map_anon(n, true);
	struct pt_result *r = pt_result_alloc(n);
	uint64_t i;
	int fd = pt_open_attached(mem, n * PT_PAGE);

	pt_write_page(mem, 7);
	ASSERT_TRUE(range_is_thp(mem))
		TH_LOG("no huge page: is THP enabled in the test kernel?");

	ASSERT_EQ(0, pt_scan(fd, mem, PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	EXPECT_EQ(512, r->scan.nr_present);
	EXPECT_EQ(512, r->scan.nr_accessed);
	EXPECT_EQ(512, r->scan.nr_dirty);
	for (i = 0; i < 512; i++)
		ASSERT_TRUE(bitmap__test(r->present, i));

	/* Touching one base page makes the whole huge page accessed again. */
	pt_read_page(mem, 300);
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	EXPECT_EQ(512, r->scan.nr_accessed);
	EXPECT_TRUE(bitmap__test(r->accessed, 0));
	EXPECT_TRUE(bitmap__test(r->accessed, 511));
	EXPECT_FALSE(bitmap__test(r->accessed, 512));

	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

/*
 * A private file mapping: pages written since mapped hold anonymous copies;
 * pages only read stay the file's.
 */
TEST(private_file_written)
{
	const uint64_t n = 32;
	char path[] = "/tmp/pagetrack-scan-XXXXXX";
	struct pt_result *r = pt_result_alloc(n);
	char buf[PT_PAGE];
	uint64_t *want, i;
	uint8_t *mem;
	int fd, tfd;

	tfd = mkstemp(path);
	ASSERT_GE(tfd, 0);
	unlink(path);
	memset(buf, 0x11, sizeof(buf));
	for (i = 0; i < n; i++)
		ASSERT_EQ((ssize_t)sizeof(buf), write(tfd, buf, sizeof(buf)));
	mem = mmap(NULL, n * PT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   tfd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	fd = pt_open_attached(mem, n * PT_PAGE);

	pt_read_page(mem, 0);
	pt_read_page(mem, 9);
	pt_write_page(mem, 5);
	pt_write_page(mem, 30);

	ASSERT_EQ(0, pt_scan(fd, mem, PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	want = pt_pages(n, 5, 30, END);
	EXPECT_TRUE(pt_expect_bitmap("written", r->written, want, n));
	EXPECT_TRUE(pt_expect_bitmap("dirty", r->dirty, want, n));
	free(want);
	/* Fault-around may map neighbours; the touched pages must be there. */
	EXPECT_TRUE(bitmap__test(r->present, 0));
	EXPECT_TRUE(bitmap__test(r->present, 9));

	/* Once mapped, accessed is exact. */
	pt_read_page(mem, 9);
	pt_read_page(mem, 30);
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	want = pt_pages(n, 9, 30, END);
	EXPECT_TRUE(pt_expect_bitmap("accessed", r->accessed, want, n));
	free(want);

	close(fd);
	close(tfd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

/*
 * Holes and several VMAs in one range: gaps are not present, not errors,
 * and each VMA's pages are reported at their own offsets.
 */
TEST(holes_and_vmas)
{
	const uint64_t n = 48;
	struct pt_result *r = pt_result_alloc(n);
	uint8_t *mem;
	uint64_t *want;
	int fd;

	mem = mmap(NULL, n * PT_PAGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	madvise(mem, n * PT_PAGE, MADV_NOHUGEPAGE);
	/* [0,8) rw | [8,12) hole | [12,20) read-only | [20,40) rw | rest none */
	ASSERT_EQ(0, mprotect(mem, 8 * PT_PAGE, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, munmap(mem + 8 * PT_PAGE, 4 * PT_PAGE));
	ASSERT_EQ(0, mprotect(mem + 12 * PT_PAGE, 8 * PT_PAGE, PROT_READ));
	ASSERT_EQ(0, mprotect(mem + 20 * PT_PAGE, 20 * PT_PAGE,
			      PROT_READ | PROT_WRITE));
	fd = pt_open_attached(mem, n * PT_PAGE);

	pt_write_page(mem, 0);
	pt_write_page(mem, 7);
	pt_read_page(mem, 12);
	pt_read_page(mem, 19);
	pt_write_page(mem, 20);
	pt_write_page(mem, 39);

	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	want = pt_pages(n, 0, 7, 12, 19, 20, 39, END);
	EXPECT_TRUE(pt_expect_bitmap("present", r->present, want, n));
	free(want);
	want = pt_pages(n, 0, 7, 20, 39, END);
	EXPECT_TRUE(pt_expect_bitmap("dirty", r->dirty, want, n));
	free(want);

	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

/* A range where nothing is mapped at all scans as empty. */
TEST(unmapped_range)
{
	const uint64_t n = 16;
	uint8_t *mem = pt_map_anon(n, false);
	struct pt_result *r = pt_result_alloc(n);
	int fd;

	munmap(mem, n * PT_PAGE);
	fd = pt_open_attached(mem, n * PT_PAGE);
	ASSERT_EQ(0, pt_scan(fd, mem, PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	EXPECT_EQ(0, r->scan.nr_present);
	EXPECT_EQ(0, bitmap__weight(r->present, n));
	close(fd);
	pt_result_free(r);
}

/* Larger than one internal chunk (32768 pages): bits land at the right place. */
TEST(multi_chunk)
{
	const uint64_t n = 40000;
	uint8_t *mem = pt_map_anon(n, false);
	struct pt_result *r = pt_result_alloc(n);
	uint64_t *want;
	int fd = pt_open_attached(mem, n * PT_PAGE);

	pt_write_page(mem, 0);
	pt_write_page(mem, 32767);
	pt_write_page(mem, 32768);
	pt_write_page(mem, 39999);
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	want = pt_pages(n, 0, 32767, 32768, 39999, END);
	EXPECT_TRUE(pt_expect_bitmap("present", r->present, want, n));
	free(want);
	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

/*
 * A scan works in chunks of 32768 pages from its start, so a scan that
 * does not start on a 2 MiB boundary cuts a huge page in two at a chunk
 * boundary.  The first part's clearing consumes the huge entry's one
 * accessed bit: the second part must still report it.  (It did not: the
 * pages of a THP past a chunk boundary came back not accessed.)
 */
TEST(thp_across_chunks)
{
	const uint64_t n = 32768 + 2048;	/* 136 MiB */
	const uint64_t from = 1;		/* the scan starts one page in */
	uint8_t *mem = pt_map_anon(n, true);
	struct pt_result *r = pt_result_alloc(n - from);
	uint64_t i, missing = 0;
	int fd = pt_open_attached(mem, n * PT_PAGE);

	for (i = 0; i < n; i += 512)
		pt_write_page(mem, i);
	ASSERT_TRUE(range_is_thp(mem + (32768 - 512) * PT_PAGE))
		TH_LOG("no huge page at the chunk boundary: is THP enabled?");

	ASSERT_EQ(0, pt_scan(fd, mem + from * PT_PAGE,
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	EXPECT_EQ(n - from, r->scan.nr_present);
	for (i = 0; i < n - from; i++)
		missing += !bitmap__test(r->accessed, i);
	EXPECT_EQ(0, missing)
		TH_LOG("%llu of %llu pages not reported accessed",
		       (unsigned long long)missing,
		       (unsigned long long)(n - from));
	/* Cleared once, for both parts: nothing accessed any more. */
	ASSERT_EQ(0, pt_scan(fd, mem + from * PT_PAGE, 0, r));
	EXPECT_EQ(0, r->scan.nr_accessed);

	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

/* Counts alone, with no bitmap at all. */
TEST(counts_only)
{
	const uint64_t n = 8;
	uint8_t *mem = pt_map_anon(n, false);
	struct pagetrack_scan sc = {
		.size = sizeof(sc),
		.start = (uintptr_t)mem,
		.length = n * PT_PAGE,
	};
	int fd = pt_open_attached(mem, n * PT_PAGE);

	pt_write_page(mem, 2);
	pt_write_page(mem, 5);
	ASSERT_EQ(0, ioctl(fd, PAGETRACK_IOC_SCAN, &sc));
	EXPECT_EQ(2, sc.nr_present);
	EXPECT_EQ(2, sc.nr_dirty);
	close(fd);
	munmap(mem, n * PT_PAGE);
}

/*
 * Swapped-out pages are not present (their entries hold swap entries),
 * and are again once faulted back in.  Swap comes from zram.
 */
TEST(swapped_pages)
{
	const uint64_t n = 16;
	uint8_t *mem = pt_map_anon(n, false);
	struct pt_result *r = pt_result_alloc(n);
	uint64_t *want, i;
	int fd;

	ASSERT_EQ(0, system("modprobe zram num_devices=1 && "
			    "echo 64M > /sys/block/zram0/disksize && "
			    "mkswap /dev/zram0 >/dev/null && "
			    "swapon /dev/zram0"))
		TH_LOG("cannot set up zram swap");
	fd = pt_open_attached(mem, n * PT_PAGE);
	for (i = 0; i < n; i++)
		pt_write_page(mem, i);
	ASSERT_EQ(0, madvise(mem + 4 * PT_PAGE, 4 * PT_PAGE, MADV_PAGEOUT));

	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	want = pt_pages(n, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, END);
	EXPECT_TRUE(pt_expect_bitmap("present after pageout", r->present,
				     want, n));
	free(want);

	pt_read_page(mem, 5);
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	EXPECT_TRUE(bitmap__test(r->present, 5));
	EXPECT_FALSE(bitmap__test(r->present, 6));

	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
	EXPECT_EQ(0, system("swapoff /dev/zram0 && rmmod zram"));
}

TEST_HARNESS_MAIN
