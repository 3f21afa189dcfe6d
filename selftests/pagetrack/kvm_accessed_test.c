// SPDX-License-Identifier: GPL-2.0
/*
 * Guest accessed bits: with NPT/EPT a guest's reads set accessed bits in
 * KVM's tables only.  A session attached with the VM's fd must report
 * exactly the pages the guest read since the last clear; the host page
 * tables alone must not see them.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "kvm_util.h"
#include "pt_util.h"
#include "kvm_accessed_guest.h"

#define END	-1

extern const uint8_t kvm_accessed_guest_start[], kvm_accessed_guest_end[];

FIXTURE(guest) {
	struct kvm_vm *vm;
	int pt;			/* session with the VM */
	struct pt_result *r;
};

FIXTURE_SETUP(guest)
{
	uint64_t page;

	self->vm = vm__create(ACC_PAGES, 0);
	vm__load(self->vm, ACC_CODE_PAGE * GUEST_PAGE_SIZE,
		 kvm_accessed_guest_start,
		 kvm_accessed_guest_end - kvm_accessed_guest_start);
	/* Host-written pages: present in the host tables from the start. */
	for (page = ACC_FIRST_DATA_PAGE; page < ACC_PAGES; page++)
		*(uint16_t *)vm__gpa(self->vm, page * GUEST_PAGE_SIZE) = page;
	vcpu__enter_real_mode(self->vm, ACC_CODE_PAGE * GUEST_PAGE_SIZE);

	self->pt = pt_open();
	ASSERT_EQ(0, pt_attach(self->pt, self->vm->mem,
			       ACC_PAGES * GUEST_PAGE_SIZE,
			       PAGETRACK_ATTACH_KVM, 0, self->vm->vm_fd));
	self->r = pt_result_alloc(ACC_PAGES);
}

FIXTURE_TEARDOWN(guest)
{
	pt_result_free(self->r);
	close(self->pt);
	vm__destroy(self->vm);
}

static uint16_t sum_pages(const int *pages)
{
	uint16_t sum = 0;

	for (; *pages >= 0; pages++)
		sum += *pages;
	return sum;
}

