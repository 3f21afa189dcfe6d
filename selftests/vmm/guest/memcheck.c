// SPDX-License-Identifier: GPL-2.0
/*
 * Guest workload of the snapshot tests.  It fills a buffer with a known
 * pattern, then every tick changes one page (which one and how depends on
 * the tick number only) and prints the tick, a running checksum and its
 * monotonic time.  Every few ticks it recomputes the checksum from the
 * whole buffer: a page restored from the wrong generation shows as BAD.
 * Being deterministic, two runs from the same state print the same
 * checksums, which is how a restored guest is compared with the original.
 *
 * MEMCHECK_SPREAD_MIB=N on the kernel command line (which passes it to
 * init's environment) spreads the buffer's pages over N MiB, one page in
 * N * 256 / BUF_PAGES: a big guest's memory is sampled across its range
 * at the cost of a small one's, which matters under nested emulation,
 * where every page touched costs.
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

static uint8_t *region;
static uint64_t stride = 1;	/* in pages */

/* Word @w of buffer page @page; the pages are @stride pages apart. */
static uint64_t *word(uint64_t page, uint64_t w)
{
	return (uint64_t *)(region + page * stride * 4096) + w;
}

static uint64_t sum_all(void)
{
	uint64_t s = 0, p, w;

	for (p = 0; p < BUF_PAGES; p++)
		for (w = 0; w < PAGE_WORDS; w++)
			s += *word(p, w);
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
	const char *spread = getenv("MEMCHECK_SPREAD_MIB");
	uint64_t p, w, n, sum;

	if (spread && atol(spread) * 256 > BUF_PAGES)
		stride = atol(spread) * 256 / BUF_PAGES;
	region = malloc(BUF_PAGES * stride * 4096);
	if (!region)
		return 1;
	for (p = 0; p < BUF_PAGES; p++)
		for (w = 0; w < PAGE_WORDS; w++)
			*word(p, w) = pattern(p * PAGE_WORDS + w);
	sum = sum_all();
	printf("MEMCHECK ready sum=%016llx pages=%d stride=%llu\n",
	       (unsigned long long)sum, BUF_PAGES,
	       (unsigned long long)stride);

	for (n = 1;; n++) {
		uint64_t page = (n * 2654435761ULL) % BUF_PAGES;
		uint64_t *x = word(page, n % PAGE_WORDS);

		sum -= *x;
		*x = pattern(n) ^ n;
		sum += *x;
		printf("TICK %llu S=%016llx T=%.2f\n", (unsigned long long)n,
		       (unsigned long long)sum, now());
		if (n % 5 == 0)
			printf("VERIFY %llu %s\n", (unsigned long long)n,
			       sum_all() == sum ? "ok" : "BAD");
		fflush(stdout);
		usleep(100000);
	}
}
