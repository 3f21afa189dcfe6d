// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "maps.h"


/*
 * Parse maps lines ("start-end perms ..."), keeping mappings below @limit:
 * [vsyscall] lies above the user address space and cannot be tracked.
 */
int maps__parse(FILE *f, uint64_t limit, struct maps *maps)
{
	char line[4096];
	size_t cap = 0;

	maps->ranges = NULL;
	maps->nr = 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, end;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) != 2 ||
		    end <= start) {
			maps__free(maps);
			return -EINVAL;
		}
		if (start >= limit)
			continue;
		if (end > limit)
			end = limit;
		if (maps->nr == cap) {
			struct maps_range *r;

			cap = cap ? 2 * cap : 64;
			r = realloc(maps->ranges, cap * sizeof(*r));
			if (!r) {
				maps__free(maps);
				return -ENOMEM;
			}
			maps->ranges = r;
		}
		maps->ranges[maps->nr].start = start;
		maps->ranges[maps->nr].end = end;
		maps->nr++;
	}
	return 0;
}

int maps__read_pid(int pid, struct maps *maps)
{
	char path[64];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ret = maps__parse(f, MAPS_USER_LIMIT, maps);
	fclose(f);
	return ret;
}

void maps__free(struct maps *maps)
{
	free(maps->ranges);
	maps->ranges = NULL;
	maps->nr = 0;
}
