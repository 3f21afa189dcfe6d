// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/*
 * Leading unsigned number, decimal or 0x-hex; no sign, no blank.  A digit
 * first: strtoull() would skip any white space, then take a sign.
 */
static int parse_number(const char *s, unsigned long long *v, char **end)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, end, 0);
	if (errno)
		return -errno;
	return *end == s ? -EINVAL : 0;
}

/* Decimal, or hexadecimal with 0x; the whole string must be consumed. */
int parse__u64(const char *s, uint64_t *val)
{
	unsigned long long v;
	char *end;
	int ret;

	ret = parse_number(s, &v, &end);
	if (ret)
		return ret;
	if (*end)
		return -EINVAL;
	*val = v;
	return 0;
}

/* "4096", "256M", "1G", "64k": binary multiples, case-insensitive. */
int parse__size(const char *s, uint64_t *bytes)
{
	static const char units[] = "kmgt";
	unsigned long long v;
	const char *u;
	char *end;
	int shift, ret;

	ret = parse_number(s, &v, &end);
	if (ret)
		return ret;
	if (!*end) {
		*bytes = v;
		return 0;
	}
	u = strchr(units, *end | 0x20);
	if (!u || end[1])
		return -EINVAL;
	shift = 10 * (int)(u - units + 1);
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

/* "START-END" (END exclusive) or "START+LENGTH"; both numbers as above. */
int parse__range(const char *s, uint64_t *start, uint64_t *end)
{
	const char *sep;
	char first[32];
	uint64_t a, b;
	int ret;

	if (!s)
		return -EINVAL;
	sep = strpbrk(s, "-+");
	if (!sep || sep == s || (size_t)(sep - s) >= sizeof(first))
		return -EINVAL;
	memcpy(first, s, sep - s);
	first[sep - s] = '\0';

	ret = parse__u64(first, &a);
	if (ret)
		return ret;
	ret = *sep == '-' ? parse__u64(sep + 1, &b) : parse__size(sep + 1, &b);
	if (ret)
		return ret;
	if (*sep == '+') {
		if (b > UINT64_MAX - a)
			return -ERANGE;
		b += a;
	}
	if (b <= a)
		return -EINVAL;
	*start = a;
	*end = b;
	return 0;
}