TEST_F(guest, accessed_exact)
{
	static const int s[] = { ACC_S0, ACC_S1, ACC_S2, ACC_S3, END };
	static const int t[] = { ACC_T0, ACC_T1, ACC_T2, END };
	uint16_t all = 0, sum;
	uint64_t *want, *code;
	struct pt_result *r = self->r;
	int page;

	for (page = ACC_FIRST_DATA_PAGE; page < ACC_PAGES; page++)
		all += page;

	/* Phase A maps every page in KVM; then clear host and KVM bits. */
	vcpu__expect_io_out(self->vm, ACC_PORT_A, 2, all);
	ASSERT_EQ(0, pt_scan(self->pt, self->vm->mem,
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	/* Page 0 is the only one neither side ever touched. */
	EXPECT_EQ(ACC_PAGES - 1, r->scan.nr_present);
	EXPECT_GE(r->scan.nr_accessed, ACC_PAGES - ACC_FIRST_DATA_PAGE);
	EXPECT_GT(r->scan.nr_kvm_queries, 0);

	sum = all + sum_pages(s);
	vcpu__expect_io_out(self->vm, ACC_PORT_B, 2, sum);

	/*
	 * Host bits alone miss the guest's reads.  KVM itself may read the
	 * code page from the host side to decode an exit, so that page may
	 * show; none of S may.
	 */
	ASSERT_EQ(0, pt_scan(self->pt, self->vm->mem,
			     PAGETRACK_SCAN_HOST_ONLY, r));
	code = pt_pages(ACC_PAGES, ACC_CODE_PAGE, END);
	bitmap__andnot(r->accessed, r->accessed, code, ACC_PAGES);
	EXPECT_EQ(0, bitmap__weight(r->accessed, ACC_PAGES))
		TH_LOG("host page tables saw guest reads");

	/* KVM's bits alone: exactly S and the code the guest executed. */
	EXPECT_EQ(-EINVAL, pt_scan(self->pt, self->vm->mem,
				   PAGETRACK_SCAN_GUEST_ONLY |
				   PAGETRACK_SCAN_HOST_ONLY, r));
	ASSERT_EQ(0, pt_scan(self->pt, self->vm->mem,
			     PAGETRACK_SCAN_GUEST_ONLY, r));
	want = pt_pages(ACC_PAGES, ACC_CODE_PAGE, ACC_S0, ACC_S1, ACC_S2,
			ACC_S3, END);
	EXPECT_TRUE(pt_expect_bitmap("guest-only accessed", r->accessed,
				     want, ACC_PAGES));
	free(want);

	/* With KVM's bits: exactly S and the code the guest executed. */
	ASSERT_EQ(0, pt_scan(self->pt, self->vm->mem,
			     PAGETRACK_SCAN_CLEAR_ACCESSED, r));
	want = pt_pages(ACC_PAGES, ACC_CODE_PAGE, ACC_S0, ACC_S1, ACC_S2,
			ACC_S3, END);
	EXPECT_TRUE(pt_expect_bitmap("guest accessed", r->accessed, want,
				     ACC_PAGES));
	free(want);

	/*
	 * A page read again after the clear shows again.  On hardware this
	 * needs the guest TLB flush the module does after clearing; under
	 * the nested test VM QEMU flushes on every VMRUN anyway, so here it
	 * checks the clear itself, not the flush.
	 */
	sum += sum_pages(t);
	vcpu__expect_io_out(self->vm, ACC_PORT_C, 2, sum);
	ASSERT_EQ(0, pt_scan(self->pt, self->vm->mem, 0, r));
	want = pt_pages(ACC_PAGES, ACC_CODE_PAGE, ACC_T0, ACC_T1, ACC_T2,
			END);
	EXPECT_TRUE(pt_expect_bitmap("guest accessed after clear",
				     r->accessed, want, ACC_PAGES));
	free(want);
	free(code);
}

/* The VM must belong to the target: a VM made by another process is refused. */
TEST(vm_of_another_process)
{
	const uint64_t n = 4;
	uint8_t *mem = pt_map_anon(n, false);
	struct kvm_vm *vm = vm__create(4, 0);
	pid_t child;
	int status;

	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		/* The inherited VM fd's mm is the parent's. */
		int fd = pt_open();

		_exit(pt_attach(fd, mem, n * PT_PAGE, PAGETRACK_ATTACH_KVM,
				0, vm->vm_fd) == -EINVAL ? 0 : 1);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	vm__destroy(vm);
}

static int module_refs(const char *mod)
{
	char path[64];
	int refs = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &refs) != 1)
			refs = -1;
		fclose(f);
	}
	return refs;
}

/* KVM names each VM's debugfs directory "<pid>-<vm fd>". */
static bool vm_debugfs_exists(int vm_fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d", getpid(),
		 vm_fd);
	return access(path, F_OK) == 0;
}

/*
 * The session holds the VM and kvm.ko while it lives, and lets both go
 * when it is closed: the VM outlives its own fd only as long as the
 * session does.
 */
TEST(release_drops_vm)
{
	int kvm_refs = module_refs("kvm");
	struct kvm_vm *vm = vm__create(4, 0);
	int vm_fd = vm->vm_fd, pt = pt_open();

	ASSERT_GE(kvm_refs, 0);
	ASSERT_TRUE(vm_debugfs_exists(vm_fd)) TH_LOG("is debugfs mounted?");
	ASSERT_EQ(0, pt_attach(pt, vm->mem, 4 * PT_PAGE, PAGETRACK_ATTACH_KVM,
			       0, vm_fd));
	EXPECT_GT(module_refs("kvm"), kvm_refs + 1);

	vm__destroy(vm);
	EXPECT_TRUE(vm_debugfs_exists(vm_fd)) TH_LOG("VM freed under the session");
	close(pt);
	EXPECT_FALSE(vm_debugfs_exists(vm_fd)) TH_LOG("session leaked the VM");
	EXPECT_EQ(kvm_refs, module_refs("kvm"));
}

TEST_HARNESS_MAIN
