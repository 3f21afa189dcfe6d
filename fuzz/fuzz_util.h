/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every libFuzzer target here shares.  The parsers under test read
 * files by name; the input is handed to them as a memfd, reached through
 * /proc/self/fd, so no target touches the disk.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_PATH_MAX	64

/* A memfd holding @data, named in @path; the fd, or -1. */
int fuzz__memfd(const void *data, size_t len, char *path);

/*
 * A property of the code under test does not hold: report it as a crash,
 * which libFuzzer saves the input of.
 */
#define FUZZ_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: %s does not hold\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#endif
