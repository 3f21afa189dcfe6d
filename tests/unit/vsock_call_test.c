// SPDX-License-Identifier: GPL-2.0
/*
 * lib/vsock_call.c, the host side of fn-invoke, against a stand-in for
 * the VMM's vsock muxer: a process that takes Firecracker's handshake on
 * a Unix socket and, for port 5000, answers "OK <port>" and then splices
 * the stream to the real fnd (the static guest binary, listening on an
 * AF_UNIX socket as fnd_test runs it).  Other ports play what a VMM or
 * guest may do wrong: refuse, answer garbage, never answer, close before
 * replying.
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
#include "vsock_call.h"

#define FND_DEFAULT	"build/guest/bin/fnd"
#define FIRST_HOST_PORT	1073741824U
/* What the stand-in does with a CONNECT to each of these ports. */
#define PORT_REFUSED	4999	/* closes: the guest's RST */
#define PORT_GARBAGE	7	/* answers "NO" */
#define PORT_SILENT	8	/* never answers */
#define PORT_MUTE	9	/* OK, reads, closes without a reply */

struct ctx {
	pid_t fnd, mux;
	char dir[64];
	char fnd_path[128];
	char uds[128];
};

static int unix_socket(const char *path, bool listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (listening ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
			listen(fd, 8) :
			connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Both ways between @a and @b until either ends. */
static void splice_streams(int a, int b)
{
	struct pollfd p[2] = {
		{ .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN },
	};
	char buf[65536];
	ssize_t n;
	int i;

	for (;;) {
		if (poll(p, 2, -1) < 0)
			return;
		for (i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(p[!i].fd, buf, n) != n)
				return;
		}
	}
}

static void mux_serve(struct ctx *c, int fd, unsigned int nr)
{
	char line[64];
	unsigned int port;
	size_t n = 0;
	int guest;

	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 &&
	       line[n++] != '\n')
		;
	line[n] = '\0';
	if (sscanf(line, "CONNECT %u\n", &port) != 1)
		return;
	switch (port) {
	case PORT_GARBAGE:
		dprintf(fd, "NO\n");
		return;
	case PORT_SILENT:
		/* Until the client gives up. */
		while (read(fd, line, sizeof(line)) > 0)
			;
		return;
	case PORT_MUTE:
		/* Reads the request, so that its close is no reset. */
		dprintf(fd, "OK %u\n", FIRST_HOST_PORT + nr);
		n = 0;
		while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 &&
		       line[n++] != '\n')
			;
		return;
	case VSOCK_CALL_FND_PORT:
		guest = unix_socket(c->fnd_path, false);
		if (guest < 0)
			return;
		dprintf(fd, "OK %u\n", FIRST_HOST_PORT + nr);
		splice_streams(fd, guest);
		return;
	}
}

/* The stand-in muxer: each connection in a child of its own. */
static void mux_run(struct ctx *c, int lfd)
{
	unsigned int nr = 0;
	int fd;

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (!fork()) {
			mux_serve(c, fd, nr);
			_exit(0);
		}
		close(fd);
		nr++;
	}
}

