// SPDX-License-Identifier: GPL-2.0
/*
 * fn-invoke - invoke a guest's function over the VMM's vsock, the way a
 * Firecracker user does, and time it: the host client bench-restore uses
 * (lib/vsock_call.c does the work).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "vsock_call.h"

#define DEFAULT_TIMEOUT_S	300

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"	fn-invoke - call a function server in a guest through vmm's vsock\n"
"\n"
"SYNOPSIS\n"
"	fn-invoke [--port PORT] [--timeout SECONDS] UDS_PATH [REQUEST]\n"
"\n"
"DESCRIPTION\n"
"	Connects to UDS_PATH, the uds_path of the VMM's vsock device\n"
"	(PUT /vsock), and opens a stream to guest port PORT with\n"
"	Firecracker's handshake: it writes \"CONNECT PORT\\n\" and the VMM\n"
"	answers \"OK HOST_PORT\\n\" once the guest accepted.  It then sends\n"
"	REQUEST (default \"go\") as one line and copies everything the guest\n"
"	sends back, until the guest closes the stream, to standard output.\n"
"\n"
"	This is the protocol of fnd, the function server of the test\n"
"	guests (selftests/vmm/guest/fnd.c), on port 5000: \"go\" invokes\n"
"	the function once and answers\n"
"	\"FN-DONE n=<invocation> us=<run time> sum=<checksum>\", \"map\"\n"
"	lists where its buffers lie in guest-physical memory.\n"
"\n"
"	When the reply is complete it prints, on standard error,\n"
"\n"
"	  fn-invoke: request-to-reply MS ms (handshake MS ms, host port N)\n"
"\n"
"	the request-to-reply latency, from the connect() to UDS_PATH to\n"
"	the end of the reply, so the guest's taking of the connection is\n"
"	in it (after a snapshot restore, its first faults are); the\n"
"	handshake part ends at the VMM's \"OK\".\n"
"\n"
"	A snapshot restore resets every vsock connection the guest had\n"
"	(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET): invoke again on a new one.\n"
"\n"
"OPTIONS\n"
"	-p, --port PORT\n"
"		The guest's port (default 5000, fnd's).\n"
"	-t, --timeout SECONDS\n"
"		Give up when the whole call has taken this long (default\n"
"		300).\n"
"	-h, --help\n"
"		This text.\n"
"\n"
"EXIT STATUS\n"
"	0 when a reply came and the guest closed the stream; 1 when not,\n"
"	with the reason on standard error (what came of the reply is still\n"
"	printed); 2 on a usage error.\n"
"\n"
"EXAMPLE\n"
"	curl --unix-socket /tmp/vmm.sock -X PUT http://localhost/vsock \\\n"
"	  -d '{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}'\n"
"	(boot the guest)\n"
"	fn-invoke /tmp/v.sock go\n", f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vsock_call c = {
		.port = VSOCK_CALL_FND_PORT,
		.timeout_ms = DEFAULT_TIMEOUT_S * 1000,
	};
	const char *request = "go";
	uint64_t v;
	char err[512];
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "p:t:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse__u64(optarg, &v) || v > 0xffffffffULL) {
				fprintf(stderr, "fn-invoke: --port %s: not a "
					"port number (0 to 4294967295)\n",
					optarg);
				return 2;
			}
			c.port = v;
			break;
		case 't':
			if (parse__u64(optarg, &v) || !v || v > 86400) {
				fprintf(stderr, "fn-invoke: --timeout %s: not "
					"a number of seconds (1 to 86400)\n",
					optarg);
				return 2;
			}
			c.timeout_ms = v * 1000;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'fn-invoke --help'.\n");
			return 2;
		}
	}
	if (optind == argc || argc - optind > 2) {
		fprintf(stderr, "fn-invoke: %s\nTry 'fn-invoke --help'.\n",
			optind == argc ? "no UDS_PATH" : "too many arguments");
		return 2;
	}
	if (optind + 1 < argc)
		request = argv[optind + 1];
	if (!*request || strchr(request, '\n')) {
		fprintf(stderr, "fn-invoke: REQUEST must be one line, not "
			"empty\n");
		return 2;
	}

	ret = vsock_call__run(argv[optind], request, &c, err, sizeof(err));
	if (c.reply_len)
		fwrite(c.reply, 1, c.reply_len, stdout);
	fflush(stdout);
	free(c.reply);
	if (ret) {
		fprintf(stderr, "fn-invoke: %s\n", err);
		return 1;
	}
	fprintf(stderr, "fn-invoke: request-to-reply %.3f ms (handshake "
		"%.3f ms, host port %u)\n", c.total_us / 1000.0,
		c.handshake_us / 1000.0, c.host_port);
	return 0;
}
