// SPDX-License-Identifier: GPL-2.0
/*
 * tracker_bench - what a pagetrack scan costs, side by side with the
 * interfaces it competes with, on the same memory in one run: mincore(),
 * a /proc/self/pagemap read, KVM_GET_DIRTY_LOG and, where the kernel has
 * them (6.7+, and DAMON built in), PAGEMAP_SCAN and DAMON.  Run inside the
 * test VM by 'make bench-tracker'.  Absolute times under nested emulation
 * mean little; the ratios, how many calls into KVM a scan makes, and how
 * exactly each tells which pages the guest read, are the result.
 *
 * One VM, one vCPU, two memory slots, each with its own pair of sessions:
 *
 *   4k       slot 0 at GPA 0: MADV_NOHUGEPAGE memory in a dirty-logged
 *            slot, so host and KVM both map it with 4 KiB entries;
 *   thp      slot 1 at the next 2 MiB boundary: a 2 MiB-aligned
 *            MADV_HUGEPAGE mapping, not dirty-logged, so that KVM maps
 *            it with 2 MiB entries (a dirty-logged slot forces 4 KiB);
 *   thp+log  the same slot once KVM_MEM_LOG_DIRTY_PAGES is turned on, as
 *            the VMM's working-set recorder runs it: huge host pages
 *            under 4 KiB KVM entries.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bitmap.h"
#include "damon.h"
#include "kvm_util.h"
#include "pagetrack.h"
#include "parse.h"
#include "pmscan.h"

#define PAGE		4096UL
#define HUGE		(2UL << 20)
#define GIB		(1ULL << 30)
#define GUEST_DATA	(1UL << 20)	/* 4k: data pages from here */
#define GPA_LIMIT	(3ULL << 30)	/* a flat 32-bit guest: below 4G */
#define DONE_PORT	0x10
#define THP_SLOT	1

extern const uint8_t tracker_guest_start[], tracker_guest_end[];

/* Rows the summary sets side by side: pagetrack's, PAGEMAP_SCAN's. */
enum {
	VS_HOST, VS_HOST_P, VS_PM_PRESENT, VS_HOST_CLEAR, VS_PM_WP,
	VS_HOST_10, VS_HOST_P_10, VS_PM_10, VS_ROWS
};

struct region {
	const char *name;	/* the backing, as printed */
	uint8_t *hva;
	uint64_t gpa;
	uint64_t bytes;
	uint64_t npages;
	uint64_t data;		/* offset of the first page touched */
	uint64_t unit;		/* presence is kept or dropped by units */
	uint64_t keep;		/* one unit in @keep is present */
	uint32_t slot;
	bool logged;		/* KVM_MEM_LOG_DIRTY_PAGES on the slot */
	int host;		/* session without the VM */
	int guest;		/* session with the VM */
	double pagemap;		/* ms/GiB of a full pagemap read */
	double vs[VS_ROWS];	/* ms/GiB of the rows compared at the end */
};

/* What a row measured, for the summary. */
struct result {
	double ms;		/* per GiB */
	double calls;		/* KVM calls per GiB of the range */
	double accessed;	/* % of present pages reported accessed */
};

