// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON's sysfs interface (Documentation/admin-guide/mm/damon/usage.rst):
 *
 *   admin/kdamonds/nr_kdamonds                 1
 *   admin/kdamonds/0/contexts/nr_contexts      1
 *   .../contexts/0/operations                  vaddr
 *   .../contexts/0/monitoring_attrs/intervals/{sample_us,aggr_us,update_us}
 *   .../contexts/0/monitoring_attrs/nr_regions/{min,max}
 *   .../contexts/0/targets/0/pid_target        the process
 *   .../contexts/0/targets/0/regions/0/{start,end}   the initial region
 *   .../contexts/0/schemes/0/action            stat, every region matching
 *   admin/kdamonds/0/state                     on, off,
 *                                              update_schemes_tried_regions
 *   .../schemes/0/tried_regions/N/{start,end,nr_accesses}
 *
 * A write of "update_schemes_tried_regions" returns once the kdamond has
 * applied the scheme to one aggregation interval's regions: every region,
 * since the scheme's access pattern matches all.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "damon.h"

#define KDAMOND		DAMON_ADMIN "/kdamonds/0"
#define CTX		KDAMOND "/contexts/0"
#define SCHEME		CTX "/schemes/0"

static int sysfs_write(const char *path, const char *val)
{
	ssize_t len = strlen(val), n;
	int fd = open(path, O_WRONLY | O_CLOEXEC), err;

	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "damon: %s: %s\n", path, strerror(errno));
		return err;
	}
	n = write(fd, val, len);
	err = n == len ? 0 : n < 0 ? -errno : -EIO;
	if (err)
		fprintf(stderr, "damon: write '%s' to %s: %s\n", val, path,
			strerror(-err));
	close(fd);
	return err;
}

static int sysfs_write_u64(const char *path, uint64_t val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	return sysfs_write(path, buf);
}

/*
 * A sysfs or proc file's text, NUL-terminated, in @buf of @size; 0 or
 * -errno.  Both are read whole with one read().
 */
static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		err = -errno;
	else
		buf[n] = 0;
	close(fd);
	return err;
}

/* A decimal number from a sysfs or proc file; -errno if none. */
static int read_u64(const char *path, uint64_t *val, bool quiet)
{
	char buf[32];
	int err = read_text(path, buf, sizeof(buf));

	if (err) {
		if (!quiet)
			fprintf(stderr, "damon: %s: %s\n", path,
				strerror(-err));
		return err;
	}
	return sscanf(buf, "%" SCNu64, val) == 1 ? 0 : -EINVAL;
}

