// SPDX-License-Identifier: GPL-2.0
/*
 * The scan: walk the target's page tables over a range and report, per
 * page, present / accessed / dirty / written-since-mapped, optionally
 * clearing accessed bits; then ask KVM about the pages the host maps.
 *
 * walk_page_range() and ptep_test_and_clear_young() are not exported, so
 * the walk uses the page-table inlines under mmap_read_lock() and the
 * page-table locks, as the core walkers do.  Accessed bits are cleared with
 * an atomic bit operation on the entry (what x86's
 * ptep_test_and_clear_young() does); dirty bits are never cleared, so no
 * write can be lost, and permissions are never changed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/tlbflush.h>

#include "pagetrack.h"

#ifndef CONFIG_X86_64
#error "pagetrack clears x86 accessed bits directly; it supports x86-64 only"
#endif

/* Pages per chunk: one page of bitmap per kind. */
#define PT_CHUNK_PAGES	(PAGE_SIZE * BITS_PER_BYTE)

enum pt_map {
	PT_PRESENT,
	PT_ACCESSED,
	PT_DIRTY,
	PT_WRITTEN,
	PT_KVM_YOUNG,	/* scratch: pages KVM reported young */
	PT_NR_MAPS,
};

struct pt_walk {
	struct mm_struct *mm;
	unsigned long base;		/* address of bit 0 of the maps */
	unsigned long *map[PT_NR_MAPS];
	bool clear;			/* clear accessed bits */
	bool host_young;		/* host accessed bits count */
	bool private_file;		/* current VMA: private file mapping */
	bool cleared;			/* some host accessed bit was cleared */
};

static bool pt_pfn_is_anon(unsigned long pfn)
{
	return pfn_valid(pfn) && PageAnon(pfn_to_page(pfn));
}

/* Record [addr, end), all of it mapped by one entry with these bits. */
static void pt_mark(struct pt_walk *w, unsigned long addr, unsigned long end,
		    bool young, bool dirty, bool written)
{
	unsigned long first = (addr - w->base) >> PAGE_SHIFT;
	unsigned int n = (end - addr) >> PAGE_SHIFT;

	bitmap_set(w->map[PT_PRESENT], first, n);
	if (young && w->host_young)
		bitmap_set(w->map[PT_ACCESSED], first, n);
	if (dirty)
		bitmap_set(w->map[PT_DIRTY], first, n);
	if (written)
		bitmap_set(w->map[PT_WRITTEN], first, n);
}

/* Clear the accessed bit of a huge entry; caller holds its lock. */
static void pt_clear_young(struct pt_walk *w, unsigned long *entry)
{
	clear_bit(_PAGE_BIT_ACCESSED, entry);
	w->cleared = true;
}

static void pt_walk_ptes(struct pt_walk *w, pmd_t *pmd, unsigned long addr,
			 unsigned long end)
{
	pte_t *start_pte, *pte;
	spinlock_t *ptl;	/* the page table's lock */

	start_pte = pte_offset_map_lock(w->mm, pmd, addr, &ptl);
	for (pte = start_pte; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t entry = ptep_get(pte);
		unsigned long bit;

		if (!pte_present(entry))
			continue;
		bit = (addr - w->base) >> PAGE_SHIFT;
		__set_bit(bit, w->map[PT_PRESENT]);
		if (w->host_young && pte_young(entry)) {
			__set_bit(bit, w->map[PT_ACCESSED]);
			if (w->clear)
				pt_clear_young(w, (unsigned long *)&pte->pte);
		}
		if (pte_dirty(entry))
			__set_bit(bit, w->map[PT_DIRTY]);
		if (w->private_file && pt_pfn_is_anon(pte_pfn(entry)))
			__set_bit(bit, w->map[PT_WRITTEN]);
	}
	pte_unmap_unlock(start_pte, ptl);
}

/*
 * A PMD that maps a transparent or hugetlb huge page carries one
 * accessed/dirty pair for all its base pages.  Returns false if the entry
 * is no longer a huge mapping once locked (split meanwhile).
 */
