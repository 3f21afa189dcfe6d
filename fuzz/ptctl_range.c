// SPDX-License-Identifier: GPL-2.0
/*
 * The numbers ptctl's options take (lib/parse.c): --range START-END or
 * START+LENGTH, --pid, --interval, --count.  An accepted range is never
 * empty and never wraps; an accepted size is the number times its unit.
 */
#include <errno.h>
#include <string.h>

#include "fuzz_util.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t start = 0, end = 0, v;
	char *s;

	/* Options arrive as C strings: up to the first NUL. */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (!parse__range(s, &start, &end)) {
		FUZZ_ASSERT(start < end);
		FUZZ_ASSERT(strpbrk(s, "-+"));
	}
	if (!parse__u64(s, &v))
		FUZZ_ASSERT(*s >= '0' && *s <= '9');
	if (!parse__size(s, &v)) {
		uint64_t plain;
		size_t n = strlen(s);

		/* Without its unit, the number itself parses. */
		if (n && !(s[n - 1] >= '0' && s[n - 1] <= '9') &&
		    !(n > 2 && (s[1] == 'x' || s[1] == 'X'))) {
			s[n - 1] = '\0';
			FUZZ_ASSERT(!parse__u64(s, &plain));
			FUZZ_ASSERT(plain <= v);
		}
	}
	free(s);
	return 0;
}
