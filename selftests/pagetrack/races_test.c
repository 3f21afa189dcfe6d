// SPDX-License-Identifier: GPL-2.0
/*
 * A target that unmaps or exits while it is scanned yields clean results
 * or clean errors, never an oops (the suite checks the kernel log after).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "pt_util.h"

#define RACE_PAGES	512
#define RACE_ROUNDS	300

struct churn {
	uint8_t *base;
	atomic_bool stop;
};

/* Map, fault in (sometimes as a THP) and unmap the region, repeatedly. */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	unsigned int round = 0;

	while (!atomic_load(&c->stop)) {
		uint8_t *p = mmap(c->base, RACE_PAGES * PT_PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				  -1, 0);
		uint64_t i;

		if (p == MAP_FAILED)
			break;
		madvise(p, RACE_PAGES * PT_PAGE,
			round++ & 1 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		for (i = 0; i < RACE_PAGES; i += 7)
			p[i * PT_PAGE] = 1;
		if (round & 2)
			madvise(p, RACE_PAGES * PT_PAGE, MADV_DONTNEED);
		munmap(p, RACE_PAGES * PT_PAGE);
	}
	return NULL;
}

TEST(scan_while_munmap)
{
	struct pt_result *r = pt_result_alloc(RACE_PAGES);
	struct churn c = { .base = pt_map_anon(RACE_PAGES, true) };
	pthread_t t;
	int fd, i;

	fd = pt_open_attached(c.base, RACE_PAGES * PT_PAGE);
	ASSERT_EQ(0, pthread_create(&t, NULL, churn_thread, &c));
	for (i = 0; i < RACE_ROUNDS; i++) {
		ASSERT_EQ(0, pt_scan(fd, c.base,
				     i & 1 ? PAGETRACK_SCAN_CLEAR_ACCESSED : 0,
				     r));
		ASSERT_LE(r->scan.nr_present, RACE_PAGES);
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	close(fd);
	pt_result_free(r);
}

/* Scans of a child that exits mid-loop: results, then ESRCH. */
TEST(scan_while_target_exits)
{
	const uint64_t n = 256;
	struct pt_result *r = pt_result_alloc(n);
	uint8_t *mem = pt_map_anon(n, false);
	int go[2], fd, ret, i, esrch = 0;
	pid_t child;
	char c = 0;

	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		uint64_t p;

		for (p = 0; p < n; p++)
			mem[p * PT_PAGE] = 1;
		if (write(go[1], &c, 1) != 1)
			_exit(1);
		usleep(20000);
		_exit(0);
	}
	ASSERT_EQ(1, read(go[0], &c, 1));
	fd = pt_open();
	ASSERT_EQ(0, pt_attach(fd, mem, n * PT_PAGE, PAGETRACK_ATTACH_PID,
			       child, 0));
	for (i = 0; i < 2000 && !esrch; i++) {
		ret = pt_scan(fd, mem, PAGETRACK_SCAN_CLEAR_ACCESSED, r);
		if (ret == -ESRCH) {
			esrch = 1;
			break;
		}
		ASSERT_EQ(0, ret);
		ASSERT_LE(r->scan.nr_present, n);
		if (i == 10)
			waitpid(child, NULL, WNOHANG);
		usleep(100);
	}
	waitpid(child, NULL, 0);
	/* Reaped: the session outlives its target and says so. */
	EXPECT_EQ(-ESRCH, pt_scan(fd, mem, 0, r));
	close(fd);
	pt_result_free(r);
}

/* Many sessions at once, on one range, are independent. */
TEST(independent_sessions)
{
	const uint64_t n = 8;
	uint8_t *mem = pt_map_anon(n, false);
	struct pt_result *r = pt_result_alloc(n);
	int a = pt_open_attached(mem, n * PT_PAGE);
	int b = pt_open_attached(mem, 4 * PT_PAGE);

	pt_write_page(mem, 1);
	ASSERT_EQ(0, pt_scan(a, mem, 0, r));
	EXPECT_EQ(1, r->scan.nr_present);
	r->npages = 4;
	ASSERT_EQ(0, pt_scan(b, mem, 0, r));
	EXPECT_EQ(1, r->scan.nr_present);
	r->npages = n;
	/* b's range is 4 pages: a full scan through it is refused. */
	EXPECT_EQ(-EINVAL, pt_scan(b, mem, 0, r));
	close(a);
	close(b);
	pt_result_free(r);
}

TEST_HARNESS_MAIN
