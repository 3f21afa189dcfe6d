// SPDX-License-Identifier: GPL-2.0
/*
 * Bad arguments are refused with a clean errno and change nothing: no
 * oops, no partial attach, no accessed bit cleared by a failed scan.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "pt_util.h"

#define N	16

static int attach_raw(int fd, struct pagetrack_attach *a)
{
	return ioctl(fd, PAGETRACK_IOC_ATTACH, a) ? -errno : 0;
}

static int scan_raw(int fd, struct pagetrack_scan *sc)
{
	return ioctl(fd, PAGETRACK_IOC_SCAN, sc) ? -errno : 0;
}

FIXTURE(dev) {
	int fd;
	uint8_t *mem;
};

FIXTURE_SETUP(dev)
{
	self->fd = pt_open();
	self->mem = pt_map_anon(N, false);
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
	munmap(self->mem, N * PT_PAGE);
}

TEST_F(dev, attach_bad_ranges)
{
	uint8_t *m = self->mem;

	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m + 1, PT_PAGE, 0, 0, 0));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE + 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, 0, 0, 0, 0));
	/* Wrapping, and beyond the user address space. */
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, (void *)-PT_PAGE,
				     2 * PT_PAGE, 0, 0, 0));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, -PT_PAGE, 0, 0, 0));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, (void *)(1UL << 62),
				     PT_PAGE, 0, 0, 0));
	/* Nothing stuck: a good attach still works. */
	EXPECT_EQ(0, pt_attach(self->fd, m, N * PT_PAGE, 0, 0, 0));
	EXPECT_EQ(-EBUSY, pt_attach(self->fd, m, N * PT_PAGE, 0, 0, 0));
}

TEST_F(dev, attach_bad_flags_and_fds)
{
	uint8_t *m = self->mem;
	int null_fd = open("/dev/null", O_RDWR);

	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE, 1U << 31, 0, 0));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE,
				     PAGETRACK_ATTACH_PID |
				     PAGETRACK_ATTACH_PIDFD, getpid(), 0));
	/* pid and kvm_fd without their flags must be zero. */
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE, 0, getpid(), 0));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE, 0, 0, 3));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE,
				     PAGETRACK_ATTACH_PID, -1, 0));
	EXPECT_EQ(-ESRCH, pt_attach(self->fd, m, PT_PAGE,
				    PAGETRACK_ATTACH_PID, 0x3ffffff, 0));
	EXPECT_EQ(-EBADF, pt_attach(self->fd, m, PT_PAGE,
				    PAGETRACK_ATTACH_KVM, 0, 9999));
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE,
				     PAGETRACK_ATTACH_KVM, 0, null_fd));
	EXPECT_EQ(-EBADF, pt_attach(self->fd, m, PT_PAGE,
				    PAGETRACK_ATTACH_PIDFD, 9999, 0));
	/* A file that is not a pidfd is not taken for one. */
	EXPECT_EQ(-EINVAL, pt_attach(self->fd, m, PT_PAGE,
				     PAGETRACK_ATTACH_PIDFD, null_fd, 0));
	close(null_fd);
	EXPECT_EQ(0, pt_attach(self->fd, m, PT_PAGE, 0, 0, 0));
}

TEST_F(dev, attach_pidfd_self)
{
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);

	ASSERT_GE(pidfd, 0);
	EXPECT_EQ(0, pt_attach(self->fd, self->mem, PT_PAGE,
			       PAGETRACK_ATTACH_PIDFD, pidfd, 0));
	close(pidfd);
}

TEST_F(dev, struct_sizes)
{
	struct {
		struct pagetrack_attach a;
		uint64_t tail;
	} big = {
		.a = {
			.size = sizeof(big),
			.start = (uintptr_t)self->mem,
			.length = PT_PAGE,
		},
		.tail = 1,
	};

	EXPECT_EQ(-EFAULT, attach_raw(self->fd, NULL));
	/* Larger than known with a non-zero tail: E2BIG, as clone3() says. */
	EXPECT_EQ(-E2BIG, attach_raw(self->fd, &big.a));
	/* Larger than a page: refused whatever the tail. */
	big.a.size = 4097;
	EXPECT_EQ(-EINVAL, attach_raw(self->fd, &big.a));
	/* Smaller than the first version: refused. */
	big.a.size = PAGETRACK_ATTACH_SIZE_VER0 - 4;
	EXPECT_EQ(-EINVAL, attach_raw(self->fd, &big.a));
	big.a.size = 0;
	EXPECT_EQ(-EINVAL, attach_raw(self->fd, &big.a));
	/* Larger with a zero tail: a newer caller, accepted. */
	big.a.size = sizeof(big);
	big.tail = 0;
	EXPECT_EQ(0, attach_raw(self->fd, &big.a));
}

