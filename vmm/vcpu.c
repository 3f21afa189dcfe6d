// SPDX-License-Identifier: GPL-2.0
/* vCPUs: creation, boot state, and one run loop thread each. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

#define VCPU_KICK_SIGNAL	SIGUSR1
#define CPUID_MAX_ENTRIES	256

#define APIC_LVT_LINT0		0x350
#define APIC_LVT_LINT1		0x360
#define APIC_MODE_NMI		0x4
#define APIC_MODE_EXTINT	0x7

#define X86_CR0_PE		0x1ULL
#define X86_CR0_PG		0x80000000ULL
#define X86_CR4_PAE		0x20ULL
#define EFER_LME		0x100ULL
#define EFER_LMA		0x400ULL

/* CPUID as KVM supports it, with this vCPU's APIC ID filled in. */
static int vcpu__set_cpuid(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid;
	bool tsc_deadline;
	unsigned int i;
	int ret;

	cpuid = calloc(1, sizeof(*cpuid) +
		       CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	tsc_deadline = ioctl(vcpu->vm->kvm_fd, KVM_CHECK_EXTENSION,
			     KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	cpuid->nent = CPUID_MAX_ENTRIES;
	ret = ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (ret < 0) {
		ret = -errno;
		vmm__log("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffff) | (vcpu->id << 24);
			e->ecx |= 1U << 31;	/* running under a hypervisor */
			/*
			 * KVM's LAPIC emulates the TSC-deadline timer even
			 * where the host has none; with it Linux skips
			 * calibrating the LAPIC timer against the PIT, which
			 * fails under nested emulation.
			 */
			if (tsc_deadline)
				e->ecx |= 1U << 24;
			break;
		case 0xb:
		case 0x1f:
			e->edx = vcpu->id;	/* x2APIC ID */
			break;
		}
	}
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	if (ret < 0) {
		ret = -errno;
		vmm__log("KVM_SET_CPUID2: %s", strerror(errno));
	}
out:
	free(cpuid);
	return ret;
}

/* Virtual-wire mode: LINT0 takes the PIC's ExtINT, LINT1 the NMI. */
static int vcpu__set_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t *lint0 = (uint32_t *)&lapic.regs[APIC_LVT_LINT0];
	uint32_t *lint1 = (uint32_t *)&lapic.regs[APIC_LVT_LINT1];

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	*lint0 = (*lint0 & ~0x700U) | (APIC_MODE_EXTINT << 8);
	*lint1 = (*lint1 & ~0x700U) | (APIC_MODE_NMI << 8);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int vcpu__init(struct vcpu *vcpu, struct vm *vm, unsigned int id)
{
	int ret;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		ret = -errno;
		vmm__log("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return ret;
	}
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return -errno;
	}
	ret = vcpu__set_cpuid(vcpu);
	if (ret)
		return ret;
	ret = vcpu__set_lapic(vcpu);
	if (ret)
		vmm__log("vCPU %u: LAPIC setup: %s", id, strerror(-ret));
	return ret;
}

static void segment(struct kvm_segment *seg, uint16_t selector, uint8_t type,
		    bool code64)
{
	*seg = (struct kvm_segment) {
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.s = 1,
		.g = 1,
		.l = code64,
		.db = !code64,
	};
}

/*
 * The 64-bit boot protocol: long mode, paging on with an identity map,
 * __BOOT_CS/__BOOT_DS flat segments, RSI pointing at the zero page.
 */
int vcpu__setup_boot(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry,
		.rsi = boot_params,
		.rsp = BOOT_STACK,
		.rbp = BOOT_STACK,
		.rflags = 0x2,
	};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	segment(&sregs.cs, BOOT_CS, 0xb, true);
	segment(&sregs.ds, BOOT_DS, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = BOOT_GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = BOOT_IDT;
	sregs.idt.limit = 7;
	sregs.cr0 |= X86_CR0_PE | X86_CR0_PG;
	sregs.cr3 = BOOT_PML4;
	sregs.cr4 |= X86_CR4_PAE;
	sregs.efer |= EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
		vmm__log("vCPU %u: boot registers: %s", vcpu->id,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static bool vcpu__handle_exit(struct vcpu *vcpu);

/*
 * KVM finishes an I/O instruction on the KVM_RUN after its exit; with
 * immediate_exit it does only that, so the state a snapshot saves lies
 * between two instructions.  That KVM_RUN normally fails with EINTR.  It
 * returns 0 when finishing needs userspace again (an MMIO access split in
 * fragments): that exit is handled and the step repeated.  Anything else
 * is an error, and the VM stops.  Returns whether the vCPU may park.
 */
static bool vcpu__finish_io(struct vcpu *vcpu)
{
	for (;;) {
		int ret;

		vcpu->run->immediate_exit = 1;
		ret = ioctl(vcpu->fd, KVM_RUN, 0);
		vcpu->run->immediate_exit = 0;
		if (ret < 0 && errno == EINTR)
			return true;
		if (ret < 0) {
			vmm__log("vCPU %u: KVM_RUN before parking: %s",
				 vcpu->id, strerror(errno));
			vm__request_exit(vcpu->vm, VM_EXIT_ERROR);
			return false;
		}
		if (!vcpu__handle_exit(vcpu))
			return false;
	}
}

/*
 * Park while a pause is requested; returns false when the VM must stop.
 * immediate_exit is cleared first: a kick that lands after this point
 * finds it set again, one that landed before is seen in the flags.
 */
static bool vcpu__may_run(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool run;

	vcpu->run->immediate_exit = 0;
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_requested && vm->exit_reason == VM_RUNNING) {
		bool park;

		pthread_mutex_unlock(&vm->lock);
		park = vcpu__finish_io(vcpu);
		pthread_mutex_lock(&vm->lock);
		if (park) {
			vm->nr_paused++;
			pthread_cond_broadcast(&vm->paused);
			while (vm->pause_requested &&
			       vm->exit_reason == VM_RUNNING)
				pthread_cond_wait(&vm->paused, &vm->lock);
			vm->nr_paused--;
		}
	}
	run = vm->exit_reason == VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return run;
}

static void vcpu__handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size)
		ioport__dispatch(run->io.port, data, run->io.size,
				 run->io.direction == KVM_EXIT_IO_OUT);
}