static int setup(void **state)
{
	const char *fnd = getenv("FND") ?: FND_DEFAULT;
	struct ctx *c = calloc(1, sizeof(*c));
	char arg[160];
	int i, lfd;

	if (!c)
		return -1;
	*state = c;
	strcpy(c->dir, "/tmp/vsock_call_test.XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	snprintf(c->fnd_path, sizeof(c->fnd_path), "%s/fn.sock", c->dir);
	snprintf(c->uds, sizeof(c->uds), "%s/v.sock", c->dir);
	snprintf(arg, sizeof(arg), "unix:%s", c->fnd_path);
	c->fnd = fork();
	if (c->fnd < 0)
		return -1;
	if (!c->fnd) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execl(fnd, fnd, arg, (char *)NULL);
		_exit(127);
	}
	/* fnd sets up its dataset before it binds. */
	for (i = 0; i < 300 && access(c->fnd_path, F_OK); i++)
		usleep(100000);
	if (access(c->fnd_path, F_OK)) {
		fprintf(stderr, "fnd (%s) did not start\n", fnd);
		return -1;
	}
	lfd = unix_socket(c->uds, true);
	if (lfd < 0)
		return -1;
	c->mux = fork();
	if (c->mux < 0)
		return -1;
	if (!c->mux) {
		/* A group of its own, which the teardown ends whole. */
		setpgid(0, 0);
		mux_run(c, lfd);
	}
	setpgid(c->mux, c->mux);
	close(lfd);
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[128];

	if (!c)
		return 0;
	if (c->mux > 0) {
		kill(-c->mux, SIGKILL);
		waitpid(c->mux, NULL, 0);
	}
	if (c->fnd > 0) {
		kill(c->fnd, SIGTERM);
		waitpid(c->fnd, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", c->dir);
	free(c);
	return 0;
}

static int run(struct ctx *c, unsigned int port, int timeout_ms,
	       const char *req, struct vsock_call *call, char *err,
	       size_t errlen)
{
	call->port = port;
	call->timeout_ms = timeout_ms;
	err[0] = '\0';
	return vsock_call__run(c->uds, req, call, err, errlen);
}

/* Two invocations: the reply, its checksum, the VMM's port, the times. */
static void test_invoke(void **state)
{
	struct ctx *c = *state;
	unsigned long long n, us, sum;
	struct vsock_call call;
	uint64_t want = fn__expected_sum();
	char err[512];
	int i;

	/* 0: fn.h could not run here (no /dev/null, no memory). */
	assert_int_not_equal(want, 0);
	for (i = 1; i <= 2; i++) {
		assert_int_equal(run(c, VSOCK_CALL_FND_PORT, 30000, "go",
				     &call, err, sizeof(err)), 0);
		assert_int_equal(sscanf(call.reply, "FN-DONE n=%llu us=%llu "
					"sum=%llx\n", &n, &us, &sum), 3);
		assert_int_equal(n, i);
		assert_int_equal(sum, want);
		assert_int_equal(call.reply_len, strlen(call.reply));
		assert_int_equal(call.host_port, FIRST_HOST_PORT + i - 1);
		assert_true(call.handshake_us > 0);
		/* The run time fnd measured is inside the call's. */
		assert_true(call.total_us > call.handshake_us);
		assert_true(call.total_us >= us);
		free(call.reply);
	}
}

/* A reply of many lines and segments, read to its end. */
static void test_long_reply(void **state)
{
	struct ctx *c = *state;
	struct vsock_call call;
	char err[512];

	assert_int_equal(run(c, VSOCK_CALL_FND_PORT, 30000, "map", &call,
			     err, sizeof(err)), 0);
	assert_non_null(strstr(call.reply, "FN-MAP data "));
	/* The last line: "out end", or "out error" without root. */
	assert_non_null(strstr(call.reply, "FN-MAP out e"));
	assert_int_equal(call.reply[call.reply_len - 1], '\n');
	free(call.reply);
}

static void expect_fail(struct ctx *c, unsigned int port, int timeout_ms,
			const char *req, const char *why)
{
	struct vsock_call call;
	char err[512];

	assert_int_equal(run(c, port, timeout_ms, req, &call, err,
			     sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("port %u: '%s', not '%s'", port, err, why);
	assert_int_equal(call.total_us, 0);
	free(call.reply);
}

static void test_failures(void **state)
{
	struct ctx *c = *state;
	char uds[sizeof(c->uds)];

	expect_fail(c, PORT_REFUSED, 10000, "go", "nothing listens");
	expect_fail(c, PORT_GARBAGE, 10000, "go", "with 'NO', not 'OK");
	expect_fail(c, PORT_SILENT, 300, "go", "no answer to CONNECT");
	expect_fail(c, PORT_MUTE, 10000, "go", "without a reply");
	expect_fail(c, VSOCK_CALL_FND_PORT, 10000, "a\nb", "one line");
	/* fnd's answer to a request it does not know is still a reply. */
	{
		struct vsock_call call;
		char err[512];

		assert_int_equal(run(c, VSOCK_CALL_FND_PORT, 10000, "what",
				     &call, err, sizeof(err)), 0);
		assert_string_equal(call.reply, "FN-ERR unknown request\n");
		free(call.reply);
	}
	memcpy(uds, c->uds, sizeof(uds));
	strcat(c->uds, ".none");
	expect_fail(c, VSOCK_CALL_FND_PORT, 10000, "go", "cannot connect");
	memcpy(c->uds, uds, sizeof(uds));
	/* And the muxer still serves, fnd counting its first call. */
	{
		struct vsock_call call;
		char err[512];

		assert_int_equal(run(c, VSOCK_CALL_FND_PORT, 30000, "go",
				     &call, err, sizeof(err)), 0);
		assert_int_equal(strncmp(call.reply, "FN-DONE n=1 ", 12), 0);
		free(call.reply);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_invoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_reply, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