struct bench {
	struct kvm_vm *vm;
	struct region *r;	/* the region measured */
	int reps;
	uint64_t *maps[4];
	unsigned char *vec;	/* mincore() */
	uint64_t *pagemap_buf;
	int pagemap_fd;
	int stats_fd;		/* KVM's binary stats of the VM, or -1 */
	int64_t stat_off[2];	/* pages_4k, pages_2m in it, or -1 */
	bool scanned;		/* the last run was a pagetrack scan */
	struct pagetrack_scan last;
	const char *kernel;	/* uname -r */
	struct pmscan pm;	/* PAGEMAP_SCAN, if pm.vec */
	int64_t pm_pages;	/* pages the last PAGEMAP_SCAN found */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

typedef void (*bench_fn)(struct bench *b, unsigned long arg);

/*
 * Median of b->reps runs, in ms per GiB of the region.  @prep, if any,
 * runs untimed before each run: a clearing scan must find bits to clear
 * every time, not only the first.
 */
static double measure(struct bench *b, bench_fn fn, unsigned long arg,
		      bench_fn prep)
{
	double t[16], start;
	int i;

	for (i = 0; i < b->reps; i++) {
		if (prep)
			prep(b, arg);
		start = now_ms();
		fn(b, arg);
		t[i] = now_ms() - start;
	}
	qsort(t, b->reps, sizeof(t[0]), cmp_double);
	return t[b->reps / 2] * (double)GIB / b->r->bytes;
}

/* Only the present bitmap asked for, as PAGEMAP_SCAN PAGE_IS_PRESENT. */
#define SCAN_PRESENT_MAP	(1U << 31)

static void do_scan(struct bench *b, int fd, uint32_t flags)
{
	struct region *r = b->r;
	bool all = !(flags & SCAN_PRESENT_MAP);
	struct pagetrack_scan sc = {
		.flags = flags & ~SCAN_PRESENT_MAP,
		.start = (uintptr_t)r->hva,
		.length = r->bytes,
		.bitmap_bytes = bitmap__bytes(r->npages),
		.present = (uintptr_t)b->maps[0],
		.accessed = all ? (uintptr_t)b->maps[1] : 0,
		.dirty = all ? (uintptr_t)b->maps[2] : 0,
		.written = all ? (uintptr_t)b->maps[3] : 0,
	};
	int ret = pagetrack__scan(fd, &sc);

	TEST_REQUIRE(!ret, "PAGETRACK_IOC_SCAN: %s", strerror(-ret));
	b->last = sc;
	b->scanned = true;
}

/* A scan without the VM: host page-table bits only. */
static void bench_host_scan(struct bench *b, unsigned long flags)
{
	do_scan(b, b->r->host, PAGETRACK_SCAN_HOST_ONLY | flags);
}

/* A scan with the VM attached: the harvest of KVM's accessed bits. */
static void bench_kvm_scan(struct bench *b, unsigned long flags)
{
	do_scan(b, b->r->guest, flags);
}

static void bench_mincore(struct bench *b, unsigned long unused)
{
	(void)unused;
	TEST_REQUIRE(!mincore(b->r->hva, b->r->bytes, b->vec), "mincore: %s",
		     strerror(errno));
}

static void bench_pagemap(struct bench *b, unsigned long unused)
{
	size_t len = b->r->npages * sizeof(uint64_t);

	(void)unused;
	TEST_REQUIRE(pread(b->pagemap_fd, b->pagemap_buf, len,
			   (uintptr_t)b->r->hva / PAGE * 8) == (ssize_t)len,
		     "pagemap read: %s", strerror(errno));
}

static void bench_dirty_log(struct bench *b, unsigned long unused)
{
	struct kvm_dirty_log log = {
		.slot = b->r->slot,
		.dirty_bitmap = b->maps[0],
	};

	(void)unused;
	vm_ioctl(b->vm, KVM_GET_DIRTY_LOG, &log);
}

enum { PM_PRESENT, PM_WRITTEN, PM_WRITTEN_WP };

/* PAGEMAP_SCAN of the region, for PAGE_IS_PRESENT or PAGE_IS_WRITTEN. */
static void bench_pmscan(struct bench *b, unsigned long mode)
{
	struct region *r = b->r;
	uint64_t flags = 0;
	int64_t n;

	if (mode == PM_WRITTEN_WP)
		flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	n = pmscan__scan(&b->pm, (uintptr_t)r->hva, r->bytes,
			 mode == PM_PRESENT ? PAGE_IS_PRESENT : PAGE_IS_WRITTEN,
			 flags);
	TEST_REQUIRE(n >= 0, "PAGEMAP_SCAN: %s", strerror(-n));
	b->pm_pages = n;
}

/* Untimed: every page of the region written again, for PM_WRITTEN_WP. */
static void pm_unprotect(struct bench *b, unsigned long unused)
{
	int err = pmscan__wp_range(&b->pm, (uintptr_t)b->r->hva, b->r->bytes,
				   false);

	(void)unused;
	TEST_REQUIRE(!err, "UFFDIO_WRITEPROTECT: %s", strerror(-err));
}

static bool unit_present(struct region *r, uint64_t off)
{
	return (off - r->data) / r->unit % r->keep == 0;
}

/* The host writes every present data page. */
static void host_touch(struct bench *b, unsigned long unused)
{
	struct region *r = b->r;
	uint64_t off;

	(void)unused;
	for (off = r->data; off < r->bytes; off += PAGE)
		if (unit_present(r, off))
			r->hva[off] = 1;
}

/* Untimed: clear the host accessed bits, so a harvest must ask KVM. */
static void host_clear(struct bench *b, unsigned long unused)
{
	(void)unused;
	do_scan(b, b->r->host, PAGETRACK_SCAN_HOST_ONLY |
		PAGETRACK_SCAN_CLEAR_ACCESSED);
}

/* One guest run: read a dword every @stride bytes of [@from, @to). */
static void guest_run(struct bench *b, uint64_t from, uint64_t to,
		      uint64_t stride)
{
	vcpu__enter_flat32(b->vm, 0x1000);
	vcpu__set_regs(b->vm, from, to, stride);
	vcpu__expect_io_out(b->vm, DONE_PORT, 1, 1);
}

/* The guest reads every present data page. */
static void guest_touch(struct bench *b, unsigned long unused)
{
	struct region *r = b->r;
	uint64_t gpa, end = r->gpa + r->bytes;

	(void)unused;
	if (r->keep == 1 || r->unit == PAGE) {
		guest_run(b, r->gpa + r->data, end,
			  r->keep == 1 ? PAGE : r->unit * r->keep);
		return;
	}
	for (gpa = r->gpa + r->data; gpa < end; gpa += r->unit * r->keep)
		guest_run(b, gpa, gpa + r->unit, PAGE);
}

/* Keep one unit in @keep: the others lose their host pages, and KVM its. */
static void drop_units(struct region *r, uint64_t keep)
{
	uint64_t off, len;

	r->keep = keep;
	for (off = r->data; off < r->bytes; off += r->unit * keep) {
		len = r->unit * (keep - 1);
		if (off + r->unit >= r->bytes)
			break;
		if (len > r->bytes - off - r->unit)
			len = r->bytes - off - r->unit;
		TEST_REQUIRE(!madvise(r->hva + off + r->unit, len,
				      MADV_DONTNEED), "madvise: %s",
			     strerror(errno));
	}
}

static void set_slot(struct bench *b, struct region *r)
{
	struct kvm_userspace_memory_region mr = {
		.slot = r->slot,
		.flags = r->logged ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = r->gpa,
		.memory_size = r->bytes,
		.userspace_addr = (uintptr_t)r->hva,
	};

	vm_ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &mr);
}

