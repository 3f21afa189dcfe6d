// SPDX-License-Identifier: GPL-2.0
/*
 * Who may track what.  Any process that can open /dev/pagetrack may track
 * its own memory.  Another process's takes CAP_SYS_ADMIN and
 * CAP_SYS_PTRACE, held both by the credentials the file was opened with
 * and by the caller; each refusal is EPERM.  The node is 0600 root unless
 * kmod/60-pagetrack.rules makes it 0660 group kvm.
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "pt_util.h"

#define NOBODY		65534
#define NO_GROUP	((gid_t)-1)
#define CAP(c)		(1ULL << (c))

/*
 * Make the effective capability set the permitted one without @lack:
 * uid 0 keeps everything in its permitted set, so a later call can raise
 * what an earlier one lowered.  Raw syscalls: libcap is not guaranteed.
 */
static int caps_lower(uint64_t lack)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int i;

	if (syscall(SYS_capget, &h, d))
		return -errno;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		d[i].effective = d[i].permitted & ~(uint32_t)(lack >> (32 * i));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static bool caps_effective(uint64_t caps)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return false;
	return ((d[0].effective | (uint64_t)d[1].effective << 32) & caps) ==
	       caps;
}

/*
 * Become uid and gid nobody, a member of @group only (none if NO_GROUP).
 * Leaving uid 0 clears every capability.
 */
static int become_nobody(gid_t group)
{
	if (setgroups(group == NO_GROUP ? 0 : 1, &group))
		return -1;
	if (setgid(NOBODY) || setuid(NOBODY))
		return -1;
	return caps_effective(CAP(CAP_SYS_ADMIN)) ? -1 : 0;
}

