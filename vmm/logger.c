// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's log.  Until PUT /logger, errors and warnings go to standard
 * error as "vmm: message", which is what the tests and a shell user read.  Once
 * configured it goes to the named FIFO or file only, one line per message
 * in Firecracker v1.10's format (src/vmm/src/logger/logging.rs):
 *
 *   2026-12-01T18:40:01.123456789 [anonymous-instance:vcpu0:ERROR:vmm/vcpu.c:293] text
 *
 * with ":LEVEL" only under show_level and ":file:line" only under
 * show_log_origin.  The level filter applies from then on (Info when the
 * request names none, as in Firecracker); module keeps only messages
 * whose source file starts with it ("vmm/virtio").
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"
#include "metrics.h"

#define LOG_INSTANCE_ID		"anonymous-instance"
#define LOG_LINE_MAX		4096

static struct {
	pthread_mutex_t lock;
	int fd;				/* -1: standard error, the old way */
	enum log_level level;
	bool show_level;
	bool show_origin;
	char *module;
} logger = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
	.level = LOG_WARN,
};

static const char *const level_names[] = {
	[LOG_OFF] = "OFF",
	[LOG_ERROR] = "ERROR",
	[LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO",
	[LOG_DEBUG] = "DEBUG",
	[LOG_TRACE] = "TRACE",
};

int log__parse_level(const char *name, enum log_level *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "off", LOG_OFF }, { "error", LOG_ERROR },
		{ "warn", LOG_WARN }, { "warning", LOG_WARN },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
		{ "trace", LOG_TRACE },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * As Firecracker opens it: the file must exist, and read-write so that a
 * FIFO opens without a reader and without blocking.  O_APPEND keeps an
 * existing file's lines, which Firecracker would overwrite from offset 0.
 */
static int open_target(const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_APPEND | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int log__configure(const struct log_config *cfg, char *err, size_t errlen)
{
	char *module = NULL;
	int fd = -1;

	if (cfg->log_path) {
		fd = open_target(cfg->log_path);
		if (fd < 0) {
			snprintf(err, errlen, "Failed to open target file: %s",
				 strerror(-fd));
			return fd;
		}
	}
	if (cfg->module) {
		module = strdup(cfg->module);
		if (!module) {
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&logger.lock);
	logger.level = cfg->have_level ? cfg->level : LOG_INFO;
	if (fd >= 0) {
		if (logger.fd >= 0)
			close(logger.fd);
		logger.fd = fd;
	}
	if (cfg->show_level >= 0)
		logger.show_level = cfg->show_level;
	if (cfg->show_log_origin >= 0)
		logger.show_origin = cfg->show_log_origin;
	if (module) {
		free(logger.module);
		logger.module = module;
	}
	pthread_mutex_unlock(&logger.lock);
	return 0;
}

bool log__enabled(enum log_level level)
{
	bool on;

	pthread_mutex_lock(&logger.lock);
	on = level != LOG_OFF && level <= logger.level;
	pthread_mutex_unlock(&logger.lock);
	return on;
}

/* Firecracker's LocalTime: local time to the nanosecond. */
static size_t format_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	return snprintf(buf, len, "%d-%02d-%02dT%02d:%02d:%02d.%09ld",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

static void write_line(const char *line, size_t len)
{
	while (len) {
		ssize_t n = write(logger.fd, line, len);

		if (n <= 0) {
			/* A full FIFO drops the line, as Firecracker's does. */
			metrics__inc(&metrics.logger.missed_log_count);
			return;
		}
		line += n;
		len -= n;
	}
}

void log__write(enum log_level level, const char *file, int line,
		const char *fmt, ...)
{
	char buf[LOG_LINE_MAX], thread[16] = "";
	size_t n;
	va_list ap;

	pthread_mutex_lock(&logger.lock);
	if (logger.fd < 0) {
		/*
		 * Not configured: errors and warnings, as the VMM always
		 * wrote them; standard error may share a file with the
		 * console, which a request's info lines would clutter.
		 */
		if (level == LOG_OFF || level > LOG_WARN) {
			pthread_mutex_unlock(&logger.lock);
			return;
		}
		va_start(ap, fmt);
		n = vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		fprintf(stderr, "vmm: %s\n", buf);
		pthread_mutex_unlock(&logger.lock);
		return;
	}
	if (level == LOG_OFF || level > logger.level ||
	    (logger.module && strncmp(file, logger.module,
				      strlen(logger.module)))) {
		pthread_mutex_unlock(&logger.lock);
		return;
	}
	if (pthread_getname_np(pthread_self(), thread, sizeof(thread)) ||
	    !thread[0])
		snprintf(thread, sizeof(thread), "-");
	n = format_time(buf, sizeof(buf));
	n += snprintf(buf + n, sizeof(buf) - n, " [%s:%s", LOG_INSTANCE_ID,
		      thread);
	if (logger.show_level && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ":%s",
			      level_names[level]);
	if (logger.show_origin && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ":%s:%d", file, line);
	if (n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "] ");
	if (n < sizeof(buf)) {
		va_start(ap, fmt);
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
	}
	/* A message too long for the buffer is cut, but still one line. */
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	write_line(buf, n);
	pthread_mutex_unlock(&logger.lock);
}
