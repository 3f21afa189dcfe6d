/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pagetrack internals: a session is one open file of /dev/pagetrack,
 * attached to one range of one process's memory.
 */
#ifndef PAGETRACK_INTERNAL_H
#define PAGETRACK_INTERNAL_H

#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/pagetrack.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/workqueue.h>

#include "compat.h"

#define PAGETRACK_VERSION "0.2.0"

struct file;
struct kvm;
struct mm_struct;
struct pid;

/**
 * struct pt_kvm - a VM asked for its guest's accessed bits
 * @kvm: the VM, with a reference held; NULL when none
 * @put: kvm_put_kvm(), bound with symbol_get()
 * @flush: kvm_flush_remote_tlbs(), bound with symbol_get()
 */
struct pt_kvm {
	struct kvm *kvm;
	void (*put)(struct kvm *kvm);
	void (*flush)(struct kvm *kvm);
};

/**
 * struct pt_stats - what netlink reports of a session
 * @scans: scans completed
 * @last_ns: duration of the last scan
 * @last: counts of the last scan, in PAGETRACK_A_LAST_* order
 */
struct pt_stats {
	u64 scans;
	u64 last_ns;
	u64 last[4];
};

/**
 * struct pt_session - one tracker session
 * @node: entry in the list of live sessions
 * @id: unique while the module is loaded
 * @owner_pid: tgid of the opener (global pid namespace)
 * @owner_uid: effective uid of the opener
 * @lock: serializes attach and scans of this session
 * @attached: the fields below are set; only @mm and @vm are cleared, and
 *	only when the target is gone
 * @mm: target address space, held by @mn's registration (mm_count, not
 *	mm_users: a session must not keep an exited process's memory alive);
 *	NULL once the target's address space is torn down, when @mm and @vm
 *	are let go
 * @mn: MMU notifier on @mm, whose release tells the target is gone
 * @release_work: lets go of @mm and @vm after @mn's release
 * @target: target process
 * @start: first byte of the range
 * @end: first byte after the range
 * @vm: KVM VM asked for guest accessed bits, if any
 * @stats_lock: protects @stats against concurrent netlink dumps
 * @stats: counters reported through netlink
 */
struct pt_session {
	struct list_head node;
	u32 id;
	pid_t owner_pid;
	kuid_t owner_uid;

	struct mutex lock;		/* attach and scans */
	bool attached;
	struct mm_struct *mm;
	struct mmu_notifier mn;
	struct work_struct release_work;
	struct pid *target;
	unsigned long start;
	unsigned long end;
	struct pt_kvm vm;

	spinlock_t stats_lock;		/* attachment and stats */
	struct pt_stats stats;
};

/* session.c */
struct pt_session *pt_session_create(void);
void pt_session_destroy(struct pt_session *s);
int pt_session_attach(struct pt_session *s, const struct file *file,
		      const struct pagetrack_attach *a);
typedef int (*pt_session_visit_t)(struct pt_session *s, void *arg);
int pt_sessions_visit(unsigned long *pos, pt_session_visit_t fn, void *arg);

/* scan.c */
int pt_scan(struct pt_session *s, struct pagetrack_scan *scan);

/* kvm.c */
int pt_kvm_attach(struct pt_kvm *vm, int fd, struct mm_struct *mm);
void pt_kvm_detach(struct pt_kvm *vm);
bool pt_kvm_test_young(struct kvm *kvm, unsigned long hva);
bool pt_kvm_clear_young(struct kvm *kvm, unsigned long start,
			unsigned long end);
unsigned long pt_kvm_map_size(struct kvm *kvm, unsigned long hva,
			      unsigned long size);
void pt_kvm_flush(struct pt_kvm *vm);

/* netlink.c */
int pt_netlink_init(void);
void pt_netlink_exit(void);

#endif
