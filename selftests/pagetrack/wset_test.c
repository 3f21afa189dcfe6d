// SPDX-License-Identifier: GPL-2.0
/*
 * Working-set recording (lib/wset.c, what the VMM records layers with)
 * is exact: a guest that reads R and writes W inside the window comes out
 * as dirty == W plus its status page, read-only == R - W plus its code
 * page, bit for bit; pages the host writes in the window count as dirty;
 * and every page the window's dirty-log harvests took is handed on for
 * the next diff snapshot.  Samples taken while the guest runs change
 * none of that and tell which sample first saw each page.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "kvm_util.h"
#include "pt_util.h"
#include "wset.h"
#include "wset_guest.h"

#define END	-1
#define HOST_MARKED	27	/* the "VMM" writes it and says so */
#define HOST_WRITTEN	28	/* the "VMM" writes it and does not say */

extern const uint8_t wset_guest_start[], wset_guest_end[];

FIXTURE(wset) {
	struct kvm_vm *vm;
	struct wset w;
	uint64_t *carry;
	uint16_t sum;		/* what the guest's reads add up to */
};

FIXTURE_VARIANT(wset) {
	/*
	 * Anonymous memory the host wrote: KVM maps such a page writable
	 * even on a read and logs it, so the guest first reads every page
	 * and the window starts after that.  A snapshot's private file
	 * mapping needs no warm-up: read faults map it read-only.
	 */
	bool from_file;
};

FIXTURE_VARIANT_ADD(wset, anonymous_warmed_up) {
	.from_file = false,
};

FIXTURE_VARIANT_ADD(wset, restored_from_file) {
	.from_file = true,
};

/* Replace guest memory by a private mapping of a file holding it. */
static void remap_from_file(struct kvm_vm *vm)
{
	char path[] = "/tmp/wset-mem-XXXXXX";
	size_t len = vm->npages * GUEST_PAGE_SIZE;
	int fd = mkstemp(path);

	TEST_REQUIRE(fd >= 0, "mkstemp");
	unlink(path);
	TEST_REQUIRE(write(fd, vm->mem, len) == (ssize_t)len, "write");
	TEST_REQUIRE(mmap(vm->mem, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_FIXED, fd, 0) == vm->mem, "mmap");
	close(fd);
}

FIXTURE_SETUP(wset)
{
	uint64_t page;

	self->vm = vm__create(WS_PAGES, KVM_MEM_LOG_DIRTY_PAGES);
	for (page = 0; page < WS_PAGES; page++)
		*(uint16_t *)vm__gpa(self->vm, page * GUEST_PAGE_SIZE) =
			page == WS_STATUS_PAGE ? 0 : page;
	vm__load(self->vm, WS_CODE_PAGE * GUEST_PAGE_SIZE, wset_guest_start,
		 wset_guest_end - wset_guest_start);
	self->sum = 0;
	if (!variant->from_file) {
		for (page = 0; page < WS_PAGES; page++)
			self->sum += *(uint16_t *)vm__gpa(self->vm,
						page * GUEST_PAGE_SIZE);
	}
	if (variant->from_file)
		remap_from_file(self->vm);
	vcpu__enter_real_mode(self->vm, WS_CODE_PAGE * GUEST_PAGE_SIZE);
	vcpu__set_regs(self->vm, 0, 0, !variant->from_file);
	ASSERT_EQ(0, wset__init(&self->w, self->vm->mem, WS_PAGES,
				self->vm->vm_fd, WS_PAGES));
	self->carry = bitmap__alloc(WS_PAGES);
	ASSERT_NE(NULL, self->carry);
}

FIXTURE_TEARDOWN(wset)
{
	wset__exit(&self->w);
	free(self->carry);
	vm__destroy(self->vm);
}

/* The pages the guest only read: R minus W, and its code page. */
static void expect_guest_read_only(struct __test_metadata *_metadata,
				   struct wset *w, uint64_t *got)
{
	uint64_t *want = pt_pages(WS_PAGES, WS_CODE_PAGE, WS_R0, WS_R2, WS_R3,
				  WS_R4, END);

	wset__read_only(w, got);
	EXPECT_TRUE(pt_expect_bitmap("read-only", got, want, WS_PAGES));
	free(want);
}

