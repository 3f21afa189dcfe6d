// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded ioctl fuzzer for /dev/pagetrack.  Worker threads open, attach,
 * scan and close sessions with arguments that are random but plausible:
 * sizes around the known ones, reserved flag bits, ranges aligned,
 * unaligned, wrapping and huge, bitmaps valid, short, unmapped, read-only
 * and in the kernel, pids and pidfds of the caller, of a child, of an
 * exited child, VM fds real, closed and not KVM's.  Meanwhile a churn
 * thread munmaps, mremaps, mprotects and madvises the target range, a
 * forker forks children that touch it and exit or exec, and the VM is
 * closed and made again.
 *
 * Every call must return 0 or one of the errnos the module documents.
 * After PT_FUZZ_CALLS calls (default 10^4; make fuzz-kmod runs 10^5) the
 * kernel log must hold no oops, WARN, BUG, lockdep, RCU stall or hung
 * task report, and the module's and kvm's reference counts must be back
 * to their baselines.  The seed is printed; PT_FUZZ_SEED=N replays it
 * (each thread's sequence is the seed's, their interleaving is not).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "pt_util.h"
#include "sys_util.h"

#define REGION_PAGES	256	/* the target range, churned */
#define SPARE_PAGES	64	/* beside it, where mremap moves parts */
/*
 * Then one page never mapped: a scan whose bitmap is in the region or
 * the spare hole writes it front to back and stops there (EFAULT).
 */
#define RESERVED_PAGES	(REGION_PAGES + SPARE_PAGES + 1)
/*
 * Scans write up to a bit per page of ranges up to 2^64 bytes: the
 * bitmap buffer is 1 MiB (32 GiB of range) before a guard page, so
 * larger scans end in EFAULT, never in the test's own heap.
 */
#define BITMAP_BYTES	(1UL << 20)
#define WORKERS		3
#define FDS_PER_WORKER	6
#define KERNEL_ADDR	0xffff888000000000ULL

struct fuzz {
	uint8_t *region;	/* REGION_PAGES, inside a reservation */
	uint8_t *spare;		/* where mremap moves parts of it */
	uint64_t *bitmap;	/* BITMAP_BYTES, then a guard page */
	uint64_t *ro_bitmap;	/* read-only */
	uint64_t seed;
	long calls_max;
	atomic_long calls;
	atomic_bool stop;
	atomic_int child;	/* a live child's pid, or 0 */
	atomic_int dead_child;	/* an exited (maybe reaped) child's pid */
	atomic_int child_pidfd;	/* pidfd of the live child, or -1 */
	atomic_int vm_fd;	/* a KVM VM of this process, or -1 */
	int kvm_fd;		/* /dev/kvm, or -1 without KVM */
	int null_fd;
	/* Outcomes: successes and each errno, for the closing figures. */
	atomic_long ok, ok_attach, ok_scan;
	atomic_long errnos[160];
	atomic_long unexpected;
};

/* A worker's session: its fd and, once attached, its range. */
struct session {
	int fd;
	uint64_t start, len;
};

/* xorshift64*: each thread's own sequence, from the seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t pick(uint64_t *s, uint64_t n)
{
	return rnd(s) % n;
}

/* The errnos the module and the calls it makes can return. */
static bool errno_expected(int e)
{
	switch (e) {
	case EINVAL: case E2BIG: case EFAULT: case EBADF: case EBUSY:
	case ESRCH: case EPERM: case ENOTTY: case EINTR: case ENOMEM:
	case ENOTCONN:
		return true;
	}
	return false;
}

static int record(struct fuzz *f, int ret, const char *what)
{
	int e = errno;

	atomic_fetch_add(&f->calls, 1);
	if (!ret) {
		atomic_fetch_add(&f->ok, 1);
		return 0;
	}
	if (e >= 0 && e < 160)
		atomic_fetch_add(&f->errnos[e], 1);
	if (!errno_expected(e)) {
		atomic_fetch_add(&f->unexpected, 1);
		fprintf(stderr, "# %s: unexpected errno %d (%s)\n", what, e,
			strerror(e));
	}
	return ret;
}

static uint32_t rnd_size(uint64_t *s, uint32_t known, uint32_t ver0)
{
	switch (pick(s, 8)) {
	case 0:
		return 0;
	case 1:
		return ver0 - 1 - pick(s, 8);
	case 2:
		return ver0;
	case 3:
		return 4096 + pick(s, 2);
	case 4:
		return known + 8 * pick(s, 16);	/* zero tail, or not */
	case 5:
		return rnd(s);
	default:
		return known;
	}
}

