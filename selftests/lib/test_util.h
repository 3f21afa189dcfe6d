/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the selftests.  Failures abort the calling test with
 * the file, line, failed expression or ioctl name and errno, in the
 * manner of the KVM selftests library; inside a kselftest-harness test the
 * non-zero exit marks that test failed.
 */
#ifndef PAGETRACK_TEST_UTIL_H
#define PAGETRACK_TEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

void __attribute__((noreturn, format(printf, 3, 4)))
test__fail(const char *file, int line, const char *fmt, ...);

/* CLOCK_MONOTONIC in seconds, for waits and elapsed times. */
double test__now_s(void);

#define TEST_REQUIRE(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			test__fail(__FILE__, __LINE__, "%s: " fmt,	\
				   #cond, ##__VA_ARGS__);		\
	} while (0)

/* ioctl() that must succeed; the message names the command. */
#define sys_ioctl(fd, cmd, arg)						\
	({								\
		int __r = ioctl(fd, cmd, arg);				\
		if (__r < 0)						\
			test__fail(__FILE__, __LINE__, "%s failed: %s",	\
				   #cmd, strerror(errno));		\
		__r;							\
	})

/* ioctl() that must fail with errno @err. */
#define sys_ioctl_fails(fd, cmd, arg, err)				\
	do {								\
		int __r = ioctl(fd, cmd, arg);				\
		int __e = errno;					\
		if (__r != -1 || __e != (err))				\
			test__fail(__FILE__, __LINE__,			\
				   "%s returned %d (%s), expected %s",	\
				   #cmd, __r, __r < 0 ? strerror(__e) : "",\
				   strerror(err));			\
	} while (0)

#endif
