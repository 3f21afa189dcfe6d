// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics registry and its writer.  The VMM's own groups are tables
 * over struct vmm_metrics; devices add theirs with metrics__add_group.
 * A flush serializes every group into one JSON object, first member
 * utc_timestamp_ms as in Firecracker, and writes it as one line.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

/* Firecracker's WRITE_METRICS_PERIOD_MS. */
#define METRICS_PERIOD_S	60

struct vmm_metrics metrics;

#define C(g, f)		METRIC_COUNTER(metrics.g, f)
#define S(g, f)		METRIC_STORE(metrics.g, f)

static const struct metric_def api_server_defs[] = {
	S(api_server, process_startup_time_us),
	S(api_server, process_startup_time_cpu_us),
	C(api_server, sync_response_fails),
	C(api_server, sync_vmm_send_timeout_count),
};

static const struct metric_def get_defs[] = {
	C(get_api_requests, instance_info_count),
	C(get_api_requests, machine_cfg_count),
	C(get_api_requests, mmds_count),
	C(get_api_requests, vmm_version_count),
};

static const struct metric_def i8042_defs[] = {
	C(i8042, error_count), C(i8042, missed_read_count),
	C(i8042, missed_write_count), C(i8042, read_count),
	C(i8042, reset_count), C(i8042, write_count),
};

static const struct metric_def latency_defs[] = {
	S(latencies_us, full_create_snapshot),
	S(latencies_us, diff_create_snapshot),
	S(latencies_us, load_snapshot),
	S(latencies_us, pause_vm),
	S(latencies_us, resume_vm),
	S(latencies_us, vmm_full_create_snapshot),
	S(latencies_us, vmm_diff_create_snapshot),
	S(latencies_us, vmm_load_snapshot),
	S(latencies_us, vmm_pause_vm),
	S(latencies_us, vmm_resume_vm),
};

static const struct metric_def logger_defs[] = {
	C(logger, missed_metrics_count), C(logger, metrics_fails),
	C(logger, missed_log_count), C(logger, log_fails),
};

static const struct metric_def patch_defs[] = {
	C(patch_api_requests, drive_count),
	C(patch_api_requests, drive_fails),
	C(patch_api_requests, network_count),
	C(patch_api_requests, network_fails),
	C(patch_api_requests, machine_cfg_count),
	C(patch_api_requests, machine_cfg_fails),
	C(patch_api_requests, mmds_count),
	C(patch_api_requests, mmds_fails),
};

static const struct metric_def put_defs[] = {
	C(put_api_requests, actions_count),
	C(put_api_requests, actions_fails),
	C(put_api_requests, boot_source_count),
	C(put_api_requests, boot_source_fails),
	C(put_api_requests, drive_count),
	C(put_api_requests, drive_fails),
	C(put_api_requests, logger_count),
	C(put_api_requests, logger_fails),
	C(put_api_requests, machine_cfg_count),
	C(put_api_requests, machine_cfg_fails),
	C(put_api_requests, cpu_cfg_count),
	C(put_api_requests, cpu_cfg_fails),
	C(put_api_requests, metrics_count),
	C(put_api_requests, metrics_fails),
	C(put_api_requests, network_count),
	C(put_api_requests, network_fails),
	C(put_api_requests, mmds_count),
	C(put_api_requests, mmds_fails),
	C(put_api_requests, vsock_count),
	C(put_api_requests, vsock_fails),
};

static const struct metric_def vcpu_defs[] = {
	C(vcpu, exit_io_in), C(vcpu, exit_io_out),
	C(vcpu, exit_mmio_read), C(vcpu, exit_mmio_write),
	C(vcpu, failures), C(vcpu, kvmclock_ctrl_fails),
};

static const struct metric_def vmm_defs[] = {
	C(vmm, device_events), S(vmm, panic_count),
};

static struct metrics_group core_groups[] = {
	METRICS_GROUP("api_server", api_server_defs),
	METRICS_GROUP("get_api_requests", get_defs),
	METRICS_GROUP("i8042", i8042_defs),
	METRICS_GROUP("latencies_us", latency_defs),
	METRICS_GROUP("logger", logger_defs),
	METRICS_GROUP("patch_api_requests", patch_defs),
	METRICS_GROUP("put_api_requests", put_defs),
	METRICS_GROUP("vcpu", vcpu_defs),
	METRICS_GROUP("vmm", vmm_defs),
};

static struct {
	pthread_mutex_t lock;		/* groups, fd, one flush at a time */
	struct metrics_group *extra, **tail;
	int fd;
	pthread_t thread;
	bool running, stop;
	pthread_cond_t wake;
} reg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.tail = &reg.extra,
	.fd = -1,
};