static bool pt_walk_huge_pmd(struct pt_walk *w, pmd_t *pmd,
			     unsigned long addr, unsigned long end)
{
	spinlock_t *ptl = pmd_lock(w->mm, pmd);
	pmd_t val = *pmd;
	bool young;

	if (!pmd_present(val) || !pmd_leaf(val)) {
		spin_unlock(ptl);
		return pmd_none(val) || !pmd_present(val);
	}
	young = pmd_young(val);
	pt_mark(w, addr, end, young, pmd_dirty(val),
		w->private_file && pt_pfn_is_anon(pmd_pfn(val)));
	if (young && w->host_young && w->clear)
		pt_clear_young(w, (unsigned long *)pmd);
	spin_unlock(ptl);
	return true;
}

static void pt_walk_pmds(struct pt_walk *w, pud_t *pud, unsigned long addr,
			 unsigned long end)
{
	pmd_t *pmd = pmd_offset(pud, addr);
	unsigned long next;

	do {
		pmd_t val;

		next = pmd_addr_end(addr, end);
again:
		val = READ_ONCE(*pmd);
		if (pmd_none(val) || !pmd_present(val))
			continue;	/* hole, or a migrating huge page */
		if (pmd_leaf(val) || pmd_devmap(val)) {
			if (!pt_walk_huge_pmd(w, pmd, addr, next))
				goto again;
			continue;
		}
		if (pmd_bad(val))
			continue;
		/*
		 * A PMD that points to a page table stays one while we hold
		 * mmap_lock for read: only collapse and free_pgtables()
		 * replace tables, and both take it for write.  (The core's
		 * pmd_trans_unstable() would also do, but is not usable from
		 * a module: it calls the unexported pmd_clear_bad().)
		 */
		pt_walk_ptes(w, pmd, addr, next);
	} while (pmd++, addr = next, addr != end);
}

static void pt_walk_puds(struct pt_walk *w, p4d_t *p4d, unsigned long addr,
			 unsigned long end)
{
	pud_t *pud = pud_offset(p4d, addr);
	unsigned long next;

	do {
		pud_t val;

		next = pud_addr_end(addr, end);
		val = READ_ONCE(*pud);
		if (pud_none(val))
			continue;
		if (pud_leaf(val)) {
			/* A 1 GiB page: one accessed/dirty pair. */
			spinlock_t *ptl = pud_lock(w->mm, pud);

			val = *pud;
			if (pud_present(val) && pud_leaf(val)) {
				pt_mark(w, addr, next, pud_young(val),
					pud_dirty(val), false);
				if (pud_young(val) && w->host_young &&
				    w->clear)
					pt_clear_young(w, (unsigned long *)pud);
			}
			spin_unlock(ptl);
			continue;
		}
		if (pud_bad(val))
			continue;
		pt_walk_pmds(w, pud, addr, next);
	} while (pud++, addr = next, addr != end);
}

static void pt_walk_range(struct pt_walk *w, unsigned long addr,
			  unsigned long end)
{
	unsigned long next;
	pgd_t *pgd = pgd_offset(w->mm, addr);

	do {
		p4d_t *p4d;
		unsigned long p4d_next, p4d_addr = addr;

		next = pgd_addr_end(addr, end);
		if (pgd_none(*pgd) || pgd_bad(*pgd))
			continue;
		p4d = p4d_offset(pgd, addr);
		do {
			p4d_next = p4d_addr_end(p4d_addr, next);
			if (p4d_none(*p4d) || p4d_bad(*p4d))
				continue;
			pt_walk_puds(w, p4d, p4d_addr, p4d_next);
		} while (p4d++, p4d_addr = p4d_next, p4d_addr != next);
	} while (pgd++, addr = next, addr != end);
}

