/* SPDX-License-Identifier: GPL-2.0 */
/* Parsers for the numbers users type: sizes, addresses, ranges. */
#ifndef PAGETRACK_LIB_PARSE_H
#define PAGETRACK_LIB_PARSE_H

#include <stdint.h>

int parse__u64(const char *s, uint64_t *val);
int parse__size(const char *s, uint64_t *bytes);
int parse__range(const char *s, uint64_t *start, uint64_t *end);

#endif
