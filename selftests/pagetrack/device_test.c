// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pagetrack exists once the module is loaded, opens, and holds the
 * module while open.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "pt_util.h"

TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(PT_DEVICE, &st)) TH_LOG("is pagetrack.ko loaded?");
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(10, major(st.st_rdev)) TH_LOG("not a misc device");
}

TEST(open_close)
{
	int fd = pt_open();

	EXPECT_EQ(0, close(fd));
}

TEST(module_pinned_while_open)
{
	int fd = pt_open();
	int refs = pt_module_refcount();

	EXPECT_GE(refs, 1);
	close(fd);
	EXPECT_EQ(refs - 1, pt_module_refcount());
}

/* rmmod is refused while a session is open; the module stays usable. */
TEST(unload_refused_while_open)
{
	int fd = pt_open();

	EXPECT_EQ(-1, syscall(SYS_delete_module, "pagetrack", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	close(fd);
	fd = pt_open();
	close(fd);
}

TEST_HARNESS_MAIN
