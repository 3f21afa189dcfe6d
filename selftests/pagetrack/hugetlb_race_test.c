// SPDX-License-Identifier: GPL-2.0
/*
 * Scans of hugetlb memory whose PMD table is shared with another process,
 * while the other process unshares it (issue #10).
 *
 * Two processes that map the same 1 GiB-aligned 1 GiB of a MAP_SHARED
 * hugetlbfs file share one PMD table (mm/hugetlb.c: want_pmd_share(),
 * huge_pmd_share()): the second to fault finds the first's table and
 * points its PUD entry at it.  Unsharing clears a process's PUD entry
 * under the file's i_mmap_rwsem and the VMA's hugetlb lock, not under
 * its mmap_lock: a hole punched in the file unshares every process that
 * maps it, and the last user's munmap() frees the table.  A walker that
 * holds only the target's mmap_lock, as today's module does, can thus read
 * a PMD table that is being unshared and freed under it; the core's own
 * walkers take the hugetlb VMA lock.
 *
 * The scanned process (this one) and a child map the file; the child
 * keeps faulting pages in, punching holes, remapping, zapping and
 * write-protecting its mapping, while this process scans (clearing and
 * not) and faults its pages back in.  Every scan must succeed with a sane
 * count, and the kernel must log no bug.  Only the pages faulted in need
 * hugetlb memory: the pool grows by a few pages, not 512.
 *
 * HUGETLB_RACE_ITERS (default 10000) scans at most, for at most
 * HUGETLB_RACE_SECONDS (default 30) seconds.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "pt_util.h"
#include "mem_util.h"
#include "sys_util.h"
#include "test_util.h"

#define SPAN		(1UL << 30)	/* what one PMD table maps */
#define ITERS_DEFAULT	10000
#define SECONDS_DEFAULT	30

/* The huge pages either process faults in, spread over the table. */
static const unsigned int used[] = { 0, 1, 63, 64, 200, 300, 510, 511 };
#define NR_USED		(sizeof(used) / sizeof(used[0]))
/* A punched page may still be on its way out as its successor comes in. */
#define POOL_PAGES	(2 * NR_USED + 8)

enum child_op { OP_NONE, OP_PUNCH, OP_REMAP, OP_ZAP, OP_PROTECT, OP_PIPE };

/* Shared with the child. */
struct race {
	atomic_bool stop;
	atomic_ulong rounds;
	int failed_op;		/* enum child_op */
	int failed_errno;
};

FIXTURE(shared_pmd) {
	long pool;		/* hugetlb pool before the test, or -1 */
	int kmsg;
	int memfd;
	uint8_t *mem;		/* SPAN bytes of the file, SPAN aligned */
	struct race *race;
	pid_t child;
	int go;			/* write end: the child starts, or exits at EOF */
};

static void touch_used(uint8_t *mem)
{
	unsigned int i;

	for (i = 0; i < NR_USED; i++)
		*(volatile uint8_t *)(mem + used[i] * HUGE_PAGE_SIZE) = i;
}

static uint8_t *map_file(int memfd, void *at)
{
	return mmap(at, SPAN, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE | (at ? MAP_FIXED : 0),
		    memfd, 0);
}

/* Map the file on a SPAN boundary: reserve twice its size, keep the middle. */
static uint8_t *map_file_aligned(int memfd)
{
	uint8_t *p, *aligned;

	p = mmap(NULL, 2 * SPAN, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return p;
	aligned = (uint8_t *)(((uintptr_t)p + SPAN - 1) & ~(SPAN - 1));
	if (map_file(memfd, aligned) != aligned) {
		munmap(p, 2 * SPAN);
		return MAP_FAILED;
	}
	if (aligned > p)
		munmap(p, aligned - p);
	munmap(aligned + SPAN, p + SPAN - aligned);
	return aligned;
}

static int child_fail(struct race *race, enum child_op op)
{
	race->failed_op = op;
	race->failed_errno = errno;
	return 1;
}

/*
 * The other process: fault the pages in, sharing the table if ours is
 * there, and unshare it in each of the ways the kernel does.  A punched
 * hole unshares every process but the last in the file's i_mmap tree,
 * where the oldest mapping, ours, comes first: our PUD entry is cleared
 * under the scan, and the remap right after frees the table if the child
 * is its last user.
 */
static int child_churn(struct race *race, int memfd, uint8_t *mem)
{
	const int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	unsigned long round;
	off_t off;

	for (round = 0; !atomic_load(&race->stop); round++) {
		touch_used(mem);
		off = (off_t)used[round % NR_USED] * HUGE_PAGE_SIZE;
		if (fallocate(memfd, punch, off, HUGE_PAGE_SIZE))
			return child_fail(race, OP_PUNCH);
		/* Unmaps (unsharing, or freeing the table), maps anew. */
		if (map_file(memfd, mem) != mem)
			return child_fail(race, OP_REMAP);
		touch_used(mem);
		if (round % 2) {
			if (madvise(mem, SPAN, MADV_DONTNEED))
				return child_fail(race, OP_ZAP);
		} else {
			/* hugetlb_change_protection() unshares too. */
			if (mprotect(mem, SPAN, PROT_READ) ||
			    mprotect(mem, SPAN, PROT_READ | PROT_WRITE))
				return child_fail(race, OP_PROTECT);
		}
		atomic_store(&race->rounds, round + 1);
	}
	return 0;
}

FIXTURE_SETUP(shared_pmd)
{
	int go[2], ready[2];
	char c = 0;

	self->child = -1;
	self->pool = hugetlb__reserve(POOL_PAGES);
	self->kmsg = kmsg__open();
	self->memfd = memfd_create("pagetrack-race", MFD_HUGETLB |
				   MFD_HUGE_2MB | MFD_CLOEXEC);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, ftruncate(self->memfd, SPAN));
	self->mem = map_file_aligned(self->memfd);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->race = mmap(NULL, sizeof(*self->race), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->race);

	/* Our table comes first: the child's first fault shares it. */
	*(volatile uint8_t *)self->mem = 1;
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		close(go[1]);
		close(ready[0]);
		*(volatile uint8_t *)(self->mem + HUGE_PAGE_SIZE) = 1;
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(child_fail(self->race, OP_PIPE));
		_exit(child_churn(self->race, self->memfd, self->mem));
	}
	close(go[0]);
	close(ready[1]);
	self->go = go[1];
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	/*
	 * The child's page is in our page table though we never touched it:
	 * the table is shared.  Otherwise the race below cannot happen.
	 */
	ASSERT_TRUE(page__present(self->mem + HUGE_PAGE_SIZE))
		TH_LOG("no PMD sharing between the two mappings");
}