/* Where the guest was when it died: enough to find the faulting code. */
static void vcpu__log_state(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	/* SVM's shutdown intercept resets the vCPU before KVM exits. */
	if (regs.rip == 0xfff0 && sregs.cs.selector == 0xf000) {
		vmm__log("vCPU %u: in its reset state: KVM does not keep "
			 "the state of a shutdown (AMD)", vcpu->id);
		return;
	}
	vmm__log("vCPU %u: rip %#llx rsp %#llx rflags %#llx cs %#x cpl %u",
		 vcpu->id, regs.rip, regs.rsp, regs.rflags, sregs.cs.selector,
		 sregs.cs.dpl);
	vmm__log("vCPU %u: cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx efer %#llx",
		 vcpu->id, sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4,
		 sregs.efer);
}

/* Returns false when the VM must stop. */
static bool vcpu__handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		metrics__inc(run->io.direction == KVM_EXIT_IO_OUT ?
			     &metrics.vcpu.exit_io_out :
			     &metrics.vcpu.exit_io_in);
		vcpu__handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		metrics__inc(run->mmio.is_write ? &metrics.vcpu.exit_mmio_write :
			     &metrics.vcpu.exit_mmio_read);
		if (run->mmio.len > sizeof(run->mmio.data))
			return true;
		mmio__dispatch(run->mmio.phys_addr, run->mmio.data,
			       run->mmio.len, run->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vmm__log("vCPU %u: triple fault, stopping", vcpu->id);
		vcpu__log_state(vcpu);
		vm__request_exit(vcpu->vm, VM_EXIT_SHUTDOWN);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vm__request_exit(vcpu->vm, VM_EXIT_RESET);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vmm__log("vCPU %u: entry failed, reason %#llx", vcpu->id,
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vmm__log("vCPU %u: KVM internal error, suberror %u", vcpu->id,
			 run->internal.suberror);
		break;
	default:
		vmm__log("vCPU %u: unexpected exit reason %u", vcpu->id,
			 run->exit_reason);
		break;
	}
	metrics__inc(&metrics.vcpu.failures);
	vcpu__log_state(vcpu);
	vm__request_exit(vcpu->vm, VM_EXIT_ERROR);
	return false;
}

static void *vcpu__thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];
	sigset_t kick;

	/* Firecracker's thread name, which its log lines carry. */
	snprintf(name, sizeof(name), "fc_vcpu %u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	while (vcpu__may_run(vcpu)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vmm__log("vCPU %u: KVM_RUN: %s", vcpu->id,
				 strerror(errno));
			vm__request_exit(vcpu->vm, VM_EXIT_ERROR);
			break;
		}
		if (!vcpu__handle_exit(vcpu))
			break;
	}
	return NULL;
}

static void vcpu__kick_handler(int sig)
{
	(void)sig;
}

int vcpu__start(struct vcpu *vcpu)
{
	static const struct sigaction sa = { .sa_handler = vcpu__kick_handler };
	int ret;

	/* No SA_RESTART: the signal must make KVM_RUN return EINTR. */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	ret = pthread_create(&vcpu->thread, NULL, vcpu__thread, vcpu);
	if (ret)
		vmm__log("vCPU %u: thread: %s", vcpu->id, strerror(ret));
	return -ret;
}

/*
 * immediate_exit covers a kick that lands between the exit check and
 * KVM_RUN; the signal covers a vCPU already inside KVM_RUN.
 */
void vcpu__kick(struct vcpu *vcpu)
{
	if (!vcpu->run || !vcpu->thread)
		return;
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

/*
 * Tell the guest's kvmclock that it was stopped by the host, so that its
 * watchdogs do not take the pause for a soft lockup.  EINVAL: the guest
 * has not registered a kvmclock (yet), and there is no one to tell.
 */
void vcpu__kvmclock_ctrl(struct vcpu *vcpu)
{
	if (ioctl(vcpu->fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
		vmm__log("vCPU %u: KVM_KVMCLOCK_CTRL: %s", vcpu->id,
			 strerror(errno));
}

void vcpu__join(struct vcpu *vcpu)
{
	if (vcpu->thread)
		pthread_join(vcpu->thread, NULL);
}
