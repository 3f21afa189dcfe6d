// SPDX-License-Identifier: GPL-2.0
/*
 * The serverless function of bench-restore (fn.h), fed by the serial
 * console: each "go" line on stdin is one invocation, each "map" line asks
 * where the two buffers lie in guest-physical memory, so a test on the
 * host can check the recorded working set against them.
 */
#include <string.h>

#include "fn.h"

int main(void)
{
	struct fn fn;
	char line[64];

	if (fn__init(&fn, FN_DATASET_MIB))
		return 1;
	printf("FN-READY\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "map", 3))
			fn__map(&fn, stdout);
		else if (!strncmp(line, "go", 2))
			fn__invoke(&fn, stdout);
	}
	return 0;
}
