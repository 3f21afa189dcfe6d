/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Firecracker's rate limiter: two token buckets, bytes and operations.
 * A bucket holds at most @size tokens and refills from empty to full in
 * @refill_time_ms, continuously; @one_time_burst extra tokens are spent
 * first and never come back.  A request larger than the whole bucket
 * still goes, and blocks the limiter for as long as refilling what it
 * overdrew takes; a request the bucket cannot pay blocks the limiter for
 * RATE_LIMIT_RETRY_MS and goes later.  Time is passed in, so tests are
 * exact; the device arms a timer for rate_limiter__wake_ns().
 */
#ifndef PAGETRACK_LIB_RATELIMIT_H
#define PAGETRACK_LIB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_LIMIT_RETRY_MS	100

struct token_bucket_config {
	uint64_t size;			/* 0: no limit of this kind */
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

struct rate_limit_config {
	struct token_bucket_config bandwidth;	/* bytes */
	struct token_bucket_config ops;
};

struct token_bucket {
	struct token_bucket_config cfg;
	uint64_t burst;		/* what is left of the one-time burst */
	uint64_t budget;
	uint64_t last_ns;	/* refilled up to this time */
	uint64_t frac;		/* of a token, earned but not yet whole */
};

struct rate_limiter {
	struct token_bucket bytes;
	struct token_bucket ops;
	uint64_t blocked_until_ns;	/* 0: not blocked */
};

/* A bucket is valid when it is off (size 0) or has a refill time. */
bool rate_limit_config__valid(const struct rate_limit_config *cfg);
bool rate_limit_config__active(const struct rate_limit_config *cfg);
void rate_limiter__init(struct rate_limiter *rl,
			const struct rate_limit_config *cfg, uint64_t now_ns);
/* Replace one kind's bucket (PATCH): a new, full bucket. */
void rate_limiter__set_bandwidth(struct rate_limiter *rl,
				 const struct token_bucket_config *cfg,
				 uint64_t now_ns);
void rate_limiter__set_ops(struct rate_limiter *rl,
			   const struct token_bucket_config *cfg,
			   uint64_t now_ns);
/*
 * May one operation of @bytes go at @now_ns?  True takes the tokens; false
 * takes none and leaves the limiter blocked until rate_limiter__wake_ns().
 */
bool rate_limiter__consume(struct rate_limiter *rl, uint64_t bytes,
			   uint64_t now_ns);
bool rate_limiter__blocked(const struct rate_limiter *rl, uint64_t now_ns);
uint64_t rate_limiter__wake_ns(const struct rate_limiter *rl);

#endif