FIXTURE_TEARDOWN(shared_pmd)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	close(self->go);
	munmap(self->mem, SPAN);
	close(self->memfd);
	hugetlb__restore(self->pool);
	close(self->kmsg);
}

struct scanner {
	int fd;
	uint8_t *mem;
	long iters;
	long seconds;
	long scans;		/* done */
	int ret;		/* of the first failed scan */
	uint64_t bad_present;	/* the first insane count, or 0 */
	atomic_bool done;
};

static void *scanner_thread(void *arg)
{
	struct scanner *s = arg;
	double t0 = test__now_s();
	struct pagetrack_scan sc;
	long i;

	for (i = 0; i < s->iters; i++) {
		if (!(i % 64) && test__now_s() - t0 > s->seconds)
			break;
		/* Counts only: the race is in the walk. */
		sc = (struct pagetrack_scan) {
			.flags = i & 1 ? PAGETRACK_SCAN_CLEAR_ACCESSED : 0,
			.start = (uintptr_t)s->mem,
			.length = SPAN,
		};
		s->ret = pagetrack__scan(s->fd, &sc);
		if (s->ret)
			break;
		/* Whole huge pages, of those faulted in, or a garbled walk. */
		if (sc.nr_present % HUGE_PAGE_PAGES ||
		    sc.nr_present > NR_USED * HUGE_PAGE_PAGES) {
			s->bad_present = sc.nr_present;
			break;
		}
	}
	s->scans = i;
	atomic_store(&s->done, true);
	return NULL;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 0);
	return *end || n <= 0 ? def : n;
}

TEST_F_TIMEOUT(shared_pmd, scan_while_unsharing, 120)
{
	struct scanner s = {
		.mem = self->mem,
		.iters = env_long("HUGETLB_RACE_ITERS", ITERS_DEFAULT),
		.seconds = env_long("HUGETLB_RACE_SECONDS", SECONDS_DEFAULT),
	};
	unsigned long faults = 0;
	pthread_t thread;
	double t0 = test__now_s();
	int status;

	s.fd = pt_open_attached(self->mem, SPAN);
	ASSERT_EQ(0, pthread_create(&thread, NULL, scanner_thread, &s));
	ASSERT_EQ(1, write(self->go, "g", 1));
	/* Fault our pages back in: our table again, or the child's shared. */
	while (!atomic_load(&s.done)) {
		touch_used(self->mem);
		faults++;
		usleep(100);
	}
	pthread_join(thread, NULL);
	atomic_store(&self->race->stop, true);
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = -1;

	TH_LOG("%ld scans in %.1f s; the child ran %lu rounds, we %lu",
	       s.scans, test__now_s() - t0, atomic_load(&self->race->rounds),
	       faults);
	EXPECT_EQ(0, s.ret)
		TH_LOG("scan %ld failed: %s", s.scans, strerror(-s.ret));
	EXPECT_EQ(0, s.bad_present)
		TH_LOG("scan %ld: %llu pages present", s.scans,
		       (unsigned long long)s.bad_present);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x, op %d failed: %s", status,
		       self->race->failed_op,
		       strerror(self->race->failed_errno));
	EXPECT_LT(0, atomic_load(&self->race->rounds));
	EXPECT_EQ(0, kmsg__check(self->kmsg));
	close(s.fd);
}

TEST_HARNESS_MAIN