/* KVM's counts of its 4 KiB and 2 MiB leaf entries, from its stats fd. */
static void kvm_stats_init(struct bench *b)
{
	static const char *const names[] = { "pages_4k", "pages_2m" };
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	char *descs = NULL;
	size_t dsize;
	uint32_t i, j;

	b->stat_off[0] = b->stat_off[1] = -1;
	b->stats_fd = ioctl(b->vm->vm_fd, KVM_GET_STATS_FD, NULL);
	if (b->stats_fd < 0 ||
	    pread(b->stats_fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return;
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	if (!descs || pread(b->stats_fd, descs, h.num_desc * dsize,
			    h.desc_offset) != (ssize_t)(h.num_desc * dsize))
		goto out;
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		for (j = 0; j < 2; j++)
			if (!strncmp(d->name, names[j], h.name_size))
				b->stat_off[j] = h.data_offset + d->offset;
	}
out:
	free(descs);
}

static long long kvm_stat(struct bench *b, int i)
{
	uint64_t v;

	if (b->stat_off[i] < 0 ||
	    pread(b->stats_fd, &v, sizeof(v), b->stat_off[i]) !=
	    (ssize_t)sizeof(v))
		return -1;
	return v;
}

/* A section's first line: what is measured, and how KVM maps it now. */
static void section(struct bench *b, const char *what)
{
	long long n4k = kvm_stat(b, 0), n2m = kvm_stat(b, 1);

	printf("\n-- %s: %s; ", b->r->name, what);
	if (n4k < 0 || n2m < 0)
		printf("KVM's mapping sizes unknown (no KVM_GET_STATS_FD)\n");
	else
		printf("KVM maps %lld x 4 KiB + %lld x 2 MiB (whole VM)\n",
		       n4k, n2m);
}

/*
 * One row of the table; the first row of a region, its pagemap read,
 * sets the base of its ratios.
 */
static struct result row(struct bench *b, const char *what, bench_fn fn,
			 unsigned long arg, bench_fn prep)
{
	struct region *r = b->r;
	struct result res = { 0, -1, -1 };
	char calls[24] = "-", ns[24] = "-", acc[24] = "-";
	double ms;

	b->scanned = false;
	ms = measure(b, fn, arg, prep);
	res.ms = ms;
	if (!r->pagemap)
		r->pagemap = ms;
	if (b->scanned) {
		res.calls = (double)b->last.nr_kvm_queries * GIB / r->bytes;
		snprintf(calls, sizeof(calls), "%.0f", res.calls);
		if (b->last.nr_kvm_queries)
			snprintf(ns, sizeof(ns), "%.0f", ms * r->bytes / GIB *
				 1e6 / b->last.nr_kvm_queries);
		if (b->last.nr_present) {
			res.accessed = 100.0 * b->last.nr_accessed /
				       b->last.nr_present;
			snprintf(acc, sizeof(acc), "%.1f%%", res.accessed);
		}
	}
	printf("%-7s %-28s %9.2f %9.2fx %13s %8s %8s\n", r->name, what, ms,
	       ms / r->pagemap, calls, ns, acc);
	return res;
}

/* A row this kernel cannot measure. */
static void na_row(struct bench *b, const char *what, const char *lacks)
{
	printf("%-7s %-28s n/a (kernel %s has no %s)\n", b->r->name, what,
	       b->kernel, lacks);
}

/*
 * A PAGEMAP_SCAN row; its ms/GiB.  PAGE_IS_PRESENT must find exactly the
 * @present pages; PAGE_IS_WRITTEN, with nothing protected, at least those
 * (also the none entries of page tables that exist: not protected, so
 * "written").
 */
static double pm_row(struct bench *b, const char *what, unsigned long mode,
		     bench_fn prep, uint64_t present)
{
	double ms = row(b, what, bench_pmscan, mode, prep).ms;

	TEST_REQUIRE(mode == PM_PRESENT ? b->pm_pages == (int64_t)present :
		     b->pm_pages >= (int64_t)present &&
		     b->pm_pages <= (int64_t)b->r->npages,
		     "%s found %lld pages, %llu present", what,
		     (long long)b->pm_pages, (unsigned long long)present);
	return ms;
}

/*
 * PAGEMAP_SCAN beside the host-PTE scan.  First a pagetrack scan that
 * asks for the present bitmap only, as PAGE_IS_PRESENT is all that
 * PAGEMAP_SCAN's first row asks for.  Then PAGE_IS_PRESENT and, with
 * @written, PAGE_IS_WRITTEN of a range registered for userfaultfd write
 * protection in asynchronous mode: the report alone, and the report that
 * protects again what it reports (PM_SCAN_WP_MATCHING), as a clearing
 * scan would.  Each run of the latter is preceded by an untimed
 * UFFDIO_WRITEPROTECT that unprotects the range, so that every present
 * page is found written each time.  The registration goes again
 * afterwards; the protection has zapped KVM's mapping of the range, which
 * the guest then faults in again.
 */
static void pmscan_rows(struct bench *b, bool written, const char *suffix)
{
	struct region *r = b->r;
	char host[40], what[3][40];
	uint64_t present;
	int err;

	snprintf(host, sizeof(host), "host-PTE %spresent map%s",
		 written ? "scan, " : "", suffix);
	r->vs[written ? VS_HOST_P : VS_HOST_P_10] =
		row(b, host, bench_host_scan, SCAN_PRESENT_MAP, NULL).ms;
	present = b->last.nr_present;

	snprintf(what[0], sizeof(what[0]), "PAGEMAP_SCAN present%s", suffix);
	snprintf(what[1], sizeof(what[1]), "PAGEMAP_SCAN written%s", suffix);
	snprintf(what[2], sizeof(what[2]), "PAGEMAP_SCAN written + WP%s",
		 suffix);
	if (!b->pm.vec) {
		na_row(b, what[0], "PAGEMAP_SCAN");
		if (written) {
			na_row(b, what[1], "PAGEMAP_SCAN");
			na_row(b, what[2], "PAGEMAP_SCAN");
		}
		return;
	}
	r->vs[written ? VS_PM_PRESENT : VS_PM_10] =
		pm_row(b, what[0], PM_PRESENT, NULL, present);
	if (!written)
		return;
	err = pmscan__wp_register(&b->pm, (uintptr_t)r->hva, r->bytes);
	TEST_REQUIRE(!err, "userfaultfd WP-async: %s", strerror(-err));
	/* Nothing is protected yet: every present page was written. */
	pm_row(b, what[1], PM_WRITTEN, NULL, present);
	r->vs[VS_PM_WP] = pm_row(b, what[2], PM_WRITTEN_WP, pm_unprotect,
				 present);
	err = pmscan__wp_unregister(&b->pm, (uintptr_t)r->hva, r->bytes);
	TEST_REQUIRE(!err, "UFFDIO_UNREGISTER: %s", strerror(-err));
	guest_touch(b, 0);
}

/*
 * Every data page present, and touched by the guest just before.  Fills
 * in the non-clearing and the clearing harvest.  @host_rows: the host
 * side of the region has not been measured yet.
 */
static void full_rows(struct bench *b, bool host_rows, struct result *harvest,
		      struct result *clear)
{
	if (host_rows) {
		row(b, "/proc/self/pagemap read", bench_pagemap, 0, NULL);
		row(b, "mincore()", bench_mincore, 0, NULL);
	}
	if (b->r->logged)
		row(b, "KVM_GET_DIRTY_LOG", bench_dirty_log, 0, NULL);
	if (host_rows) {
		b->r->vs[VS_HOST] = row(b, "host-PTE scan", bench_host_scan,
					0, NULL).ms;
		b->r->vs[VS_HOST_CLEAR] = row(b, "host-PTE scan + clear",
					      bench_host_scan,
					      PAGETRACK_SCAN_CLEAR_ACCESSED,
					      host_touch).ms;
		pmscan_rows(b, true, "");
	}
	/* Host bits clear, as the guest leaves them: KVM is asked. */
	*harvest = row(b, "KVM harvest, host A clear", bench_kvm_scan, 0,
		       host_clear);
	row(b, "KVM harvest, guest only", bench_kvm_scan,
	    PAGETRACK_SCAN_GUEST_ONLY, NULL);
	/* Host bits set: a non-clearing scan need not ask KVM. */
	if (host_rows)
		row(b, "KVM harvest, host A set", bench_kvm_scan, 0,
		    host_touch);
	*clear = row(b, "KVM harvest + clear", bench_kvm_scan,
		     PAGETRACK_SCAN_CLEAR_ACCESSED, guest_touch);
}

/* One unit in ten present; the ratios are still to the full pagemap read. */
static void sparse_rows(struct bench *b)
{
	row(b, "KVM harvest + clear, 10%", bench_kvm_scan,
	    PAGETRACK_SCAN_CLEAR_ACCESSED, guest_touch);
	b->r->vs[VS_HOST_10] = row(b, "host-PTE scan, 10%", bench_host_scan,
				   0, NULL).ms;
	row(b, "/proc/self/pagemap read, 10%", bench_pagemap, 0, NULL);
	row(b, "mincore(), 10%", bench_mincore, 0, NULL);
	pmscan_rows(b, false, ", 10%");
}

/*
 * What the guest touched, as DAMON and pagetrack tell it.  A pattern is a
 * known set of data pages of one backing, the truth; every page of the
 * backing stays present, and the guest reads the set in passes of a few
 * KVM_RUNs each.  DAMON watches while a thread of its own has the guest
 * pass over and over; a pagetrack harvest follows one pass.
 */
struct gpa_run {
	uint64_t from, to, stride;	/* offsets into the region */
};

struct pattern {
	const char *name;
	struct region *r;
	struct gpa_run *runs;
	int nruns;
	uint64_t *truth;	/* the pages read: a bitmap of r's pages */
	uint64_t ntruth;
};

/* Counted over the region's data pages only. */
struct score {
	uint64_t hit;		/* reported, and in the truth */
	uint64_t reported;
	uint64_t truth;
};

#define DAMON_SETTINGS	2	/* DAMON's default intervals, a fine one */
#define DAMON_SNAPS	4	/* snapshots, over the window's second half */

struct access_opts {
	struct damon_attrs attrs[DAMON_SETTINGS];
	double window[DAMON_SETTINGS];	/* seconds; 0 skips */
	bool damon;			/* the kernel has DAMON's sysfs */
};

static void pattern_add(struct pattern *p, uint64_t from, uint64_t to,
			uint64_t stride)
{
	struct gpa_run *run;
	uint64_t off;

	p->runs = realloc(p->runs, (p->nruns + 1) * sizeof(*p->runs));
	TEST_REQUIRE(p->runs, "out of memory");
	run = &p->runs[p->nruns++];
	*run = (struct gpa_run){ from, to, stride };
	for (off = from; off < to; off += stride) {
		if (!bitmap__test(p->truth, off / PAGE))
			p->ntruth++;
		bitmap__set(p->truth, off / PAGE);
	}
}

static void pattern_init(struct pattern *p, const char *name, struct region *r)
{
	*p = (struct pattern){ .name = name, .r = r };
	p->truth = bitmap__alloc(r->npages);
}

/*
 * Two patterns per backing, each a tenth of its data: one contiguous run,
 * three tenths in, where DAMON's regions can fit the boundaries; and a
 * scattered one, every tenth page (4k) or every tenth 2 MiB extent read
 * whole (thp), where they cannot on 4k.  The thp patterns cover whole
 * extents, so the truth is the same at 4 KiB and at KVM's 2 MiB.
 */
static void patterns_init(struct pattern p[2], struct region *r)
{
	uint64_t data = r->bytes - r->data, unit = r->unit, n = data / unit;
	uint64_t first = r->data + n * 3 / 10 * unit, off;

	pattern_init(&p[0], "hot 10%", r);
	pattern_add(&p[0], first, first + (n / 10 ?: 1) * unit, PAGE);
	pattern_init(&p[1], "scattered 10%", r);
	if (unit == PAGE) {
		pattern_add(&p[1], r->data, r->bytes, 10 * PAGE);
		return;
	}
	for (off = r->data; off + unit <= r->bytes; off += 10 * unit)
		pattern_add(&p[1], off, off + unit, PAGE);
}

static void guest_pass(struct bench *b, const struct pattern *p)
{
	int i;

	for (i = 0; i < p->nruns; i++)
		guest_run(b, p->r->gpa + p->runs[i].from,
			  p->r->gpa + p->runs[i].to, p->runs[i].stride);
}

static struct score score(const struct pattern *p, const uint64_t *set)
{
	struct region *r = p->r;
	struct score s = { 0 };
	uint64_t page;
	bool in, truth;

	for (page = r->data / PAGE; page < r->npages; page++) {
		in = bitmap__test(set, page);
		truth = bitmap__test(p->truth, page);
		s.reported += in;
		s.truth += truth;
		s.hit += in && truth;
	}
	return s;
}

/* The guest passing over a pattern again and again, from a thread. */
struct toucher {
	struct bench *b;
	const struct pattern *p;
	pthread_t thread;
	bool stop;
	uint64_t passes;
	double start, ms;
};

static void *toucher_fn(void *arg)
{
	struct toucher *t = arg;

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		guest_pass(t->b, t->p);
		t->passes++;
	}
	return NULL;
}

