// SPDX-License-Identifier: GPL-2.0
/*
 * file__readahead() puts a whole range in the page cache, where one
 * POSIX_FADV_WILLNEED of the same range reads only its first readahead
 * window: the premise of the helper, checked on the running kernel, and
 * the reason the restore's prefetch and uffd-handler's reads of a layer
 * file once waited on the device window by window.
 *
 * The file is a null_blk device made for the test (its own page cache,
 * no file system in between) whose requests complete after 1 ms, so
 * nothing is read by the time the advice returns.  What is resident is
 * counted with mincore() on a mapping of the device, once the reads that
 * were queued have finished.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "readahead.h"
#include "test_util.h"

#define NULLB_CFS	"/sys/kernel/config/nullb"
#define DEV_MIB		64
#define DEV_BYTES	((uint64_t)DEV_MIB << 20)

FIXTURE(ra) {
	char cfs[128];
	int fd;
	uint8_t *map;
	unsigned char *vec;
	long page;
};

static void write_attr(const char *dir, const char *attr, const char *val)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	fd = open(path, O_WRONLY);
	TEST_REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_REQUIRE(write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		     "%s = %s: %s", path, val, strerror(errno));
	close(fd);
}

FIXTURE_SETUP(ra)
{
	char dev[160];
	int i;

	self->fd = -1;
	TEST_REQUIRE(!system("modprobe null_blk nr_devices=0"),
		     "modprobe null_blk");
	if (access(NULLB_CFS, F_OK))
		TEST_REQUIRE(!system("mount -t configfs none /sys/kernel/config"),
			     "mount configfs");
	snprintf(self->cfs, sizeof(self->cfs), "%s/ptra-%d", NULLB_CFS,
		 getpid());
	TEST_REQUIRE(!mkdir(self->cfs, 0755), "mkdir %s: %s", self->cfs,
		     strerror(errno));
	write_attr(self->cfs, "size", "64");
	write_attr(self->cfs, "memory_backed", "1");
	write_attr(self->cfs, "blocksize", "4096");
	write_attr(self->cfs, "irqmode", "2");
	write_attr(self->cfs, "completion_nsec", "1000000");
	write_attr(self->cfs, "power", "1");
	/* The disk is named after its configfs directory. */
	snprintf(dev, sizeof(dev), "/dev/ptra-%d", getpid());
	for (i = 0; i < 500 && access(dev, F_OK); i++)
		usleep(10000);
	self->fd = open(dev, O_RDONLY);
	TEST_REQUIRE(self->fd >= 0, "open %s: %s", dev, strerror(errno));
	self->map = mmap(NULL, DEV_BYTES, PROT_READ, MAP_SHARED, self->fd, 0);
	TEST_REQUIRE(self->map != MAP_FAILED, "mmap %s: %s", dev,
		     strerror(errno));
	self->page = sysconf(_SC_PAGESIZE);
	self->vec = malloc(DEV_BYTES / self->page);
	TEST_REQUIRE(self->vec, "malloc");
	/* A device just made has nothing cached, but say so for certain. */
	posix_fadvise(self->fd, 0, 0, POSIX_FADV_DONTNEED);
}

FIXTURE_TEARDOWN(ra)
{
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, DEV_BYTES);
	if (self->fd >= 0)
		close(self->fd);
	free(self->vec);
	if (self->cfs[0]) {
		write_attr(self->cfs, "power", "0");
		rmdir(self->cfs);
	}
}

/* Pages of the device in the page cache and up to date. */
static uint64_t resident(FIXTURE_DATA(ra) *self)
{
	uint64_t i, n = 0, pages = DEV_BYTES / self->page;

	TEST_REQUIRE(!mincore(self->map, DEV_BYTES, self->vec), "mincore: %s",
		     strerror(errno));
	for (i = 0; i < pages; i++)
		n += self->vec[i] & 1;
	return n;
}

/*
 * Wait until the count of resident pages has not changed for 300 ms (the
 * device serves 64 requests at a time, 1 ms each) or 20 s have passed.
 */
static uint64_t settled(FIXTURE_DATA(ra) *self)
{
	uint64_t n = resident(self), last = n;
	int still = 0, i;

	for (i = 0; i < 2000 && still < 30; i++) {
		usleep(10000);
		n = resident(self);
		still = n == last ? still + 1 : 0;
		last = n;
	}
	return n;
}

TEST_F(ra, whole_range)
{
	uint64_t pages = DEV_BYTES / self->page, n;

	file__readahead(self->fd, 0, DEV_BYTES);
	n = settled(self);
	TH_LOG("file__readahead of %u MiB: %llu of %llu pages resident",
	       DEV_MIB, (unsigned long long)n, (unsigned long long)pages);
	ASSERT_EQ(pages, n);
}

TEST_F(ra, part_of_a_range)
{
	uint64_t page = self->page, off = 3 * DEV_BYTES / 8 + 5 * page;
	uint64_t len = DEV_BYTES / 4 + 7, n, i;

	file__readahead(self->fd, off, len);
	n = settled(self);
	TH_LOG("file__readahead of %llu bytes at %llu: %llu pages resident",
	       (unsigned long long)len, (unsigned long long)off,
	       (unsigned long long)n);
	/* Every page the range touches, and none it does not. */
	for (i = 0; i < DEV_BYTES / page; i++)
		ASSERT_EQ(i >= off / page && i <= (off + len - 1) / page,
			  self->vec[i] & 1) TH_LOG("page %llu",
						   (unsigned long long)i);
	ASSERT_EQ((off + len - 1) / page - off / page + 1, n);
}

/* The kernel's clamp, which the helper exists for. */
TEST_F(ra, one_fadvise_reads_one_window)
{
	uint64_t pages = DEV_BYTES / self->page, n;

	ASSERT_EQ(0, posix_fadvise(self->fd, 0, DEV_BYTES,
				   POSIX_FADV_WILLNEED));
	n = settled(self);
	TH_LOG("one POSIX_FADV_WILLNEED of %u MiB: %llu of %llu pages "
	       "resident", DEV_MIB, (unsigned long long)n,
	       (unsigned long long)pages);
	ASSERT_GT(n, 0);
	ASSERT_LT(n, pages / 8);
}

TEST_HARNESS_MAIN
