/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One call to a service in a guest, from the host, through the VMM's
 * vsock uds_path as Firecracker's host side gives it: connect to the Unix
 * socket, "CONNECT <port>\n", the VMM's "OK <host port>\n", then one
 * request line and its reply, which ends when the guest closes the stream
 * (fnd's protocol, selftests/vmm/guest/fnd.c).  Timed from the connect()
 * to the reply's end: that is the request-to-reply latency bench-restore
 * reports, the guest's handling of the connection included.
 */
#ifndef PAGETRACK_LIB_VSOCK_CALL_H
#define PAGETRACK_LIB_VSOCK_CALL_H

#include <stddef.h>
#include <stdint.h>

/* fnd's port in the guest. */
#define VSOCK_CALL_FND_PORT	5000

struct vsock_call {
	/* In: the guest port and the time the whole call may take. */
	unsigned int port;
	int timeout_ms;
	/* Out: the reply (malloc'd, NUL-terminated; the caller frees it). */
	char *reply;
	size_t reply_len;
	unsigned int host_port;	/* the port the VMM's "OK" named */
	uint64_t handshake_us;	/* connect() to the "OK" line */
	uint64_t total_us;	/* connect() to the end of the reply */
};

/*
 * Call @request (a line; its '\n' is added) on @uds_path: 0, or -1 with
 * the reason in @err.  @c->reply is set in either case (empty, or what
 * came before the failure).
 */
int vsock_call__run(const char *uds_path, const char *request,
		    struct vsock_call *c, char *err, size_t errlen);

#endif
