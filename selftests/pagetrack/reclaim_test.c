// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim handover (issue #10): an accessed bit that a clearing scan
 * consumes is reclaim's evidence that the page is in use.  The scan must
 * hand it on to the page itself, as PG_referenced (or by activating the
 * page), or reclaim would take a page in use for an idle one.  Today's
 * module never touches the struct page: PG_referenced stays clear.
 *
 * The flags are read from /proc/kpageflags.  MADV_COLD first clears both
 * the young bits of the page's entries and PG_referenced, so every test
 * starts from pages reclaim would consider idle; it needs the pages on an
 * LRU list, which faults put them on through a per-CPU batch, so the test
 * runs on one CPU, whose batches MADV_COLD drains.  With MGLRU enabled a
 * faulting page is marked active until its batch drains, and marking it
 * accessed sets PG_referenced first too: the checks hold either way.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "kvm_util.h"
#include "pt_util.h"
#include "sys_util.h"

#define END		-1
#define IN_USE		((1ULL << KPF_REFERENCED) | (1ULL << KPF_ACTIVE))

static void lru_gen_log(struct __test_metadata *_metadata)
{
	char buf[32] = "absent";
	FILE *f = fopen("/sys/kernel/mm/lru_gen/enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "unreadable");
		fclose(f);
	}
	TH_LOG("MGLRU (/sys/kernel/mm/lru_gen/enabled): %s", buf);
}

/*
 * Make @npages pages at @mem look idle: entries old, PG_referenced and
 * PG_active clear.  MADV_COLD drains this CPU's LRU batches, then clears
 * young bits and PG_referenced, and queues active pages for deactivation;
 * a second MADV_COLD (of another range: any will do) drains that queue.
 */
static void pages_make_idle(struct __test_metadata *_metadata, uint8_t *mem,
			    uint64_t npages)
{
	uint8_t *other = pt_map_anon(1, false);

	ASSERT_EQ(0, madvise(mem, npages * PT_PAGE, MADV_COLD));
	ASSERT_EQ(0, madvise(other, PT_PAGE, MADV_COLD));
	munmap(other, PT_PAGE);
}

static void expect_idle(struct __test_metadata *_metadata, const void *page,
			const char *what)
{
	uint64_t flags = page__kflags(page);

	ASSERT_EQ(0, flags & IN_USE) {
		TH_LOG("%s: kpageflags %#llx before the scan", what,
		       (unsigned long long)flags);
		lru_gen_log(_metadata);
	}
}

TEST(host_bit_handed_to_reclaim)
{
	const uint64_t n = 8;
	struct pt_result *r = pt_result_alloc(n);
	uint64_t *want, flags;
	uint8_t *mem;
	int fd;

	cpu__pin(0);
	mem = pt_map_anon(n, false);
	pt_write_page(mem, 1);
	pt_write_page(mem, 2);
	pages_make_idle(_metadata, mem, n);
	expect_idle(_metadata, mem + PT_PAGE, "page 1");
	expect_idle(_metadata, mem + 2 * PT_PAGE, "page 2");

	fd = pt_open_attached(mem, n * PT_PAGE);
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	ASSERT_EQ(2, r->scan.nr_present);
	ASSERT_EQ(0, r->scan.nr_accessed) TH_LOG("MADV_COLD left young bits");

	/* Page 1 is used again; page 2 stays idle. */
	pt_write_page(mem, 1);
	ASSERT_EQ(0, pt_scan(fd, mem, PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	want = pt_pages(n, 1, END);
	ASSERT_TRUE(pt_expect_bitmap("accessed", r->accessed, want, n));
	free(want);

	flags = page__kflags(mem + PT_PAGE);
	EXPECT_NE(0, flags & IN_USE)
		TH_LOG("the scan consumed page 1's accessed bit, but the page is neither referenced nor active (kpageflags %#llx)",
		       (unsigned long long)flags);
	flags = page__kflags(mem + 2 * PT_PAGE);
	EXPECT_EQ(0, flags & IN_USE)
		TH_LOG("page 2 was not accessed, yet marked (kpageflags %#llx)",
		       (unsigned long long)flags);

	close(fd);
	pt_result_free(r);
	munmap(mem, n * PT_PAGE);
}

/*
 * The same with KVM's accessed bit: the guest reads a page, which leaves
 * the host's entries alone; a GUEST_ONLY clearing scan consumes KVM's bit,
 * and must mark the host page.  (KVM marks a page accessed itself when it
 * faults it in, so the guest first maps every page and the pages are made
 * idle after that.)
 */
TEST(guest_bit_handed_to_reclaim)
{
	const uint64_t n = HUGE_PAGE_PAGES;	/* one 2 MiB data slot */
	const uint32_t used = 5, idle = 9;
	struct pt_result *r = pt_result_alloc(n);
	struct kvm_vm *vm;
	uint64_t *want, flags;
	int pt;

	cpu__pin(0);
	vm = vm__create_reader(n, MEM_4K, 0);
	pt = pt_open();
	ASSERT_EQ(0, pt_attach(pt, vm->data, n * PT_PAGE,
			       PAGETRACK_ATTACH_KVM, 0, vm->vm_fd));
	vm__read_all(vm);
	ASSERT_EQ(0, pt_scan(pt, vm->data, PAGETRACK_SCAN_GUEST_ONLY |
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	ASSERT_EQ(n, r->scan.nr_accessed);

	pages_make_idle(_metadata, vm->data, n);
	expect_idle(_metadata, vm->data + used * PT_PAGE, "the page used");
	expect_idle(_metadata, vm->data + idle * PT_PAGE, "the idle page");

	vm__read_page(vm, used);
	/* The guest's read went through KVM's tables only. */
	ASSERT_EQ(0, pt_scan(pt, vm->data, PAGETRACK_SCAN_HOST_ONLY, r));
	ASSERT_EQ(0, r->scan.nr_accessed);
	ASSERT_EQ(0, pt_scan(pt, vm->data, PAGETRACK_SCAN_GUEST_ONLY |
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	want = pt_pages(n, used, END);
	ASSERT_TRUE(pt_expect_bitmap("guest accessed", r->accessed, want, n));
	free(want);

	flags = page__kflags(vm->data + used * PT_PAGE);
	EXPECT_NE(0, flags & IN_USE)
		TH_LOG("the scan consumed KVM's accessed bit, but the host page is neither referenced nor active (kpageflags %#llx)",
		       (unsigned long long)flags);
	flags = page__kflags(vm->data + idle * PT_PAGE);
	EXPECT_EQ(0, flags & IN_USE)
		TH_LOG("a page the guest did not read was marked (kpageflags %#llx)",
		       (unsigned long long)flags);

	close(pt);
	pt_result_free(r);
	vm__destroy(vm);
}

TEST_HARNESS_MAIN
