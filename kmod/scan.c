// SPDX-License-Identifier: GPL-2.0
/*
 * The scan: walk the target's page tables over a range and report, per
 * page, present / accessed / dirty / written-since-mapped, optionally
 * clearing accessed bits; and ask KVM about each entry the host maps,
 * under that entry's lock, as the core's page_referenced_one() does.
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
#include <linux/fs.h>
#include <linux/hugetlb_inline.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/swap.h>
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
	PT_NR_MAPS,
};

/*
 * A huge entry met again by the next chunk: a chunk may end inside it,
 * and its one accessed bit, cleared by the first part, must still count
 * for the second.
 */
struct pt_leaf {
	unsigned long start;
	bool valid;
	bool young;
};

struct pt_walk {
	struct mm_struct *mm;
	struct vm_area_struct *vma;	/* the VMA being walked */
	struct kvm *kvm;		/* asked about guest accesses, or NULL */
	unsigned long base;		/* address of bit 0 of the maps */
	unsigned long *map[PT_NR_MAPS];
	bool clear;			/* clear accessed bits */
	bool host_young;		/* host accessed bits count */
	bool private_file;		/* current VMA: private file mapping */
	bool host_cleared;		/* some host accessed bit was cleared */
	bool kvm_cleared;		/* some KVM accessed bit was cleared */
	u64 kvm_calls;
	struct pt_leaf host_leaf;	/* last host huge entry */
	struct pt_leaf kvm_block;	/* last KVM huge entry asked about */
};

static bool pt_pfn_is_anon(unsigned long pfn)
{
	return pfn_valid(pfn) && PageAnon(pfn_to_page(pfn));
}

static void pt_set(struct pt_walk *w, enum pt_map map, unsigned long addr,
		   unsigned long end)
{
	bitmap_set(w->map[map], (addr - w->base) >> PAGE_SHIFT,
		   (end - addr) >> PAGE_SHIFT);
}

/*
 * A clearing scan consumed an accessed bit that reclaim would have seen:
 * hand it to the page, as a read() would (page_idle and DAMON pass theirs
 * on as well), so that tracking a VM does not make its hot pages look
 * cold.  Caller holds the lock of the entry mapping @pfn.
 */
static void pt_page_accessed(struct pt_walk *w, unsigned long pfn)
{
	struct page *page;

	if (!w->clear || !pfn_valid(pfn) ||
	    (w->vma->vm_flags & (VM_PFNMAP | VM_IO | VM_HUGETLB)))
		return;
	page = pfn_to_page(pfn);
	if (PageReserved(page) || is_zone_device_page(page))
		return;
	folio_mark_accessed(page_folio(page));
}

/* Test, and when clearing clear, one host entry's accessed bit. */
static bool pt_host_young(struct pt_walk *w, bool young, unsigned long *entry)
{
	if (!w->host_young || !young)
		return false;
	if (w->clear) {
		clear_bit(_PAGE_BIT_ACCESSED, entry);
		w->host_cleared = true;
	}
	return true;
}

/*
 * One KVM call about [addr, end): test the entry mapping @addr, or test and
 * clear every entry mapping part of the range.
 */
static bool pt_kvm_ask(struct pt_walk *w, unsigned long addr,
		       unsigned long end)
{
	bool young;

	w->kvm_calls++;
	if (!w->clear)
		return pt_kvm_test_young(w->kvm, addr);
	young = pt_kvm_clear_young(w->kvm, addr, end);
	w->kvm_cleared |= young;
	return young;
}

/*
 * The host maps [addr, addr + PAGE_SIZE) with a 4 KiB entry, so KVM maps
 * it with one of its own at most: one call answers for the page.  Without
 * clearing, a page the host already saw accessed needs no call.
 */
static bool pt_kvm_page(struct pt_walk *w, unsigned long addr,
			bool host_accessed)
{
	if (!w->kvm || (!w->clear && host_accessed))
		return false;
	return pt_kvm_ask(w, addr, addr + PAGE_SIZE);
}

/*
 * KVM maps the whole of the huge block at @block (of which [addr, end) is
 * scanned) with one entry: one call answers for every page of it.  A
 * block met again in the next chunk is not asked again, since clearing
 * consumed its bit the first time.
 */
static bool pt_kvm_block(struct pt_walk *w, unsigned long block,
			 unsigned long addr, unsigned long end,
			 bool host_accessed)
{
	bool young;

	if (w->kvm_block.valid && w->kvm_block.start == block)
		return w->kvm_block.young;
	if (!w->clear && host_accessed)
		return false;
	young = pt_kvm_ask(w, addr, end);
	w->kvm_block = (struct pt_leaf){ .start = block, .valid = true,
					 .young = young };
	return young;
}

