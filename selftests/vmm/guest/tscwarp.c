// SPDX-License-Identifier: GPL-2.0
/*
 * Guest program: how far CPU 1's TSC is from CPU 0's, against the
 * guest's own clock.  Each vCPU's kvmclock is built by KVM from that
 * vCPU's TSC and offset, so CLOCK_MONOTONIC_RAW reads one time on every
 * CPU whatever their TSCs do; a TSC minus that time, scaled, is the
 * same on every CPU exactly when their TSCs agree.  One thread moves
 * from CPU 0 to CPU 1 and back, reading the TSC and the clock on each:
 * CPU 0's two readings give the TSC rate and, for the instant of CPU
 * 1's, what CPU 0's TSC read then.  A handover of a token between two
 * spinning CPUs, as the kernel's TSC sync check does, would measure the
 * same, but under nested emulation one vCPU may see the other's store
 * tens of milliseconds late, which hides a disagreement that small.
 * Every second it prints
 *	TSCWARP <round> skew=<ns>
 * CPU 1's TSC minus CPU 0's at one instant, in nanoseconds of CPU 0's
 * TSC rate.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define TRIES	64	/* readings per CPU; the quickest one counts */

struct reading {
	uint64_t tsc;
	uint64_t ns;
};

static uint64_t tsc(void)
{
	_mm_lfence();
	return __rdtsc();
}

/*
 * On @cpu: the TSC and the clock, read TRIES times; the reading whose
 * two TSC reads, on either side of the clock's, are closest.
 */
static int read_on(int cpu, struct reading *r)
{
	uint64_t best = UINT64_MAX;
	struct timespec ts;
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	for (i = 0; i < TRIES; i++) {
		uint64_t t1 = tsc(), t2;

		clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
		t2 = tsc();
		if (t2 - t1 < best) {
			best = t2 - t1;
			r->tsc = t1 + (t2 - t1) / 2;
			r->ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		}
	}
	return 0;
}

int main(void)
{
	unsigned long round;

	printf("tscwarp: started\n");
	fflush(stdout);
	for (round = 1;; round++) {
		struct reading a, b, c;
		double rate, skew;

		if (read_on(0, &a) || read_on(1, &b) || read_on(0, &c) ||
		    c.ns <= a.ns) {
			printf("TSCWARP %lu failed\n", round);
		} else {
			/* TSC ticks per nanosecond, from CPU 0's two. */
			rate = (double)(c.tsc - a.tsc) / (c.ns - a.ns);
			skew = ((double)b.tsc - a.tsc) / rate -
			       ((double)b.ns - a.ns);
			printf("TSCWARP %lu skew=%.0f\n", round, skew);
		}
		fflush(stdout);
		sleep(1);
	}
}
