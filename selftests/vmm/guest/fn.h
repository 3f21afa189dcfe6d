/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The serverless function of bench-restore, shared by its two front ends:
 * fn.c, fed over the serial console, and fnd.c, a server on vsock.
 *
 * A dataset (64 MiB unless a front end is told otherwise) and an 8 MiB
 * output buffer are set up once, before the snapshot; each invocation
 * reads the whole dataset, computes over it and writes the whole output,
 * and yields a checksum that depends on every dataset byte.  The replies are the same lines whichever front end
 * carries them, so the host side parses one format:
 *
 *   FN-DONE n=<invocation> us=<run time> sum=<checksum, 16 hex digits>
 *   FN-MAP <tag> <first frame> <count>   (hex, decimal), then
 *   FN-MAP <tag> end                     or FN-MAP <tag> error
 *
 * Kept in a header of static functions because each front end is one
 * static program built from one source file.
 */
#ifndef PT_GUEST_FN_H
#define PT_GUEST_FN_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define FN_DATASET_MIB		64
#define FN_DATASET_MAX_MIB	4096
#define FN_DATASET_WORDS	((FN_DATASET_MIB << 20) / sizeof(uint64_t))
#define FN_OUTPUT_WORDS		((8 << 20) / sizeof(uint64_t))

struct fn {
	uint64_t *data;
	uint64_t *out;
	uint64_t data_words;
	uint64_t calls;
};

static inline uint64_t fn__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/*
 * Allocate and fill both buffers, so that every page is resident; the
 * dataset is @data_mib MiB (1 to FN_DATASET_MAX_MIB).
 */
static inline int fn__init(struct fn *fn, unsigned int data_mib)
{
	uint64_t i;

	if (!data_mib || data_mib > FN_DATASET_MAX_MIB)
		return -1;
	fn->calls = 0;
	fn->data_words = ((uint64_t)data_mib << 20) / sizeof(uint64_t);
	fn->data = malloc(fn->data_words * sizeof(uint64_t));
	fn->out = malloc(FN_OUTPUT_WORDS * sizeof(uint64_t));
	if (!fn->data || !fn->out)
		return -1;
	for (i = 0; i < fn->data_words; i++)
		fn->data[i] = i * 0x9e3779b97f4a7c15ULL;
	/* Not zeroes: the compiler would make malloc and memset a calloc. */
	for (i = 0; i < FN_OUTPUT_WORDS; i++)
		fn->out[i] = ~i;
	return 0;
}

/* One invocation; writes its FN-DONE line to @f. */
static inline uint64_t fn__invoke(struct fn *fn, FILE *f)
{
	uint64_t i, t0 = fn__now_us(), sum = 0;

	for (i = 0; i < fn->data_words; i++)
		sum = (sum ^ fn->data[i]) * 0x100000001b3ULL;
	for (i = 0; i < FN_OUTPUT_WORDS; i++)
		fn->out[i] = sum + i;
	fprintf(f, "FN-DONE n=%llu us=%llu sum=%016llx\n",
		(unsigned long long)++fn->calls,
		(unsigned long long)(fn__now_us() - t0),
		(unsigned long long)sum);
	fflush(f);
	return sum;
}

/*
 * What a fresh function's first invocation computes over the default
 * dataset, run in the calling process: the sum a test checks a guest's
 * reply against; 0 if it cannot run here.
 */
static inline uint64_t fn__expected_sum(void)
{
	FILE *null = fopen("/dev/null", "w");
	uint64_t sum = 0;
	struct fn fn;

	if (!null)
		return 0;
	if (!fn__init(&fn, FN_DATASET_MIB)) {
		sum = fn__invoke(&fn, null);
		free(fn.data);
		free(fn.out);
	}
	fclose(null);
	return sum;
}

/*
 * "FN-MAP tag first count" for each run of physically contiguous frames,
 * in hex, then "FN-MAP tag end"; "FN-MAP tag error" when a frame is
 * unknown (pagemap shows frame numbers to root only).
 */
static inline void fn__print_frames(FILE *f, const char *tag,
				    const void *buf, size_t len)
{
	const uint64_t pfn_mask = (1ULL << 55) - 1;
	uint64_t page, end, first = 0, n = 0, e = 0;
	long psz = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	bool ok = fd >= 0;

	end = ((uintptr_t)buf + len + psz - 1) / psz;
	for (page = (uintptr_t)buf / psz; ok && page < end; page++) {
		ok = pread(fd, &e, sizeof(e), page * sizeof(e)) == sizeof(e) &&
		     (e >> 63) && (e & pfn_mask);
		if (ok && n && (e & pfn_mask) == first + n) {
			n++;
			continue;
		}
		if (n)
			fprintf(f, "FN-MAP %s %llx %llu\n", tag,
				(unsigned long long)first,
				(unsigned long long)n);
		first = e & pfn_mask;
		n = 1;
	}
	if (ok && n)
		fprintf(f, "FN-MAP %s %llx %llu\n", tag,
			(unsigned long long)first, (unsigned long long)n);
	fprintf(f, "FN-MAP %s %s\n", tag, ok ? "end" : "error");
	fflush(f);
	if (fd >= 0)
		close(fd);
}

/* Where both buffers lie in guest-physical memory. */
static inline void fn__map(struct fn *fn, FILE *f)
{
	fn__print_frames(f, "data", fn->data,
			 fn->data_words * sizeof(*fn->data));
	fn__print_frames(f, "out", fn->out,
			 FN_OUTPUT_WORDS * sizeof(*fn->out));
}

#endif /* PT_GUEST_FN_H */
