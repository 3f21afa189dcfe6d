// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>

#include "readahead.h"

/*
 * Queue reads of [@off, @off + @len) of @fd without waiting for them; a
 * device that serves requests concurrently then costs its latency about
 * once for the whole range.  Advice only: an error stops it quietly, and
 * the reader reads the rest itself.
 */
void file__readahead(int fd, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, n;

	for (; off < end; off += n) {
		n = end - off < READAHEAD_STEP ? end - off : READAHEAD_STEP;
		if (posix_fadvise(fd, off, n, POSIX_FADV_WILLNEED))
			return;
	}
}
