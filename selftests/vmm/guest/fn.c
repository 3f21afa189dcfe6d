// SPDX-License-Identifier: GPL-2.0
/*
 * The serverless function of bench-restore: a 64 MiB dataset and an
 * 8 MiB output buffer are set up once, before the snapshot; each "go"
 * line on the console is one invocation, which reads the whole dataset,
 * computes over it and writes the whole output, then reports its own
 * run time and a checksum that depends on every dataset byte.
 *
 * A "map" line asks where the two buffers lie in guest-physical memory,
 * so a test on the host can check the recorded working set against them.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DATASET_WORDS	((64 << 20) / sizeof(uint64_t))
#define OUTPUT_WORDS	((8 << 20) / sizeof(uint64_t))

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/*
 * "FN-MAP tag first count" for each run of physically contiguous frames,
 * in hex, then "FN-MAP tag end"; "FN-MAP tag error" when a frame is
 * unknown (pagemap shows frame numbers to root only).
 */
static void print_frames(const char *tag, const void *buf, size_t len)
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
			printf("FN-MAP %s %llx %llu\n", tag,
			       (unsigned long long)first,
			       (unsigned long long)n);
		first = e & pfn_mask;
		n = 1;
	}
	if (ok && n)
		printf("FN-MAP %s %llx %llu\n", tag, (unsigned long long)first,
		       (unsigned long long)n);
	printf("FN-MAP %s %s\n", tag, ok ? "end" : "error");
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	uint64_t *data = malloc(DATASET_WORDS * sizeof(uint64_t));
	uint64_t *out = malloc(OUTPUT_WORDS * sizeof(uint64_t));
	char line[64];
	uint64_t i, n = 0;

	if (!data || !out)
		return 1;
	for (i = 0; i < DATASET_WORDS; i++)
		data[i] = i * 0x9e3779b97f4a7c15ULL;
	/* Not zeroes: the compiler would make malloc and memset a calloc. */
	for (i = 0; i < OUTPUT_WORDS; i++)
		out[i] = ~i;
	printf("FN-READY\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		uint64_t t0, sum = 0;

		if (!strncmp(line, "map", 3)) {
			print_frames("data", data, DATASET_WORDS * sizeof(*data));
			print_frames("out", out, OUTPUT_WORDS * sizeof(*out));
			continue;
		}
		if (strncmp(line, "go", 2))
			continue;
		t0 = now_us();
		for (i = 0; i < DATASET_WORDS; i++)
			sum = (sum ^ data[i]) * 0x100000001b3ULL;
		for (i = 0; i < OUTPUT_WORDS; i++)
			out[i] = sum + i;
		printf("FN-DONE n=%llu us=%llu sum=%016llx\n",
		       (unsigned long long)++n,
		       (unsigned long long)(now_us() - t0),
		       (unsigned long long)sum);
		fflush(stdout);
	}
	return 0;
}
