// SPDX-License-Identifier: GPL-2.0
/*
 * tracker_bench - what a pagetrack scan costs, side by side with the
 * interfaces it competes with, on the same memory in one run: mincore(),
 * a /proc/self/pagemap read and KVM_GET_DIRTY_LOG.  Run inside the test VM
 * by 'make bench-tracker'.  Absolute times under nested emulation mean
 * little; the ratios are the result.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bitmap.h"
#include "kvm_util.h"
#include "pagetrack.h"
#include "parse.h"

#define GUEST_DATA	(1UL << 20)	/* guest touches from 1 MiB up */
#define DONE_PORT	0x10

extern const uint8_t tracker_guest_start[], tracker_guest_end[];

struct bench {
	struct kvm_vm *vm;
	uint64_t npages;
	uint64_t bytes;
	int reps;
	int host;		/* session without the VM */
	int guest;		/* session with the VM */
	uint64_t *maps[4];
	uint64_t last_queries;
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
 * Median of b->reps runs, in ms per GiB of memory covered.  @prep, if
 * any, runs untimed before each run: a clearing scan must find bits to
 * clear every time, not only the first.
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
	return t[b->reps / 2] * (double)(1UL << 30) / b->bytes;
}

static void do_scan(struct bench *b, int fd, uint32_t flags)
{
	struct pagetrack_scan sc = {
		.flags = flags,
		.start = (uintptr_t)b->vm->mem,
		.length = b->bytes,
		.bitmap_bytes = bitmap__bytes(b->npages),
		.present = (uintptr_t)b->maps[0],
		.accessed = (uintptr_t)b->maps[1],
		.dirty = (uintptr_t)b->maps[2],
		.written = (uintptr_t)b->maps[3],
	};
	int ret = pagetrack__scan(fd, &sc);

	TEST_REQUIRE(!ret, "PAGETRACK_IOC_SCAN: %s", strerror(-ret));
	b->last_queries = sc.nr_kvm_queries;
}

static void bench_host_scan(struct bench *b, unsigned long clear)
{
	do_scan(b, b->host, PAGETRACK_SCAN_HOST_ONLY |
		(clear ? PAGETRACK_SCAN_CLEAR_ACCESSED : 0));
}

static void bench_kvm_scan(struct bench *b, unsigned long clear)
{
	do_scan(b, b->guest, clear ? PAGETRACK_SCAN_CLEAR_ACCESSED : 0);
}

static void bench_mincore(struct bench *b, unsigned long unused)
{
	static unsigned char *vec;

	(void)unused;
	if (!vec)
		vec = malloc(b->npages);
	TEST_REQUIRE(vec && !mincore(b->vm->mem, b->bytes, vec), "mincore: %s",
		     strerror(errno));
}

static void bench_pagemap(struct bench *b, unsigned long unused)
{
	static uint64_t *buf;
	static int fd = -1;
	size_t len = b->npages * sizeof(uint64_t);

	(void)unused;
	if (fd < 0) {
		fd = open("/proc/self/pagemap", O_RDONLY);
		buf = malloc(len);
	}
	TEST_REQUIRE(fd >= 0 && buf, "pagemap: %s", strerror(errno));
	TEST_REQUIRE(pread(fd, buf, len,
			   (uintptr_t)b->vm->mem / 4096 * 8) == (ssize_t)len,
		     "pagemap read: %s", strerror(errno));
}

static void bench_dirty_log(struct bench *b, unsigned long unused)
{
	(void)unused;
	vm__get_dirty_log(b->vm, b->maps[0]);
}

static uint64_t touch_stride = 1;

/* The host writes every touch_stride-th data page. */
static void host_touch(struct bench *b, unsigned long unused)
{
	uint64_t p;

	(void)unused;
	for (p = GUEST_DATA / 4096; p < b->npages; p += touch_stride)
		b->vm->mem[p * 4096] = 1;
}

/* The guest reads every touch_stride-th data page. */
static void guest_touch(struct bench *b, unsigned long unused)
{
	(void)unused;
	vcpu__enter_flat32(b->vm, 0x1000);
	vcpu__set_regs(b->vm, GUEST_DATA, b->bytes, touch_stride * 4096);
	vcpu__expect_io_out(b->vm, DONE_PORT, 1, 1);
}

static void row(const char *what, double ms, double base)
{
	printf("%-40s %10.2f %10.2fx\n", what, ms, ms / base);
}

