// SPDX-License-Identifier: GPL-2.0
/*
 * Without CAP_SYS_ADMIN a session tracks its opener's own memory only.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "pt_util.h"

#define NOBODY	65534

/* Run @fn in a child that has dropped to an unprivileged uid. */
static int run_unprivileged(int (*fn)(pid_t parent, void *mem), void *mem)
{
	pid_t parent = getpid(), child;
	int status;

	child = fork();
	if (child < 0)
		return -1;
	if (!child) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		_exit(fn(parent, mem));
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int own_memory(pid_t parent, void *mem)
{
	int fd = pt_open();

	(void)parent;
	if (pt_attach(fd, mem, PT_PAGE, 0, 0, 0))
		return 1;
	close(fd);
	/* Naming itself by pid is the same thing. */
	fd = pt_open();
	if (pt_attach(fd, mem, PT_PAGE, PAGETRACK_ATTACH_PID, getpid(), 0))
		return 2;
	close(fd);
	return 0;
}

static int other_process(pid_t parent, void *mem)
{
	int fd = pt_open(), pidfd;

	if (pt_attach(fd, mem, PT_PAGE, PAGETRACK_ATTACH_PID, parent, 0) !=
	    -EPERM)
		return 1;
	pidfd = syscall(SYS_pidfd_open, parent, 0);
	if (pidfd < 0)
		return 2;
	if (pt_attach(fd, mem, PT_PAGE, PAGETRACK_ATTACH_PIDFD, pidfd, 0) !=
	    -EPERM)
		return 3;
	/* The refusals left the session free to attach to itself. */
	if (pt_attach(fd, mem, PT_PAGE, 0, 0, 0))
		return 4;
	return 0;
}

TEST(unprivileged_own_memory)
{
	void *mem = pt_map_anon(1, false);

	ASSERT_EQ(0, getuid()) TH_LOG("the suite runs as root in the test VM");
	EXPECT_EQ(0, run_unprivileged(own_memory, mem));
}

TEST(unprivileged_other_process)
{
	void *mem = pt_map_anon(1, false);

	EXPECT_EQ(0, run_unprivileged(other_process, mem));
}

/* With CAP_SYS_ADMIN another process's memory can be tracked. */
TEST(admin_other_process)
{
	const uint64_t n = 8;
	uint8_t *mem = mmap(NULL, n * PT_PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct pt_result *r = pt_result_alloc(n);
	int go[2], fd;
	pid_t child;
	char c = 0;

	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
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
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(fd);
	pt_result_free(r);
}

TEST_HARNESS_MAIN