static uint64_t rnd_addr(struct fuzz *f, uint64_t *s)
{
	switch (pick(s, 10)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)f->region + pick(s, REGION_PAGES * PT_PAGE);
	case 2:
		return -PT_PAGE * (1 + pick(s, 4));
	case 3:
		return 1ULL << (40 + pick(s, 24));
	case 4:
		return KERNEL_ADDR + pick(s, 1 << 20) * PT_PAGE;
	case 5:
		return (uintptr_t)f->spare + pick(s, SPARE_PAGES) * PT_PAGE;
	default:
		return (uintptr_t)f->region + pick(s, REGION_PAGES) * PT_PAGE;
	}
}

static uint64_t rnd_length(uint64_t *s)
{
	switch (pick(s, 8)) {
	case 0:
		return 0;
	case 1:
		return 1 + pick(s, 3 * PT_PAGE);
	case 2:
		return -PT_PAGE;
	case 3:
		return 1ULL << (30 + pick(s, 34));
	case 4:
		return rnd(s);
	default:
		return (1 + pick(s, REGION_PAGES)) * PT_PAGE;
	}
}

static uint32_t rnd_flags(uint64_t *s, uint32_t known)
{
	uint32_t fl = rnd(s) & known;

	if (!pick(s, 6))
		fl |= 1U << pick(s, 32);
	return fl;
}

/* A pid or pidfd for @flags: ours, a child's, a dead one's, or junk. */
static int rnd_pid(struct fuzz *f, uint64_t *s, uint32_t flags)
{
	if (flags & PAGETRACK_ATTACH_PIDFD) {
		switch (pick(s, 4)) {
		case 0:
			return atomic_load(&f->child_pidfd);
		case 1:
			return f->null_fd;
		case 2:
			return -1;
		default:
			return 1000 + pick(s, 100);	/* likely closed */
		}
	}
	switch (pick(s, 6)) {
	case 0:
		return 0;
	case 1:
		return getpid();
	case 2:
		return atomic_load(&f->dead_child);
	case 3:
		return (int)rnd(s);
	default:
		return atomic_load(&f->child);
	}
}

static int rnd_kvm_fd(struct fuzz *f, uint64_t *s)
{
	switch (pick(s, 5)) {
	case 0:
		return 0;
	case 1:
		return f->null_fd;
	case 2:
		return f->kvm_fd;	/* /dev/kvm itself: no VM */
	case 3:
		return 1000 + pick(s, 100);
	default:
		return atomic_load(&f->vm_fd);
	}
}

/* What a real caller asks: its own range, a child's, with the VM. */
static void plausible_attach(struct fuzz *f, uint64_t *s,
			     struct pagetrack_attach *a)
{
	uint64_t first = pick(s, REGION_PAGES);

	a->size = sizeof(*a);
	a->start = (uintptr_t)f->region + first * PT_PAGE;
	a->length = (1 + pick(s, REGION_PAGES - first)) * PT_PAGE;
	switch (pick(s, 5)) {
	case 0:
		a->flags = PAGETRACK_ATTACH_PID;
		a->pid = atomic_load(&f->child);
		break;
	case 1:
		a->flags = PAGETRACK_ATTACH_PIDFD;
		a->pid = atomic_load(&f->child_pidfd);
		break;
	case 2:
		a->flags = PAGETRACK_ATTACH_KVM;
		a->kvm_fd = atomic_load(&f->vm_fd);
		break;
	default:
		break;
	}
}

static void do_attach(struct fuzz *f, uint64_t *s, struct session *ss)
{
	uint64_t buf[4096 / 8 + 2];
	struct pagetrack_attach *a = (struct pagetrack_attach *)buf;
	void *arg = a;

	memset(buf, 0, sizeof(buf));
	if (pick(s, 2)) {
		plausible_attach(f, s, a);
	} else {
		a->size = rnd_size(s, sizeof(*a), PAGETRACK_ATTACH_SIZE_VER0);
		a->flags = rnd_flags(s, PAGETRACK_ATTACH_FLAGS);
		a->start = rnd_addr(f, s);
		a->length = rnd_length(s);
		if (a->flags & (PAGETRACK_ATTACH_PID |
				PAGETRACK_ATTACH_PIDFD) || !pick(s, 8))
			a->pid = rnd_pid(f, s, a->flags);
		if (a->flags & PAGETRACK_ATTACH_KVM || !pick(s, 8))
			a->kvm_fd = rnd_kvm_fd(f, s);
		/* A non-zero byte the kernel does not know. */
		if (!pick(s, 8))
			((uint8_t *)buf)[sizeof(*a) + pick(s, 64)] = 1;
		if (!pick(s, 16))
			arg = (void *)(uintptr_t)rnd_addr(f, s);
	}
	if (!record(f, ioctl(ss->fd, PAGETRACK_IOC_ATTACH, arg), "attach")) {
		atomic_fetch_add(&f->ok_attach, 1);
		ss->start = a->start;
		ss->len = a->length;
	}
}