/*
 * KVM maps [addr, end), part of a host huge page, with 4 KiB entries (or
 * may: see pt_kvm_map_size()).  Test each page first and clear once after,
 * so that the answer stays exact even if KVM maps a huge entry after all:
 * clearing per page would consume a huge entry's one bit at the first.
 */
static bool pt_kvm_pages(struct pt_walk *w, unsigned long addr,
			 unsigned long end, bool host_accessed)
{
	bool seen = false;
	unsigned long a;

	for (a = addr; a < end && !host_accessed; a += PAGE_SIZE) {
		w->kvm_calls++;
		if (pt_kvm_test_young(w->kvm, a)) {
			pt_set(w, PT_ACCESSED, a, a + PAGE_SIZE);
			seen = true;
		}
	}
	/* With the host's bit set, every page is accessed: only clear. */
	if (w->clear && (seen || host_accessed))
		pt_kvm_ask(w, addr, end);
	return seen;
}

/*
 * Ask KVM about [addr, end), part of the host huge page at @leaf of
 * @size, marking accessed what KVM saw; returns whether it saw any.
 */
static bool pt_kvm_huge(struct pt_walk *w, unsigned long leaf,
			unsigned long size, unsigned long addr,
			unsigned long end, bool host_accessed)
{
	unsigned long ksize, block, next;
	bool young, any = false;

	if (!w->kvm)
		return false;
	ksize = pt_kvm_map_size(w->kvm, leaf, size);
	if (ksize == PAGE_SIZE)
		return pt_kvm_pages(w, addr, end, host_accessed);
	for (; addr < end; addr = next) {
		block = addr & ~(ksize - 1);
		next = min(end, block + ksize);
		/*
		 * A 1 GiB host page KVM maps with 2 MiB entries: each has its
		 * own large-page info, and KVM may map this one 4 KiB.
		 */
		if (ksize < size &&
		    pt_kvm_map_size(w->kvm, block, ksize) == PAGE_SIZE) {
			any |= pt_kvm_pages(w, addr, next, host_accessed);
			continue;
		}
		young = pt_kvm_block(w, block, addr, next, host_accessed);
		if (young)
			pt_set(w, PT_ACCESSED, addr, next);
		any |= young;
	}
	return any;
}

/* Returns false if @pmd no longer points to a page table. */
static bool pt_walk_ptes(struct pt_walk *w, pmd_t *pmd, unsigned long addr,
			 unsigned long end)
{
	pte_t *start_pte, *pte;
	spinlock_t *ptl;	/* the page table's lock */

	start_pte = pt_pte_offset_map_lock(w->mm, pmd, addr, &ptl);
	if (!start_pte)
		return false;
	for (pte = start_pte; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t entry = ptep_get(pte);
		unsigned long bit;
		bool young;

		if (!pte_present(entry))
			continue;
		bit = (addr - w->base) >> PAGE_SHIFT;
		__set_bit(bit, w->map[PT_PRESENT]);
		young = pt_host_young(w, pte_young(entry),
				      (unsigned long *)&pte->pte);
		if (pt_kvm_page(w, addr, young) || young) {
			__set_bit(bit, w->map[PT_ACCESSED]);
			pt_page_accessed(w, pte_pfn(entry));
		}
		if (pte_dirty(entry))
			__set_bit(bit, w->map[PT_DIRTY]);
		if (w->private_file && pt_pfn_is_anon(pte_pfn(entry)))
			__set_bit(bit, w->map[PT_WRITTEN]);
	}
	pte_unmap_unlock(start_pte, ptl);
	return true;
}

/*
 * [addr, end) of the huge entry @entry (a PMD or PUD of @size) is scanned;
 * its lock is held.  The entry has one accessed/dirty pair for all its
 * pages, and KVM maps it with one entry or with several smaller ones.
 */
static void pt_walk_huge(struct pt_walk *w, unsigned long *entry,
			 unsigned long size, bool young, bool dirty,
			 unsigned long pfn, unsigned long addr,
			 unsigned long end)
{
	unsigned long leaf = addr & ~(size - 1);
	bool again = w->host_leaf.valid && w->host_leaf.start == leaf;
	bool kvm_young;

	if (again) {
		young = w->host_leaf.young;
	} else {
		young = pt_host_young(w, young, entry);
		w->host_leaf = (struct pt_leaf){ .start = leaf, .valid = true,
						 .young = young };
	}
	pt_set(w, PT_PRESENT, addr, end);
	if (young)
		pt_set(w, PT_ACCESSED, addr, end);
	if (dirty)
		pt_set(w, PT_DIRTY, addr, end);
	if (w->private_file && pt_pfn_is_anon(pfn))
		pt_set(w, PT_WRITTEN, addr, end);
	kvm_young = pt_kvm_huge(w, leaf, size, addr, end, young);
	if ((young || kvm_young) && !again)
		pt_page_accessed(w, pfn);
}

