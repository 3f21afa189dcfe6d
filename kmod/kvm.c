// SPDX-License-Identifier: GPL-2.0
/*
 * Guest accessed bits from KVM's own page tables.
 *
 * With NPT/EPT the hardware sets accessed bits in KVM's tables, never in
 * the host's, so the host page tables cannot tell what a guest touched.
 * KVM answers the primary MMU's aging questions through its MMU notifier;
 * pagetrack asks the same questions directly, holding a reference on the
 * VM.  kvm.ko is bound with symbol_get() so that pagetrack loads, and
 * tracks plain process memory, without it.
 *
 * A KVM entry has one accessed bit however many pages it maps.  To report
 * each page of a 2 MiB entry as accessed, and to ask once per entry rather
 * than once per page, the walk needs the size KVM maps a host huge page
 * with: pt_kvm_map_size() predicts it from the rules KVM's fault path
 * applies (arch/x86/kvm/mmu/mmu.c, kvm_mmu_hugepage_adjust()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <asm/cpufeature.h>

#include "pagetrack.h"

int pt_kvm_attach(struct pt_kvm *vm, int fd, struct mm_struct *mm)
{
	bool (*is_kvm)(struct file *file);
	void (*get)(struct kvm *kvm);
	struct fd f;
	int ret = -EINVAL;

	f = fdget(fd);
	if (!pt_fd_file(f))
		return -EBADF;

	/* Without kvm.ko loaded, no file is a VM. */
	is_kvm = symbol_get(file_is_kvm);
	if (!is_kvm)
		goto out_fd;
	vm->put = symbol_get(kvm_put_kvm);
	vm->flush = symbol_get(kvm_flush_remote_tlbs);
	if (!vm->put || !vm->flush)
		goto out_symbols;
	if (!is_kvm(pt_fd_file(f)))
		goto out_symbols;
	vm->kvm = pt_fd_file(f)->private_data;
	/* The VM must map the target's memory, or its answers mean nothing. */
	if (vm->kvm->mm != mm || !vm->kvm->mmu_notifier.ops) {
		vm->kvm = NULL;
		goto out_symbols;
	}
	/*
	 * The file holds a reference and we hold the file, so the VM cannot
	 * go away meanwhile.  Called by pointer: a direct call would make
	 * kvm.ko a dependency of pagetrack.ko.
	 */
	get = symbol_get(kvm_get_kvm);
	if (!get) {
		vm->kvm = NULL;
		goto out_symbols;
	}
	get(vm->kvm);
	symbol_put(kvm_get_kvm);
	symbol_put(file_is_kvm);
	fdput(f);
	return 0;

out_symbols:
	if (vm->flush)
		symbol_put(kvm_flush_remote_tlbs);
	if (vm->put)
		symbol_put(kvm_put_kvm);
	vm->put = NULL;
	vm->flush = NULL;
	symbol_put(file_is_kvm);
out_fd:
	fdput(f);
	return ret;
}

/* Drop the VM and the kvm.ko symbols; the module may unload after this. */
void pt_kvm_detach(struct pt_kvm *vm)
{
	if (!vm->kvm)
		return;
	vm->put(vm->kvm);
	symbol_put(kvm_flush_remote_tlbs);
	symbol_put(kvm_put_kvm);
	vm->kvm = NULL;
	vm->put = NULL;
	vm->flush = NULL;
}

/*
 * Each call takes KVM's mmu_lock and walks its memslots: callers ask only
 * for pages the host maps, since KVM cannot map what the host does not.
 */
bool pt_kvm_test_young(struct kvm *kvm, unsigned long hva)
{
	struct mmu_notifier *mn = &kvm->mmu_notifier;

	return mn->ops->test_young(mn, kvm->mm, hva);
}

/*
 * Test and clear every KVM entry that maps part of [start, end), without
 * flushing: a scan flushes once at its end (pt_kvm_flush()).
 */
bool pt_kvm_clear_young(struct kvm *kvm, unsigned long start,
			unsigned long end)
{
	struct mmu_notifier *mn = &kvm->mmu_notifier;

	return mn->ops->clear_young(mn, kvm->mm, start, end);
}