/* A bitmap pointer: good, short, unmapped, read-only, kernel, misaligned. */
static uint64_t rnd_bitmap(struct fuzz *f, uint64_t *s)
{
	switch (pick(s, 8)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)f->ro_bitmap;
	case 2:
		return KERNEL_ADDR;
	case 3:
		return (uintptr_t)f->spare + pick(s, SPARE_PAGES) * PT_PAGE;
	case 4:
		return (uintptr_t)f->bitmap + 1 + pick(s, 7);
	case 5:
		return (uintptr_t)f->region + pick(s, REGION_PAGES) * PT_PAGE;
	default:
		return (uintptr_t)f->bitmap;
	}
}

static void do_scan(struct fuzz *f, uint64_t *s, struct session *ss)
{
	uint64_t buf[4096 / 8 + 2], pages = ss->len / PT_PAGE, first;
	struct pagetrack_scan *sc = (struct pagetrack_scan *)buf;
	void *arg = sc;

	memset(buf, 0, sizeof(buf));
	if (pages && pick(s, 2)) {
		/* Inside the attached range, good bitmaps mostly. */
		first = pick(s, pages);
		sc->size = sizeof(*sc);
		sc->flags = rnd(s) & PAGETRACK_SCAN_FLAGS;
		sc->start = ss->start + first * PT_PAGE;
		sc->length = (1 + pick(s, pages - first)) * PT_PAGE;
		sc->bitmap_bytes = BITMAP_BYTES;
		sc->present = pick(s, 8) ? (uintptr_t)f->bitmap :
			      rnd_bitmap(f, s);
		sc->accessed = pick(s, 8) ? (uintptr_t)f->bitmap : 0;
		sc->dirty = pick(s, 2) ? (uintptr_t)f->bitmap : 0;
		sc->written = pick(s, 2) ? (uintptr_t)f->bitmap : 0;
	} else {
		sc->size = rnd_size(s, sizeof(*sc), PAGETRACK_SCAN_SIZE_VER0);
		sc->flags = rnd_flags(s, PAGETRACK_SCAN_FLAGS);
		sc->start = rnd_addr(f, s);
		sc->length = rnd_length(s);
		switch (pick(s, 4)) {
		case 0:
			sc->bitmap_bytes = rnd(s) % 256;
			break;
		case 1:
			sc->bitmap_bytes = rnd(s);
			break;
		default:
			sc->bitmap_bytes = BITMAP_BYTES;
		}
		sc->present = rnd_bitmap(f, s);
		sc->accessed = rnd_bitmap(f, s);
		sc->dirty = rnd_bitmap(f, s);
		sc->written = rnd_bitmap(f, s);
		if (!pick(s, 8))
			((uint8_t *)buf)[sizeof(*sc) + pick(s, 64)] = 1;
		if (!pick(s, 16))
			arg = (void *)(uintptr_t)rnd_addr(f, s);
	}
	if (!record(f, ioctl(ss->fd, PAGETRACK_IOC_SCAN, arg), "scan"))
		atomic_fetch_add(&f->ok_scan, 1);
}

static void *worker(void *arg)
{
	struct fuzz *f = ((void **)arg)[0];
	uint64_t s = (uintptr_t)((void **)arg)[1];
	struct session ss[FDS_PER_WORKER];
	int i, ret;

	for (i = 0; i < FDS_PER_WORKER; i++)
		ss[i].fd = -1;
	while (!atomic_load(&f->stop)) {
		struct session *x = &ss[pick(&s, FDS_PER_WORKER)];

		if (atomic_load(&f->calls) >= f->calls_max)
			break;
		if (x->fd < 0) {
			x->fd = open(PT_DEVICE, O_RDWR | O_CLOEXEC);
			TEST_REQUIRE(x->fd >= 0, "open %s: %s", PT_DEVICE,
				     strerror(errno));
			x->start = x->len = 0;
			continue;
		}
		switch (pick(&s, 16)) {
		case 0:
			close(x->fd);
			x->fd = -1;
			break;
		case 1:
			/* A command the module does not know. */
			ret = ioctl(x->fd, _IOC(pick(&s, 4), pick(&s, 2) ?
				    PAGETRACK_IOC_MAGIC : pick(&s, 256),
				    pick(&s, 8), pick(&s, 1 << 14)),
				    f->bitmap);
			record(f, ret, "unknown ioctl");
			break;
		case 2: case 3: case 4:
			do_attach(f, &s, x);
			break;
		default:
			do_scan(f, &s, x);
		}
	}
	for (i = 0; i < FDS_PER_WORKER; i++)
		if (ss[i].fd >= 0)
			close(ss[i].fd);
	return NULL;
}

