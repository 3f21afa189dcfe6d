// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"

uint64_t *bitmap__alloc(uint64_t nbits)
{
	return calloc(bitmap__words(nbits) ?: 1, sizeof(uint64_t));
}

/* Mask of the bits of the last word that lie inside nbits. */
static uint64_t tail_mask(uint64_t nbits)
{
	unsigned int rem = nbits % BITMAP_WORD_BITS;

	return rem ? (1ULL << rem) - 1 : ~0ULL;
}

uint64_t bitmap__weight(const uint64_t *bm, uint64_t nbits)
{
	size_t i, n = bitmap__words(nbits);
	uint64_t w = 0;

	for (i = 0; i < n; i++) {
		uint64_t word = bm[i];

		if (i == n - 1)
			word &= tail_mask(nbits);
		w += __builtin_popcountll(word);
	}
	return w;
}

bool bitmap__equal(const uint64_t *a, const uint64_t *b, uint64_t nbits)
{
	size_t i, n = bitmap__words(nbits);

	for (i = 0; i < n; i++) {
		uint64_t diff = a[i] ^ b[i];

		if (i == n - 1)
			diff &= tail_mask(nbits);
		if (diff)
			return false;
	}
	return true;
}

void bitmap__or(uint64_t *dst, const uint64_t *a, const uint64_t *b,
		uint64_t nbits)
{
	size_t i;

	for (i = 0; i < bitmap__words(nbits); i++)
		dst[i] = a[i] | b[i];
}

void bitmap__andnot(uint64_t *dst, const uint64_t *a, const uint64_t *b,
		    uint64_t nbits)
{
	size_t i;

	for (i = 0; i < bitmap__words(nbits); i++)
		dst[i] = a[i] & ~b[i];
}

/*
 * Find the first run of set bits at or after @from: [*start, *end).
 * Whole zero words are skipped, so sparse bitmaps of large guests iterate
 * in time proportional to their words, not their bits.
 */
bool bitmap__next_run(const uint64_t *bm, uint64_t nbits, uint64_t from,
		      uint64_t *start, uint64_t *end)
{
	uint64_t bit = from;

	while (bit < nbits) {
		uint64_t word = bm[bit / BITMAP_WORD_BITS] >>
				(bit % BITMAP_WORD_BITS);

		if (!word) {
			bit = (bit / BITMAP_WORD_BITS + 1) * BITMAP_WORD_BITS;
			continue;
		}
		bit += __builtin_ctzll(word);
		break;
	}
	if (bit >= nbits)
		return false;

	*start = bit;
	while (bit < nbits && bitmap__test(bm, bit))
		bit++;
	*end = bit;
	return true;
}

/*
 * Print runs as "0-3,7,9-10" (inclusive page numbers).  Returns the length
 * the full text needs, like snprintf(), so callers can detect truncation.
 */
int bitmap__format_runs(const uint64_t *bm, uint64_t nbits, char *buf,
			size_t len)
{
	uint64_t start, end, from = 0;
	size_t used = 0;
	int n;

	if (len)
		buf[0] = '\0';
	while (bitmap__next_run(bm, nbits, from, &start, &end)) {
		const char *sep = used ? "," : "";
		char *pos = used < len ? buf + used : NULL;
		size_t room = used < len ? len - used : 0;

		if (end - start == 1)
			n = snprintf(pos, room, "%s%llu", sep,
				     (unsigned long long)start);
		else
			n = snprintf(pos, room, "%s%llu-%llu", sep,
				     (unsigned long long)start,
				     (unsigned long long)end - 1);
		if (n < 0)
			return n;
		used += n;
		from = end;
	}
	return used;
}