/*
 * A PMD that maps a transparent or hugetlb huge page.  Returns false if
 * the entry is no longer a huge mapping once locked (split meanwhile).
 */
static bool pt_walk_huge_pmd(struct pt_walk *w, pmd_t *pmd,
			     unsigned long addr, unsigned long end)
{
	spinlock_t *ptl = pmd_lock(w->mm, pmd);
	pmd_t val = *pmd;

	if (!pmd_present(val) || !pmd_leaf(val)) {
		spin_unlock(ptl);
		return pmd_none(val) || !pmd_present(val);
	}
	pt_walk_huge(w, (unsigned long *)pmd, PMD_SIZE, pmd_young(val),
		     pmd_dirty(val), pmd_pfn(val), addr, end);
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
		/* The table may have been replaced meanwhile: look again. */
		if (!pt_walk_ptes(w, pmd, addr, next))
			goto again;
		/* With KVM, a table can cost 512 calls. */
		cond_resched();
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
			if (pud_present(val) && pud_leaf(val))
				pt_walk_huge(w, (unsigned long *)pud, PUD_SIZE,
					     pud_young(val), pud_dirty(val),
					     pud_pfn(val), addr, next);
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
		/*
		 * A shared hugetlb mapping may share its PMD tables with
		 * other processes; huge_pmd_unshare() clears our PUD under
		 * the file's i_mmap_rwsem only (held for write), not under
		 * mmap_lock, so the walk must hold it to follow the PUD.
		 */
		struct address_space *shared = is_vm_hugetlb_page(vma) &&
			(vma->vm_flags & VM_MAYSHARE) ?
			vma->vm_file->f_mapping : NULL;

		w->vma = vma;
		w->private_file = vma->vm_file &&
			!(vma->vm_flags & (VM_SHARED | VM_PFNMAP | VM_IO));
		if (shared)
			i_mmap_lock_read(shared);
		pt_walk_range(w, from, to);
		if (shared)
			i_mmap_unlock_read(shared);
	}
}

/*
 * Runs on each CPU of the target's mm_cpumask(): one that runs the target
 * or, idle, still holds its page tables (lazy TLB mode).  An idle one is
 * also made to let go of them, as the core's own flush IPIs do, so that
 * later scans leave it alone.
 */
static void pt_flush_tlb_one(void *mm)
{
	__flush_tlb_all();
	if (!current->mm && current->active_mm == mm)
		pt_leave_mm();
}

/*
 * Clearing an accessed bit needs no flush for safety, but without one a
 * CPU that still caches the translation does not set the bit again when
 * it touches the page, and the next scan would miss that access.  Only
 * the CPUs in mm_cpumask() hold the target's translations in use; each
 * is flushed once per scan.
 */
static void pt_flush_tlbs(struct mm_struct *mm)
{
	on_each_cpu_mask(mm_cpumask(mm), pt_flush_tlb_one, mm, true);
}

static int pt_scan_check(struct pt_session *s, struct pagetrack_scan *sc,
			 u64 **user_maps)
{
	u64 need = BITS_TO_U64(sc->length >> PAGE_SHIFT) * sizeof(u64);
	int i;

	if (sc->flags & ~PAGETRACK_SCAN_FLAGS)
		return -EINVAL;
	if ((sc->flags & PAGETRACK_SCAN_GUEST_ONLY) &&
	    ((sc->flags & PAGETRACK_SCAN_HOST_ONLY) || !s->vm.kvm))
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

static int pt_scan_range(struct pagetrack_scan *sc, u64 **user_maps,
			 struct pt_walk *w)
{
	unsigned long addr = sc->start, end = sc->start + sc->length;
	unsigned long chunk, cend, npages;
	int i, ret;

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
	return 0;
}

int pt_scan(struct pt_session *s, struct pagetrack_scan *sc)
{
	u64 *user_maps[PT_NR_MAPS] = { NULL };
	struct pt_walk w = { };
	unsigned long *buf;
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
	/* The target may have exited; its page tables are then gone. */
	ret = -ESRCH;
	if (!s->mm)
		goto out_unlock;
	ret = pt_scan_check(s, sc, user_maps);
	if (ret)
		goto out_unlock;
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
	if (!(sc->flags & PAGETRACK_SCAN_HOST_ONLY))
		w.kvm = s->vm.kvm;

	t0 = ktime_get_ns();
	ret = pt_scan_range(sc, user_maps, &w);
	/* Also after a failure: what was cleared must be seen again. */
	if (w.host_cleared)
		pt_flush_tlbs(w.mm);
	if (w.kvm_cleared)
		pt_kvm_flush(&s->vm);
	sc->nr_kvm_queries = w.kvm_calls;
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
