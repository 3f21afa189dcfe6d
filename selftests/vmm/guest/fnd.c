// SPDX-License-Identifier: GPL-2.0
/*
 * fnd: the serverless function of bench-restore (fn.h) as a server on the
 * guest's vsock, the way a Firecracker user invokes a function: the host
 * connects through the VMM's uds_path ("CONNECT 5000\n"), writes one
 * request line and reads the reply until the guest closes the stream.
 *
 *   go\n   one invocation; reply: its FN-DONE line
 *   map\n  where the buffers lie; reply: the FN-MAP lines
 *
 * Anything else gets "FN-ERR unknown request".  Connections are served
 * one after another, forever; the dataset is set up once, before the
 * first, so that a snapshot taken after "FND-LISTENING" holds it.
 *
 * usage: fnd [unix:PATH]
 * With unix:PATH it listens on an AF_UNIX stream socket instead, so that
 * the protocol can be tested on a host without vsock (tests/unit).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>

#include "fn.h"

/* The vsock port fnd listens on; Documentation/testing.rst names it too. */
#define FND_PORT		5000

/* A client that connects and says nothing must not stop the service. */
#define FND_REQ_TIMEOUT_S	10

static int listen_vsock(void)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = FND_PORT,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 16)) {
		perror("fnd: vsock");
		return -1;
	}
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "fnd: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 16)) {
		perror("fnd: unix");
		return -1;
	}
	return fd;
}

/* Read up to the first newline (dropped) into @buf; -1 on EOF or error. */
static int read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	char *nl;

	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += n;
		buf[len] = '\0';
		nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			return 0;
		}
	}
	return -1;
}

static void serve(struct fn *fn, int conn)
{
	struct timeval tv = { .tv_sec = FND_REQ_TIMEOUT_S };
	char req[64];
	FILE *f;

	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_request(conn, req, sizeof(req))) {
		close(conn);
		return;
	}
	f = fdopen(conn, "w");
	if (!f) {
		close(conn);
		return;
	}
	if (!strcmp(req, "go"))
		fn__invoke(fn, f);
	else if (!strcmp(req, "map"))
		fn__map(fn, f);
	else
		fprintf(f, "FN-ERR unknown request\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	struct fn fn;
	int lfd, conn;

	if (argc > 2 || (argc == 2 && strncmp(argv[1], "unix:", 5))) {
		fprintf(stderr, "usage: fnd [unix:PATH]\n");
		return 2;
	}
	/* A client gone before its reply must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	if (fn__init(&fn))
		return 1;
	lfd = argc == 2 ? listen_unix(argv[1] + 5) : listen_vsock();
	if (lfd < 0)
		return 1;
	if (argc == 2)
		printf("FND-LISTENING %s\n", argv[1]);
	else
		printf("FND-LISTENING vsock:%d\n", FND_PORT);
	fflush(stdout);

	for (;;) {
		conn = accept(lfd, NULL, NULL);
		if (conn >= 0) {
			serve(&fn, conn);
		} else if (errno != EINTR && errno != ECONNABORTED) {
			perror("fnd: accept");
			sleep(1);	/* e.g. out of files: do not spin */
		}
	}
}
