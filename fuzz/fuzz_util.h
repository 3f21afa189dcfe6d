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

/*
 * A memfd holding @data, named in @path, @fix (below, or NULL) applied
 * to it first; the fd, or -1.
 */
int fuzz__memfd(const void *data, size_t len, char *path,
		void (*fix)(uint8_t *buf, size_t len));

/*
 * Every format here is checksummed, which a mutation almost always
 * breaks: a fuzzer that only ever sees the checksum refused goes no
 * further.  So in a copy of the input, a checksum field that is zero
 * stands for the right value, and is filled in (a vmstate's zero payload
 * CRC also stands for the right payload length).  mkseeds writes each
 * seed both ways, so the checks themselves stay fuzzed too.
 */
void fuzz__fix_vmstate(uint8_t *buf, size_t len);
void fuzz__fix_layers(uint8_t *buf, size_t len);
void fuzz__fix_memfile_id(uint8_t *buf, size_t len);
/* The zeroing that mkseeds does, for each of them. */
void fuzz__zero_vmstate(uint8_t *buf, size_t len);
void fuzz__zero_layers(uint8_t *buf, size_t len);
void fuzz__zero_memfile_id(uint8_t *buf, size_t len);

/*
 * A memory file's only structure is its identity page, 1 MiB into it, so
 * an input stands for one as "identity page, then the file size": the
 * page (fixed as above; short inputs zero-padded) at MEMFILE_ID_OFFSET
 * of a sparse memfd of the size the next 8 bytes give, or, without them,
 * the size the page names.  Sizes are capped at FUZZ_MEMFILE_MAX.
 */
#define FUZZ_MEMFILE_MAX	(1ULL << 32)
int fuzz__memfile(const uint8_t *data, size_t len, char *path,
		  uint64_t *file_size);

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