bool damon__available(void)
{
	char buf[128] = "";
	FILE *f;

	if (access(DAMON_ADMIN "/kdamonds/nr_kdamonds", W_OK))
		return false;
	/* The file appears with the context; make one to read it. */
	if (sysfs_write(DAMON_ADMIN "/kdamonds/nr_kdamonds", "1") ||
	    sysfs_write(KDAMOND "/contexts/nr_contexts", "1"))
		return false;
	f = fopen(CTX "/avail_operations", "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "vaddr") != NULL;
}

static int setup(pid_t pid, uint64_t start, uint64_t end,
		 const struct damon_attrs *a)
{
	static const char *const ranges[] = { "sz", "nr_accesses", "age" };
	char path[256];
	size_t i;
	int err;

	/* A fresh tree each time: the old one's directories go. */
	err = sysfs_write(DAMON_ADMIN "/kdamonds/nr_kdamonds", "0") ?:
	      sysfs_write(DAMON_ADMIN "/kdamonds/nr_kdamonds", "1") ?:
	      sysfs_write(KDAMOND "/contexts/nr_contexts", "1") ?:
	      sysfs_write(CTX "/operations", "vaddr") ?:
	      sysfs_write_u64(CTX "/monitoring_attrs/intervals/sample_us",
			      a->sample_us) ?:
	      sysfs_write_u64(CTX "/monitoring_attrs/intervals/aggr_us",
			      a->aggr_us) ?:
	      sysfs_write_u64(CTX "/monitoring_attrs/intervals/update_us",
			      a->update_us) ?:
	      sysfs_write_u64(CTX "/monitoring_attrs/nr_regions/min",
			      a->min_nr_regions) ?:
	      sysfs_write_u64(CTX "/monitoring_attrs/nr_regions/max",
			      a->max_nr_regions) ?:
	      sysfs_write(CTX "/targets/nr_targets", "1") ?:
	      sysfs_write_u64(CTX "/targets/0/pid_target", pid) ?:
	      sysfs_write(CTX "/targets/0/regions/nr_regions", "1") ?:
	      sysfs_write_u64(CTX "/targets/0/regions/0/start", start) ?:
	      sysfs_write_u64(CTX "/targets/0/regions/0/end", end) ?:
	      sysfs_write(CTX "/schemes/nr_schemes", "1") ?:
	      sysfs_write(SCHEME "/action", "stat");
	/* Every region matches: min 0, max the largest each field holds. */
	for (i = 0; !err && i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		snprintf(path, sizeof(path), SCHEME "/access_pattern/%s/min",
			 ranges[i]);
		err = sysfs_write(path, "0");
		snprintf(path, sizeof(path), SCHEME "/access_pattern/%s/max",
			 ranges[i]);
		err = err ?: sysfs_write(path, i ? "4294967295" :
					 "18446744073709551615");
	}
	return err;
}

int damon__start(pid_t pid, uint64_t start, uint64_t end,
		 const struct damon_attrs *attrs)
{
	uint64_t kpid;
	int err;

	err = setup(pid, start, end, attrs) ?:
	      sysfs_write(KDAMOND "/state", "on") ?:
	      read_u64(KDAMOND "/pid", &kpid, false);
	if (err)
		return err;
	return (int)kpid;
}

static int read_regions(struct damon_snap *s)
{
	struct damon_snap_region *r;
	uint64_t acc;
	char path[256];
	int err;

	for (s->nr = 0;;) {
		if (s->nr == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 1024;
			r = realloc(s->regions, s->cap * sizeof(*r));
			if (!r)
				return -ENOMEM;
			s->regions = r;
		}
		r = &s->regions[s->nr];
		snprintf(path, sizeof(path), SCHEME "/tried_regions/%d/start",
			 s->nr);
		err = read_u64(path, &r->start, true);
		if (err == -ENOENT)
			return 0;
		snprintf(path, sizeof(path), SCHEME "/tried_regions/%d/end",
			 s->nr);
		err = err ?: read_u64(path, &r->end, false);
		snprintf(path, sizeof(path),
			 SCHEME "/tried_regions/%d/nr_accesses", s->nr);
		err = err ?: read_u64(path, &acc, false);
		if (err)
			return err;
		r->nr_accesses = acc;
		s->nr++;
	}
}

/*
 * The update gives up, leaving no region, when the scheme was not applied
 * within two of its apply intervals counted in jiffies
 * (damos_sysfs_mark_finished_regions_updates()), while the kdamond counts
 * the aggregation interval in samples, each of which takes longer than
 * sample_us when the kdamond is slow: at fine intervals in the nested test
 * VM, often.  A scheme that matches every region is never applied to
 * none, so an empty snapshot is such a timeout: try again.
 */
int damon__snapshot(struct damon_snap *s)
{
	int err;

	for (s->tries = 1; s->tries <= DAMON_SNAP_TRIES; s->tries++) {
		err = sysfs_write(KDAMOND "/state",
				  "update_schemes_tried_regions") ?:
		      read_regions(s);
		if (err || s->nr)
			return err;
	}
	fprintf(stderr, "damon: no region in %d snapshots\n",
		DAMON_SNAP_TRIES);
	return -ETIME;
}

int damon__stop(void)
{
	return sysfs_write(KDAMOND "/state", "off");
}

void damon__release(void)
{
	sysfs_write(DAMON_ADMIN "/kdamonds/nr_kdamonds", "0");
}

int thread__cpu(pid_t pid, uint64_t *stat_ns, uint64_t *sched_ns)
{
	unsigned long long utime, stime;
	char path[64], buf[1024], *p;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	err = read_u64(path, sched_ns, false);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	err = read_text(path, buf, sizeof(buf));
	if (err)
		return err;
	/* Fields 14 and 15, counted from 1; the name, 2, may hold blanks. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			 "%*u %llu %llu", &utime, &stime) != 2)
		return -EINVAL;
	*stat_ns = (utime + stime) * 1000000000ULL / sysconf(_SC_CLK_TCK);
	return 0;
}