static void toucher_start(struct toucher *t, struct bench *b,
			  const struct pattern *p)
{
	*t = (struct toucher){ .b = b, .p = p, .start = now_ms() };
	TEST_REQUIRE(!pthread_create(&t->thread, NULL, toucher_fn, t),
		     "pthread_create");
}

static void toucher_stop(struct toucher *t)
{
	__atomic_store_n(&t->stop, true, __ATOMIC_RELAXED);
	pthread_join(t->thread, NULL);
	t->ms = now_ms() - t->start;
}

static void sleep_until(double ms)
{
	double left = ms - now_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = left / 1e3;
	ts.tv_nsec = (left - ts.tv_sec * 1e3) * 1e6;
	nanosleep(&ts, NULL);
}

/*
 * The pages of the data range that a snapshot's regions with
 * nr_accesses > 0 cover, ORed into @set.  Returns the snapshot's regions
 * in the data range.
 */
static int snap_pages(const struct damon_snap *s, struct region *r,
		      uint64_t *set)
{
	uint64_t lo = (uintptr_t)r->hva + r->data;
	uint64_t hi = (uintptr_t)r->hva + r->bytes, start, end, a;
	int i, n = 0;

	for (i = 0; i < s->nr; i++) {
		start = s->regions[i].start > lo ? s->regions[i].start : lo;
		end = s->regions[i].end < hi ? s->regions[i].end : hi;
		if (start >= end)
			continue;
		n++;
		if (!s->regions[i].nr_accesses)
			continue;
		for (a = start & ~(PAGE - 1); a < end; a += PAGE)
			bitmap__set(set, (a - (uintptr_t)r->hva) / PAGE);
	}
	return n;
}