uint64_t metrics__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void metrics__add_group(struct metrics_group *group)
{
	pthread_mutex_lock(&reg.lock);
	group->next = NULL;
	*reg.tail = group;
	reg.tail = &group->next;
	pthread_mutex_unlock(&reg.lock);
}

/* A counter reports, and forgets, what it gained since the last flush. */
static uint64_t metric_take(const struct metric_def *d)
{
	uint64_t v = atomic_load_explicit(&d->m->value, memory_order_relaxed);
	uint64_t delta;

	if (d->store)
		return v;
	delta = v - d->m->flushed;
	d->m->flushed = v;
	return delta;
}

static int group_add(json_t *root, const struct metrics_group *g)
{
	json_t *obj = json_object();
	size_t i;

	if (!obj)
		return -ENOMEM;
	for (i = 0; i < g->nr_defs; i++)
		json_object_set_new(obj, g->defs[i].name,
				    json_integer(metric_take(&g->defs[i])));
	return json_object_set_new(root, g->name, obj) ? -ENOMEM : 0;
}

static char *serialize_locked(void)
{
	const struct metrics_group *g;
	struct timespec ts;
	json_t *root;
	char *line;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	root = json_object();
	if (!root)
		return NULL;
	json_object_set_new(root, "utc_timestamp_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 +
					 ts.tv_nsec / 1000000));
	for (i = 0; i < sizeof(core_groups) / sizeof(core_groups[0]); i++)
		group_add(root, &core_groups[i]);
	for (g = reg.extra; g; g = g->next)
		group_add(root, g);
	line = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return line;
}

char *metrics__serialize(void)
{
	char *line;

	pthread_mutex_lock(&reg.lock);
	line = serialize_locked();
	pthread_mutex_unlock(&reg.lock);
	return line;
}

static int flush_locked(void)
{
	char *line;
	size_t len;
	int ret = 0;

	if (reg.fd < 0)
		return 0;	/* not configured: nothing to do, as in FC */
	line = serialize_locked();
	if (!line) {
		metrics__inc(&metrics.logger.metrics_fails);
		return -ENOMEM;
	}
	len = strlen(line);
	line[len] = '\n';	/* json_dumps's NUL becomes the newline */
	if (write(reg.fd, line, len + 1) != (ssize_t)(len + 1)) {
		ret = -errno ?: -EIO;
		metrics__inc(&metrics.logger.missed_metrics_count);
	}
	free(line);
	return ret;
}

int metrics__flush(void)
{
	int ret;

	pthread_mutex_lock(&reg.lock);
	ret = flush_locked();
	pthread_mutex_unlock(&reg.lock);
	return ret;
}

/* Firecracker flushes on a 60-second timer from boot on. */
static void *metrics__periodic(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&reg.lock);
	clock_gettime(CLOCK_MONOTONIC, &until);
	while (!reg.stop) {
		until.tv_sec += METRICS_PERIOD_S;
		while (!reg.stop &&
		       pthread_cond_timedwait(&reg.wake, &reg.lock, &until) !=
		       ETIMEDOUT)
			;
		if (!reg.stop)
			flush_locked();
	}
	pthread_mutex_unlock(&reg.lock);
	return NULL;
}

int metrics__configure(const char *path, char *err, size_t errlen)
{
	pthread_condattr_t monotonic;
	int fd, ret;

	pthread_mutex_lock(&reg.lock);
	if (reg.fd >= 0) {
		pthread_mutex_unlock(&reg.lock);
		snprintf(err, errlen, "Reinitialization of metrics not "
			 "allowed.");
		return -EBUSY;
	}
	/* Opened as the log is (logger.c): FIFO without a reader, or file. */
	fd = open(path, O_RDWR | O_NONBLOCK | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pthread_mutex_unlock(&reg.lock);
		snprintf(err, errlen, "Cannot initialize the metrics system "
			 "due to bad user input: %s", strerror(-ret));
		return ret;
	}
	reg.fd = fd;
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&reg.wake, &monotonic);
	pthread_condattr_destroy(&monotonic);
	reg.running = !pthread_create(&reg.thread, NULL, metrics__periodic,
				      NULL);
	pthread_mutex_unlock(&reg.lock);
	return 0;
}

void metrics__exit(void)
{
	bool running;

	pthread_mutex_lock(&reg.lock);
	reg.stop = true;
	running = reg.running;
	reg.running = false;
	if (running)
		pthread_cond_signal(&reg.wake);
	pthread_mutex_unlock(&reg.lock);
	if (running)
		pthread_join(reg.thread, NULL);
	metrics__flush();
}
