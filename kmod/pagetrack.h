/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pagetrack internals: a session is one open file of /dev/pagetrack,
 * attached to one range of one process's memory.
 */
#ifndef PAGETRACK_INTERNAL_H
#define PAGETRACK_INTERNAL_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pagetrack.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "compat.h"

#define PAGETRACK_VERSION "0.2.0"

struct file;
struct kvm;
struct mm_struct;
struct pid;

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
 * @attached: the fields below are set; never cleared before release
 * @mm: target address space, held with mmgrab() (not mmget(): a session
 *	must not keep an exited process's memory alive)
 * @target: target process
 * @start: first byte of the range
 * @end: first byte after the range
 * @kvm: KVM VM asked for guest accessed bits, or NULL
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
	struct pid *target;
	unsigned long start;
	unsigned long end;
	struct kvm *kvm;

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
int pt_kvm_attach(int fd, struct mm_struct *mm, struct kvm **kvmp);
void pt_kvm_detach(struct kvm *kvm);
bool pt_kvm_test_young(struct kvm *kvm, unsigned long hva);
bool pt_kvm_test_clear_young(struct kvm *kvm, unsigned long hva);
void pt_kvm_flush(struct kvm *kvm);

/* netlink.c */
int pt_netlink_init(void);
void pt_netlink_exit(void);

#endif
