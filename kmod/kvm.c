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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>

#include "pagetrack.h"

/*
 * A session holds one reference on each of these kvm.ko symbols while it
 * holds the VM, which also keeps kvm.ko loaded.
 */
static void pt_kvm_put_symbols(void)
{
	symbol_put(kvm_put_kvm);
	symbol_put(kvm_get_kvm);
	symbol_put(file_is_kvm);
}

int pt_kvm_attach(int fd, struct mm_struct *mm, struct kvm **kvmp)
{
	bool (*is_kvm)(struct file *file);
	void (*get)(struct kvm *kvm);
	struct kvm *kvm;
	struct fd f;
	int ret;

	f = fdget(fd);
	if (!f.file)
		return -EBADF;

	is_kvm = symbol_get(file_is_kvm);
	if (!is_kvm) {
		/* Without kvm.ko loaded, no file is a VM. */
		ret = -EINVAL;
		goto out_fd;
	}
	get = symbol_get(kvm_get_kvm);
	if (!get || !symbol_get(kvm_put_kvm)) {
		if (get)
			symbol_put(kvm_get_kvm);
		symbol_put(file_is_kvm);
		ret = -EINVAL;
		goto out_fd;
	}

	ret = -EINVAL;
	if (!is_kvm(f.file))
		goto out_symbols;
	kvm = f.file->private_data;
	/* The VM must map the target's memory, or its answers mean nothing. */
	if (kvm->mm != mm || !kvm->mmu_notifier.ops)
		goto out_symbols;

	get(kvm);
	*kvmp = kvm;
	fdput(f);
	return 0;

out_symbols:
	pt_kvm_put_symbols();
out_fd:
	fdput(f);
	return ret;
}

void pt_kvm_detach(struct kvm *kvm)
{
	/* Called by pointer: a direct call would make kvm.ko a dependency. */
	void (*put)(struct kvm *kvm) = symbol_get(kvm_put_kvm);

	if (!WARN_ON_ONCE(!put)) {
		put(kvm);
		symbol_put(kvm_put_kvm);
	}
	pt_kvm_put_symbols();
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
 * Test and clear one page without flushing: a clearing scan asks once per
 * page and flushes once at the end (pt_kvm_flush()), instead of testing
 * each page and then clearing and flushing per run.
 */
bool pt_kvm_test_clear_young(struct kvm *kvm, unsigned long hva)
{
	struct mmu_notifier *mn = &kvm->mmu_notifier;

	return mn->ops->clear_young(mn, kvm->mm, hva, hva + PAGE_SIZE);
}

/*
 * Without a flush the guest TLB keeps the translation, and a page touched
 * again through it would not have its accessed bit set again: the next
 * scan would miss that access.
 */
void pt_kvm_flush(struct kvm *kvm)
{
	void (*flush)(struct kvm *kvm) = symbol_get(kvm_flush_remote_tlbs);

	if (!WARN_ON_ONCE(!flush)) {
		flush(kvm);
		symbol_put(kvm_flush_remote_tlbs);
	}
}