/*
 * Columns: window (s), how often the guest re-read its set (ms per pass),
 * DAMON's regions in the data range, the snapshots that came back empty
 * and were asked for again (damon__snapshot()), precision and recall of the last
 * snapshot and of the window, then the tracker's CPU: the kdamond's
 * over the window (/proc/PID/stat, schedstat), per aggregation interval
 * (one snapshot's worth) and as a share of one CPU; for pagetrack, one
 * harvest's.
 */
#define ACCESS_ROW	"%-7s %-13s %-17s %5s %7s %7s %5s %7s %7s %7s %7s %8s %8s %8s %6s\n"

static void access_header(void)
{
	printf(ACCESS_ROW, "backing", "pattern", "tracker", "win s",
	       "reread", "regions", "empty", "prec", "recall", "w prec",
	       "w rec", "stat ms", "sched ms", "ms/snap", "cpu");
	printf(ACCESS_ROW, "", "", "", "", "ms/pass", "", "snaps", "last",
	       "last", "window", "window", "", "", "", "");
}

struct cells {
	char c[12][24];
};

static char *cell(struct cells *c, int i, const char *fmt, double v)
{
	snprintf(c->c[i], sizeof(c->c[i]), fmt, v);
	return c->c[i];
}

static char *cell_pct(struct cells *c, int i, uint64_t num, uint64_t den)
{
	if (!den)
		return strcpy(c->c[i], "-");
	return cell(c, i, "%.1f%%", 100.0 * num / den);
}

/* "DAMON 5/100 ms": sampling and aggregation intervals; @buf of 48. */
static const char *damon_name(char *buf, const struct damon_attrs *a)
{
	snprintf(buf, 48, "DAMON %g/%g ms", a->sample_us / 1e3,
		 a->aggr_us / 1e3);
	return buf;
}

/*
 * One DAMON window: vaddr monitoring of this process over the pattern's
 * data range, while the guest passes over the pattern; snapshots through
 * the DAMOS stat scheme's tried regions.  "last" is the last snapshot,
 * "window" the union of the snapshots of the window's second half, when
 * DAMON's regions have had time to adapt.
 */
static void damon_row(struct bench *b, const struct pattern *p,
		      const struct damon_attrs *a, double window)
{
	struct region *r = p->r;
	struct damon_snap snap = { 0 };
	uint64_t *last = bitmap__alloc(r->npages);
	uint64_t *uni = bitmap__alloc(r->npages);
	uint64_t stat[2], sched[2];
	struct score sl, su;
	struct toucher t;
	struct cells c;
	char what[48];
	double t0, t1, cpu;
	int kpid, i, nreg = 0, empty = 0, err;

	damon_name(what, a);
	toucher_start(&t, b, p);
	kpid = damon__start(getpid(), (uintptr_t)r->hva + r->data,
			    (uintptr_t)r->hva + r->bytes, a);
	err = kpid < 0 ? kpid : 0;
	t0 = t1 = now_ms();
	err = err ?: thread__cpu(kpid, &stat[0], &sched[0]);
	for (i = 1; !err && i <= DAMON_SNAPS; i++) {
		sleep_until(t0 + window * 1e3 * (DAMON_SNAPS + i) /
			    (2 * DAMON_SNAPS));
		err = damon__snapshot(&snap);
		if (err)
			break;
		empty += snap.tries - 1;
		memset(last, 0, bitmap__bytes(r->npages));
		nreg = snap_pages(&snap, r, last);
		bitmap__or(uni, uni, last, r->npages);
	}
	if (!err) {
		err = thread__cpu(kpid, &stat[1], &sched[1]);
		t1 = now_ms();
	}
	if (kpid >= 0)
		damon__stop();
	toucher_stop(&t);
	if (err) {
		printf("%-7s %-13s %-17s failed: %s\n", r->name, p->name, what,
		       strerror(-err));
		goto out;
	}
	sl = score(p, last);
	su = score(p, uni);
	cpu = (sched[1] - sched[0]) / 1e6;
	printf(ACCESS_ROW, r->name, p->name, what,
	       cell(&c, 0, "%.1f", (t1 - t0) / 1e3),
	       cell(&c, 1, "%.1f", t.ms / t.passes),
	       cell(&c, 2, "%.0f", nreg), cell(&c, 11, "%.0f", empty),
	       cell_pct(&c, 3, sl.hit, sl.reported),
	       cell_pct(&c, 4, sl.hit, sl.truth),
	       cell_pct(&c, 5, su.hit, su.reported),
	       cell_pct(&c, 6, su.hit, su.truth),
	       cell(&c, 7, "%.0f", (stat[1] - stat[0]) / 1e6),
	       cell(&c, 8, "%.0f", cpu),
	       cell(&c, 9, "%.2f", cpu * (a->aggr_us / 1e3) / (t1 - t0)),
	       cell(&c, 10, "%.1f%%", 100 * cpu / (t1 - t0)));
out:
	free(snap.regions);
	free(last);
	free(uni);
}

