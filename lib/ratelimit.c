// SPDX-License-Identifier: GPL-2.0
/* Token-bucket rate limiting as Firecracker defines it; see ratelimit.h. */
#include "ratelimit.h"

#define NS_PER_MS	1000000ULL

enum bucket_result { BUCKET_OK, BUCKET_SHORT, BUCKET_OVERDRAWN };

static bool bucket__on(const struct token_bucket *b)
{
	return b->cfg.size;
}

static void bucket__init(struct token_bucket *b,
			 const struct token_bucket_config *cfg, uint64_t now)
{
	b->cfg = *cfg;
	if (!cfg->refill_time_ms)
		b->cfg.size = 0;
	b->burst = cfg->one_time_burst;
	b->budget = b->cfg.size;
	b->last_ns = now;
	b->frac = 0;
}

/*
 * Tokens earned since last_ns, at size per refill time.  The fraction of
 * a token earned so far is kept in @frac (in units of 1/refill_ns token),
 * so asking often loses nothing to rounding.
 */
static void bucket__refill(struct token_bucket *b, uint64_t now)
{
	unsigned __int128 refill_ns = (unsigned __int128)b->cfg.refill_time_ms *
				      NS_PER_MS;
	unsigned __int128 earned;
	uint64_t tokens;

	if (now <= b->last_ns)
		return;
	earned = (unsigned __int128)(now - b->last_ns) * b->cfg.size + b->frac;
	b->last_ns = now;
	if (earned >= refill_ns * (b->cfg.size - b->budget)) {
		b->budget = b->cfg.size;
		b->frac = 0;
		return;
	}
	tokens = earned / refill_ns;
	b->frac = earned % refill_ns;
	b->budget += tokens;
}

/* Take @tokens; for BUCKET_OVERDRAWN, @over is what was owed beyond it. */
static enum bucket_result bucket__take(struct token_bucket *b,
				       uint64_t tokens, uint64_t now,
				       uint64_t *over)
{
	if (b->burst) {
		if (b->burst >= tokens) {
			b->burst -= tokens;
			return BUCKET_OK;
		}
		tokens -= b->burst;
		b->burst = 0;
	}
	if (tokens > b->budget) {
		bucket__refill(b, now);
		if (tokens > b->cfg.size) {
			*over = tokens - b->budget;
			b->budget = 0;
			return BUCKET_OVERDRAWN;
		}
		if (tokens > b->budget)
			return BUCKET_SHORT;
	}
	b->budget -= tokens;
	return BUCKET_OK;
}

/* Can @tokens be taken now, without taking them? */
static bool bucket__can_take(struct token_bucket *b, uint64_t tokens,
			     uint64_t now)
{
	if (b->burst >= tokens)
		return true;
	tokens -= b->burst;
	if (tokens > b->budget)
		bucket__refill(b, now);
	return tokens > b->cfg.size || tokens <= b->budget;
}

bool rate_limit_config__valid(const struct rate_limit_config *cfg)
{
	return (!cfg->bandwidth.size || cfg->bandwidth.refill_time_ms) &&
	       (!cfg->ops.size || cfg->ops.refill_time_ms);
}

bool rate_limit_config__active(const struct rate_limit_config *cfg)
{
	return cfg->bandwidth.size || cfg->ops.size;
}

void rate_limiter__init(struct rate_limiter *rl,
			const struct rate_limit_config *cfg, uint64_t now_ns)
{
	bucket__init(&rl->bytes, &cfg->bandwidth, now_ns);
	bucket__init(&rl->ops, &cfg->ops, now_ns);
	rl->blocked_until_ns = 0;
}

void rate_limiter__set_bandwidth(struct rate_limiter *rl,
				 const struct token_bucket_config *cfg,
				 uint64_t now_ns)
{
	bucket__init(&rl->bytes, cfg, now_ns);
}

void rate_limiter__set_ops(struct rate_limiter *rl,
			   const struct token_bucket_config *cfg,
			   uint64_t now_ns)
{
	bucket__init(&rl->ops, cfg, now_ns);
}

bool rate_limiter__blocked(const struct rate_limiter *rl, uint64_t now_ns)
{
	return rl->blocked_until_ns && now_ns < rl->blocked_until_ns;
}

uint64_t rate_limiter__wake_ns(const struct rate_limiter *rl)
{
	return rl->blocked_until_ns;
}

static void rate_limiter__block(struct rate_limiter *rl, uint64_t until)
{
	if (until > rl->blocked_until_ns)
		rl->blocked_until_ns = until;
}

/* The refill time of what @b was overdrawn by @over, in ns. */
static uint64_t bucket__debt_ns(const struct token_bucket *b, uint64_t over)
{
	return (unsigned __int128)over * b->cfg.refill_time_ms * NS_PER_MS /
	       b->cfg.size;
}

bool rate_limiter__consume(struct rate_limiter *rl, uint64_t bytes,
			   uint64_t now_ns)
{
	uint64_t over = 0, wait = 0;

	if (rate_limiter__blocked(rl, now_ns))
		return false;
	rl->blocked_until_ns = 0;
	/* Both kinds must be able to pay, or neither is charged. */
	if ((bucket__on(&rl->ops) && !bucket__can_take(&rl->ops, 1, now_ns)) ||
	    (bucket__on(&rl->bytes) &&
	     !bucket__can_take(&rl->bytes, bytes, now_ns))) {
		rate_limiter__block(rl, now_ns + RATE_LIMIT_RETRY_MS * NS_PER_MS);
		return false;
	}
	if (bucket__on(&rl->ops) &&
	    bucket__take(&rl->ops, 1, now_ns, &over) == BUCKET_OVERDRAWN)
		wait = bucket__debt_ns(&rl->ops, over);
	if (bucket__on(&rl->bytes) &&
	    bucket__take(&rl->bytes, bytes, now_ns, &over) == BUCKET_OVERDRAWN) {
		uint64_t w = bucket__debt_ns(&rl->bytes, over);

		wait = w > wait ? w : wait;
	}
	if (wait)
		rate_limiter__block(rl, now_ns + wait);
	return true;
}
