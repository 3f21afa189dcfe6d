/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a range of a file into the page cache ahead of its use, with
 * every request queued before any is waited for.
 */
#ifndef PAGETRACK_LIB_READAHEAD_H
#define PAGETRACK_LIB_READAHEAD_H

#include <stdint.h>

/*
 * A call of POSIX_FADV_WILLNEED reads at most one readahead window
 * (force_page_cache_ra() clamps it to the larger of the device's optimal
 * request and the file's readahead size, 128 KiB by default) and ignores
 * the rest of the range, so a range is asked for a window at a time.
 */
#define READAHEAD_STEP	(128u << 10)

void file__readahead(int fd, uint64_t off, uint64_t len);

#endif
