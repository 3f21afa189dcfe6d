// SPDX-License-Identifier: GPL-2.0
/*
 * Guest program: how far the TSCs of CPU 0 and CPU 1 disagree, measured
 * as the kernel's TSC sync check does.  Two threads, one on each CPU,
 * take turns through a shared word: each reads its TSC once it has the
 * turn, after the other stored its own reading.  The turn is handed over
 * with release and acquire, so each reading happens after the one before
 * it; a TSC that reads less than the other CPU's earlier reading is
 * behind it by at least the difference.  Every second it prints
 *	TSCWARP <round> 0<1=<ticks> 1<0=<ticks> turns=<n>
 * the most by which CPU 0's TSC was seen behind CPU 1's and the reverse
 * (0 when never behind), over that round's turns.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define TURNS		2000
#define SPIN_LIMIT	(1ULL << 28)	/* a lost turn ends the round */

static uint64_t last;		/* the previous reading */
static int turn;		/* the CPU whose turn it is */
static uint64_t behind[2];	/* most CPU i was behind the other */
static int turns_done[2];

static uint64_t tsc(void)
{
	_mm_lfence();
	return __rdtsc();
}

static void *taker(void *arg)
{
	int cpu = (int)(intptr_t)arg, i;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return NULL;
	for (i = 0; i < TURNS; i++) {
		uint64_t spins = 0, now, prev;

		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != cpu)
			if (++spins > SPIN_LIMIT)
				return NULL;
		now = tsc();
		prev = last;
		if (prev && now < prev && prev - now > behind[cpu])
			behind[cpu] = prev - now;
		last = now;
		turns_done[cpu]++;
		__atomic_store_n(&turn, !cpu, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(void)
{
	unsigned long round;

	for (round = 1;; round++) {
		pthread_t t[2];
		int i;

		behind[0] = behind[1] = 0;
		turns_done[0] = turns_done[1] = 0;
		last = 0;
		turn = 0;
		for (i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, taker,
					   (void *)(intptr_t)i))
				return 1;
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		printf("TSCWARP %lu 0<1=%llu 1<0=%llu turns=%d\n", round,
		       (unsigned long long)behind[0],
		       (unsigned long long)behind[1],
		       turns_done[0] + turns_done[1]);
		fflush(stdout);
		sleep(1);
	}
}
