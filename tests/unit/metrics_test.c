// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics registry: Firecracker's JSON shape, counters that report
 * what they gained since the last flush, stores that keep their value,
 * device groups, and PUT /metrics's once-only rule.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics.h"

static json_t *take(void)
{
	char *line = metrics__serialize();
	json_t *root;

	assert_non_null(line);
	root = json_loads(line, 0, NULL);
	free(line);
	assert_non_null(root);
	return root;
}

static json_int_t field(json_t *root, const char *group, const char *name)
{
	json_t *v = json_object_get(json_object_get(root, group), name);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_shape(void **state)
{
	static const char *const groups[] = {
		"api_server", "get_api_requests", "i8042", "latencies_us",
		"logger", "patch_api_requests", "put_api_requests", "vcpu",
		"vmm",
	};
	json_t *root = take();
	const char *first;
	size_t i;

	(void)state;
	/* Firecracker's first member, milliseconds since the epoch. */
	first = json_object_iter_key(json_object_iter(root));
	assert_string_equal(first, "utc_timestamp_ms");
	assert_true(json_integer_value(json_object_get(root, first)) >
		    1600000000000LL);
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		assert_true(json_is_object(json_object_get(root, groups[i])));
	assert_int_equal(field(root, "vcpu", "exit_io_in"), 0);
	assert_int_equal(field(root, "put_api_requests", "actions_fails"), 0);
	json_decref(root);
}

static void test_counter_is_a_delta_store_a_value(void **state)
{
	json_t *root;

	(void)state;
	json_decref(take());
	metrics__inc(&metrics.vcpu.exit_io_out);
	metrics__add(&metrics.vcpu.exit_io_out, 4);
	metrics__store(&metrics.latencies_us.load_snapshot, 1234);
	root = take();
	assert_int_equal(field(root, "vcpu", "exit_io_out"), 5);
	assert_int_equal(field(root, "latencies_us", "load_snapshot"), 1234);
	json_decref(root);
	root = take();
	assert_int_equal(field(root, "vcpu", "exit_io_out"), 0);
	assert_int_equal(field(root, "latencies_us", "load_snapshot"), 1234);
	json_decref(root);
}

static struct {
	struct metric read_count, write_count, queue_size;
} blk;

static const struct metric_def blk_defs[] = {
	METRIC_COUNTER(blk, read_count),
	METRIC_COUNTER(blk, write_count),
	METRIC_STORE(blk, queue_size),
};

static struct metrics_group blk_group = METRICS_GROUP("block_rootfs",
						      blk_defs);

static void test_device_group(void **state)
{
	json_t *root;

	(void)state;
	metrics__add_group(&blk_group);
	metrics__inc(&blk.read_count);
	metrics__inc(&blk.read_count);
	metrics__store(&blk.queue_size, 256);
	root = take();
	assert_int_equal(field(root, "block_rootfs", "read_count"), 2);
	assert_int_equal(field(root, "block_rootfs", "write_count"), 0);
	assert_int_equal(field(root, "block_rootfs", "queue_size"), 256);
	json_decref(root);
}

static void test_max(void **state)
{
	struct metric m = { 0 };

	(void)state;
	metrics__store_max(&m, 7);
	metrics__store_max(&m, 3);
	assert_int_equal(m.value, 7);
}

/* Configured once: flushes append lines; a second PUT is refused. */
static void test_configure_once_and_flush(void **state)
{
	char path[] = "/tmp/metrics_test.XXXXXX", err[256], buf[65536];
	int fd = mkstemp(path);
	ssize_t n;
	char *nl;
	json_t *root;

	(void)state;
	assert_true(fd >= 0);
	assert_int_not_equal(metrics__configure("/nonexistent/m", err,
						sizeof(err)), 0);
	assert_int_equal(metrics__configure(path, err, sizeof(err)), 0);
	assert_int_not_equal(metrics__configure(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "Reinitialization"));
	metrics__inc(&metrics.put_api_requests.actions_count);
	assert_int_equal(metrics__flush(), 0);
	metrics__exit();	/* the exit's flush: a second line */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	assert_non_null(nl);
	assert_non_null(strchr(nl + 1, '\n'));
	*nl = '\0';
	root = json_loads(buf, 0, NULL);
	assert_non_null(root);
	assert_int_equal(field(root, "put_api_requests", "actions_count"), 1);
	json_decref(root);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_counter_is_a_delta_store_a_value),
		cmocka_unit_test(test_device_group),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_configure_once_and_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
