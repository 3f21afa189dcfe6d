// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ratelimit.h"

#define MS	1000000ULL

static void test_no_limits(void **state)
{
	struct rate_limit_config cfg = { 0 };
	struct rate_limiter rl;

	(void)state;
	rate_limiter__init(&rl, &cfg, 0);
	assert_true(rate_limiter__consume(&rl, ~0ULL, 0));
	assert_true(rate_limiter__consume(&rl, 1, 0));
	assert_false(rate_limiter__blocked(&rl, 0));
}

/* 1000 bytes a second: what is spent comes back at one byte per ms. */
static void test_bandwidth_refills_linearly(void **state)
{
	struct rate_limit_config cfg = {
		.bandwidth = { .size = 1000, .refill_time_ms = 1000 },
	};
	struct rate_limiter rl;

	(void)state;
	rate_limiter__init(&rl, &cfg, 0);
	assert_true(rate_limiter__consume(&rl, 600, 0));
	assert_false(rate_limiter__consume(&rl, 600, 0));
	/* Short: blocked for the retry interval, charged nothing. */
	assert_true(rate_limiter__blocked(&rl, 99 * MS));
	assert_int_equal(rate_limiter__wake_ns(&rl), RATE_LIMIT_RETRY_MS * MS);
	assert_false(rate_limiter__consume(&rl, 600, 50 * MS));
	/* At 100 ms: 400 + 100 tokens, still short of 600. */
	assert_false(rate_limiter__consume(&rl, 600, 100 * MS));
	assert_true(rate_limiter__consume(&rl, 600, 200 * MS));
	assert_false(rate_limiter__consume(&rl, 1, 200 * MS));
}

static void test_one_time_burst_first(void **state)
{
	struct rate_limit_config cfg = {
		.bandwidth = { .size = 1000, .one_time_burst = 500,
			       .refill_time_ms = 1000 },
	};
	struct rate_limiter rl;

	(void)state;
	rate_limiter__init(&rl, &cfg, 0);
	assert_true(rate_limiter__consume(&rl, 1400, 0));
	assert_true(rate_limiter__consume(&rl, 100, 0));
	assert_false(rate_limiter__consume(&rl, 1, 0));
	/* The burst never comes back: a full refill is the size alone. */
	assert_true(rate_limiter__consume(&rl, 1000, 2000 * MS));
	assert_false(rate_limiter__consume(&rl, 1, 2000 * MS));
}

/* More than the bucket holds goes, then blocks for the debt's refill. */
static void test_overdraw_blocks_for_the_debt(void **state)
{
	struct rate_limit_config cfg = {
		.bandwidth = { .size = 1000, .refill_time_ms = 1000 },
	};
	struct rate_limiter rl;

	(void)state;
	rate_limiter__init(&rl, &cfg, 0);
	assert_true(rate_limiter__consume(&rl, 3000, 0));
	assert_int_equal(rate_limiter__wake_ns(&rl), 2000 * MS);
	assert_false(rate_limiter__consume(&rl, 1, 1999 * MS));
	assert_true(rate_limiter__consume(&rl, 1000, 2000 * MS));
}

/* Both kinds must pay, or neither is charged. */
static void test_ops_and_bytes_together(void **state)
{
	struct rate_limit_config cfg = {
		.bandwidth = { .size = 100, .refill_time_ms = 1000 },
		.ops = { .size = 2, .refill_time_ms = 1000 },
	};
	struct rate_limiter rl;

	(void)state;
	rate_limiter__init(&rl, &cfg, 0);
	assert_true(rate_limiter__consume(&rl, 90, 0));
	assert_false(rate_limiter__consume(&rl, 50, 0));
	/* The refused request took no operation: one is left. */
	assert_true(rate_limiter__consume(&rl, 10, 100 * MS));
	assert_false(rate_limiter__consume(&rl, 0, 100 * MS));
	assert_true(rate_limiter__blocked(&rl, 150 * MS));
	/* 500 ms refill one operation back. */
	assert_true(rate_limiter__consume(&rl, 0, 600 * MS));
}

/* No fraction of a token is lost to rounding between refills. */
static void test_refill_keeps_fractions(void **state)
{
	struct rate_limit_config cfg = {
		.bandwidth = { .size = 3, .refill_time_ms = 1000 },
	};
	struct rate_limiter rl;
	uint64_t t;
	int ok = 0;

	(void)state;
	rate_limiter__init(&rl, &cfg, 0);
	assert_true(rate_limiter__consume(&rl, 3, 0));
	/* 3 tokens a second, asked for one every 100 ms over 10 s: 30. */
	for (t = 100 * MS; t <= 10000 * MS; t += 100 * MS)
		ok += rate_limiter__consume(&rl, 1, t);
	assert_int_equal(ok, 30);
}

static void test_config_validity_and_patch(void **state)
{
	struct rate_limit_config bad = {
		.ops = { .size = 5, .refill_time_ms = 0 },
	};
	struct token_bucket_config ops = { .size = 1, .refill_time_ms = 1000 };
	struct rate_limit_config none = { 0 };
	struct rate_limiter rl;

	(void)state;
	assert_false(rate_limit_config__valid(&bad));
	assert_true(rate_limit_config__valid(&none));
	assert_false(rate_limit_config__active(&none));
	rate_limiter__init(&rl, &none, 0);
	rate_limiter__set_ops(&rl, &ops, 0);
	assert_true(rate_limiter__consume(&rl, 0, 0));
	assert_false(rate_limiter__consume(&rl, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_limits),
		cmocka_unit_test(test_bandwidth_refills_linearly),
		cmocka_unit_test(test_one_time_burst_first),
		cmocka_unit_test(test_overdraw_blocks_for_the_debt),
		cmocka_unit_test(test_ops_and_bytes_together),
		cmocka_unit_test(test_refill_keeps_fractions),
		cmocka_unit_test(test_config_validity_and_patch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
