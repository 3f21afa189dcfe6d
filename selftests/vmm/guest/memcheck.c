// SPDX-License-Identifier: GPL-2.0
/*
 * Guest workload of the snapshot tests.  It fills a buffer with a known
 * pattern, then every tick changes one page (which one and how depends on
 * the tick number only) and prints the tick, a running checksum and its
 * monotonic time.  Every few ticks it recomputes the checksum from the
 * whole buffer: a page restored from the wrong generation shows as BAD.
 * Being deterministic, two runs from the same state print the same
 * checksums, which is how a restored guest is compared with the original.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BUF_PAGES	2048		/* 8 MiB */
#define PAGE_WORDS	(4096 / sizeof(uint64_t))

static uint64_t pattern(uint64_t i)
{
	return i * 0x9e3779b97f4a7c15ULL ^ (i >> 7);
}

static uint64_t sum_all(const uint64_t *buf)
{
	uint64_t s = 0, i;

	for (i = 0; i < BUF_PAGES * PAGE_WORDS; i++)
		s += buf[i];
	return s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	uint64_t *buf = malloc(BUF_PAGES * 4096);
	uint64_t i, n, sum;

	if (!buf)
		return 1;
	for (i = 0; i < BUF_PAGES * PAGE_WORDS; i++)
		buf[i] = pattern(i);
	sum = sum_all(buf);
	printf("MEMCHECK ready sum=%016llx\n", (unsigned long long)sum);

	for (n = 1;; n++) {
		uint64_t page = (n * 2654435761ULL) % BUF_PAGES;
		uint64_t *w = &buf[page * PAGE_WORDS + n % PAGE_WORDS];

		sum -= *w;
		*w = pattern(n) ^ n;
		sum += *w;
		printf("TICK %llu S=%016llx T=%.2f\n", (unsigned long long)n,
		       (unsigned long long)sum, now());
		if (n % 5 == 0)
			printf("VERIFY %llu %s\n", (unsigned long long)n,
			       sum_all(buf) == sum ? "ok" : "BAD");
		fflush(stdout);
		usleep(100000);
	}
}
