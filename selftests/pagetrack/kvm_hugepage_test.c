// SPDX-License-Identifier: GPL-2.0
/*
 * Guest accessed bits at KVM's own granularity (issue #10).
 *
 * KVM maps a 2 MiB-aligned guest region with one 2 MiB entry when the
 * host backs it with one huge page (THP or hugetlbfs) and the memslot,
 * aligned in GPA and HVA, is not dirty-logged; a dirty-logged slot is
 * mapped with 4 KiB entries.  A page is accessed when the KVM entry that
 * maps it is young: a guest read of one page under a huge entry makes all
 * 512 accessed, in a clearing scan as in a plain one, and under 4 KiB
 * entries exactly the pages read are.  The scans are GUEST_ONLY: the host
 * wrote every page, and its own accessed bits would blur the result.
 *
 * Today's module asks KVM once per present 4 KiB page.  Under a huge entry
 * a clearing scan's first question clears the entry's one accessed bit, so
 * only the first page of each huge entry comes out accessed; and every
 * scan, clearing or not, makes 512 KVM calls per 2 MiB where one would do.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "kvm_util.h"
#include "pt_util.h"

#define END		-1
#define DATA_PAGES	(2 * HUGE_PAGE_PAGES)	/* two huge pages */

FIXTURE(data) {
	struct kvm_vm *vm;
	int pt;			/* session over the data slot, with the VM */
	struct pt_result *r;
	long pool;		/* hugetlb pool before the test, or -1 */
};

FIXTURE_VARIANT(data) {
	enum mem_backing backing;
	bool dirty_log;		/* KVM then maps 4 KiB */
};

FIXTURE_VARIANT_ADD(data, thp) {
	.backing = MEM_THP,
};

FIXTURE_VARIANT_ADD(data, thp_dirty_log) {
	.backing = MEM_THP,
	.dirty_log = true,
};

FIXTURE_VARIANT_ADD(data, hugetlb) {
	.backing = MEM_HUGETLB,
};

FIXTURE_VARIANT_ADD(data, hugetlb_dirty_log) {
	.backing = MEM_HUGETLB,
	.dirty_log = true,
};

FIXTURE_SETUP(data)
{
	self->pool = -1;
	if (variant->backing == MEM_HUGETLB)
		self->pool = hugetlb__reserve(DATA_PAGES / HUGE_PAGE_PAGES);
	self->vm = vm__create_reader(DATA_PAGES, variant->backing,
				     variant->dirty_log ?
				     KVM_MEM_LOG_DIRTY_PAGES : 0);
	self->pt = pt_open();
	ASSERT_EQ(0, pt_attach(self->pt, self->vm->data,
			       DATA_PAGES * PT_PAGE, PAGETRACK_ATTACH_KVM, 0,
			       self->vm->vm_fd));
	self->r = pt_result_alloc(DATA_PAGES);
}

FIXTURE_TEARDOWN(data)
{
	pt_result_free(self->r);
	close(self->pt);
	vm__destroy(self->vm);
	hugetlb__restore(self->pool);
}

/*
 * The pages a guest read of @read makes accessed: those pages under 4 KiB
 * entries, the whole 2 MiB of each under huge ones.  The list ends with
 * END; NULL means every page.
 */
static uint64_t *accessed_by(bool huge, const int *read)
{
	uint64_t *bm = bitmap__alloc(DATA_PAGES), p, first;

	for (p = 0; bm && !read && p < DATA_PAGES; p++)
		bitmap__set(bm, p);
	for (; bm && read && *read >= 0; read++) {
		first = huge ? *read / HUGE_PAGE_PAGES * HUGE_PAGE_PAGES :
			       (uint64_t)*read;
		for (p = first; p < first + (huge ? HUGE_PAGE_PAGES : 1); p++)
			bitmap__set(bm, p);
	}
	return bm;
}

/* The guest reads the pages of @read, a list ending with END. */
static void guest_read(struct kvm_vm *vm, const int *read)
{
	struct reader_run runs[8];
	int n;

	for (n = 0; read[n] >= 0; n++) {
		TEST_REQUIRE(n < 8, "too many pages");
		runs[n] = (struct reader_run){ .first = read[n], .npages = 1 };
	}
	vm__read(vm, runs, n);
}

/*
 * A GUEST_ONLY scan of the whole slot, which must report @want (freed
 * here) accessed; with KVM mapping huge, making at most one KVM call per
 * 2 MiB host leaf.
 */
static void guest_scan(struct __test_metadata *_metadata,
		       FIXTURE_DATA(data) *self,
		       const FIXTURE_VARIANT(data) *variant, bool clear,
		       const char *what, uint64_t *want)
{
	struct pt_result *r = self->r;

	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, pt_scan(self->pt, self->vm->data,
			     PAGETRACK_SCAN_GUEST_ONLY |
			     (clear ? PAGETRACK_SCAN_CLEAR_ACCESSED : 0), r));
	EXPECT_EQ(DATA_PAGES, r->scan.nr_present);
	EXPECT_TRUE(pt_expect_bitmap(what, r->accessed, want, DATA_PAGES));
	EXPECT_EQ(bitmap__weight(want, DATA_PAGES), r->scan.nr_accessed);
	if (!variant->dirty_log)
		EXPECT_LE(r->scan.nr_kvm_queries,
			  DATA_PAGES / HUGE_PAGE_PAGES)
			TH_LOG("%s: %llu KVM calls for %lu huge leaves", what,
			       (unsigned long long)r->scan.nr_kvm_queries,
			       DATA_PAGES / HUGE_PAGE_PAGES);
	free(want);
}

