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
 * usage: fnd [--dataset-mib N] [unix:PATH]
 * --dataset-mib sets the dataset's size (default 64; bench-restore's
 * LARGE variant asks for 256).  With unix:PATH it listens on an AF_UNIX
 * stream socket instead, so that the protocol can be tested on a host
 * without vsock (tests/unit).
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

static void usage(void)
{
	fprintf(stderr, "usage: fnd [--dataset-mib N] [unix:PATH]\n");
	exit(2);
}

/* The dataset's size in MiB from @arg, 1 to FN_DATASET_MAX_MIB. */
static unsigned int parse_mib(const char *arg)
{
	unsigned long mib;
	char *end;

	errno = 0;
	mib = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || !mib || mib > FN_DATASET_MAX_MIB) {
		fprintf(stderr, "fnd: --dataset-mib: '%s' is not 1 to %d\n",
			arg, FN_DATASET_MAX_MIB);
		exit(2);
	}
	return mib;
}

int main(int argc, char **argv)
{
	unsigned int mib = FN_DATASET_MIB;
	const char *unix_path = NULL;
	struct fn fn;
	int i, lfd, conn;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dataset-mib") && i + 1 < argc)
			mib = parse_mib(argv[++i]);
		else if (!strncmp(argv[i], "unix:", 5) && !unix_path)
			unix_path = argv[i] + 5;
		else
			usage();
	}
	/* A client gone before its reply must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	if (fn__init(&fn, mib)) {
		fprintf(stderr, "fnd: no memory for a %u MiB dataset\n", mib);
		return 1;
	}
	lfd = unix_path ? listen_unix(unix_path) : listen_vsock();
	if (lfd < 0)
		return 1;
	if (unix_path)
		printf("FND-LISTENING unix:%s\n", unix_path);
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
