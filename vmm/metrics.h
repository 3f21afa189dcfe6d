/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Metrics in Firecracker v1.10's shape (src/vmm/src/logger/metrics.rs):
 * PUT /metrics names a FIFO or file, and each flush (FlushMetrics, every
 * 60 seconds, and at exit) writes one JSON line of groups of counters.
 *
 * A counter (metrics__inc, metrics__add) is reported as what it gained
 * since the last flush; a store (metrics__store) as its value.  Both are
 * lock-free atomics, safe from any thread.
 *
 * A device adds its own group, named as Firecracker names it ("block",
 * "block_rootfs", "vsock", "entropy"), with a struct of counters and a
 * table naming them:
 *
 *	static struct { struct metric read_count, write_count; } m;
 *	static const struct metric_def defs[] = {
 *		METRIC_COUNTER(m, read_count),
 *		METRIC_COUNTER(m, write_count),
 *	};
 *	static struct metrics_group group = METRICS_GROUP("block", defs);
 *
 *	metrics__add_group(&group);	once, before the device runs
 *	metrics__inc(&m.read_count);	on each read
 *
 * A group is never removed: its memory must live as long as the process.
 */
#ifndef VMM_METRICS_H
#define VMM_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metric {
	_Atomic uint64_t value;
	uint64_t flushed;	/* a counter's value at the last flush */
};

struct metric_def {
	const char *name;
	struct metric *m;
	bool store;		/* report the value, not the delta */
};

#define METRIC_COUNTER(s, f)	{ #f, &(s).f, false }
#define METRIC_STORE(s, f)	{ #f, &(s).f, true }

struct metrics_group {
	const char *name;
	const struct metric_def *defs;
	size_t nr_defs;
	struct metrics_group *next;
};

#define METRICS_GROUP(n, d)	{ (n), (d), sizeof(d) / sizeof((d)[0]), NULL }

static inline void metrics__add(struct metric *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

static inline void metrics__inc(struct metric *m)
{
	metrics__add(m, 1);
}

static inline void metrics__store(struct metric *m, uint64_t v)
{
	atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

/* Keep a store's maximum (latencies). */
static inline void metrics__store_max(struct metric *m, uint64_t v)
{
	uint64_t old = atomic_load_explicit(&m->value, memory_order_relaxed);

	while (old < v &&
	       !atomic_compare_exchange_weak_explicit(&m->value, &old, v,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* The groups that are the VMM's own, in Firecracker's order. */
struct vmm_metrics {
	struct {
		struct metric process_startup_time_us;
		struct metric process_startup_time_cpu_us;
		struct metric sync_response_fails;
		struct metric sync_vmm_send_timeout_count;
	} api_server;
	struct {
		struct metric instance_info_count;
		struct metric machine_cfg_count;
		struct metric mmds_count;
		struct metric vmm_version_count;
	} get_api_requests;
	struct {
		struct metric error_count;
		struct metric missed_read_count;
		struct metric missed_write_count;
		struct metric read_count;
		struct metric reset_count;
		struct metric write_count;
	} i8042;
	struct {
		struct metric full_create_snapshot;
		struct metric diff_create_snapshot;
		struct metric load_snapshot;
		struct metric pause_vm;
		struct metric resume_vm;
		struct metric vmm_full_create_snapshot;
		struct metric vmm_diff_create_snapshot;
		struct metric vmm_load_snapshot;
		struct metric vmm_pause_vm;
		struct metric vmm_resume_vm;
	} latencies_us;
	struct {
		struct metric missed_metrics_count;
		struct metric metrics_fails;
		struct metric missed_log_count;
		struct metric log_fails;
	} logger;
	struct {
		struct metric drive_count;
		struct metric drive_fails;
		struct metric network_count;
		struct metric network_fails;
		struct metric machine_cfg_count;
		struct metric machine_cfg_fails;
		struct metric mmds_count;
		struct metric mmds_fails;
	} patch_api_requests;
	struct {
		struct metric actions_count;
		struct metric actions_fails;
		struct metric boot_source_count;
		struct metric boot_source_fails;
		struct metric drive_count;
		struct metric drive_fails;
		struct metric logger_count;
		struct metric logger_fails;
		struct metric machine_cfg_count;
		struct metric machine_cfg_fails;
		struct metric cpu_cfg_count;
		struct metric cpu_cfg_fails;
		struct metric metrics_count;
		struct metric metrics_fails;
		struct metric network_count;
		struct metric network_fails;
		struct metric mmds_count;
		struct metric mmds_fails;
		struct metric vsock_count;
		struct metric vsock_fails;
	} put_api_requests;
	struct {
		struct metric exit_io_in;
		struct metric exit_io_out;
		struct metric exit_mmio_read;
		struct metric exit_mmio_write;
		struct metric failures;
		struct metric kvmclock_ctrl_fails;
	} vcpu;
	struct {
		struct metric device_events;
		struct metric panic_count;
	} vmm;
};

extern struct vmm_metrics metrics;

/* Microseconds on the monotonic clock, for latencies. */
uint64_t metrics__now_us(void);

void metrics__add_group(struct metrics_group *group);
/* PUT /metrics: once only, as in Firecracker; 0 or -errno and @err. */
int metrics__configure(const char *path, char *err, size_t errlen);
/* One JSON line to the metrics file, if there is one; 0 or -errno. */
int metrics__flush(void);
/*
 * The line metrics__flush would write, malloc'ed, counters reset as by a
 * flush; NULL when out of memory.
 */
char *metrics__serialize(void);
/* The last flush, then no more: at exit. */
void metrics__exit(void);

#endif