TEST_F(dev, scan_struct_sizes)
{
	uint64_t bm = 0;
	struct {
		struct pagetrack_scan sc;
		uint64_t tail;
	} big = {
		.sc = {
			.size = sizeof(big),
			.start = (uintptr_t)self->mem,
			.length = PT_PAGE,
			.bitmap_bytes = sizeof(bm),
			.present = (uintptr_t)&bm,
		},
		.tail = 1,
	};

	ASSERT_EQ(0, pt_attach(self->fd, self->mem, PT_PAGE, 0, 0, 0));
	EXPECT_EQ(-E2BIG, scan_raw(self->fd, &big.sc));
	/* A zero tail is accepted, and left as it was. */
	big.tail = 0;
	pt_write_page(self->mem, 0);
	EXPECT_EQ(0, scan_raw(self->fd, &big.sc));
	EXPECT_EQ(1, big.sc.nr_present);
	EXPECT_EQ(1, bm);
	EXPECT_EQ(0, big.tail);
}

TEST_F(dev, unknown_ioctl)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO(PAGETRACK_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO('X', 0x01), 0));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, scan_before_attach)
{
	struct pt_result *r = pt_result_alloc(N);

	EXPECT_EQ(-ENOTCONN, pt_scan(self->fd, self->mem, 0, r));
	pt_result_free(r);
}

TEST_F(dev, scan_bad_ranges_and_flags)
{
	struct pt_result *r = pt_result_alloc(N);
	uint8_t *m = self->mem;

	ASSERT_EQ(0, pt_attach(self->fd, m + PT_PAGE, (N - 2) * PT_PAGE,
			       0, 0, 0));
	/* Starts before, ends after, or lies outside the attached range. */
	EXPECT_EQ(-EINVAL, pt_scan(self->fd, m, 0, r));
	r->npages = N - 1;
	EXPECT_EQ(-EINVAL, pt_scan(self->fd, m + PT_PAGE, 0, r));
	EXPECT_EQ(-EINVAL, pt_scan(self->fd, m + N * PT_PAGE, 0, r));
	r->npages = 0;
	EXPECT_EQ(-EINVAL, pt_scan(self->fd, m + PT_PAGE, 0, r));
	r->npages = N - 2;
	EXPECT_EQ(-EINVAL, pt_scan(self->fd, m + PT_PAGE + 1, 0, r));
	EXPECT_EQ(-EINVAL, pt_scan(self->fd, m + PT_PAGE, 1U << 20, r));
	/* Guest-only bits need a KVM VM. */
	EXPECT_EQ(-EINVAL, pt_scan(self->fd, m + PT_PAGE,
				   PAGETRACK_SCAN_GUEST_ONLY, r));
	EXPECT_EQ(0, pt_scan(self->fd, m + PT_PAGE, 0, r));
	pt_result_free(r);
}

/* A scan that fails on its bitmaps clears no accessed bit. */
TEST_F(dev, scan_bad_bitmaps_change_nothing)
{
	struct pt_result *r = pt_result_alloc(N);
	struct pagetrack_scan sc;
	uint8_t *m = self->mem;
	void *ro;

	ASSERT_EQ(0, pt_attach(self->fd, m, N * PT_PAGE, 0, 0, 0));
	pt_write_page(m, 4);

	ro = mmap(NULL, PT_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	sc = (struct pagetrack_scan) {
		.size = sizeof(sc),
		.flags = PAGETRACK_SCAN_CLEAR_ACCESSED,
		.start = (uintptr_t)m,
		.length = N * PT_PAGE,
		.bitmap_bytes = 8,
		.accessed = 8,	/* unmapped */
	};
	EXPECT_EQ(-EFAULT, scan_raw(self->fd, &sc));
	sc.accessed = (uintptr_t)ro;	/* read-only */
	EXPECT_EQ(-EFAULT, scan_raw(self->fd, &sc));
	sc.accessed = (uintptr_t)r->accessed;
	sc.bitmap_bytes = 0;		/* short */
	EXPECT_EQ(-EINVAL, scan_raw(self->fd, &sc));
	sc.bitmap_bytes = 8;
	sc.size = PAGETRACK_SCAN_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, scan_raw(self->fd, &sc));
	EXPECT_EQ(-EFAULT, scan_raw(self->fd, NULL));

	/* Page 4's accessed bit survived every failed attempt. */
	ASSERT_EQ(0, pt_scan(self->fd, m, 0, r));
	EXPECT_TRUE(bitmap__test(r->accessed, 4));
	munmap(ro, PT_PAGE);
	pt_result_free(r);
}

TEST_HARNESS_MAIN