/*
 * Take [p, p + n pages) back into the reservation after an unmap or a
 * move left a hole: until then another mmap() could land there, which a
 * later MAP_FIXED would clobber.  False if one did.
 */
static bool reserve(uint8_t *p, uint64_t n)
{
	return mmap(p, n * PT_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0) == p;
}

/* The target range, changed under the scans; it stays ours throughout. */
static void *churn(void *arg)
{
	struct fuzz *f = ((void **)arg)[0];
	uint64_t s = (uintptr_t)((void **)arg)[1];
	const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };
	const int advice[] = { MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE };
	bool ours = true;

	while (!atomic_load(&f->stop) && ours) {
		uint64_t first = pick(&s, REGION_PAGES);
		uint64_t n = 1 + pick(&s, REGION_PAGES - first);
		uint8_t *p = f->region + first * PT_PAGE;
		uint64_t i;

		switch (pick(&s, 6)) {
		case 0:
			munmap(p, n * PT_PAGE);
			ours = reserve(p, n);
			break;
		case 1:
			n = n > SPARE_PAGES ? SPARE_PAGES : n;
			/* Away to the spare hole, and back or not. */
			if (mremap(p, n * PT_PAGE, n * PT_PAGE,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   f->spare) == MAP_FAILED)
				break;
			if (pick(&s, 2) &&
			    mremap(f->spare, n * PT_PAGE, n * PT_PAGE,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   p) != MAP_FAILED)
				ours = reserve(f->spare, n);
			else
				ours = reserve(p, n);
			break;
		case 2:
			mprotect(p, n * PT_PAGE, prots[pick(&s, 3)]);
			break;
		case 3:
			madvise(p, n * PT_PAGE, advice[pick(&s, 3)]);
			break;
		default:
			p = mmap(p, n * PT_PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0);
			if (p == MAP_FAILED)
				break;
			for (i = 0; i < n; i += 1 + pick(&s, 8))
				p[i * PT_PAGE] = 1;
		}
	}
	if (!ours)
		printf("# churn stopped: a mapping not ours took a hole in "
		       "the range\n");
	return NULL;
}

static int pidfd_open_(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/* Children that touch the range and exit or exec; and the VM, remade. */
static void *forker(void *arg)
{
	struct fuzz *f = ((void **)arg)[0];
	uint64_t s = (uintptr_t)((void **)arg)[1];

	while (!atomic_load(&f->stop)) {
		pid_t child = fork();
		int pidfd, vm;

		if (child < 0)
			break;
		if (!child) {
			int zero = open("/dev/zero", O_RDONLY);
			unsigned int i;

			/* By the kernel: a page not mapped is EFAULT. */
			for (i = 0; i < REGION_PAGES; i += 5)
				if (read(zero, f->region + i * PT_PAGE, 1) < 0)
					continue;	/* unmapped by now */
			usleep(pick(&s, 3000));
			if (pick(&s, 2))
				execl("/bin/true", "true", (char *)NULL);
			_exit(0);
		}
		pidfd = pidfd_open_(child);
		atomic_store(&f->child_pidfd, pidfd);
		atomic_store(&f->child, child);
		usleep(pick(&s, 5000));
		atomic_store(&f->child, 0);
		atomic_store(&f->dead_child, child);
		waitpid(child, NULL, 0);
		atomic_store(&f->child_pidfd, -1);
		if (pidfd >= 0)
			close(pidfd);
		if (f->kvm_fd >= 0 && !pick(&s, 4)) {
			vm = atomic_exchange(&f->vm_fd, -1);
			if (vm >= 0)
				close(vm);
			vm = ioctl(f->kvm_fd, KVM_CREATE_VM, 0);
			atomic_store(&f->vm_fd, vm);
		}
	}
	return NULL;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

/* Sessions are freed when their last file reference goes: poll. */
static bool refcount_settles(const char *module, int want)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (module__refcount(module) == want)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "# %s refcnt %d, baseline %d\n", module,
		module__refcount(module), want);
	return false;
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
	(void)self;
}

