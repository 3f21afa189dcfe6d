// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "pagetrack": a dump of the live sessions, what
 * ss(8) is to sockets.  Callers without CAP_SYS_ADMIN see only sessions
 * opened under their own effective uid: ranges are addresses, and other
 * users' address-space layouts are not theirs to read.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/pid.h>
#include <net/genetlink.h>

#include "pagetrack.h"

static struct genl_family pt_genl_family;

struct pt_dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	bool admin;
};

static int pt_fill_session(struct sk_buff *skb, struct pt_session *s,
			   u32 portid, u32 seq)
{
	struct pt_stats st;
	unsigned long start, end;
	pid_t target = 0;
	bool attached, kvm;
	void *hdr;

	spin_lock(&s->stats_lock);
	st = s->stats;
	attached = s->attached;
	start = s->start;
	end = s->end;
	kvm = s->vm.kvm;
	spin_unlock(&s->stats_lock);
	if (attached)
		target = pid_nr(s->target);

	hdr = genlmsg_put(skb, portid, seq, &pt_genl_family, NLM_F_MULTI,
			  PAGETRACK_CMD_GET_SESSION);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, PAGETRACK_A_SESSION_ID, s->id) ||
	    nla_put_u32(skb, PAGETRACK_A_OWNER_PID, s->owner_pid) ||
	    nla_put_u32(skb, PAGETRACK_A_TARGET_PID, target) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_START, start, PAGETRACK_A_PAD) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_LENGTH, end - start,
			      PAGETRACK_A_PAD) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_PAGES,
			      (end - start) >> PAGE_SHIFT, PAGETRACK_A_PAD) ||
	    (kvm && nla_put_flag(skb, PAGETRACK_A_KVM)) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_SCANS, st.scans,
			      PAGETRACK_A_PAD) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_LAST_SCAN_NS, st.last_ns,
			      PAGETRACK_A_PAD) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_LAST_PRESENT, st.last[0],
			      PAGETRACK_A_PAD) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_LAST_ACCESSED, st.last[1],
			      PAGETRACK_A_PAD) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_LAST_DIRTY, st.last[2],
			      PAGETRACK_A_PAD) ||
	    nla_put_u64_64bit(skb, PAGETRACK_A_LAST_WRITTEN, st.last[3],
			      PAGETRACK_A_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int pt_dump_one(struct pt_session *s, void *arg)
{
	struct pt_dump_ctx *ctx = arg;

	if (!ctx->admin && !uid_eq(s->owner_uid, current_euid()))
		return 0;
	return pt_fill_session(ctx->skb, s, NETLINK_CB(ctx->cb->skb).portid,
			       ctx->cb->nlh->nlmsg_seq);
}

static int pt_dump_sessions(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct pt_dump_ctx ctx = {
		.skb = skb,
		.cb = cb,
		.admin = netlink_capable(cb->skb, CAP_SYS_ADMIN),
	};
	unsigned long pos = cb->args[0];
	int ret;

	ret = pt_sessions_visit(&pos, pt_dump_one, &ctx);
	cb->args[0] = pos;
	/* A full skb ends this part of the dump; the next resumes at pos. */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ?: skb->len;
}

static const struct genl_small_ops pt_genl_ops[] = {
	{
		.cmd = PAGETRACK_CMD_GET_SESSION,
		.validate = GENL_DONT_VALIDATE_STRICT | GENL_DONT_VALIDATE_DUMP,
		.dumpit = pt_dump_sessions,
	},
};

static struct genl_family pt_genl_family __ro_after_init = {
	.name = PAGETRACK_GENL_NAME,
	.version = PAGETRACK_GENL_VERSION,
	.maxattr = PAGETRACK_A_MAX,
	.module = THIS_MODULE,
	.small_ops = pt_genl_ops,
	.n_small_ops = ARRAY_SIZE(pt_genl_ops),
	.resv_start_op = PAGETRACK_CMD_GET_SESSION + 1,
};

int __init pt_netlink_init(void)
{
	return genl_register_family(&pt_genl_family);
}

void pt_netlink_exit(void)
{
	genl_unregister_family(&pt_genl_family);
}