TEST_F(data, accessed_at_kvm_granularity)
{
	static const int none[] = { END };
	static const int one[] = { 300, END };
	static const int two[] = { 519, 1023, END };
	const bool huge = !variant->dirty_log;

	/* The guest reads every page: every KVM entry of the slot young. */
	vm__read_all(self->vm);
	ASSERT_EQ(huge ? DATA_PAGES / HUGE_PAGE_PAGES : 0,
		  vm__stat(self->vm, "pages_2m"))
		TH_LOG("KVM did not map the %s slot the way this test expects",
		       mem_backing__name(variant->backing));
	/* Today, huge: pages 0 and 512 only. */
	guest_scan(_metadata, self, variant, true, "all read, clearing scan",
		   accessed_by(huge, NULL));

	/* One page read: its whole huge entry is young, or the page alone. */
	guest_read(self->vm, one);
	/* Today right, with 1024 KVM calls. */
	guest_scan(_metadata, self, variant, false, "one read, plain scan",
		   accessed_by(huge, one));
	/* Today, huge: page 0 only. */
	guest_scan(_metadata, self, variant, true, "one read, clearing scan",
		   accessed_by(huge, one));
	/* The clear took: nothing is young now. */
	guest_scan(_metadata, self, variant, false, "after the clear",
		   accessed_by(huge, none));

	/* Two pages of the other huge page; today, huge: page 512 only. */
	guest_read(self->vm, two);
	guest_scan(_metadata, self, variant, true, "two read, clearing scan",
		   accessed_by(huge, two));
}

/*
 * A THP split while a session tracks it: the host's huge page is then
 * mapped by 4 KiB entries, the split's MMU-notifier invalidation zaps
 * KVM's huge entry, and KVM refaults at 4 KiB: from then on only the
 * pages read are accessed there, while the other huge page stays huge.
 * Today the split half is exact (4 KiB queries of 4 KiB entries); the
 * clearing scans report only the first page of the unsplit huge page.
 */
TEST(thp_split_stays_exact)
{
	struct kvm_vm *vm = vm__create_reader(DATA_PAGES, MEM_THP, 0);
	struct pt_result *r = pt_result_alloc(DATA_PAGES);
	uint8_t *half = vm->data + HUGE_PAGE_SIZE / 2;
	uint64_t *want, p;
	int pt = pt_open();

	ASSERT_EQ(0, pt_attach(pt, vm->data, DATA_PAGES * PT_PAGE,
			       PAGETRACK_ATTACH_KVM, 0, vm->vm_fd));
	vm__read_all(vm);
	ASSERT_EQ(2, vm__stat(vm, "pages_2m"));
	ASSERT_EQ(0, pt_scan(pt, vm->data, PAGETRACK_SCAN_GUEST_ONLY |
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	EXPECT_EQ(DATA_PAGES, r->scan.nr_accessed);	/* today 2 */

	/*
	 * MADV_NOHUGEPAGE on the second half of the first huge page splits
	 * its VMA there, and with it the PMD; the VMA boundary keeps
	 * khugepaged from collapsing it again.
	 */
	ASSERT_EQ(0, madvise(half, HUGE_PAGE_SIZE / 2, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, mem__thp_bytes(vm->data, HUGE_PAGE_SIZE))
		TH_LOG("the huge page was not split");
	ASSERT_EQ(HUGE_PAGE_SIZE, mem__thp_bytes(vm->data + HUGE_PAGE_SIZE,
						 HUGE_PAGE_SIZE));
	ASSERT_EQ(1, vm__stat(vm, "pages_2m"))
		TH_LOG("KVM kept its huge entry over the split huge page");

	/* Page 100 in the first half, 400 in the split one, 521 beyond. */
	vm__read(vm, (struct reader_run[]){ { 100, 1 }, { 400, 1 },
					    { 521, 1 } }, 3);
	ASSERT_EQ(1, vm__stat(vm, "pages_2m"));
	want = pt_pages(DATA_PAGES, 100, 400, END);
	for (p = HUGE_PAGE_PAGES; p < DATA_PAGES; p++)
		bitmap__set(want, p);
	ASSERT_EQ(0, pt_scan(pt, vm->data, PAGETRACK_SCAN_GUEST_ONLY, r));
	EXPECT_EQ(DATA_PAGES, r->scan.nr_present);
	EXPECT_TRUE(pt_expect_bitmap("after the split", r->accessed, want,
				     DATA_PAGES));
	ASSERT_EQ(0, pt_scan(pt, vm->data, PAGETRACK_SCAN_GUEST_ONLY |
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	EXPECT_TRUE(pt_expect_bitmap("after the split, clearing", r->accessed,
				     want, DATA_PAGES));
	free(want);

	/* Exact under the 4 KiB entries after the clear as well. */
	vm__read_page(vm, 401);
	ASSERT_EQ(0, pt_scan(pt, vm->data, PAGETRACK_SCAN_GUEST_ONLY |
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	want = pt_pages(DATA_PAGES, 401, END);
	EXPECT_TRUE(pt_expect_bitmap("one read in the split half",
				     r->accessed, want, DATA_PAGES));
	free(want);

	close(pt);
	pt_result_free(r);
	vm__destroy(vm);
}

TEST_HARNESS_MAIN