FIXTURE_TEARDOWN(fuzz)
{
	(void)self;
}

/* The harness's 30 s would cut a long run short: the suite's limits hold. */
TEST_F_TIMEOUT(fuzz, ioctl_fuzz, 3600)
{
	static struct fuzz f;
	void *args[WORKERS + 2][2];
	pthread_t threads[WORKERS + 2];
	int i, kmsg, pt_base, kvm_base = -1;
	const char *kvm_mod = NULL;
	struct timespec t0, t1;
	double secs;
	uint8_t *res;

	f.seed = env_long("PT_FUZZ_SEED", 0);
	if (!f.seed)
		f.seed = time(NULL) ^ getpid();
	f.calls_max = env_long("PT_FUZZ_CALLS", 10000);
	printf("# seed %llu (PT_FUZZ_SEED=%llu replays it), %ld calls\n",
	       (unsigned long long)f.seed, (unsigned long long)f.seed,
	       f.calls_max);
	/* The harness ends a test with _exit(): what is buffered is lost. */
	fflush(stdout);

	/* Before this test holds any reference of its own. */
	pt_base = pt_module_refcount();
	if (!access("/dev/kvm", R_OK | W_OK)) {
		kvm_mod = "kvm";
		kvm_base = module__refcount(kvm_mod);
	}

	/* The region and a spare hole beside it, reserved together. */
	res = mmap(NULL, RESERVED_PAGES * PT_PAGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	f.region = res;
	f.spare = res + REGION_PAGES * PT_PAGE;
	ASSERT_EQ(0, mprotect(f.region, REGION_PAGES * PT_PAGE,
			      PROT_READ | PROT_WRITE));
	f.bitmap = mmap(NULL, BITMAP_BYTES + PT_PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f.bitmap);
	ASSERT_EQ(0, mprotect((uint8_t *)f.bitmap + BITMAP_BYTES, PT_PAGE,
			      PROT_NONE));
	f.ro_bitmap = mmap(NULL, PT_PAGE, PROT_READ,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f.ro_bitmap);
	f.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	f.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	f.vm_fd = f.kvm_fd >= 0 ? ioctl(f.kvm_fd, KVM_CREATE_VM, 0) : -1;
	f.child_pidfd = -1;
	kmsg = kmsg__open();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < WORKERS + 2; i++) {
		void *(*fn)(void *) = i < WORKERS ? worker :
				      i == WORKERS ? churn : forker;

		args[i][0] = &f;
		args[i][1] = (void *)(uintptr_t)(f.seed * (i + 1) | 1);
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, fn, args[i]));
	}
	for (i = 0; i < WORKERS; i++)
		pthread_join(threads[i], NULL);
	atomic_store(&f.stop, true);
	pthread_join(threads[WORKERS], NULL);
	pthread_join(threads[WORKERS + 1], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("# %ld calls in %.1f s, %.0f calls/s: %ld succeeded (%ld "
	       "attaches, %ld scans)", atomic_load(&f.calls), secs,
	       atomic_load(&f.calls) / secs, atomic_load(&f.ok),
	       atomic_load(&f.ok_attach), atomic_load(&f.ok_scan));
	for (i = 0; i < 160; i++)
		if (atomic_load(&f.errnos[i]))
			printf(", %ld %s", atomic_load(&f.errnos[i]),
			       strerrorname_np(i) ? strerrorname_np(i) : "?");
	printf("\n");
	fflush(stdout);
	EXPECT_EQ(0, atomic_load(&f.unexpected));
	/* Some of each kind got through the checks to the real work. */
	EXPECT_LT(0, atomic_load(&f.ok_attach));
	EXPECT_LT(0, atomic_load(&f.ok_scan));

	if (f.vm_fd >= 0)
		close(f.vm_fd);
	if (f.kvm_fd >= 0)
		close(f.kvm_fd);
	close(f.null_fd);
	EXPECT_TRUE(refcount_settles("pagetrack", pt_base));
	if (kvm_mod)
		EXPECT_TRUE(refcount_settles(kvm_mod, kvm_base));
	EXPECT_EQ(0, kmsg__check(kmsg));
	close(kmsg);
	munmap(res, RESERVED_PAGES * PT_PAGE);
	munmap(f.ro_bitmap, PT_PAGE);
	munmap(f.bitmap, BITMAP_BYTES + PT_PAGE);
}

TEST_HARNESS_MAIN
