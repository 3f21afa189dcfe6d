// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem_util.h"
#include "sys_util.h"

#define HUGETLB_DIR	"/sys/kernel/mm/hugepages/hugepages-2048kB/"
#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"

const char *mem_backing__name(enum mem_backing backing)
{
	switch (backing) {
	case MEM_4K:
		return "4 KiB pages";
	case MEM_THP:
		return "THP";
	case MEM_HUGETLB:
		return "hugetlbfs 2 MiB";
	}
	return "?";
}

/* The word in brackets of a sysfs policy file, such as "[madvise]". */
static const char *sysfs__choice(const char *path, char *buf, int len)
{
	char line[128], *open, *close;
	FILE *f = fopen(path, "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return buf;
	if (fgets(line, sizeof(line), f)) {
		open = strchr(line, '[');
		close = open ? strchr(open, ']') : NULL;
		if (close) {
			*close = '\0';
			snprintf(buf, len, "%s", open + 1);
		}
	}
	fclose(f);
	return buf;
}

const char *thp__mode(char *buf, int len)
{
	return sysfs__choice(THP_DIR "enabled", buf, len);
}

void *mem__map(uint64_t len, enum mem_backing backing)
{
	const int prot = PROT_READ | PROT_WRITE;
	uint8_t *p, *aligned;
	char mode[32];

	switch (backing) {
	case MEM_4K:
		p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0);
		TEST_REQUIRE(p != MAP_FAILED, "mmap: %s", strerror(errno));
		TEST_REQUIRE(!madvise(p, len, MADV_NOHUGEPAGE),
			     "MADV_NOHUGEPAGE: %s", strerror(errno));
		return p;
	case MEM_THP:
		TEST_REQUIRE(len % HUGE_PAGE_SIZE == 0, "THP length %#" PRIx64,
			     len);
		TEST_REQUIRE(strcmp(thp__mode(mode, sizeof(mode)), "never"),
			     "transparent huge pages are disabled (%s)",
			     THP_DIR "enabled");
		/* Over-allocate so the region can start on a 2 MiB boundary. */
		p = mmap(NULL, len + HUGE_PAGE_SIZE, prot,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		TEST_REQUIRE(p != MAP_FAILED, "mmap: %s", strerror(errno));
		aligned = (uint8_t *)(((uintptr_t)p + HUGE_PAGE_SIZE - 1) &
				      ~(HUGE_PAGE_SIZE - 1));
		if (aligned > p)
			munmap(p, aligned - p);
		munmap(aligned + len, p + HUGE_PAGE_SIZE - aligned);
		TEST_REQUIRE(!madvise(aligned, len, MADV_HUGEPAGE),
			     "MADV_HUGEPAGE: %s", strerror(errno));
		return aligned;
	case MEM_HUGETLB:
		TEST_REQUIRE(len % HUGE_PAGE_SIZE == 0,
			     "hugetlb length %#" PRIx64, len);
		/* Private: the pages are reserved now, or the mmap fails. */
		p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
		TEST_REQUIRE(p != MAP_FAILED,
			     "mmap of %" PRIu64 " MiB of hugetlb: %s (pool too small?)",
			     len >> 20, strerror(errno));
		return p;
	}
	test__fail(__FILE__, __LINE__, "unknown backing %d", backing);
}

uint64_t mem__thp_bytes(const void *addr, uint64_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	unsigned long start = 0, end = 0, s, e, kb;
	uint64_t bytes = 0;
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");

	TEST_REQUIRE(f, "/proc/self/smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		/* A VMA's first line; "AnonHugePages:" would pass for 0xa. */
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			start = s;
			end = e;
			TEST_REQUIRE(end <= lo || start >= hi ||
				     (start >= lo && end <= hi),
				     "VMA %lx-%lx straddles %lx-%lx", start,
				     end, (unsigned long)lo, (unsigned long)hi);
			continue;
		}
		if (start >= lo && end <= hi && end > start &&
		    sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			bytes += (uint64_t)kb << 10;
	}
	fclose(f);
	return bytes;
}

void mem__require_huge(const void *addr, uint64_t len,
		       enum mem_backing backing)
{
	const uint8_t *p = addr;
	char mode[32], defrag[32];
	uint64_t off, bytes;

	if (backing == MEM_THP) {
		bytes = mem__thp_bytes(addr, len);
		TEST_REQUIRE(bytes == len,
			     "only %" PRIu64 " of %" PRIu64 " KiB are THP-mapped (THP %s, defrag %s): no 2 MiB pages free?",
			     bytes >> 10, len >> 10,
			     thp__mode(mode, sizeof(mode)),
			     sysfs__choice(THP_DIR "defrag", defrag,
					   sizeof(defrag)));
		return;
	}
	TEST_REQUIRE(backing == MEM_HUGETLB, "%s is not huge",
		     mem_backing__name(backing));
	for (off = 0; off < len; off += HUGE_PAGE_SIZE)
		TEST_REQUIRE(page__kflags(p + off) & (1ULL << KPF_HUGE),
			     "page at %p is not a hugetlb page", p + off);
}

static uint64_t pagemap__entry(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t entry = 0;
	off_t off = (uintptr_t)addr / MEM_PAGE_SIZE * sizeof(entry);

	TEST_REQUIRE(fd >= 0, "/proc/self/pagemap: %s", strerror(errno));
	TEST_REQUIRE(pread(fd, &entry, sizeof(entry), off) == sizeof(entry),
		     "pagemap read: %s", strerror(errno));
	close(fd);
	return entry;
}

bool page__present(const void *addr)
{
	return pagemap__entry(addr) >> 63;
}

uint64_t page__pfn(const void *addr)
{
	uint64_t entry = pagemap__entry(addr);
	uint64_t pfn = entry & ((1ULL << 55) - 1);

	TEST_REQUIRE(entry >> 63, "no page present at %p", addr);
	TEST_REQUIRE(pfn, "pagemap hides page frames: not CAP_SYS_ADMIN?");
	return pfn;
}

uint64_t page__kflags(const void *addr)
{
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	uint64_t flags = 0;

	TEST_REQUIRE(fd >= 0, "/proc/kpageflags: %s", strerror(errno));
	TEST_REQUIRE(pread(fd, &flags, sizeof(flags),
			   page__pfn(addr) * sizeof(flags)) == sizeof(flags),
		     "kpageflags read: %s", strerror(errno));
	close(fd);
	return flags;
}

static long hugetlb__read(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), HUGETLB_DIR "%s", name);
	return file__read_long(path);
}

