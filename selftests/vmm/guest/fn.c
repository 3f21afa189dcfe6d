// SPDX-License-Identifier: GPL-2.0
/*
 * The serverless function of bench-restore: a 64 MiB dataset and an
 * 8 MiB output buffer are set up once, before the snapshot; each "go"
 * line on the console is one invocation, which reads the whole dataset,
 * computes over it and writes the whole output, then reports its own
 * run time and a checksum that depends on every dataset byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DATASET_WORDS	((64 << 20) / sizeof(uint64_t))
#define OUTPUT_WORDS	((8 << 20) / sizeof(uint64_t))

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
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
	memset(out, 0, OUTPUT_WORDS * sizeof(uint64_t));
	printf("FN-READY\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		uint64_t t0, sum = 0;

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