/*
 * Without a flush the guest TLB keeps the translation, and a page touched
 * again through it would not have its accessed bit set again: the next
 * scan would miss that access.
 */
void pt_kvm_flush(struct pt_kvm *vm)
{
	vm->flush(vm->kvm);
}

/*
 * Whether KVM's own page-table entries follow the host's page size.  With
 * the TDP MMU, a fault maps the largest size the host mapping and the
 * memslot allow.  Shadow paging follows the guest's page sizes instead,
 * and the iTLB-multihit workaround (nx_huge_pages, on by default on CPUs
 * with the erratum) maps executed pages 4 KiB: for those, sizes cannot be
 * predicted.
 */
static bool pt_kvm_maps_like_host(struct kvm *kvm)
{
	/*
	 * The TDP MMU has roots once a vCPU ran; shadow paging never has.
	 * (Whether it is enabled is not exported.)  Read without the lock:
	 * until roots exist, or while they are replaced, the answer is
	 * merely "ask per page", which is exact too.
	 */
	if (list_empty_careful(&kvm->arch.tdp_mmu_roots))
		return false;
	return !boot_cpu_has_bug(X86_BUG_ITLB_MULTIHIT) ||
	       kvm->arch.disable_nx_huge_pages;
}

/*
 * The largest size, at most @size, that @slot lets KVM map @hva with:
 * none while dirty logging (KVM then maps 4 KiB), else what the slot's
 * large-page info allows (it forbids sizes the slot does not cover fully
 * or aligned, and pages KVM write-tracks).
 */
static unsigned long pt_slot_map_size(const struct kvm_memory_slot *slot,
				      unsigned long hva, unsigned long size)
{
	gfn_t gfn = hva_to_gfn_memslot(hva, (struct kvm_memory_slot *)slot);
	int level;

	if (kvm_slot_dirty_track_enabled(slot))
		return PAGE_SIZE;
	level = size >= PUD_SIZE ? PG_LEVEL_1G : PG_LEVEL_2M;
	for (; level > PG_LEVEL_4K; level--) {
		unsigned int shift = KVM_HPAGE_GFN_SHIFT(level);
		gfn_t idx = (gfn >> shift) - (slot->base_gfn >> shift);

		if (!READ_ONCE(slot->arch.lpage_info[level - 2][idx].disallow_lpage))
			return KVM_HPAGE_SIZE(level);
	}
	return PAGE_SIZE;
}

/**
 * pt_kvm_map_size() - size of the KVM entry that maps a host huge page
 * @kvm: the VM
 * @hva: start of the host leaf, aligned to @size
 * @size: size of the host leaf (PMD_SIZE or PUD_SIZE)
 *
 * Return: the size KVM maps [@hva, @hva + @size) with once it maps it:
 * @size or less, or PAGE_SIZE when KVM maps (or may map) it 4 KiB.  Every
 * memslot that maps the range, in every address space, must allow the
 * size.  A range no memslot maps is never mapped by KVM: @size is then as
 * good an answer as any.
 */
unsigned long pt_kvm_map_size(struct kvm *kvm, unsigned long hva,
			      unsigned long size)
{
	struct kvm_memory_slot *slot;
	int as_id, bkt, idx;

	if (!pt_kvm_maps_like_host(kvm))
		return PAGE_SIZE;
	/* NPT maps 1 GiB; EPT may not, but only where the host can. */
	if (size >= PUD_SIZE && !boot_cpu_has(X86_FEATURE_GBPAGES))
		size = PMD_SIZE;

	idx = srcu_read_lock(&kvm->srcu);
	for (as_id = 0; as_id < pt_kvm_nr_address_spaces(kvm); as_id++) {
		struct kvm_memslots *slots = __kvm_memslots(kvm, as_id);

		kvm_for_each_memslot(slot, bkt, slots) {
			unsigned long first = slot->userspace_addr;
			unsigned long last = first +
				(slot->npages << PAGE_SHIFT) - 1;

			if (hva > last || hva + size - 1 < first)
				continue;
			if (hva < first || hva + size - 1 > last) {
				/* The slot covers part of the leaf only. */
				size = PAGE_SIZE;
				break;
			}
			size = min(size, pt_slot_map_size(slot, hva, size));
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return size;
}