static int hugetlb__write_pool(long pages)
{
	FILE *f = fopen(HUGETLB_DIR "nr_hugepages", "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", pages) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

long hugetlb__reserve(long npages)
{
	long pool = hugetlb__read("nr_hugepages");
	long avail = hugetlb__read("free_hugepages") -
		     hugetlb__read("resv_hugepages");
	int ret;

	TEST_REQUIRE(pool >= 0, "no 2 MiB hugetlb pool (%s)", HUGETLB_DIR);
	if (avail >= npages)
		return pool;
	ret = hugetlb__write_pool(pool + npages - avail);
	TEST_REQUIRE(!ret, "growing the hugetlb pool: %s", strerror(-ret));
	avail = hugetlb__read("free_hugepages") -
		hugetlb__read("resv_hugepages");
	if (avail < npages) {
		hugetlb__write_pool(pool);
		test__fail(__FILE__, __LINE__,
			   "only %ld of %ld 2 MiB hugetlb pages could be allocated",
			   avail, npages);
	}
	return pool;
}

void hugetlb__restore(long pool)
{
	if (pool >= 0)
		hugetlb__write_pool(pool);
}

/*
 * Tests run in children that _exit() on a failed TEST_REQUIRE without
 * their teardown; the binary's main process puts the pool back.
 */
static long hugetlb_pool_at_start = -1;

static void __attribute__((constructor)) hugetlb__save_pool(void)
{
	hugetlb_pool_at_start = hugetlb__read("nr_hugepages");
}

static void __attribute__((destructor)) hugetlb__restore_pool(void)
{
	if (hugetlb_pool_at_start >= 0 &&
	    hugetlb__read("nr_hugepages") != hugetlb_pool_at_start)
		hugetlb__write_pool(hugetlb_pool_at_start);
}
