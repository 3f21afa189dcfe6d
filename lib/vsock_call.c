// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of one vsock call (vsock_call.h).  Blocking sockets and
 * poll() against one deadline: a guest that never answers costs the
 * caller its timeout, never a hang.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vsock_call.h"

/* The VMM's answer to CONNECT is short: "OK 4294967295\n" at most. */
#define HANDSHAKE_MAX		32
#define REPLY_CHUNK		4096

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Wait until @fd is readable or @deadline (now_us() time) passes:
 * 1 readable, 0 timed out, -1 on error.
 */
static int wait_readable(int fd, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t now;
	int r;

	for (;;) {
		now = now_us();
		if (now >= deadline)
			return 0;
		r = poll(&p, 1, (deadline - now + 999) / 1000);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * The VMM's line after CONNECT, read a byte at a time so that none of
 * the reply, which may follow in the same segment, is taken with it.
 */
static int read_handshake(int fd, char *line, uint64_t deadline,
			  char *err, size_t errlen)
{
	size_t n = 0;
	ssize_t r;

	while (n < HANDSHAKE_MAX - 1) {
		r = wait_readable(fd, deadline);
		if (r == 0)
			return fail(err, errlen, "no answer to CONNECT in "
				    "time");
		if (r > 0)
			r = read(fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(err, errlen, "reading the answer to "
				    "CONNECT: %s", strerror(errno));
		if (!r) {
			line[n] = '\0';
			return fail(err, errlen, "the VMM closed the "
				    "connection after CONNECT%s%s: nothing "
				    "listens on that guest port, or the "
				    "guest has no vsock driver yet",
				    n ? ", having said " : "", line);
		}
		if (line[n++] == '\n') {
			line[n] = '\0';
			return 0;
		}
	}
	line[n] = '\0';
	return fail(err, errlen, "the VMM's answer to CONNECT is too long");
}

/* Until EOF into @c->reply, growing it. */
static int read_reply(int fd, struct vsock_call *c, uint64_t deadline,
		      char *err, size_t errlen)
{
	size_t size = REPLY_CHUNK;
	ssize_t r;
	char *p;

	for (;;) {
		if (size - c->reply_len < REPLY_CHUNK) {
			p = realloc(c->reply, size * 2);
			if (!p)
				return fail(err, errlen, "out of memory for "
					    "the reply");
			c->reply = p;
			size *= 2;
		}
		r = wait_readable(fd, deadline);
		if (r == 0)
			return fail(err, errlen, "no end of the reply in time "
				    "(%zu bytes so far)", c->reply_len);
		if (r > 0)
			r = read(fd, c->reply + c->reply_len,
				 size - 1 - c->reply_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			return fail(err, errlen, "the connection was reset "
				    "after %zu bytes of reply (the guest's "
				    "transport reset, or it went away)",
				    c->reply_len);
		if (r < 0)
			return fail(err, errlen, "reading the reply: %s",
				    strerror(errno));
		if (!r)
			break;
		c->reply_len += r;
		c->reply[c->reply_len] = '\0';
	}
	if (!c->reply_len)
		return fail(err, errlen, "the guest closed the connection "
			    "without a reply");
	return 0;
}

static int send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int call(int fd, const char *uds_path, const char *request,
		struct vsock_call *c, uint64_t t0, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = t0 + (uint64_t)c->timeout_ms * 1000;
	char line[HANDSHAKE_MAX], msg[32], tail;
	unsigned int port;

	if (strlen(uds_path) >= sizeof(sa.sun_path))
		return fail(err, errlen, "%s: path too long for a Unix "
			    "socket", uds_path);
	strcpy(sa.sun_path, uds_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fail(err, errlen, "cannot connect to %s: %s%s",
			    uds_path, strerror(errno),
			    errno == ENOENT || errno == ECONNREFUSED ?
			    " (is the VMM's vsock device there: PUT /vsock, "
			    "then InstanceStart or a snapshot load?)" : "");
	snprintf(msg, sizeof(msg), "CONNECT %u\n", c->port);
	if (send_all(fd, msg, strlen(msg)))
		return fail(err, errlen, "sending CONNECT: %s",
			    strerror(errno));
	if (read_handshake(fd, line, deadline, err, errlen))
		return -1;
	if (sscanf(line, "OK %u%c", &port, &tail) != 2 || tail != '\n') {
		line[strcspn(line, "\n")] = '\0';
		return fail(err, errlen, "the VMM answered CONNECT with '%s', "
			    "not 'OK <port>'", line);
	}
	c->host_port = port;
	c->handshake_us = now_us() - t0;
	if (send_all(fd, request, strlen(request)) || send_all(fd, "\n", 1))
		return fail(err, errlen, "sending the request: %s",
			    strerror(errno));
	if (read_reply(fd, c, deadline, err, errlen))
		return -1;
	c->total_us = now_us() - t0;
	return 0;
}

int vsock_call__run(const char *uds_path, const char *request,
		    struct vsock_call *c, char *err, size_t errlen)
{
	uint64_t t0;
	int fd, ret;

	c->reply = calloc(1, REPLY_CHUNK);
	c->reply_len = 0;
	c->host_port = 0;
	c->handshake_us = 0;
	c->total_us = 0;
	if (!c->reply)
		return fail(err, errlen, "out of memory");
	if (strchr(request, '\n'))
		return fail(err, errlen, "a request is one line");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, errlen, "socket: %s", strerror(errno));
	t0 = now_us();
	ret = call(fd, uds_path, request, c, t0, err, errlen);
	close(fd);
	return ret;
}
