// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_echo: the guest end of vsock_test.  It echoes every byte it reads
 * on a vsock stream back on it, until the peer closes the stream (or it
 * is reset), and says on the console how the stream ended:
 *
 *   listen PORT   serve host-initiated connections on PORT, one by one
 *   connect PORT  connect to the host (CID 2) on PORT and echo there
 *
 * Console lines: "ECHO-LISTENING port", "ECHO-CONNECTED port",
 * "ECHO-END port eof|reset|error bytes=N".  A reset stream is what a
 * guest sees of its connections after a snapshot restore.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define ECHO_BUF	(64 * 1024)

static void echo(int fd, unsigned int port)
{
	static char buf[ECHO_BUF];
	unsigned long long total = 0;
	const char *how = "eof";
	ssize_t n, w, off;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				how = errno == ECONNRESET ? "reset" : "error";
			break;
		}
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, n - off);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				how = errno == ECONNRESET || errno == EPIPE ?
				      "reset" : "error";
				goto out;
			}
		}
		total += n;
	}
out:
	printf("ECHO-END %u %s bytes=%llu\n", port, how, total);
	fflush(stdout);
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK };
	unsigned int port;
	int fd, conn;

	if (argc != 3 || (strcmp(argv[1], "listen") &&
			  strcmp(argv[1], "connect"))) {
		fprintf(stderr, "usage: vsock_echo listen|connect PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	port = strtoul(argv[2], NULL, 10);
	sa.svm_port = port;
	fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("vsock_echo: socket");
		return 1;
	}
	if (!strcmp(argv[1], "connect")) {
		sa.svm_cid = VMADDR_CID_HOST;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return 1;	/* quietly: the caller retries */
		printf("ECHO-CONNECTED %u\n", port);
		fflush(stdout);
		echo(fd, port);
		return 0;
	}
	sa.svm_cid = VMADDR_CID_ANY;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		perror("vsock_echo: listen");
		return 1;
	}
	printf("ECHO-LISTENING %u\n", port);
	fflush(stdout);
	for (;;) {
		conn = accept(fd, NULL, NULL);
		if (conn >= 0)
			echo(conn, port);
		else if (errno != EINTR && errno != ECONNABORTED)
			sleep(1);
	}
}
