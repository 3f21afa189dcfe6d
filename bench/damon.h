/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DAMON through its sysfs interface, for tracker_bench: one kdamond, one
 * vaddr context on one process, one address range, and a DAMOS "stat"
 * scheme that matches every region, so that "update_schemes_tried_regions"
 * snapshots DAMON's regions and their nr_accesses.
 *
 * Functions return 0 or -errno and print what failed on stderr.
 */
#ifndef PAGETRACK_BENCH_DAMON_H
#define PAGETRACK_BENCH_DAMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DAMON_ADMIN	"/sys/kernel/mm/damon/admin"

struct damon_attrs {
	uint64_t sample_us;
	uint64_t aggr_us;
	uint64_t update_us;
	uint64_t min_nr_regions;
	uint64_t max_nr_regions;
};

/* One region of a snapshot: [start, end) with its nr_accesses. */
struct damon_snap_region {
	uint64_t start;
	uint64_t end;
	unsigned int nr_accesses;
};

#define DAMON_SNAP_TRIES	10

struct damon_snap {
	struct damon_snap_region *regions;
	int nr;
	int cap;
	int tries;	/* updates asked for: more than one timed out */
};

/* The kernel has DAMON's sysfs interface with vaddr operations. */
bool damon__available(void);
/* Start monitoring [start, end) of @pid; returns the kdamond's pid. */
int damon__start(pid_t pid, uint64_t start, uint64_t end,
		 const struct damon_attrs *attrs);
/*
 * The regions of the latest aggregation interval into @snap, asking again
 * (up to DAMON_SNAP_TRIES times) when an update times out empty.
 */
int damon__snapshot(struct damon_snap *snap);
int damon__stop(void);
/* No kdamond left in sysfs (a stopped one keeps its directory). */
void damon__release(void);
/* CPU time of a thread: /proc/PID/stat utime + stime, and schedstat. */
int thread__cpu(pid_t pid, uint64_t *stat_ns, uint64_t *sched_ns);

#endif