static void per_query(struct bench *b, double ms_per_gib)
{
	double ms = ms_per_gib * b->bytes / (1UL << 30);

	printf("%-40s %10.0f ns per KVM call (%llu calls)\n", "",
	       ms * 1e6 / (b->last_queries ?: 1),
	       (unsigned long long)b->last_queries);
}

int main(int argc, char **argv)
{
	struct bench b = { .reps = 5 };
	uint64_t size = 512ULL << 20, p;
	double pagemap, t;
	int i, c;

	while ((c = getopt(argc, argv, "s:r:h")) != -1) {
		switch (c) {
		case 's':
			if (parse__size(optarg, &size) || size < (4ULL << 20))
				goto usage;
			break;
		case 'r':
			b.reps = atoi(optarg);
			if (b.reps < 1 || b.reps > 15)
				goto usage;
			break;
		default:
			goto usage;
		}
	}

	b.bytes = size & ~4095ULL;
	b.npages = b.bytes / 4096;
	b.vm = vm__create(b.npages, KVM_MEM_LOG_DIRTY_PAGES);
	vm__load(b.vm, 0x1000, tracker_guest_start,
		 tracker_guest_end - tracker_guest_start);
	for (i = 0; i < 4; i++)
		b.maps[i] = bitmap__alloc(b.npages);
	b.host = pagetrack__open();
	b.guest = pagetrack__open();
	TEST_REQUIRE(b.host >= 0 && b.guest >= 0, "open /dev/pagetrack");
	TEST_REQUIRE(!pagetrack__attach(b.host, (uintptr_t)b.vm->mem, b.bytes,
					0, 0, 0) &&
		     !pagetrack__attach(b.guest, (uintptr_t)b.vm->mem, b.bytes,
					PAGETRACK_ATTACH_KVM, 0, b.vm->vm_fd),
		     "attach");

	printf("pagetrack tracker benchmark: %llu MiB of guest memory, 4 KiB "
	       "pages, median of %d runs\n", (unsigned long long)(size >> 20),
	       b.reps);
	printf("%-40s %10s %11s\n", "operation", "ms/GiB", "vs pagemap");

	host_touch(&b, 0);
	guest_touch(&b, 0);
	pagemap = measure(&b, bench_pagemap, 0, NULL);
	row("/proc/self/pagemap read", pagemap, pagemap);
	row("mincore()", measure(&b, bench_mincore, 0, NULL), pagemap);
	row("KVM_GET_DIRTY_LOG", measure(&b, bench_dirty_log, 0, NULL),
	    pagemap);
	row("pagetrack host-PTE scan", measure(&b, bench_host_scan, 0, NULL),
	    pagemap);
	row("pagetrack host-PTE scan + clear",
	    measure(&b, bench_host_scan, 1, host_touch), pagemap);
	/* Host bits are now clear: every present page is asked of KVM. */
	t = measure(&b, bench_kvm_scan, 0, NULL);
	row("pagetrack KVM harvest, 100% present", t, pagemap);
	per_query(&b, t);
	row("pagetrack KVM harvest + clear, 100%",
	    measure(&b, bench_kvm_scan, 1, guest_touch), pagemap);

	/* Drop 90% of the host pages: KVM loses its mappings of them too. */
	for (p = GUEST_DATA / 4096; p < b.npages; p++)
		if ((p - GUEST_DATA / 4096) % 10)
			madvise(b.vm->mem + p * 4096, 4096, MADV_DONTNEED);
	touch_stride = 10;
	guest_touch(&b, 0);
	t = measure(&b, bench_kvm_scan, 1, guest_touch);
	row("pagetrack KVM harvest + clear, 10%", t, pagemap);
	per_query(&b, t);
	row("pagetrack host-PTE scan, 10% present",
	    measure(&b, bench_host_scan, 0, NULL), pagemap);
	row("/proc/self/pagemap read, 10% present",
	    measure(&b, bench_pagemap, 0, NULL), pagemap);
	row("mincore(), 10% present", measure(&b, bench_mincore, 0, NULL),
	    pagemap);
	return 0;

usage:
	fprintf(stderr, "usage: tracker_bench [-s SIZE] [-r REPS]\n"
		"  -s SIZE  guest memory, at least 4M (default 512M)\n"
		"  -r REPS  runs per measurement, 1..15 (default 5)\n");
	return 2;
}