/*
 * pagetrack's harvest of the same pattern: a GUEST_ONLY clearing scan
 * after one pass of the guest, b->reps times.  Its precision and recall
 * are the worst of the runs; its cost the median scan's duration_ns.
 */
static void harvest_row(struct bench *b, const struct pattern *p)
{
	struct region *r = p->r;
	struct score s, wp = { 0 }, wr = { 0 };
	double t[16];
	struct cells c;
	int i;

	b->r = r;
	/* Whatever the guest or DAMON left behind goes first. */
	do_scan(b, r->guest, PAGETRACK_SCAN_GUEST_ONLY |
		PAGETRACK_SCAN_CLEAR_ACCESSED);
	for (i = 0; i < b->reps; i++) {
		guest_pass(b, p);
		do_scan(b, r->guest, PAGETRACK_SCAN_GUEST_ONLY |
			PAGETRACK_SCAN_CLEAR_ACCESSED);
		t[i] = b->last.duration_ns / 1e6;
		s = score(p, b->maps[1]);
		/* hit/reported below wp's, cross-multiplied */
		if (!i || s.hit * wp.reported < wp.hit * s.reported)
			wp = s;
		if (!i || s.hit < wr.hit)
			wr = s;
	}
	qsort(t, b->reps, sizeof(t[0]), cmp_double);
	printf(ACCESS_ROW, r->name, p->name, "pagetrack harvest", "-", "-",
	       "-", "-", cell_pct(&c, 3, wp.hit, wp.reported),
	       cell_pct(&c, 4, wr.hit, wr.truth), "-", "-", "-", "-",
	       cell(&c, 9, "%.2f", t[b->reps / 2]), "-");
}

static void access_rows(struct bench *b, struct region *r,
			const struct access_opts *o)
{
	struct pattern p[2];
	char what[48];
	int i, j;

	patterns_init(p, r);
	for (i = 0; i < 2; i++) {
		printf("%s %s: %llu of %llu data pages, %d KVM_RUN%s a pass\n",
		       r->name, p[i].name, (unsigned long long)p[i].ntruth,
		       (unsigned long long)((r->bytes - r->data) / PAGE),
		       p[i].nruns, p[i].nruns > 1 ? "s" : "");
		for (j = 0; j < DAMON_SETTINGS; j++) {
			if (!o->window[j])
				continue;
			if (!o->damon)
				printf("%-7s %-13s %-17s n/a (kernel %s has "
				       "no DAMON sysfs)\n", r->name,
				       p[i].name, damon_name(what, &o->attrs[j]),
				       b->kernel);
			else
				damon_row(b, &p[i], &o->attrs[j],
					  o->window[j]);
		}
		harvest_row(b, &p[i]);
		free(p[i].runs);
		free(p[i].truth);
	}
}

static void __attribute__((noreturn)) thp_unavailable(const char *why)
{
	printf("thp: UNAVAILABLE: %s (-t 0 measures 4 KiB pages only)\n",
	       why);
	exit(1);
}

static void thp_require(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char buf[128] = "";

	if (!f)
		thp_unavailable("no /sys/kernel/mm/transparent_hugepage");
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (strstr(buf, "[never]"))
		thp_unavailable("transparent_hugepage/enabled is [never]");
}

/* Bytes of [addr, addr + len) that PMD-mapped THPs back (smaps). */
static uint64_t thp_bytes(const uint8_t *addr, uint64_t len)
{
	unsigned long start, end, kb;
	uint64_t total = 0;
	char line[4096];
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	TEST_REQUIRE(f, "/proc/self/smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start < (uintptr_t)addr + len &&
			     end > (uintptr_t)addr;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			total += (uint64_t)kb << 10;
	}
	fclose(f);
	return total < len ? total : len;
}

