/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page bitmaps in KVM's dirty-log layout: bit i of an array of
 * little-endian u64 words stands for page i.  pagetrack's scan bitmaps use
 * the same layout, so the two combine with plain word operations.
 */
#ifndef PAGETRACK_LIB_BITMAP_H
#define PAGETRACK_LIB_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BITMAP_WORD_BITS	64

static inline size_t bitmap__words(uint64_t nbits)
{
	return (nbits + BITMAP_WORD_BITS - 1) / BITMAP_WORD_BITS;
}

static inline size_t bitmap__bytes(uint64_t nbits)
{
	return bitmap__words(nbits) * sizeof(uint64_t);
}

static inline bool bitmap__test(const uint64_t *bm, uint64_t bit)
{
	return (bm[bit / BITMAP_WORD_BITS] >> (bit % BITMAP_WORD_BITS)) & 1;
}

static inline void bitmap__set(uint64_t *bm, uint64_t bit)
{
	bm[bit / BITMAP_WORD_BITS] |= 1ULL << (bit % BITMAP_WORD_BITS);
}

/* For bitmaps that several threads set at once (device threads). */
static inline void bitmap__set_atomic(uint64_t *bm, uint64_t bit)
{
	__atomic_fetch_or(&bm[bit / BITMAP_WORD_BITS],
			  1ULL << (bit % BITMAP_WORD_BITS), __ATOMIC_RELAXED);
}

static inline void bitmap__clear(uint64_t *bm, uint64_t bit)
{
	bm[bit / BITMAP_WORD_BITS] &= ~(1ULL << (bit % BITMAP_WORD_BITS));
}

uint64_t *bitmap__alloc(uint64_t nbits);
uint64_t bitmap__weight(const uint64_t *bm, uint64_t nbits);
bool bitmap__equal(const uint64_t *a, const uint64_t *b, uint64_t nbits);
void bitmap__or(uint64_t *dst, const uint64_t *a, const uint64_t *b,
		uint64_t nbits);
void bitmap__andnot(uint64_t *dst, const uint64_t *a, const uint64_t *b,
		    uint64_t nbits);
bool bitmap__next_run(const uint64_t *bm, uint64_t nbits, uint64_t from,
		      uint64_t *start, uint64_t *end);
int bitmap__format_runs(const uint64_t *bm, uint64_t nbits, char *buf,
			size_t len);

#endif
