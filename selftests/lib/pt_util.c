// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bitmap.h"
#include "pagetrack.h"
#include "pt_util.h"

int pt_open(void)
{
	int fd = pagetrack__open();

	TEST_REQUIRE(fd >= 0, "open %s: %s", PT_DEVICE, strerror(-fd));
	return fd;
}

int pt_module_refcount(void)
{
	FILE *f = fopen("/sys/module/pagetrack/refcnt", "r");
	int refs = -1;

	TEST_REQUIRE(f, "/sys/module/pagetrack/refcnt: %s", strerror(errno));
	TEST_REQUIRE(fscanf(f, "%d", &refs) == 1, "unreadable refcnt");
	fclose(f);
	return refs;
}

int pt_attach(int fd, const void *start, uint64_t len, uint32_t flags,
	      int pid, int kvm_fd)
{
	return pagetrack__attach(fd, (uintptr_t)start, len, flags, pid,
				 kvm_fd);
}

int pt_open_attached(const void *start, uint64_t len)
{
	int fd = pt_open();
	int ret = pt_attach(fd, start, len, 0, 0, 0);

	TEST_REQUIRE(!ret, "PAGETRACK_IOC_ATTACH: %s", strerror(-ret));
	return fd;
}

struct pt_result *pt_result_alloc(uint64_t npages)
{
	struct pt_result *r = calloc(1, sizeof(*r));

	TEST_REQUIRE(r, "out of memory");
	r->npages = npages;
	r->present = bitmap__alloc(npages);
	r->accessed = bitmap__alloc(npages);
	r->dirty = bitmap__alloc(npages);
	r->written = bitmap__alloc(npages);
	TEST_REQUIRE(r->present && r->accessed && r->dirty && r->written,
		     "out of memory");
	return r;
}

void pt_result_free(struct pt_result *r)
{
	free(r->present);
	free(r->accessed);
	free(r->dirty);
	free(r->written);
	free(r);
}

int pt_scan(int fd, const void *start, uint32_t flags, struct pt_result *r)
{
	r->scan = (struct pagetrack_scan) {
		.size = sizeof(r->scan),
		.flags = flags,
		.start = (uintptr_t)start,
		.length = r->npages * PT_PAGE,
		.bitmap_bytes = bitmap__bytes(r->npages),
		.present = (uintptr_t)r->present,
		.accessed = (uintptr_t)r->accessed,
		.dirty = (uintptr_t)r->dirty,
		.written = (uintptr_t)r->written,
	};
	return pagetrack__scan(fd, &r->scan);
}

uint64_t *pt_pages(uint64_t npages, ...)
{
	uint64_t *bm = bitmap__alloc(npages);
	va_list ap;
	int page;

	TEST_REQUIRE(bm, "out of memory");
	va_start(ap, npages);
	while ((page = va_arg(ap, int)) >= 0) {
		TEST_REQUIRE((uint64_t)page < npages, "page %d out of range",
			     page);
		bitmap__set(bm, page);
	}
	va_end(ap);
	return bm;
}

bool pt_expect_bitmap(const char *what, const uint64_t *got,
		      const uint64_t *want, uint64_t npages)
{
	char g[512], w[512];

	if (bitmap__equal(got, want, npages))
		return true;
	bitmap__format_runs(got, npages, g, sizeof(g));
	bitmap__format_runs(want, npages, w, sizeof(w));
	fprintf(stderr, "# %s: got pages [%s], expected [%s]\n", what, g, w);
	return false;
}

void *pt_map_anon(uint64_t npages, bool thp)
{
	uint64_t align = thp ? 2UL << 20 : PT_PAGE;
	uint64_t len = npages * PT_PAGE;
	uint8_t *p, *aligned;

	/* Over-allocate so a THP region can start on a 2 MiB boundary. */
	p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_REQUIRE(p != MAP_FAILED, "mmap: %s", strerror(errno));
	aligned = (uint8_t *)(((uintptr_t)p + align - 1) & ~(align - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	munmap(aligned + len, p + len + align - (aligned + len));
	TEST_REQUIRE(!madvise(aligned, len,
			      thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE),
		     "madvise: %s", strerror(errno));
	return aligned;
}

void pt_read_page(const void *base, uint64_t page)
{
	(void)*(const volatile uint8_t *)((const uint8_t *)base +
					  page * PT_PAGE);
}

void pt_write_page(void *base, uint64_t page)
{
	*(volatile uint8_t *)((uint8_t *)base + page * PT_PAGE) = 0x5a;
}
