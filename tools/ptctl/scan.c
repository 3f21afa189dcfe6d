// SPDX-License-Identifier: GPL-2.0
/* ptctl scan and ptctl watch: one session over a process's mappings. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bitmap.h"
#include "maps.h"
#include "pagetrack.h"
#include "ptctl.h"

#define PAGE		((uint64_t)4096)
#define MIB(pages)	((double)(pages) * PAGE / (1 << 20))

enum { PRESENT, ACCESSED, DIRTY, WRITTEN, NR_CLASSES };
static const char *const class_names[NR_CLASSES] = {
	"present", "accessed", "dirty", "written",
};

/* Address runs of one class, merged across the mappings scanned. */
struct runs {
	struct maps_range *r;
	size_t nr, cap;
};

struct scan_result {
	uint64_t pages;
	uint64_t count[NR_CLASSES];
	uint64_t kvm_queries;
	uint64_t duration_ns;
	struct runs runs[NR_CLASSES];
};

static int runs_add(struct runs *runs, uint64_t start, uint64_t end)
{
	if (runs->nr && runs->r[runs->nr - 1].end == start) {
		runs->r[runs->nr - 1].end = end;
		return 0;
	}
	if (runs->nr == runs->cap) {
		size_t cap = runs->cap ? 2 * runs->cap : 64;
		struct maps_range *r = realloc(runs->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		runs->r = r;
		runs->cap = cap;
	}
	runs->r[runs->nr].start = start;
	runs->r[runs->nr].end = end;
	runs->nr++;
	return 0;
}

static void result_free(struct scan_result *res)
{
	int i;

	for (i = 0; i < NR_CLASSES; i++)
		free(res->runs[i].r);
	memset(res, 0, sizeof(*res));
}

/* The ranges to scan: --range, or every mapping of the process. */
static int scan_ranges(const struct ptctl_opts *o, struct maps *maps)
{
	if (!o->have_range)
		return maps__read_pid(o->pid, maps);
	maps->ranges = malloc(sizeof(*maps->ranges));
	if (!maps->ranges)
		return -ENOMEM;
	maps->ranges[0].start = o->start;
	maps->ranges[0].end = o->end;
	maps->nr = 1;
	return 0;
}

int ptctl_attach_session(const struct ptctl_opts *o, uint64_t start,
			 uint64_t end)
{
	uint32_t flags = o->pid == getpid() ? 0 : PAGETRACK_ATTACH_PID;
	int fd = pagetrack__open();
	char what[64];
	int ret;

	if (fd < 0)
		return -ptctl_error("/dev/pagetrack", -fd);
	ret = pagetrack__attach(fd, start, end - start, flags,
				flags ? o->pid : 0, 0);
	if (ret) {
		snprintf(what, sizeof(what), "attach to pid %d", o->pid);
		close(fd);
		return -ptctl_error(what, -ret);
	}
	return fd;
}

static void result_add(struct scan_result *res,
		       const struct pagetrack_scan *sc)
{
	res->count[PRESENT] += sc->nr_present;
	res->count[ACCESSED] += sc->nr_accessed;
	res->count[DIRTY] += sc->nr_dirty;
	res->count[WRITTEN] += sc->nr_written;
	res->kvm_queries += sc->nr_kvm_queries;
	res->duration_ns += sc->duration_ns;
}

/*
 * With runs wanted, a mapping is scanned a window at a time into bitmaps
 * for one window: a process may map terabytes it never touches (ASan's
 * shadow, a runtime's reservation), and bitmaps for all of it would be
 * gigabytes to zero, copy and search.  Each window is first counted
 * without bitmaps and without clearing; only one that holds pages is
 * scanned again, as asked, for its runs.
 */
#define SCAN_WINDOW_PAGES	(1ULL << 18)	/* 1 GiB of 4 KiB pages */

static int scan_window(int fd, uint64_t start, uint64_t n, uint32_t flags,
		       uint64_t **bm, struct scan_result *res)
{
	struct pagetrack_scan sc = {
		.flags = flags & ~PAGETRACK_SCAN_CLEAR_ACCESSED,
		.start = start,
		.length = n * PAGE,
	};
	int c, ret;

	ret = pagetrack__scan(fd, &sc);
	if (ret)
		return ret;
	if (!(sc.nr_present | sc.nr_accessed | sc.nr_dirty | sc.nr_written)) {
		result_add(res, &sc);
		return 0;
	}
	sc = (struct pagetrack_scan) {
		.flags = flags,
		.start = start,
		.length = n * PAGE,
		.bitmap_bytes = bitmap__bytes(n),
		.present = (uintptr_t)bm[PRESENT],
		.accessed = (uintptr_t)bm[ACCESSED],
		.dirty = (uintptr_t)bm[DIRTY],
		.written = (uintptr_t)bm[WRITTEN],
	};
	ret = pagetrack__scan(fd, &sc);
	if (ret)
		return ret;
	result_add(res, &sc);
	for (c = 0; c < NR_CLASSES && !ret; c++) {
		uint64_t s, e, from = 0;

		while (!ret && bitmap__next_run(bm[c], n, from, &s, &e)) {
			ret = runs_add(&res->runs[c], start + s * PAGE,
				       start + e * PAGE);
			from = e;
		}
	}
	return ret;
}

/* Scan every range into @res; with @want_runs, collect address runs. */
static int scan_once(int fd, const struct maps *maps, uint32_t flags,
		     bool want_runs, struct scan_result *res)
{
	uint64_t *bm[NR_CLASSES] = { NULL };
	int c, ret = 0;
	size_t i;

	for (c = 0; c < NR_CLASSES && want_runs; c++)
		if (!(bm[c] = bitmap__alloc(SCAN_WINDOW_PAGES)))
			ret = -ENOMEM;
	for (i = 0; i < maps->nr && !ret; i++) {
		uint64_t start = maps->ranges[i].start;
		uint64_t n = (maps->ranges[i].end - start) / PAGE, done, w;
		struct pagetrack_scan sc = {
			.flags = flags,
			.start = start,
			.length = n * PAGE,
		};

		if (!want_runs) {
			ret = pagetrack__scan(fd, &sc);
			if (!ret) {
				res->pages += n;
				result_add(res, &sc);
			}
			/* A mapping that vanished since /proc/PID/maps was read. */
			if (ret == -EINVAL)
				ret = 0;
			continue;
		}
		for (done = 0; done < n && !ret; done += w) {
			w = n - done < SCAN_WINDOW_PAGES ? n - done :
			    SCAN_WINDOW_PAGES;
			ret = scan_window(fd, start + done * PAGE, w, flags, bm,
					  res);
		}
		if (!ret)
			res->pages += n;
	}
	for (c = 0; c < NR_CLASSES; c++)
		free(bm[c]);
	return ret;
}

static void print_text(const struct ptctl_opts *o, const struct maps *maps,
		       const struct scan_result *res)
{
	size_t i;
	int c;

	printf("pid %d: %" PRIu64 " pages in %zu range%s, scanned in %.3f ms"
	       "%s\n", o->pid, res->pages, maps->nr, maps->nr == 1 ? "" : "s",
	       res->duration_ns / 1e6, o->clear ? " (accessed bits cleared)" : "");
	for (c = 0; c < NR_CLASSES; c++)
		printf("  %-9s %10" PRIu64 " pages %10.1f MiB\n",
		       class_names[c], res->count[c], MIB(res->count[c]));
	for (c = 0; c < NR_CLASSES; c++) {
		if (!res->runs[c].nr)
			continue;
		printf("%s:\n", class_names[c]);
		for (i = 0; i < res->runs[c].nr; i++) {
			const struct maps_range *r = &res->runs[c].r[i];

			printf("  %012" PRIx64 "-%012" PRIx64 " %8" PRIu64
			       " pages\n", r->start, r->end,
			       (r->end - r->start) / PAGE);
		}
	}
}

static void print_json(const struct ptctl_opts *o,
		       const struct scan_result *res)
{
	size_t i;
	int c;

	printf("{\"pid\":%d,\"pages\":%" PRIu64 ",\"duration_ns\":%" PRIu64
	       ",\"cleared\":%s", o->pid, res->pages, res->duration_ns,
	       o->clear ? "true" : "false");
	for (c = 0; c < NR_CLASSES; c++) {
		printf(",\"%s\":{\"pages\":%" PRIu64 ",\"ranges\":[",
		       class_names[c], res->count[c]);
		for (i = 0; i < res->runs[c].nr; i++)
			printf("%s[\"0x%" PRIx64 "\",\"0x%" PRIx64 "\"]",
			       i ? "," : "", res->runs[c].r[i].start,
			       res->runs[c].r[i].end);
		printf("]}");
	}
	printf("}\n");
}

static uint32_t scan_flags(const struct ptctl_opts *o, bool clear)
{
	return (clear ? PAGETRACK_SCAN_CLEAR_ACCESSED : 0) |
	       (o->host_only ? PAGETRACK_SCAN_HOST_ONLY : 0);
}

static int attach_for(const struct ptctl_opts *o, const struct maps *maps)
{
	/* Without --range the session spans the whole user address space. */
	if (o->have_range)
		return ptctl_attach_session(o, maps->ranges[0].start,
					    maps->ranges[0].end);
	return ptctl_attach_session(o, 0, MAPS_USER_LIMIT);
}

/* The ranges to scan and a session over them; errors are reported. */
static int open_target(const struct ptctl_opts *o, struct maps *maps)
{
	int fd, ret;

	ret = scan_ranges(o, maps);
	if (ret)
		return -ptctl_error("/proc/PID/maps", -ret);
	fd = attach_for(o, maps);
	if (fd < 0)
		maps__free(maps);
	return fd;
}

int ptctl_scan(const struct ptctl_opts *o)
{
	struct scan_result res = { 0 };
	struct maps maps;
	int fd, ret;

	fd = open_target(o, &maps);
	if (fd < 0)
		return 1;
	ret = scan_once(fd, &maps, scan_flags(o, o->clear), true, &res);
	if (ret)
		ret = ptctl_error("scan", -ret);
	else if (o->json)
		print_json(o, &res);
	else
		print_text(o, &maps, &res);
	result_free(&res);
	maps__free(&maps);
	close(fd);
	return ret;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int ptctl_watch(const struct ptctl_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec interval = {
		.tv_sec = o->interval_ms / 1000,
		.tv_nsec = (o->interval_ms % 1000) * 1000000L,
	};
	unsigned long n;
	struct maps maps;
	double t0;
	int fd, ret;

	fd = open_target(o, &maps);
	if (fd < 0)
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* A first clear, so the first report covers one interval only. */
	{
		struct scan_result res = { 0 };

		ret = scan_once(fd, &maps, scan_flags(o, true), false, &res);
	}
	if (!o->json && !ret) {
		printf("%8s %10s %12s %12s %10s %9s\n", "time_s", "accessed",
		       "wss_MiB", "present_MiB", "dirty_MiB", "scan_ms");
		fflush(stdout);
	}
	t0 = now_s();
	for (n = 0; !ret && !stop && (!o->count || n < o->count); n++) {
		struct scan_result res = { 0 };

		nanosleep(&interval, NULL);
		if (stop)
			break;
		/* Mappings come and go: follow them unless --range fixed one. */
		if (!o->have_range) {
			maps__free(&maps);
			ret = maps__read_pid(o->pid, &maps);
			if (ret)
				break;
		}
		ret = scan_once(fd, &maps, scan_flags(o, true), false, &res);
		if (ret)
			break;
		if (o->json)
			printf("{\"time_s\":%.3f,\"accessed\":%" PRIu64
			       ",\"present\":%" PRIu64 ",\"dirty\":%" PRIu64
			       ",\"scan_ns\":%" PRIu64 "}\n", now_s() - t0,
			       res.count[ACCESSED], res.count[PRESENT],
			       res.count[DIRTY], res.duration_ns);
		else
			printf("%8.3f %10" PRIu64 " %12.2f %12.2f %10.2f "
			       "%9.3f\n", now_s() - t0, res.count[ACCESSED],
			       MIB(res.count[ACCESSED]),
			       MIB(res.count[PRESENT]), MIB(res.count[DIRTY]),
			       res.duration_ns / 1e6);
		fflush(stdout);
	}
	maps__free(&maps);
	close(fd);
	/* Whatever stdout holds comes before the last word on stderr. */
	fflush(stdout);
	if (ret == -ESRCH || ret == -ENOENT) {
		fprintf(stderr, "ptctl: pid %d exited\n", o->pid);
		return 0;
	}
	return ret ? ptctl_error("scan", -ret) : 0;
}
