/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PTCTL_H
#define PTCTL_H

#include <stdbool.h>
#include <stdint.h>

struct ptctl_opts {
	int pid;
	bool have_range;
	uint64_t start;
	uint64_t end;
	bool clear;
	bool host_only;
	bool json;
	unsigned int interval_ms;
	unsigned long count;		/* watch: 0 = until interrupted */
};

int ptctl_scan(const struct ptctl_opts *o);
int ptctl_watch(const struct ptctl_opts *o);
int ptctl_list(const struct ptctl_opts *o);

/* Print why and return 1; names the capability when that is the cause. */
int ptctl_error(const char *what, int err);
int ptctl_attach_session(const struct ptctl_opts *o, uint64_t start,
			 uint64_t end);

#endif
