/* SPDX-License-Identifier: GPL-2.0 */
/* The mappings of a process, from /proc/PID/maps. */
#ifndef PAGETRACK_LIB_MAPS_H
#define PAGETRACK_LIB_MAPS_H

#include <stdint.h>
#include <stdio.h>

/*
 * End of the user address space with 4-level paging (TASK_SIZE_MAX):
 * [vsyscall] lies above it and cannot be tracked.
 */
#define MAPS_USER_LIMIT	0x7ffffffff000ULL

struct maps_range {
	uint64_t start;
	uint64_t end;
};

struct maps {
	struct maps_range *ranges;
	size_t nr;
};

int maps__parse(FILE *f, uint64_t limit, struct maps *maps);
int maps__read_pid(int pid, struct maps *maps);
void maps__free(struct maps *maps);

#endif