/* A 2 MiB-aligned anonymous mapping that asks for THPs. */
static uint8_t *thp_map(uint64_t bytes)
{
	uint8_t *p, *aligned;

	p = mmap(NULL, bytes + HUGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_REQUIRE(p != MAP_FAILED, "mmap: %s", strerror(errno));
	aligned = (uint8_t *)(((uintptr_t)p + HUGE - 1) & ~(HUGE - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	munmap(aligned + bytes, p + HUGE - aligned);
	if (madvise(aligned, bytes, MADV_HUGEPAGE))
		thp_unavailable("madvise(MADV_HUGEPAGE) fails");
	return aligned;
}

/* Prints the huge fraction; fails if there is no huge page at all. */
static void thp_report(struct region *r, const char *when)
{
	uint64_t huge = thp_bytes(r->hva, r->bytes) / HUGE;
	uint64_t all = r->bytes / HUGE;

	printf("thp:     %llu of %llu 2 MiB extents PMD-mapped %s (%.1f%%)\n",
	       (unsigned long long)huge, (unsigned long long)all, when,
	       100.0 * huge / all);
	if (!huge)
		thp_unavailable("no huge page formed in the range");
}

static void summary(const char *what, struct result thp, struct result k4)
{
	printf("%s: %.0f calls/GiB (4k: %.0f calls/GiB, ", what, thp.calls,
	       k4.calls);
	if (thp.calls > 0)
		printf("ratio %.1f)", k4.calls / thp.calls);
	else
		printf("ratio n/a)");
	printf(", %.1f%% of present reported accessed (4k: %.1f%%)\n",
	       thp.accessed, k4.accessed);
}

/* pagetrack's host scans beside PAGEMAP_SCAN's on the same memory. */
static void vs_summary(struct bench *b, struct region *r)
{
	static const char *const names[VS_ROWS] = {
		"host-PTE scan", "host-PTE scan, present map",
		"PAGEMAP_SCAN present", "host-PTE scan + clear",
		"PAGEMAP_SCAN written + WP", "host-PTE scan, 10%",
		"host-PTE present map, 10%", "PAGEMAP_SCAN present, 10%",
	};
	static const int pairs[][2] = {
		{ VS_HOST, VS_PM_PRESENT }, { VS_HOST_P, VS_PM_PRESENT },
		{ VS_HOST_CLEAR, VS_PM_WP }, { VS_HOST_10, VS_PM_10 },
		{ VS_HOST_P_10, VS_PM_10 },
	};
	int i, x, y;

	if (!b->pm.vec) {
		printf("%s: pagetrack vs PAGEMAP_SCAN: n/a (kernel %s has no "
		       "PAGEMAP_SCAN)\n", r->name, b->kernel);
		return;
	}
	for (i = 0; i < (int)(sizeof(pairs) / sizeof(pairs[0])); i++) {
		x = pairs[i][0];
		y = pairs[i][1];
		printf("%s: %s %.2f ms/GiB, %s %.2f ms/GiB: pagetrack takes "
		       "%.2fx the time\n", r->name, names[x], r->vs[x],
		       names[y], r->vs[y], r->vs[x] / r->vs[y]);
	}
}

static void access_section(struct bench *b, struct region *k4,
			   struct region *thp, const struct access_opts *o)
{
	int i;

	printf("\n-- what the guest read, told by DAMON and by pagetrack; all "
	       "pages present\n");
	if (o->damon)
		for (i = 0; i < DAMON_SETTINGS; i++)
			if (o->window[i])
				printf("DAMON %g/%g ms: vaddr, this process, "
				       "sample %llu us, aggregation %llu us, "
				       "%llu..%llu regions, window %g s\n",
				       o->attrs[i].sample_us / 1e3,
				       o->attrs[i].aggr_us / 1e3,
				       (unsigned long long)o->attrs[i].sample_us,
				       (unsigned long long)o->attrs[i].aggr_us,
				       (unsigned long long)o->attrs[i].min_nr_regions,
				       (unsigned long long)o->attrs[i].max_nr_regions,
				       o->window[i]);
	printf("pagetrack harvest: PAGETRACK_SCAN_GUEST_ONLY | "
	       "PAGETRACK_SCAN_CLEAR_ACCESSED after one pass, %d runs\n\n",
	       b->reps);
	access_header();
	access_rows(b, k4, o);
	if (thp)
		access_rows(b, thp, o);
	if (o->damon)
		damon__release();
}

static void attach(struct region *r, int vm_fd)
{
	r->host = pagetrack__open();
	r->guest = pagetrack__open();
	TEST_REQUIRE(r->host >= 0 && r->guest >= 0, "open /dev/pagetrack");
	TEST_REQUIRE(!pagetrack__attach(r->host, (uintptr_t)r->hva, r->bytes,
					0, 0, 0) &&
		     !pagetrack__attach(r->guest, (uintptr_t)r->hva, r->bytes,
					PAGETRACK_ATTACH_KVM, 0, vm_fd),
		     "attach");
}

int main(int argc, char **argv)
{
	struct bench b = { .reps = 5 };
	struct region k4 = {
		.name = "4k", .data = GUEST_DATA, .unit = PAGE, .keep = 1,
		.slot = 0, .logged = true,
	};
	struct region thp = {
		.name = "thp", .unit = HUGE, .keep = 1, .slot = THP_SLOT,
	};
	struct region log;
	struct result h4, c4, ht = { 0 }, ct = { 0 }, hl = { 0 }, cl = { 0 };
	/* DAMON's sysfs defaults, and a fine setting. */
	struct access_opts ao = {
		.attrs = {
			{ 5000, 100000, 60000000, 10, 1000 },
			{ 1000, 20000, 60000000, 10, 1000 },
		},
		.window = { 10, 6 },
	};
	uint64_t size = 512ULL << 20, thp_size = 512ULL << 20, max;
	struct utsname uts;
	char *end, junk;
	int i, c;

	while ((c = getopt(argc, argv, "s:t:r:D:F:f:h")) != -1) {
		switch (c) {
		case 's':
			if (parse__size(optarg, &size) || size < (4ULL << 20))
				goto usage;
			break;
		case 't':
			if (parse__size(optarg, &thp_size) ||
			    (thp_size && thp_size < HUGE))
				goto usage;
			break;
		case 'r':
			b.reps = atoi(optarg);
			if (b.reps < 1 || b.reps > 15)
				goto usage;
			break;
		case 'D':
		case 'F':
			ao.window[c == 'F'] = strtod(optarg, &end);
			if (*end || ao.window[c == 'F'] < 0 ||
			    ao.window[c == 'F'] > 600)
				goto usage;
			break;
		case 'f':
			if (sscanf(optarg, "%" SCNu64 ",%" SCNu64 "%c",
				   &ao.attrs[1].sample_us,
				   &ao.attrs[1].aggr_us, &junk) != 2 ||
			    !ao.attrs[1].sample_us ||
			    ao.attrs[1].aggr_us < ao.attrs[1].sample_us)
				goto usage;
			break;
		default:
			goto usage;
		}
	}

	k4.bytes = size & ~(PAGE - 1);
	k4.npages = k4.bytes / PAGE;
	thp.bytes = thp_size & ~(HUGE - 1);
	thp.npages = thp.bytes / PAGE;
	thp.gpa = (k4.bytes + HUGE - 1) & ~(HUGE - 1);
	if (thp.gpa + thp.bytes > GPA_LIMIT) {
		fprintf(stderr, "tracker_bench: -s and -t add up to more than "
			"the guest reaches (%llu MiB)\n", GPA_LIMIT >> 20);
		goto usage;
	}

	/* DAMON keeps its regions to the range until its first update. */
	for (i = 0; i < DAMON_SETTINGS; i++)
		if (ao.attrs[i].update_us < (ao.window[i] + 10) * 1e6)
			ao.attrs[i].update_us = (ao.window[i] + 10) * 1e6;
	TEST_REQUIRE(!uname(&uts), "uname: %s", strerror(errno));
	b.kernel = uts.release;

	/* THP first, while memory is least fragmented. */
	if (thp.bytes) {
		thp_require();
		thp.hva = thp_map(thp.bytes);
		b.r = &thp;
		host_touch(&b, 0);
	}

	b.vm = vm__create(k4.npages, KVM_MEM_LOG_DIRTY_PAGES);
	vm__load(b.vm, 0x1000, tracker_guest_start,
		 tracker_guest_end - tracker_guest_start);
	k4.hva = b.vm->mem;
	attach(&k4, b.vm->vm_fd);
	if (thp.bytes) {
		set_slot(&b, &thp);
		attach(&thp, b.vm->vm_fd);
	}
	kvm_stats_init(&b);

	max = k4.npages > thp.npages ? k4.npages : thp.npages;
	for (i = 0; i < 4; i++)
		b.maps[i] = bitmap__alloc(max);
	b.vec = malloc(max);
	b.pagemap_buf = malloc(max * sizeof(uint64_t));
	b.pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	TEST_REQUIRE(b.vec && b.pagemap_buf && b.pagemap_fd >= 0,
		     "pagemap: %s", strerror(errno));
	b.pm.pagemap_fd = b.pagemap_fd;
	b.pm.uffd = -1;
	if (pmscan__available(b.pagemap_fd)) {
		/* Room for every run at once: one scan, one ioctl. */
		b.pm.vec_len = max / 2 + 1;
		b.pm.vec = calloc(b.pm.vec_len, sizeof(*b.pm.vec));
		TEST_REQUIRE(b.pm.vec, "out of memory");
	}
	ao.damon = damon__available();

	printf("pagetrack tracker benchmark: median of %d runs, costs per GiB "
	       "of the range scanned\n", b.reps);
	printf("4k:      %llu MiB at GPA 0, MADV_NOHUGEPAGE, dirty-logged "
	       "slot\n", (unsigned long long)(k4.bytes >> 20));
	if (thp.bytes) {
		printf("thp:     %llu MiB at GPA %#llx, 2 MiB-aligned, "
		       "MADV_HUGEPAGE, slot not dirty-logged\n",
		       (unsigned long long)(thp.bytes >> 20),
		       (unsigned long long)thp.gpa);
		thp_report(&thp, "after population");
		printf("thp+log: the thp memory once its slot is dirty-logged "
		       "(KVM then maps 4 KiB)\n");
	}
	printf("host-PTE scan: a pagetrack scan without the VM; KVM harvest: "
	       "with it; kvm calls: the scan's nr_kvm_queries\n\n");
	printf("%-7s %-28s %9s %10s %13s %8s %8s\n", "backing", "operation",
	       "ms/GiB", "vs pagemap", "kvm calls/GiB", "ns/call", "accessed");

	b.r = &k4;
	host_touch(&b, 0);
	guest_touch(&b, 0);
	section(&b, "all present, the guest touched every page");
	full_rows(&b, true, &h4, &c4);

	if (thp.bytes) {
		b.r = &thp;
		guest_touch(&b, 0);
		section(&b, "all present, the guest touched every page");
		full_rows(&b, true, &ht, &ct);

		log = thp;
		log.name = "thp+log";
		log.logged = true;
		set_slot(&b, &log);
		b.r = &log;
		guest_touch(&b, 0);
		section(&b, "dirty logging on, the guest touched every page");
		full_rows(&b, false, &hl, &cl);
		/* Off again: KVM drops its 4 KiB entries, refaults 2 MiB. */
		set_slot(&b, &thp);
		printf("\n");
		thp_report(&thp, "after the thp runs");
	}

	access_section(&b, &k4, thp.bytes ? &thp : NULL, &ao);
	if (thp.bytes)
		thp_report(&thp, "after the DAMON and harvest runs");

	b.r = &k4;
	drop_units(&k4, 10);
	guest_touch(&b, 0);
	section(&b, "1 page in 10 present and touched");
	sparse_rows(&b);

	if (thp.bytes) {
		b.r = &thp;
		drop_units(&thp, 10);
		guest_touch(&b, 0);
		section(&b, "1 extent of 2 MiB in 10 present and touched");
		sparse_rows(&b);
	}

	printf("\n");
	vs_summary(&b, &k4);
	if (thp.bytes) {
		vs_summary(&b, &thp);
		summary("thp clearing harvest", ct, c4);
		summary("thp non-clearing harvest", ht, h4);
		summary("thp+log clearing harvest", cl, c4);
		summary("thp+log non-clearing harvest", hl, h4);
	}
	return 0;

usage:
	fprintf(stderr, "usage: tracker_bench [-s SIZE] [-t SIZE] [-r REPS]\n"
		"  -s SIZE  4 KiB-mapped guest memory, at least 4M\n"
		"           (default 512M)\n"
		"  -t SIZE  THP-backed guest memory, a multiple of 2M, or 0\n"
		"           for none (default 512M); -s and -t below 3G\n"
		"  -r REPS  runs per measurement, 1..15 (default 5)\n"
		"  -D SEC   DAMON window at its default intervals, 5 ms\n"
		"           sampling, 100 ms aggregation (default 10; 0: none)\n"
		"  -F SEC   DAMON window at the fine intervals (default 6; 0: none)\n"
		"  -f S,A   the fine intervals: sampling S, aggregation A, in us\n"
		"           (default 1000,20000)\n");
	return 2;
}
