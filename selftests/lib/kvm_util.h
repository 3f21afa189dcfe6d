/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KVM VM for selftests: one memory slot at guest physical 0,
 * one vCPU in real mode, and ioctl wrappers that fail the test with the
 * ioctl's name.  Optionally a second slot, the data slot, of a chosen
 * backing (4 KiB pages, THP or hugetlbfs), and a flat 32-bit guest that
 * reads chosen pages of it (vm__create_reader(), vm__read()).
 */
#ifndef PAGETRACK_KVM_UTIL_H
#define PAGETRACK_KVM_UTIL_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "mem_util.h"
#include "test_util.h"

#define GUEST_PAGE_SIZE	4096UL
#define VM_DATA_SLOT	1

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	uint64_t npages;
	/* The data slot, or NULL: its memory, GPA, size and backing. */
	uint8_t *data;
	uint64_t data_gpa;
	uint64_t data_pages;
	enum mem_backing data_backing;
};

/* Pages [first, first + npages) of the data slot. */
struct reader_run {
	uint32_t first;
	uint32_t npages;
};

#define kvm_ioctl(vm, cmd, arg)	sys_ioctl((vm)->kvm_fd, cmd, arg)
#define vm_ioctl(vm, cmd, arg)	sys_ioctl((vm)->vm_fd, cmd, arg)
#define vcpu_ioctl(vm, cmd, arg) sys_ioctl((vm)->vcpu_fd, cmd, arg)

struct kvm_vm *vm__create(uint64_t npages, uint32_t slot_flags);
void vm__destroy(struct kvm_vm *vm);
void vm__load(struct kvm_vm *vm, uint64_t gpa, const void *code, size_t len);
void vcpu__enter_real_mode(struct kvm_vm *vm, uint64_t entry);
void vcpu__enter_flat32(struct kvm_vm *vm, uint64_t entry);
void vcpu__set_regs(struct kvm_vm *vm, uint64_t esi, uint64_t edi,
		    uint64_t ebx);
uint32_t vcpu__run(struct kvm_vm *vm);
void vcpu__expect_io_out(struct kvm_vm *vm, uint16_t port, uint32_t size,
			 uint32_t value);
void vm__get_dirty_log(struct kvm_vm *vm, uint64_t *bitmap);
/* A statistic of the VM from KVM's debugfs, such as "pages_2m". */
uint64_t vm__stat(struct kvm_vm *vm, const char *name);

/*
 * Add the data slot, @npages at @gpa, of @backing, 2 MiB aligned in both
 * GPA and HVA, with KVM_MEM_* @flags.  The host writes each page's guest
 * frame number into its first dword, which also populates it; THP and
 * hugetlb memory must then be huge, or the test fails.
 */
void vm__add_data_slot(struct kvm_vm *vm, uint64_t gpa, uint64_t npages,
		       enum mem_backing backing, uint32_t flags);
/* A VM running reader_guest.S, with a data slot at READER_DATA_GPA. */
struct kvm_vm *vm__create_reader(uint64_t data_pages,
				 enum mem_backing backing, uint32_t flags);
/*
 * Have the guest read the first dword of every page of @runs, and check
 * that it read what the host wrote there.  The host itself does not touch
 * the data slot.
 */
void vm__read(struct kvm_vm *vm, const struct reader_run *runs, int nruns);
void vm__read_page(struct kvm_vm *vm, uint32_t page);
void vm__read_all(struct kvm_vm *vm);

static inline void *vm__gpa(struct kvm_vm *vm, uint64_t gpa)
{
	return vm->mem + gpa;
}

#endif
