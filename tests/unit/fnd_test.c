// SPDX-License-Identifier: GPL-2.0
/*
 * fnd, the rootfs guest's function server (selftests/vmm/guest/fnd.c),
 * on the host: the static guest binary itself, listening on an AF_UNIX
 * socket instead of vsock, which this host may lack.  The protocol is the
 * one the host speaks over the VMM's vsock uds_path after its CONNECT
 * handshake: one request line per connection, the reply, then EOF.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fn.h"

#define FND_DEFAULT	"build/guest/bin/fnd"
#define REPLY_MAX	(1 << 20)

struct fnd_ctx {
	pid_t pid;
	char dir[64];
	char path[128];
};

/* Read @fd's next line into @buf within @ms; 0, or -1 on EOF/timeout. */
static int read_line(int fd, char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;

	while (len < size - 1) {
		if (poll(&p, 1, ms) != 1 || read(fd, buf + len, 1) != 1)
			return -1;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
		len++;
	}
	return -1;
}

static const char *fnd_binary(void)
{
	return getenv("FND") ?: FND_DEFAULT;
}

/*
 * Start fnd on a socket of its own, with a dataset of @mib MiB or, when
 * @mib is NULL, the default; wait until it listens.
 */
static int fnd_launch(void **state, const char *mib)
{
	const char *fnd = fnd_binary();
	struct fnd_ctx *c = calloc(1, sizeof(*c));
	char arg[160], line[256];
	int out[2];

	if (!c)
		return -1;
	strcpy(c->dir, "/tmp/fnd_test.XXXXXX");
	if (!mkdtemp(c->dir) || pipe(out))
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/fn.sock", c->dir);
	snprintf(arg, sizeof(arg), "unix:%s", c->path);
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (!c->pid) {
		dup2(out[1], 1);
		if (mib)
			execl(fnd, fnd, "--dataset-mib", mib, arg, (char *)NULL);
		else
			execl(fnd, fnd, arg, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	*state = c;
	/* The dataset is set up before the server says it listens. */
	if (read_line(out[0], line, sizeof(line), 30000)) {
		fprintf(stderr, "fnd (%s) did not start\n", fnd);
		return -1;
	}
	close(out[0]);
	if (strncmp(line, "FND-LISTENING ", 14) || strcmp(line + 14, arg)) {
		fprintf(stderr, "fnd said '%s'\n", line);
		return -1;
	}
	return 0;
}

static int fnd_start(void **state)
{
	return fnd_launch(state, NULL);
}

static int fnd_start_1mib(void **state)
{
	return fnd_launch(state, "1");
}

static int fnd_stop(void **state)
{
	struct fnd_ctx *c = *state;

	if (!c)
		return 0;
	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		waitpid(c->pid, NULL, 0);
	}
	unlink(c->path);
	rmdir(c->dir);
	free(c);
	return 0;
}

static int fnd_connect(struct fnd_ctx *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, c->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * Send @req (as is: the newline is the caller's) and return the whole
 * reply, up to the server's EOF, which must come within 30 s.  A server
 * that closes with some of the request unread resets the connection:
 * that ends the reply too.
 */
static char *fnd_call(struct fnd_ctx *c, const char *req, size_t len)
{
	struct pollfd p = { .events = POLLIN };
	char *reply = malloc(REPLY_MAX);
	size_t got = 0;
	ssize_t n;

	assert_non_null(reply);
	p.fd = fnd_connect(c);
	assert_int_equal(write(p.fd, req, len), (ssize_t)len);
	for (;;) {
		assert_int_equal(poll(&p, 1, 30000), 1);
		n = read(p.fd, reply + got, REPLY_MAX - 1 - got);
		if (n < 0 && errno == ECONNRESET)
			break;
		assert_true(n >= 0);
		if (!n)
			break;
		got += n;
		assert_true(got < REPLY_MAX - 1);
	}
	reply[got] = '\0';
	close(p.fd);
	return reply;
}

/* "go": the checksum, each connection one invocation, counted. */
static void test_go(void **state)
{
	uint64_t want = fn__expected_sum();
	unsigned long long n, us, sum;
	unsigned int i;
	char *r;

	/* 0: fn.h could not run here (no /dev/null, no memory). */
	assert_int_not_equal(want, 0);
	for (i = 1; i <= 3; i++) {
		r = fnd_call(*state, "go\n", 3);
		assert_int_equal(sscanf(r, "FN-DONE n=%llu us=%llu sum=%llx",
					&n, &us, &sum), 3);
		assert_int_equal(n, i);
		assert_int_equal(sum, want);
		/* One line, then the server closed. */
		assert_ptr_equal(strchr(r, '\n'), r + strlen(r) - 1);
		free(r);
	}
}

/* Frames of one buffer: their count, or -1 when fnd could not tell. */
static long map_pages(const char *reply, const char *tag)
{
	unsigned long long first, count;
	char t[16], word[16];
	const char *line;
	long pages = 0;

	for (line = reply; *line; line = strchr(line, '\n') + 1) {
		if (sscanf(line, "FN-MAP %15s %llx %llu", t, &first,
			   &count) == 3) {
			if (!strcmp(t, tag))
				pages += count;
		} else if (sscanf(line, "FN-MAP %15s %15s", t, word) == 2 &&
			   !strcmp(t, tag)) {
			return strcmp(word, "end") ? -1 : pages;
		}
		if (!strchr(line, '\n'))
			break;
	}
	fail_msg("no closing FN-MAP %s line in:\n%s", tag, reply);
	return -1;
}

/* "map": each buffer's frames, all of them (as root), then "end". */
static void test_map(void **state)
{
	const long data = FN_DATASET_WORDS * sizeof(uint64_t) / 4096;
	const long out = FN_OUTPUT_WORDS * sizeof(uint64_t) / 4096;
	char *r = fnd_call(*state, "map\n", 4);
	long d = map_pages(r, "data"), o = map_pages(r, "out");

	if (geteuid()) {
		/* pagemap hides frame numbers from others than root. */
		assert_int_equal(d, -1);
		assert_int_equal(o, -1);
	} else {
		/* malloc's header may push a buffer over one more page. */
		assert_in_range(d, data, data + 1);
		assert_in_range(o, out, out + 1);
	}
	free(r);
}

/* Bad requests get an error or nothing, and do not stop the service. */
static void test_bad_requests(void **state)
{
	struct fnd_ctx *c = *state;
	char big[200];
	char *r;
	int fd;

	r = fnd_call(c, "hello\n", 6);
	assert_string_equal(r, "FN-ERR unknown request\n");
	free(r);
	/* "go" must be the whole line. */
	r = fnd_call(c, "gopher\n", 7);
	assert_string_equal(r, "FN-ERR unknown request\n");
	free(r);
	/* A line longer than a request is dropped unanswered. */
	memset(big, 'x', sizeof(big));
	r = fnd_call(c, big, sizeof(big));
	assert_string_equal(r, "");
	free(r);
	/* A client that leaves without finishing its line. */
	fd = fnd_connect(c);
	assert_int_equal(write(fd, "go", 2), 2);
	close(fd);

	r = fnd_call(c, "go\n", 3);
	assert_int_equal(strncmp(r, "FN-DONE n=", 10), 0);
	free(r);
}

/* --dataset-mib 1: the sum is fn's over 1 MiB, the map 256 pages. */
static void test_dataset_size(void **state)
{
	unsigned long long n, us, sum;
	FILE *null = fopen("/dev/null", "w");
	uint64_t want;
	struct fn fn;
	long d;
	char *r;

	assert_non_null(null);
	assert_int_equal(fn__init(&fn, 1), 0);
	want = fn__invoke(&fn, null);
	free(fn.data);
	free(fn.out);
	fclose(null);
	assert_int_not_equal(want, fn__expected_sum());

	r = fnd_call(*state, "go\n", 3);
	assert_int_equal(sscanf(r, "FN-DONE n=%llu us=%llu sum=%llx",
				&n, &us, &sum), 3);
	assert_int_equal(sum, want);
	free(r);
	r = fnd_call(*state, "map\n", 4);
	d = map_pages(r, "data");
	if (geteuid())
		assert_int_equal(d, -1);
	else
		assert_in_range(d, 256, 257);
	free(r);
}

/* A dataset size fnd cannot take is a usage error (status 2). */
static void test_bad_dataset_size(void **state)
{
	static const char *const bad[] = { "0", "-1", "4097", "12x", "" };
	const char *fnd = fnd_binary();
	unsigned int i;
	int status;
	pid_t pid;

	(void)state;
	for (i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 2);
			if (i < sizeof(bad) / sizeof(bad[0]))
				execl(fnd, fnd, "--dataset-mib", bad[i],
				      (char *)NULL);
			else	/* the option without its value */
				execl(fnd, fnd, "--dataset-mib", (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_go, fnd_start, fnd_stop),
		cmocka_unit_test_setup_teardown(test_map, fnd_start, fnd_stop),
		cmocka_unit_test_setup_teardown(test_bad_requests, fnd_start,
						fnd_stop),
		cmocka_unit_test_setup_teardown(test_dataset_size,
						fnd_start_1mib, fnd_stop),
		cmocka_unit_test(test_bad_dataset_size),
	};

	return cmocka_run_group_tests_name("fnd", tests, NULL, NULL);
}
