// SPDX-License-Identifier: GPL-2.0
/*
 * A session does not keep a dead VMM's VM alive (issue #10).  A tracker
 * attaches to another process, the VMM, and to its VM; the VMM exits while
 * the session stays open.  Its scans then fail with ESRCH, as today, and
 * the VM must be gone with the VMM: the VM's debugfs directory removed,
 * and the references a VM holds on the KVM vendor module (kvm_amd or
 * kvm_intel) and the session held on kvm.ko dropped, within a short wait
 * (the module may let them go from a workqueue).  Today the session holds
 * the VM, and so both modules, until it is closed.
 *
 * PAGETRACK_ATTACH_KVM takes a VM fd of the caller, so the VMM, a child,
 * passes its VM fd over a unix socket.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "pt_util.h"
#include "sys_util.h"

#define RELEASE_WAIT_MS	2000

/* What the VMM child tells the tracker, with its VM fd attached. */
struct vmm_msg {
	int vm_fd;		/* the fd's number in the child */
};

/* Control message space for one fd, aligned for struct cmsghdr. */
union fd_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static int fd__send(int sock, int fd, const struct vmm_msg *msg)
{
	union fd_cmsg cbuf = { 0 };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == sizeof(*msg) ? 0 : -1;
}

/* The fd received, or -1. */
static int fd__recv(int sock, struct vmm_msg *msg)
{
	union fd_cmsg cbuf = { 0 };
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != sizeof(*msg))
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The VMM: create a VM, hand it over, exit when told to. */
static int vmm_child(int sock)
{
	struct vmm_msg msg;
	int kvm, vm;
	char c;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return 10;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return 11;
	/* /dev/kvm holds the vendor module too: only the VM is to count. */
	close(kvm);
	msg.vm_fd = vm;
	if (fd__send(sock, vm, &msg))
		return 12;
	if (read(sock, &c, 1) != 1)
		return 13;
	return 0;
}

static bool vm_debugfs_exists(pid_t pid, int vm_fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d", pid,
		 vm_fd);
	return access(path, F_OK) == 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

TEST(vmm_exit_releases_vm)
{
	const char *vendor = kvm__vendor_module();
	int vendor_refs = module__refcount(vendor);
	int kvm_refs = module__refcount("kvm");
	struct pt_result *r = pt_result_alloc(4);
	uint8_t *mem = pt_map_anon(4, false);
	int sv[2], vm_fd, pt, status;
	struct vmm_msg msg;
	bool released;
	double t0;
	pid_t child;

	ASSERT_GE(vendor_refs, 0);
	ASSERT_GE(kvm_refs, 0);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				sv));
	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		close(sv[0]);
		_exit(vmm_child(sv[1]));
	}
	close(sv[1]);
	vm_fd = fd__recv(sv[0], &msg);
	ASSERT_GE(vm_fd, 0) TH_LOG("the VMM child sent no VM");
	ASSERT_TRUE(vm_debugfs_exists(child, msg.vm_fd))
		TH_LOG("is debugfs mounted?");
	EXPECT_GT(module__refcount(vendor), vendor_refs)
		TH_LOG("a VM holds no reference on %s: nothing to measure",
		       vendor);

	pt = pt_open();
	ASSERT_EQ(0, pt_attach(pt, mem, 4 * PT_PAGE,
			       PAGETRACK_ATTACH_PID | PAGETRACK_ATTACH_KVM,
			       child, vm_fd));
	ASSERT_EQ(0, pt_scan(pt, mem, PAGETRACK_SCAN_GUEST_ONLY, r));
	close(vm_fd);

	/* The VMM exits; the session stays open. */
	ASSERT_EQ(1, write(sv[0], "x", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("VMM child status %#x", status);

	t0 = now_ms();
	do {
		released = module__refcount(vendor) == vendor_refs &&
			   module__refcount("kvm") == kvm_refs &&
			   !vm_debugfs_exists(child, msg.vm_fd);
		if (!released)
			usleep(10000);
	} while (!released && now_ms() - t0 < RELEASE_WAIT_MS);
	/* Today: the VM lives on, kvm_amd +1, kvm +3 (the session's symbols). */
	EXPECT_FALSE(vm_debugfs_exists(child, msg.vm_fd))
		TH_LOG("the session keeps the dead VMM's VM");
	EXPECT_EQ(vendor_refs, module__refcount(vendor))
		TH_LOG("%s references after the VMM exited", vendor);
	EXPECT_EQ(kvm_refs, module__refcount("kvm"))
		TH_LOG("kvm references after the VMM exited");

	EXPECT_EQ(-ESRCH, pt_scan(pt, mem, 0, r));
	close(pt);
	EXPECT_EQ(vendor_refs, module__refcount(vendor));
	EXPECT_EQ(kvm_refs, module__refcount("kvm"));

	close(sv[0]);
	pt_result_free(r);
	munmap(mem, 4 * PT_PAGE);
}

TEST_HARNESS_MAIN
