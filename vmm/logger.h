/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's log: standard error ("vmm: message") until PUT /logger names
 * a file, then Firecracker's line format there, filtered by level.
 */
#ifndef VMM_LOGGER_H
#define VMM_LOGGER_H

#include <stdbool.h>
#include <stddef.h>

/* Firecracker's (the log crate's) levels, most severe first. */
enum log_level {
	LOG_OFF,
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

struct log_config {
	const char *log_path;		/* NULL: keep the current target */
	bool have_level;
	enum log_level level;
	int show_level;			/* -1: unchanged */
	int show_log_origin;		/* -1: unchanged */
	const char *module;		/* NULL: unchanged */
};

void log__write(enum log_level level, const char *file, int line,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "Error", "warning", "WARN", ...: Firecracker's names, any case. */
int log__parse_level(const char *name, enum log_level *level);
/* Return 0 or -errno with the reason in @err; nothing changes on error. */
int log__configure(const struct log_config *cfg, char *err, size_t errlen);
/* Whether a message at @level would be written now. */
bool log__enabled(enum log_level level);

/*
 * vmm__log is an error: what the VMM reports is almost always a failure.
 * The others mark what is not.
 */
#define vmm__log(...)	log__write(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define vmm__warn(...)	log__write(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define vmm__info(...)	log__write(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define vmm__debug(...)	log__write(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
