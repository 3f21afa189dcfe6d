// SPDX-License-Identifier: GPL-2.0
/*
 * Tracker sessions: creation, attachment to a process's range (and
 * optionally a KVM VM), and the list netlink reports.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "pagetrack.h"

static LIST_HEAD(pt_sessions);
static DEFINE_MUTEX(pt_sessions_lock);
static u32 pt_last_id;

/*
 * Let go of the target's mm and VM.  The VM reference would otherwise keep
 * struct kvm, its memory slots and kvm.ko's vendor module alive after the
 * VMM has exited, for as long as the session stays open.
 */
static void pt_session_let_go(struct pt_session *s)
{
	struct pt_kvm vm = { };
	struct mm_struct *mm;

	mutex_lock(&s->lock);
	spin_lock(&s->stats_lock);
	mm = s->mm;
	if (mm) {
		s->mm = NULL;
		vm = s->vm;
		memset(&s->vm, 0, sizeof(s->vm));
	}
	spin_unlock(&s->stats_lock);
	mutex_unlock(&s->lock);

	pt_kvm_detach(&vm);
	/* Drops the registration's mm_count reference; may sleep. */
	if (mm)
		mmu_notifier_unregister(&s->mn, mm);
}

static void pt_session_release_target(struct work_struct *work)
{
	pt_session_let_go(container_of(work, struct pt_session, release_work));
}

/*
 * The target's address space is being torn down (its last user exited):
 * nothing is left to scan.  Unregistering is not allowed from here, so a
 * work item lets go.
 */
static void pt_session_mm_release(struct mmu_notifier *mn,
				  struct mm_struct *mm)
{
	schedule_work(&container_of(mn, struct pt_session, mn)->release_work);
}

static const struct mmu_notifier_ops pt_session_mn_ops = {
	.release = pt_session_mm_release,
};

struct pt_session *pt_session_create(void)
{
	struct pt_session *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	mutex_init(&s->lock);
	spin_lock_init(&s->stats_lock);
	INIT_WORK(&s->release_work, pt_session_release_target);
	s->owner_pid = task_tgid_nr(current);
	s->owner_uid = current_euid();

	mutex_lock(&pt_sessions_lock);
	s->id = ++pt_last_id;
	list_add_tail(&s->node, &pt_sessions);
	mutex_unlock(&pt_sessions_lock);
	return s;
}

void pt_session_destroy(struct pt_session *s)
{
	mutex_lock(&pt_sessions_lock);
	list_del(&s->node);
	mutex_unlock(&pt_sessions_lock);

	if (s->attached) {
		/*
		 * Unregistering may call the release callback, which queues
		 * the work: wait for it before freeing.
		 */
		pt_session_let_go(s);
		flush_work(&s->release_work);
		put_pid(s->target);
	}
	mutex_destroy(&s->lock);
	kfree(s);
}

/*
 * pidfd_pid() is not exported.  A pidfd is the anonymous-inode file named
 * "[pidfd]" whose private data is its struct pid; nothing else is.
 */
static struct pid *pt_pidfd_get_pid(int fd)
{
	struct pid *pid = ERR_PTR(-EINVAL);
	struct fd f = fdget(fd);

	if (!pt_fd_file(f))
		return ERR_PTR(-EBADF);
	if (pt_pidfd_pid(pt_fd_file(f)))
		pid = get_pid(pt_pidfd_pid(pt_fd_file(f)));
	fdput(f);
	return pid;
}

static struct pid *pt_attach_get_pid(const struct pagetrack_attach *a)
{
	struct pid *pid;

	if (a->flags & PAGETRACK_ATTACH_PIDFD)
		return pt_pidfd_get_pid(a->pid);
	if (!(a->flags & PAGETRACK_ATTACH_PID))
		return get_task_pid(current, PIDTYPE_PID);
	if (a->pid <= 0)
		return ERR_PTR(-EINVAL);
	pid = find_get_pid(a->pid);
	return pid ?: ERR_PTR(-ESRCH);
}