/* Walk the VMAs of [addr, end); gaps between them are not present. */
static void pt_walk_vmas(struct pt_walk *w, unsigned long addr,
			 unsigned long end)
{
	struct vm_area_struct *vma;

	for (vma = find_vma(w->mm, addr); vma && vma->vm_start < end;
	     vma = find_vma(w->mm, vma->vm_end)) {
		unsigned long from = max(addr, vma->vm_start);
		unsigned long to = min(end, vma->vm_end);

		w->private_file = vma->vm_file &&
			!(vma->vm_flags & (VM_SHARED | VM_PFNMAP | VM_IO));
		pt_walk_range(w, from, to);
	}
}

static void pt_flush_tlb_one(void *unused)
{
	__flush_tlb_all();
}

/*
 * Clearing an accessed bit needs no flush for safety, but without one a
 * CPU that still caches the translation does not set the bit again when
 * it touches the page, and the next scan would miss that access.
 */
static void pt_flush_tlbs(void)
{
	on_each_cpu_cond_mask(NULL, pt_flush_tlb_one, NULL, true,
			      cpu_online_mask);
}

/*
 * Ask KVM about each page the host maps (KVM can map nothing else), unless
 * the host already saw it accessed and nothing is to be cleared.  Each
 * call costs KVM's mmu_lock and a memslot lookup; a clearing scan makes
 * one call per page and flushes the guest TLBs once.
 */
static u64 pt_kvm_harvest(struct pt_walk *w, struct kvm *kvm,
			  unsigned long npages)
{
	unsigned long *young = w->map[PT_KVM_YOUNG];
	bool flush = false;
	unsigned long bit;
	u64 queries = 0;

	for_each_set_bit(bit, w->map[PT_PRESENT], npages) {
		unsigned long hva = w->base + (bit << PAGE_SHIFT);

		if (w->clear) {
			queries++;
			if (pt_kvm_test_clear_young(kvm, hva)) {
				__set_bit(bit, young);
				flush = true;
			}
		} else if (!test_bit(bit, w->map[PT_ACCESSED])) {
			queries++;
			if (pt_kvm_test_young(kvm, hva))
				__set_bit(bit, young);
		}
	}
	if (flush)
		pt_kvm_flush(kvm);
	bitmap_or(w->map[PT_ACCESSED], w->map[PT_ACCESSED], young, npages);
	return queries;
}

static int pt_scan_check(struct pt_session *s, struct pagetrack_scan *sc,
			 u64 **user_maps)
{
	u64 need = BITS_TO_U64(sc->length >> PAGE_SHIFT) * sizeof(u64);
	int i;

	if (sc->flags & ~PAGETRACK_SCAN_FLAGS)
		return -EINVAL;
	if ((sc->flags & PAGETRACK_SCAN_GUEST_ONLY) &&
	    ((sc->flags & PAGETRACK_SCAN_HOST_ONLY) || !s->kvm))
		return -EINVAL;
	if (!sc->length || !PAGE_ALIGNED(sc->start) ||
	    !PAGE_ALIGNED(sc->length))
		return -EINVAL;
	if (sc->start < s->start || sc->start >= s->end ||
	    sc->length > s->end - sc->start)
		return -EINVAL;

	user_maps[PT_PRESENT] = u64_to_user_ptr(sc->present);
	user_maps[PT_ACCESSED] = u64_to_user_ptr(sc->accessed);
	user_maps[PT_DIRTY] = u64_to_user_ptr(sc->dirty);
	user_maps[PT_WRITTEN] = u64_to_user_ptr(sc->written);

	/*
	 * Zero the caller's bitmaps up front: a bad pointer fails the scan
	 * before any accessed bit is cleared, so a failed scan changes
	 * nothing.
	 */
	for (i = PT_PRESENT; i <= PT_WRITTEN; i++) {
		if (!user_maps[i])
			continue;
		if (sc->bitmap_bytes < need)
			return -EINVAL;
		if (clear_user((void __user *)user_maps[i], need))
			return -EFAULT;
	}
	return 0;
}

static int pt_copy_chunk(struct pt_walk *w, u64 **user_maps,
			 unsigned long chunk, unsigned long npages)
{
	size_t bytes = BITS_TO_U64(npages) * sizeof(u64);
	size_t offset = chunk * (PT_CHUNK_PAGES / BITS_PER_BYTE);
	int i;

	for (i = PT_PRESENT; i <= PT_WRITTEN; i++) {
		if (!user_maps[i])
			continue;
		if (copy_to_user((u8 __user *)user_maps[i] + offset,
				 w->map[i], bytes))
			return -EFAULT;
	}
	return 0;
}

