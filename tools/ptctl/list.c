// SPDX-License-Identifier: GPL-2.0
/* ptctl list: the live tracker sessions, over generic netlink (libnl). */
#include <errno.h>
#include <inttypes.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <stdio.h>

#include "pagetrack.h"
#include "ptctl.h"

struct list_ctx {
	bool json;
	unsigned int rows;
};

static struct nla_policy session_policy[PAGETRACK_A_MAX + 1] = {
	[PAGETRACK_A_SESSION_ID] = { .type = NLA_U32 },
	[PAGETRACK_A_OWNER_PID] = { .type = NLA_U32 },
	[PAGETRACK_A_TARGET_PID] = { .type = NLA_U32 },
	[PAGETRACK_A_START] = { .type = NLA_U64 },
	[PAGETRACK_A_LENGTH] = { .type = NLA_U64 },
	[PAGETRACK_A_PAGES] = { .type = NLA_U64 },
	[PAGETRACK_A_KVM] = { .type = NLA_FLAG },
	[PAGETRACK_A_SCANS] = { .type = NLA_U64 },
	[PAGETRACK_A_LAST_SCAN_NS] = { .type = NLA_U64 },
	[PAGETRACK_A_LAST_PRESENT] = { .type = NLA_U64 },
	[PAGETRACK_A_LAST_ACCESSED] = { .type = NLA_U64 },
	[PAGETRACK_A_LAST_DIRTY] = { .type = NLA_U64 },
	[PAGETRACK_A_LAST_WRITTEN] = { .type = NLA_U64 },
};

static uint64_t u64_attr(struct nlattr **tb, int attr)
{
	return tb[attr] ? nla_get_u64(tb[attr]) : 0;
}

static uint32_t u32_attr(struct nlattr **tb, int attr)
{
	return tb[attr] ? nla_get_u32(tb[attr]) : 0;
}

static int on_session(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[PAGETRACK_A_MAX + 1];
	struct list_ctx *ctx = arg;
	uint64_t start, end;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, PAGETRACK_A_MAX,
			  session_policy) < 0)
		return NL_SKIP;
	start = u64_attr(tb, PAGETRACK_A_START);
	end = start + u64_attr(tb, PAGETRACK_A_LENGTH);

	if (ctx->json) {
		printf("%s{\"id\":%u,\"owner_pid\":%u,\"target_pid\":%u,"
		       "\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64 "\","
		       "\"pages\":%" PRIu64 ",\"kvm\":%s,\"scans\":%" PRIu64
		       ",\"last_scan_ns\":%" PRIu64 ",\"present\":%" PRIu64
		       ",\"accessed\":%" PRIu64 ",\"dirty\":%" PRIu64
		       ",\"written\":%" PRIu64 "}",
		       ctx->rows ? "," : "",
		       u32_attr(tb, PAGETRACK_A_SESSION_ID),
		       u32_attr(tb, PAGETRACK_A_OWNER_PID),
		       u32_attr(tb, PAGETRACK_A_TARGET_PID), start, end,
		       u64_attr(tb, PAGETRACK_A_PAGES),
		       tb[PAGETRACK_A_KVM] ? "true" : "false",
		       u64_attr(tb, PAGETRACK_A_SCANS),
		       u64_attr(tb, PAGETRACK_A_LAST_SCAN_NS),
		       u64_attr(tb, PAGETRACK_A_LAST_PRESENT),
		       u64_attr(tb, PAGETRACK_A_LAST_ACCESSED),
		       u64_attr(tb, PAGETRACK_A_LAST_DIRTY),
		       u64_attr(tb, PAGETRACK_A_LAST_WRITTEN));
	} else {
		printf("%5u %7u %7u %012" PRIx64 "-%012" PRIx64 " %10" PRIu64
		       " %3s %7" PRIu64 " %9.3f %9" PRIu64 " %9" PRIu64
		       " %9" PRIu64 " %9" PRIu64 "\n",
		       u32_attr(tb, PAGETRACK_A_SESSION_ID),
		       u32_attr(tb, PAGETRACK_A_OWNER_PID),
		       u32_attr(tb, PAGETRACK_A_TARGET_PID), start, end,
		       u64_attr(tb, PAGETRACK_A_PAGES),
		       tb[PAGETRACK_A_KVM] ? "yes" : "no",
		       u64_attr(tb, PAGETRACK_A_SCANS),
		       u64_attr(tb, PAGETRACK_A_LAST_SCAN_NS) / 1e6,
		       u64_attr(tb, PAGETRACK_A_LAST_PRESENT),
		       u64_attr(tb, PAGETRACK_A_LAST_ACCESSED),
		       u64_attr(tb, PAGETRACK_A_LAST_DIRTY),
		       u64_attr(tb, PAGETRACK_A_LAST_WRITTEN));
	}
	ctx->rows++;
	return NL_OK;
}

int ptctl_list(const struct ptctl_opts *o)
{
	struct list_ctx ctx = { .json = o->json };
	struct nl_sock *sk;
	struct nl_msg *msg;
	int family, ret;

	sk = nl_socket_alloc();
	if (!sk)
		return ptctl_error("netlink socket", ENOMEM);
	ret = genl_connect(sk);
	if (ret < 0) {
		fprintf(stderr, "ptctl: netlink: %s\n", nl_geterror(ret));
		nl_socket_free(sk);
		return 1;
	}
	family = genl_ctrl_resolve(sk, PAGETRACK_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "ptctl: no generic netlink family '%s': is "
			"pagetrack.ko loaded? (modprobe pagetrack)\n",
			PAGETRACK_GENL_NAME);
		nl_socket_free(sk);
		return 1;
	}

	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 NLM_F_DUMP, PAGETRACK_CMD_GET_SESSION,
				 PAGETRACK_GENL_VERSION)) {
		nlmsg_free(msg);
		nl_socket_free(sk);
		return ptctl_error("netlink message", ENOMEM);
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_session, &ctx);

	if (o->json)
		printf("[");
	else
		printf("%5s %7s %7s %-25s %10s %3s %7s %9s %9s %9s %9s %9s\n",
		       "ID", "OWNER", "TARGET", "RANGE", "PAGES", "KVM",
		       "SCANS", "LAST_MS", "PRESENT", "ACCESSED", "DIRTY",
		       "WRITTEN");
	ret = nl_send_auto(sk, msg);
	if (ret >= 0)
		ret = nl_recvmsgs_default(sk);
	if (o->json)
		printf("]\n");
	nlmsg_free(msg);
	nl_socket_free(sk);
	if (ret < 0) {
		fprintf(stderr, "ptctl: netlink dump: %s\n", nl_geterror(ret));
		return 1;
	}
	return 0;
}
