// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <unistd.h>

#include "pt_util.h"

int pt_open(void)
{
	int fd = open(PT_DEVICE, O_RDWR | O_CLOEXEC);

	TEST_REQUIRE(fd >= 0, "open %s: %s", PT_DEVICE, strerror(errno));
	return fd;
}

int pt_module_refcount(void)
{
	FILE *f = fopen("/sys/module/pagetrack/refcnt", "r");
	int refs = -1;

	TEST_REQUIRE(f, "/sys/module/pagetrack/refcnt: %s", strerror(errno));
	TEST_REQUIRE(fscanf(f, "%d", &refs) == 1, "unreadable refcnt");
	fclose(f);
	return refs;
}