static int pt_scan_range(struct pt_session *s, struct pagetrack_scan *sc,
			 u64 **user_maps, struct pt_walk *w, struct kvm *kvm)
{
	unsigned long addr = sc->start, end = sc->start + sc->length;
	unsigned long chunk, cend, npages;
	int i, ret = 0;

	for (chunk = 0; addr < end; chunk++, addr = cend) {
		cend = min(end, addr + PT_CHUNK_PAGES * PAGE_SIZE);
		npages = (cend - addr) >> PAGE_SHIFT;
		for (i = 0; i < PT_NR_MAPS; i++)
			bitmap_zero(w->map[i], npages);
		w->base = addr;

		if (mmap_read_lock_killable(w->mm))
			return -EINTR;
		pt_walk_vmas(w, addr, cend);
		mmap_read_unlock(w->mm);

		if (w->cleared) {
			pt_flush_tlbs();
			w->cleared = false;
		}
		if (kvm)
			sc->nr_kvm_queries += pt_kvm_harvest(w, kvm, npages);

		sc->nr_present += bitmap_weight(w->map[PT_PRESENT], npages);
		sc->nr_accessed += bitmap_weight(w->map[PT_ACCESSED], npages);
		sc->nr_dirty += bitmap_weight(w->map[PT_DIRTY], npages);
		sc->nr_written += bitmap_weight(w->map[PT_WRITTEN], npages);

		ret = pt_copy_chunk(w, user_maps, chunk, npages);
		if (ret)
			return ret;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return ret;
}

int pt_scan(struct pt_session *s, struct pagetrack_scan *sc)
{
	u64 *user_maps[PT_NR_MAPS] = { NULL };
	struct pt_walk w = { };
	unsigned long *buf;
	struct kvm *kvm;
	u64 t0;
	int i, ret;

	sc->nr_present = 0;
	sc->nr_accessed = 0;
	sc->nr_dirty = 0;
	sc->nr_written = 0;
	sc->nr_kvm_queries = 0;
	sc->duration_ns = 0;

	mutex_lock(&s->lock);
	ret = -ENOTCONN;
	if (!s->attached)
		goto out_unlock;
	ret = pt_scan_check(s, sc, user_maps);
	if (ret)
		goto out_unlock;

	/* The target may have exited; its page tables are then gone. */
	ret = -ESRCH;
	if (!mmget_not_zero(s->mm))
		goto out_unlock;

	ret = -ENOMEM;
	buf = kvmalloc_array(PT_NR_MAPS, PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		goto out_mmput;
	for (i = 0; i < PT_NR_MAPS; i++)
		w.map[i] = buf + i * (PAGE_SIZE / sizeof(long));
	w.mm = s->mm;
	w.clear = sc->flags & PAGETRACK_SCAN_CLEAR_ACCESSED;
	w.host_young = !(sc->flags & PAGETRACK_SCAN_GUEST_ONLY);
	kvm = (sc->flags & PAGETRACK_SCAN_HOST_ONLY) ? NULL : s->kvm;

	t0 = ktime_get_ns();
	ret = pt_scan_range(s, sc, user_maps, &w, kvm);
	sc->duration_ns = ktime_get_ns() - t0;
	kvfree(buf);

	if (!ret) {
		spin_lock(&s->stats_lock);
		s->stats.scans++;
		s->stats.last_ns = sc->duration_ns;
		s->stats.last[0] = sc->nr_present;
		s->stats.last[1] = sc->nr_accessed;
		s->stats.last[2] = sc->nr_dirty;
		s->stats.last[3] = sc->nr_written;
		spin_unlock(&s->stats_lock);
	}
out_mmput:
	mmput(s->mm);
out_unlock:
	mutex_unlock(&s->lock);
	return ret;
}
