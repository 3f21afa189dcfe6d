/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KVM VM for selftests: one memory slot at guest physical 0,
 * one vCPU in real mode, and ioctl wrappers that fail the test with the
 * ioctl's name.
 */
#ifndef PAGETRACK_KVM_UTIL_H
#define PAGETRACK_KVM_UTIL_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "test_util.h"

#define GUEST_PAGE_SIZE	4096UL

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	uint64_t npages;
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

static inline void *vm__gpa(struct kvm_vm *vm, uint64_t gpa)
{
	return vm->mem + gpa;
}

#endif
