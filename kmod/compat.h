/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel series pagetrack is built and tested for, and the few
 * interfaces that differ between them.  The module leans on internals
 * that change from one series to the next (the page-table helpers, KVM's
 * MMU notifier and memslots, what a pidfd's file is), so it refuses to
 * build for a series nobody has tested it on, and every difference
 * between the tested ones is one helper here.
 *
 * Keep in step with BUILD_EXCLUSIVE_KERNEL in kmod/dkms.conf.
 */
#ifndef PAGETRACK_COMPAT_H
#define PAGETRACK_COMPAT_H

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/version.h>
#include <asm/mmu.h>

/* Linux x.y, any stable release of it. */
#define PT_SERIES(x, y) \
	(LINUX_VERSION_MAJOR == (x) && LINUX_VERSION_PATCHLEVEL == (y))

#if !PT_SERIES(6, 1) && !PT_SERIES(6, 12)
#error "pagetrack supports Linux 6.1 (Debian 12) and 6.12 (Debian 13) only"
#endif

/* 6.12 hides struct fd's members behind fd_file(). */
static inline struct file *pt_fd_file(struct fd f)
{
#if PT_SERIES(6, 1)
	return f.file;
#else
	return fd_file(f);
#endif
}

/*
 * The struct pid a pidfd refers to, or NULL if @file is no pidfd.
 * pidfd_pid() is not exported.  6.1's pidfd is the anonymous-inode file
 * named "[pidfd]" with the pid as private data; since 6.9 it is a file of
 * pidfs, whose inode holds the pid.
 */
static inline struct pid *pt_pidfd_pid(struct file *file)
{
#if PT_SERIES(6, 1)
	if (file->f_path.mnt->mnt_sb->s_magic == ANON_INODE_FS_MAGIC &&
	    !strcmp(file->f_path.dentry->d_name.name, "[pidfd]"))
		return file->private_data;
#else
	if (file_inode(file)->i_sb->s_magic == PID_FS_MAGIC)
		return file_inode(file)->i_private;
#endif
	return NULL;
}

/* Make this CPU, idle in lazy TLB mode, let go of the mm it holds. */
static inline void pt_leave_mm(void)
{
#if PT_SERIES(6, 1)
	leave_mm(smp_processor_id());
#else
	leave_mm();
#endif
}

/*
 * Map and lock the page table @pmd points to, or return NULL if it points
 * to none (any more).  6.1 frees page tables only under mmap_lock held
 * for write, which the walk excludes.  6.12 may also retract one (a file
 * THP collapse) under the PMD's lock alone and frees it after an RCU grace
 * period: map it under rcu_read_lock() and check, once locked, that the
 * PMD still points to it, as __pte_offset_map_lock() (not exported) does.
 * pte_unmap_unlock() undoes either.
 */
static inline pte_t *pt_pte_offset_map_lock(struct mm_struct *mm,
					    pmd_t *pmd, unsigned long addr,
					    spinlock_t **ptlp)
{
#if PT_SERIES(6, 1)
	return pte_offset_map_lock(mm, pmd, addr, ptlp);
#else
	spinlock_t *ptl;	/* the page table's lock */
	pmd_t val;
	pte_t *pte;

	for (;;) {
		rcu_read_lock();
		val = pmdp_get_lockless(pmd);
		if (pmd_none(val) || !pmd_present(val) ||
		    pmd_trans_huge(val) || pmd_devmap(val) || pmd_bad(val)) {
			rcu_read_unlock();
			return NULL;
		}
		pte = pte_offset_kernel(&val, addr);
		ptl = pte_lockptr(mm, &val);
		spin_lock(ptl);
		if (pmd_same(val, pmdp_get_lockless(pmd))) {
			*ptlp = ptl;
			return pte;
		}
		pte_unmap_unlock(pte, ptl);
	}
#endif
}

/* How many memslot address spaces (normal, SMM) @kvm has. */
#if PT_SERIES(6, 1)
#define pt_kvm_nr_address_spaces(kvm)	KVM_ADDRESS_SPACE_NUM
#else
#define pt_kvm_nr_address_spaces(kvm)	kvm_arch_nr_memslot_as_ids(kvm)
#endif

#endif
