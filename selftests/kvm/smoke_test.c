// SPDX-License-Identifier: GPL-2.0
/*
 * KVM smoke test: a real-mode guest runs, exits where expected, and
 * KVM_GET_DIRTY_LOG reports exactly the pages it wrote.
 *
 * Exactness needs care.  KVM's dirty log does not record writes; it
 * records pages KVM mapped *writable* (make_spte() marks the page dirty
 * when it installs a writable SPTE in a dirty-logged slot).  On a read or
 * instruction-fetch fault, hva_to_pfn() maps the page writable whenever
 * the host page is already writable, which it is for every page the VMM
 * itself wrote, e.g. the code it loaded.  So the first log after the guest
 * starts holds its code page and every host-written page it read, though
 * it never wrote them.  Fetching the log write-protects those SPTEs; from
 * then on only real guest writes fault and get logged.  Pages read that the
 * host never touched map the shared zero page read-only and never appear.
 */
#include <stdint.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "bitmap.h"
#include "smoke_guest.h"

extern const uint8_t smoke_guest_start[], smoke_guest_end[];

#define PHASE_A_SUM	(SMOKE_FILL(SMOKE_R0) + SMOKE_FILL(SMOKE_R1) + \
			 SMOKE_FILL(SMOKE_R2))
/* Phase B reads before it writes, so it sees the same values. */
#define PHASE_B_SUM	PHASE_A_SUM

static void fill_page(struct kvm_vm *vm, unsigned int page, uint16_t val)
{
	*(uint16_t *)vm__gpa(vm, page * GUEST_PAGE_SIZE) = val;
}

static uint16_t page_word(struct kvm_vm *vm, unsigned int page)
{
	return *(uint16_t *)vm__gpa(vm, page * GUEST_PAGE_SIZE);
}

static void expect_log(struct __test_metadata *_metadata, uint64_t *log,
		       const unsigned int *pages, unsigned int n)
{
	uint64_t want[SMOKE_PAGES / 64 + 1] = { 0 };
	char got_s[256], want_s[256];
	unsigned int i;

	for (i = 0; i < n; i++)
		bitmap__set(want, pages[i]);
	bitmap__format_runs(log, SMOKE_PAGES, got_s, sizeof(got_s));
	bitmap__format_runs(want, SMOKE_PAGES, want_s, sizeof(want_s));
	TH_LOG("dirty log: %s", got_s);
	EXPECT_TRUE(bitmap__equal(log, want, SMOKE_PAGES))
		TH_LOG("dirty log %s, expected %s", got_s, want_s);
}

FIXTURE(smoke) {
	struct kvm_vm *vm;
};

FIXTURE_SETUP(smoke)
{
	self->vm = vm__create(SMOKE_PAGES, KVM_MEM_LOG_DIRTY_PAGES);
	vm__load(self->vm, SMOKE_CODE_PAGE * GUEST_PAGE_SIZE,
		 smoke_guest_start, smoke_guest_end - smoke_guest_start);
	fill_page(self->vm, SMOKE_R0, SMOKE_FILL(SMOKE_R0));
	fill_page(self->vm, SMOKE_R1, SMOKE_FILL(SMOKE_R1));
	fill_page(self->vm, SMOKE_R2, SMOKE_FILL(SMOKE_R2));
	vcpu__enter_real_mode(self->vm, SMOKE_CODE_PAGE * GUEST_PAGE_SIZE);
}

FIXTURE_TEARDOWN(smoke)
{
	vm__destroy(self->vm);
}

/* The guest reads what the host put there, writes, and halts. */
TEST_F(smoke, exits_and_memory)
{
	struct kvm_vm *vm = self->vm;
	uint32_t reason;

	vcpu__expect_io_out(vm, SMOKE_PORT_A, 2, PHASE_A_SUM);
	EXPECT_EQ(SMOKE_MARK(SMOKE_W1_0), page_word(vm, SMOKE_W1_0));
	EXPECT_EQ(SMOKE_MARK(SMOKE_W1_1), page_word(vm, SMOKE_W1_1));

	vcpu__expect_io_out(vm, SMOKE_PORT_B, 2, PHASE_B_SUM);
	EXPECT_EQ(SMOKE_MARK(SMOKE_W2_0), page_word(vm, SMOKE_W2_0));
	EXPECT_EQ(SMOKE_MARK(SMOKE_W2_1), page_word(vm, SMOKE_W2_1));
	EXPECT_EQ(SMOKE_MARK(SMOKE_W2_2), page_word(vm, SMOKE_W2_2));

	reason = vcpu__run(vm);
	ASSERT_EQ((uint32_t)KVM_EXIT_HLT, reason);
}

/*
 * The first log holds the pages KVM mapped writable: the code page and the
 * host-filled pages the guest only read, besides the two it wrote; not the
 * page it read that the host never touched.
 */
TEST_F(smoke, dirty_log_first_faults)
{
	static const unsigned int want[] = {
		SMOKE_CODE_PAGE, SMOKE_R0, SMOKE_R1, SMOKE_R2,
		SMOKE_W1_0, SMOKE_W1_1,
	};
	uint64_t log[SMOKE_PAGES / 64 + 1] = { 0 };

	vcpu__expect_io_out(self->vm, SMOKE_PORT_A, 2, PHASE_A_SUM);
	vm__get_dirty_log(self->vm, log);
	expect_log(_metadata, log, want, ARRAY_SIZE(want));
}

/* Once the log has been fetched, it reports exactly the pages written. */
TEST_F(smoke, dirty_log_exact)
{
	static const unsigned int want[] = {
		SMOKE_W2_0, SMOKE_W2_1, SMOKE_W2_2,
	};
	uint64_t log[SMOKE_PAGES / 64 + 1] = { 0 };

	vcpu__expect_io_out(self->vm, SMOKE_PORT_A, 2, PHASE_A_SUM);
	vm__get_dirty_log(self->vm, log);
	memset(log, 0, sizeof(log));

	vcpu__expect_io_out(self->vm, SMOKE_PORT_B, 2, PHASE_B_SUM);
	vm__get_dirty_log(self->vm, log);
	expect_log(_metadata, log, want, ARRAY_SIZE(want));

	/* Nothing more was written by halting. */
	ASSERT_EQ((uint32_t)KVM_EXIT_HLT, vcpu__run(self->vm));
	memset(log, 0, sizeof(log));
	vm__get_dirty_log(self->vm, log);
	expect_log(_metadata, log, NULL, 0);
}

TEST_HARNESS_MAIN