/* Run @fn in a child; its return value is the child's exit status. */
static int in_child(int (*fn)(void *arg), void *arg)
{
	pid_t child;
	int status;

	fflush(NULL);
	child = fork();
	if (child < 0)
		return -1;
	if (!child)
		_exit(fn(arg));
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Another process to track, which dies with its parent at the latest. */
static pid_t spawn_target(void)
{
	pid_t parent = getpid();
	pid_t child = fork();

	if (!child) {
		/* Failed helpers (test__fail()) exit with no teardown. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	return child;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/*
 * Attach @fd to @target by PID, then by pidfd: both must be refused with
 * EPERM, leaving the session free to track its caller, which needs no
 * privilege.  Returns 0, or which step went wrong.
 */
static int refused_other(int fd, void *mem, pid_t target)
{
	int pidfd, ret;

	ret = pt_attach(fd, mem, PT_PAGE, PAGETRACK_ATTACH_PID, target, 0);
	if (ret != -EPERM) {
		fprintf(stderr, "# attach pid %d: %s, expected EPERM\n",
			target, ret ? strerror(-ret) : "attached");
		return 11;
	}
	pidfd = syscall(SYS_pidfd_open, target, 0);
	if (pidfd < 0)
		return 12;
	ret = pt_attach(fd, mem, PT_PAGE, PAGETRACK_ATTACH_PIDFD, pidfd, 0);
	close(pidfd);
	if (ret != -EPERM) {
		fprintf(stderr, "# attach pidfd of %d: %s, expected EPERM\n",
			target, ret ? strerror(-ret) : "attached");
		return 13;
	}
	ret = pt_attach(fd, mem, PT_PAGE, 0, 0, 0);
	if (ret) {
		fprintf(stderr, "# attach to itself after the refusals: %s\n",
			strerror(-ret));
		return 14;
	}
	return 0;
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* --- the node ------------------------------------------------------------ */

/* Nobody opens the node the module creates, group kvm or not. */
TEST(node_root_only_without_rule)
{
	struct group *kvm = getgrnam("kvm");
	struct stat st;

	if (!access("/run/udev/control", F_OK))
		SKIP(return, "udevd runs here: a rule may set the mode");
	ASSERT_EQ(0, stat(PT_DEVICE, &st)) TH_LOG("is pagetrack.ko loaded?");
	EXPECT_EQ(0600, st.st_mode & 07777)
		TH_LOG("mode %o", st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(0, become_nobody(kvm ? kvm->gr_gid : NO_GROUP));
	EXPECT_EQ(-EACCES, pagetrack__open());
}

/*
 * A private node for the module's device, owned and moded as
 * kmod/60-pagetrack.rules makes /dev/pagetrack (the real node is left
 * alone).  It lives in a directory under /dev, where device nodes work;
 * /tmp may be mounted nodev.
 */
FIXTURE(rule) {
	gid_t kvm;
	char dir[64];
	char node[96];
};

FIXTURE_SETUP(rule)
{
	struct group *kvm = getgrnam("kvm");
	struct stat st;

	self->kvm = kvm ? kvm->gr_gid : NO_GROUP;
	if (self->kvm == NO_GROUP)
		return;		/* each test skips */
	ASSERT_EQ(0, stat(PT_DEVICE, &st)) TH_LOG("is pagetrack.ko loaded?");
	strcpy(self->dir, "/dev/pagetrack-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(self->node, sizeof(self->node), "%s/pagetrack", self->dir);
	ASSERT_EQ(0, mknod(self->node, S_IFCHR | 0600, st.st_rdev));
	/* SUBSYSTEM=="misc", KERNEL=="pagetrack", GROUP="kvm", MODE="0660" */
	ASSERT_EQ(0, chown(self->node, 0, self->kvm));
	ASSERT_EQ(0, chmod(self->node, 0660));
}

FIXTURE_TEARDOWN(rule)
{
	if (self->node[0])
		unlink(self->node);
	if (self->dir[0])
		rmdir(self->dir);
}

/* What a child that becomes nobody is to do. */
struct as_nobody {
	const char *node;	/* the node to open */
	gid_t group;		/* its one group, or NO_GROUP */
	void *mem;		/* a page to attach to */
	pid_t parent;		/* another process to try */
	int sock;		/* where to pass the file on */
};

static int open_as_nobody(void *arg)
{
	const struct as_nobody *a = arg;
	int fd;

	if (become_nobody(a->group))
		return 100;
	fd = open(a->node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? 1 : 2;
	close(fd);
	return 0;
}

/* The rule lets group kvm in, and only group kvm. */
TEST_F(rule, opens_for_group_kvm_only)
{
	struct as_nobody a = { .node = self->node, .group = self->kvm };

	if (self->kvm == NO_GROUP)
		SKIP(return, "no group kvm");
	EXPECT_EQ(0, in_child(open_as_nobody, &a));
	a.group = NO_GROUP;
	EXPECT_EQ(1, in_child(open_as_nobody, &a)) TH_LOG("1: EACCES");
}

/* A member of group kvm without a capability tracks its own memory. */
static int own_memory(void *arg)
{
	const struct as_nobody *a = arg;
	struct pt_result *r = pt_result_alloc(4);
	uint8_t *mem = pt_map_anon(4, false);
	int fd, pidfd, ret;

	if (become_nobody(a->group))
		return 100;
	fd = open(a->node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (pt_attach(fd, mem, 4 * PT_PAGE, 0, 0, 0))
		return 2;
	pt_write_page(mem, 2);
	if (pt_scan(fd, mem, 0, r) || r->scan.nr_present != 1 ||
	    !bitmap__test(r->present, 2) || !bitmap__test(r->dirty, 2))
		return 3;
	close(fd);
	/* Naming itself by pid or pidfd is the same thing. */
	fd = open(a->node, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pt_attach(fd, mem, PT_PAGE, PAGETRACK_ATTACH_PID,
				getpid(), 0))
		return 4;
	close(fd);
	fd = open(a->node, O_RDWR | O_CLOEXEC);
	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (fd < 0 || pidfd < 0)
		return 5;
	ret = pt_attach(fd, mem, PT_PAGE, PAGETRACK_ATTACH_PIDFD, pidfd, 0);
	close(pidfd);
	close(fd);
	pt_result_free(r);
	return ret ? 6 : 0;
}

TEST_F(rule, unprivileged_own_memory)
{
	struct as_nobody a = { .node = self->node, .group = self->kvm };

	if (self->kvm == NO_GROUP)
		SKIP(return, "no group kvm");
	EXPECT_EQ(0, in_child(own_memory, &a));
}

/* Without a capability, neither another uid's process nor its own uid's. */
static int other_process(void *arg)
{
	const struct as_nobody *a = arg;
	pid_t sibling;
	int fd, ret;

	if (become_nobody(a->group))
		return 100;
	fd = open(a->node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ret = refused_other(fd, a->mem, a->parent);
	close(fd);
	if (ret)
		return ret;
	/* Same uid: enough for ptrace, not here. */
	sibling = spawn_target();
	fd = open(a->node, O_RDWR | O_CLOEXEC);
	if (sibling < 0 || fd < 0)
		return 2;
	ret = refused_other(fd, a->mem, sibling);
	close(fd);
	reap(sibling);
	return ret ? ret + 10 : 0;
}

TEST_F(rule, unprivileged_other_process)
{
	struct as_nobody a = {
		.node = self->node,
		.group = self->kvm,
		.mem = pt_map_anon(1, false),
		.parent = getpid(),
	};

	if (self->kvm == NO_GROUP)
		SKIP(return, "no group kvm");
	EXPECT_EQ(0, in_child(other_process, &a));
}

/* --- whose credentials --------------------------------------------------- */

static int open_and_pass(void *arg)
{
	const struct as_nobody *a = arg;
	int fd;

	if (become_nobody(a->group))
		return 100;
	fd = open(a->node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	return send_fd(a->sock, fd) ? 2 : 0;
}

/*
 * An unprivileged opener's file, passed to a fully privileged process,
 * still cannot attach to another process: the file's credentials count.
 */
TEST_F(rule, unprivileged_opener_privileged_caller)
{
	struct as_nobody a = { .node = self->node, .group = self->kvm };
	void *mem = pt_map_anon(1, false);
	int sv[2], fd;
	pid_t target;

	if (self->kvm == NO_GROUP)
		SKIP(return, "no group kvm");
	ASSERT_TRUE(caps_effective(CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_PTRACE)));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	a.sock = sv[1];
	ASSERT_EQ(0, in_child(open_and_pass, &a));
	fd = recv_fd(sv[0]);
	ASSERT_GE(fd, 0);
	target = spawn_target();
	ASSERT_GT(target, 0);
	EXPECT_EQ(0, refused_other(fd, mem, target));
	reap(target);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

static int open_then_drop(void *arg)
{
	const struct as_nobody *a = arg;
	int fd = pagetrack__open();

	if (fd < 0)
		return 1;
	if (become_nobody(NO_GROUP))
		return 100;
	return refused_other(fd, a->mem, a->parent);
}

/*
 * A privileged opener's file, used after its process gave up root, cannot
 * attach to another process: the caller's credentials count.
 */
TEST(privileged_opener_unprivileged_caller)
{
	struct as_nobody a = {
		.mem = pt_map_anon(1, false),
		.parent = getpid(),
	};

	ASSERT_TRUE(caps_effective(CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_PTRACE)))
		TH_LOG("the suite runs as root in the test VM");
	EXPECT_EQ(0, in_child(open_then_drop, &a));
}

/* --- which capabilities -------------------------------------------------- */

/*
 * Root that lacks one capability in its effective set when it opens the
 * device (the file's credentials), or when it attaches (the caller's), or
 * both.  CAP_SYS_ADMIN alone was once enough.
 */
FIXTURE(caps) {
	void *mem;
	pid_t target;
};

FIXTURE_VARIANT(caps) {
	uint64_t opener_lacks;
	uint64_t caller_lacks;
};

FIXTURE_VARIANT_ADD(caps, admin_without_ptrace) {
	.opener_lacks = CAP(CAP_SYS_PTRACE),
	.caller_lacks = CAP(CAP_SYS_PTRACE),
};

FIXTURE_VARIANT_ADD(caps, ptrace_without_admin) {
	.opener_lacks = CAP(CAP_SYS_ADMIN),
	.caller_lacks = CAP(CAP_SYS_ADMIN),
};

FIXTURE_VARIANT_ADD(caps, opener_without_admin) {
	.opener_lacks = CAP(CAP_SYS_ADMIN),
};

FIXTURE_VARIANT_ADD(caps, opener_without_ptrace) {
	.opener_lacks = CAP(CAP_SYS_PTRACE),
};

FIXTURE_VARIANT_ADD(caps, caller_without_admin) {
	.caller_lacks = CAP(CAP_SYS_ADMIN),
};

FIXTURE_VARIANT_ADD(caps, caller_without_ptrace) {
	.caller_lacks = CAP(CAP_SYS_PTRACE),
};

FIXTURE_SETUP(caps)
{
	ASSERT_TRUE(caps_effective(CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_PTRACE)))
		TH_LOG("the suite runs as root in the test VM");
	self->mem = pt_map_anon(1, false);
	self->target = spawn_target();
	ASSERT_GT(self->target, 0);
}

FIXTURE_TEARDOWN(caps)
{
	reap(self->target);
}

TEST_F(caps, other_process_refused)
{
	int fd;

	ASSERT_EQ(0, caps_lower(variant->opener_lacks));
	fd = pt_open();
	/* Raises again what the opener lacked. */
	ASSERT_EQ(0, caps_lower(variant->caller_lacks));
	ASSERT_EQ(!variant->caller_lacks,
		  caps_effective(CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_PTRACE)));
	EXPECT_EQ(0, refused_other(fd, self->mem, self->target));
	close(fd);
}

/* Both capabilities, opener and caller: another process is tracked. */
TEST(privileged_other_process)
{
	const uint64_t n = 8;
	uint8_t *mem = mmap(NULL, n * PT_PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct pt_result *r = pt_result_alloc(n);
	int go[2], fd, pidfd;
	pid_t child;
	char c = 0;

	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Only the child maps page 3: the parent never touched it. */
		mem[3 * PT_PAGE] = 1;
		if (write(go[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(go[0], &c, 1));
	fd = pt_open();
	ASSERT_EQ(0, pt_attach(fd, mem, n * PT_PAGE, PAGETRACK_ATTACH_PID,
			       child, 0));
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	EXPECT_EQ(1, r->scan.nr_present);
	EXPECT_TRUE(bitmap__test(r->present, 3));
	close(fd);
	/* And by pidfd. */
	fd = pt_open();
	pidfd = syscall(SYS_pidfd_open, child, 0);
	ASSERT_GE(pidfd, 0);
	ASSERT_EQ(0, pt_attach(fd, mem, n * PT_PAGE, PAGETRACK_ATTACH_PIDFD,
			       pidfd, 0));
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	EXPECT_EQ(1, r->scan.nr_present);
	close(pidfd);
	close(fd);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	pt_result_free(r);
}

TEST_HARNESS_MAIN