static int pt_attach_check(const struct pagetrack_attach *a)
{
	const u32 by_pid = PAGETRACK_ATTACH_PID | PAGETRACK_ATTACH_PIDFD;

	if (a->flags & ~PAGETRACK_ATTACH_FLAGS)
		return -EINVAL;
	if ((a->flags & by_pid) == by_pid)
		return -EINVAL;
	if (!(a->flags & by_pid) && a->pid)
		return -EINVAL;
	if (!(a->flags & PAGETRACK_ATTACH_KVM) && a->kvm_fd)
		return -EINVAL;
	if (!a->length || !PAGE_ALIGNED(a->start) || !PAGE_ALIGNED(a->length))
		return -EINVAL;
	if (a->start >= TASK_SIZE_MAX || a->length > TASK_SIZE_MAX - a->start)
		return -EINVAL;
	return 0;
}

/*
 * Tracking another process shows when it touches each page, and clearing
 * its accessed bits steers reclaim of its memory: that takes both
 * CAP_SYS_ADMIN and CAP_SYS_PTRACE, held by whoever opened @file (whose
 * descriptor may have been passed on) and by the caller.  Both checks go
 * through the LSM capable hook.  The ptrace access check of the target
 * (ptrace_may_access(), security_ptrace_access_check()) is not exported to
 * modules in 6.1, so Yama and the LSMs' ptrace rules are not consulted.
 */
static bool pt_may_track_other(const struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN) &&
	       file_ns_capable(file, &init_user_ns, CAP_SYS_PTRACE) &&
	       capable(CAP_SYS_ADMIN) && capable(CAP_SYS_PTRACE);
}

int pt_session_attach(struct pt_session *s, const struct file *file,
		      const struct pagetrack_attach *a)
{
	struct pt_kvm vm = { };
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;
	int ret;

	ret = pt_attach_check(a);
	if (ret)
		return ret;

	mutex_lock(&s->lock);
	if (s->attached) {
		ret = -EBUSY;
		goto out_unlock;
	}

	pid = pt_attach_get_pid(a);
	if (IS_ERR(pid)) {
		ret = PTR_ERR(pid);
		goto out_unlock;
	}
	task = get_pid_task(pid, PIDTYPE_PID);
	mm = task ? get_task_mm(task) : NULL;
	if (task)
		put_task_struct(task);
	if (!mm) {
		/* Gone, exiting, or a kernel thread. */
		ret = -ESRCH;
		goto out_pid;
	}

	ret = -EPERM;
	if (mm != current->mm && !pt_may_track_other(file))
		goto out_mm;

	if (a->flags & PAGETRACK_ATTACH_KVM) {
		ret = pt_kvm_attach(&vm, a->kvm_fd, mm);
		if (ret)
			goto out_mm;
	}

	/* Holds mm_count, not mm_users, until pt_session_let_go(). */
	s->mn.ops = &pt_session_mn_ops;
	ret = mmu_notifier_register(&s->mn, mm);
	if (ret) {
		pt_kvm_detach(&vm);
		goto out_mm;
	}

	spin_lock(&s->stats_lock);
	s->mm = mm;
	s->target = pid;
	s->start = a->start;
	s->end = a->start + a->length;
	s->vm = vm;
	s->attached = true;
	spin_unlock(&s->stats_lock);
	mmput(mm);
	mutex_unlock(&s->lock);
	return 0;

out_mm:
	mmput(mm);
out_pid:
	put_pid(pid);
out_unlock:
	mutex_unlock(&s->lock);
	return ret;
}

/*
 * Call @fn for each session with an id above *@pos, in id order, updating
 * *@pos as it goes; stop early when @fn returns non-zero.  Ids, not list
 * positions, make the cursor: sessions closing between two parts of a
 * netlink dump neither repeat nor hide others.
 */
int pt_sessions_visit(unsigned long *pos, pt_session_visit_t fn, void *arg)
{
	struct pt_session *s;
	int ret = 0;

	mutex_lock(&pt_sessions_lock);
	list_for_each_entry(s, &pt_sessions, node) {
		if (s->id <= *pos)
			continue;
		ret = fn(s, arg);
		if (ret)
			break;
		*pos = s->id;
	}
	mutex_unlock(&pt_sessions_lock);
	return ret;
}