TEST_F(wset, exact)
{
	struct wset *w = &self->w;
	uint64_t *got = bitmap__alloc(WS_PAGES), *want;

	ASSERT_NE(NULL, got);
	vcpu__expect_io_out(self->vm, WS_PORT_READY, 2, self->sum);
	ASSERT_EQ(0, wset__start(w, self->carry));

	self->sum += WS_R0 + WS_R1 + WS_R2 + WS_R3 + WS_R4;
	vcpu__expect_io_out(self->vm, WS_PORT_DONE, 2, self->sum);
	pt_write_page(self->vm->mem, HOST_MARKED);
	wset__mark_written(w, HOST_MARKED, 1);
	if (variant->from_file)
		pt_write_page(self->vm->mem, HOST_WRITTEN);
	ASSERT_EQ(0, wset__stop(w, self->carry));

	want = pt_pages(WS_PAGES, WS_STATUS_PAGE, WS_W0, WS_W1, WS_W2,
			HOST_MARKED, variant->from_file ? HOST_WRITTEN : END,
			END);
	EXPECT_TRUE(pt_expect_bitmap("dirty", w->dirty, want, WS_PAGES));
	/* The guest's writes reached the diff carry too. */
	bitmap__andnot(got, want, self->carry, WS_PAGES);
	bitmap__clear(got, HOST_MARKED);
	bitmap__clear(got, HOST_WRITTEN);
	EXPECT_EQ(0, bitmap__weight(got, WS_PAGES))
		TH_LOG("guest writes missing from the diff carry");
	free(want);

	expect_guest_read_only(_metadata, w, got);

	wset__present(w, got);
	want = pt_pages(WS_PAGES, WS_CODE_PAGE, WS_STATUS_PAGE, WS_R0, WS_R1,
			WS_R2, WS_R3, WS_R4, WS_W1, WS_W2, HOST_MARKED,
			variant->from_file ? HOST_WRITTEN : END, END);
	EXPECT_TRUE(pt_expect_bitmap("present", got, want, WS_PAGES));
	free(want);
	free(got);
}

/*
 * Samples around the guest's work: the one before it sees nothing, the
 * one after it every page the guest touched, the closing one nothing new;
 * the classes are those of an unsampled window.
 */
TEST_F(wset, sampled)
{
	struct wset *w = &self->w;
	uint64_t *got = bitmap__alloc(WS_PAGES), *want, p;

	ASSERT_NE(NULL, got);
	EXPECT_EQ(-EINVAL, wset__sample(w));
	vcpu__expect_io_out(self->vm, WS_PORT_READY, 2, self->sum);
	ASSERT_EQ(0, wset__start(w, self->carry));
	ASSERT_EQ(0, wset__sample(w));
	EXPECT_EQ(0, bitmap__weight(w->accessed, WS_PAGES));
	self->sum += WS_R0 + WS_R1 + WS_R2 + WS_R3 + WS_R4;
	vcpu__expect_io_out(self->vm, WS_PORT_DONE, 2, self->sum);
	ASSERT_EQ(0, wset__sample(w));
	ASSERT_EQ(0, wset__stop(w, self->carry));
	EXPECT_EQ(3, w->samples);

	want = pt_pages(WS_PAGES, WS_CODE_PAGE, WS_STATUS_PAGE, WS_R0, WS_R1,
			WS_R2, WS_R3, WS_R4, WS_W1, WS_W2, END);
	wset__present(w, got);
	EXPECT_TRUE(pt_expect_bitmap("present", got, want, WS_PAGES));
	for (p = 0; p < WS_PAGES; p++)
		EXPECT_EQ(bitmap__test(want, p) ? 2 : 0, w->first_seen[p])
			TH_LOG("page %llu", (unsigned long long)p);
	free(want);
	expect_guest_read_only(_metadata, w, got);
	free(got);
}

/* A window must be open to be closed; a second window starts afresh. */
TEST_F(wset, windows)
{
	struct wset *w = &self->w;

	EXPECT_EQ(-EINVAL, wset__stop(w, self->carry));
	vcpu__expect_io_out(self->vm, WS_PORT_READY, 2, self->sum);
	ASSERT_EQ(0, wset__start(w, self->carry));
	self->sum += WS_R0 + WS_R1 + WS_R2 + WS_R3 + WS_R4;
	vcpu__expect_io_out(self->vm, WS_PORT_DONE, 2, self->sum);
	ASSERT_EQ(0, wset__stop(w, self->carry));
	EXPECT_GT(bitmap__weight(w->dirty, WS_PAGES), 0);

	/* Nothing ran in between: the next window is empty. */
	ASSERT_EQ(0, wset__start(w, self->carry));
	ASSERT_EQ(0, wset__stop(w, self->carry));
	EXPECT_EQ(0, bitmap__weight(w->dirty, WS_PAGES));
	EXPECT_EQ(0, bitmap__weight(w->accessed, WS_PAGES));
	/* The first window's writes stayed in the carry. */
	EXPECT_TRUE(bitmap__test(self->carry, WS_W1));
}

TEST_HARNESS_MAIN
