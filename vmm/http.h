/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HTTP/1.1 server of the API socket, and its request parser.
 *
 * The API is a few small JSON requests on a Unix socket, but its clients
 * are every HTTP library there is, and a hostile local user: each answer
 * must be well-framed HTTP/1.1, and each refusal a JSON object with a
 * "fault_message", as Firecracker's API promises, including those to
 * requests that are not HTTP at all.  That is why the VMM frames HTTP
 * itself: RFC 9112 as clients send it (CRLF or bare LF lines, chunked
 * bodies, Expect: 100-continue, pipelining, keep-alive), bounded input.
 */
#ifndef VMM_HTTP_H
#define VMM_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Request line and header fields together, at most. */
#define HTTP_MAX_HEAD		(32 * 1024)
/* A chunk-size line or a trailer field line, at most. */
#define HTTP_MAX_LINE		1024
#define HTTP_MAX_METHOD		16
/* Open connections at most; a new one past that closes the idlest. */
#define HTTP_MAX_CONNS		64

/* One request, as the parser hands it over. */
struct http_request {
	char method[HTTP_MAX_METHOD];
	char *target;		/* the path: no query, no scheme or host */
	char *body;		/* NUL-terminated; NULL when empty */
	size_t len;
	bool head;		/* HEAD: the answer has no body */
	bool close;		/* the connection ends after the answer */
	/* HTTP_BAD: the status to answer and why. */
	unsigned int status;
	char why[160];
};

enum http_result {
	HTTP_MORE,		/* everything used; a request is not whole */
	HTTP_REQUEST,		/* a whole request in the parser's req */
	HTTP_BAD,		/* refused: answer req.status, then close */
};

struct http_parser {
	size_t max_body;
	int phase;
	size_t scan;		/* head bytes already searched for its end */
	size_t need;		/* body or chunk bytes still to come */
	size_t cap;		/* of req.body */
	bool chunked;
	/* The client waits for "100 Continue" before it sends the body. */
	bool want_continue;
	struct http_request req;
};

void http_parser__init(struct http_parser *p, size_t max_body);
/*
 * Parse from @in[0..@len): the bytes used go to @used, which in the
 * request's head counts only empty lines before it until the head is
 * whole (the caller keeps the head's bytes meanwhile).
 * After HTTP_REQUEST, the request is the caller's until the next call,
 * which starts the next request.
 */
enum http_result http_parser__feed(struct http_parser *p, const char *in,
				   size_t len, size_t *used);
void http_parser__free(struct http_parser *p);

/*
 * The answer to one request: the status, and a JSON body in @json to
 * free(), or NULL.  Called in the server's thread.
 */
typedef unsigned int (*http_handler)(void *ctx, const struct http_request *r,
				     char **json);

struct http_conn;

struct http_server {
	int listen_fd;
	int wake[2];
	pthread_t thread;
	http_handler handle;
	void *ctx;
	size_t max_body;
	/* Open connections; the server thread's own. */
	struct http_conn *conns[HTTP_MAX_CONNS];
	unsigned int nr_conns;
	uint64_t clock;		/* counts the server's events */
};

/*
 * Serve @listen_fd from a thread named "fc_api"; http__stop() closes it,
 * a failed start leaves it to the caller.
 */
int http__start(struct http_server *s, int listen_fd, size_t max_body,
		http_handler handle, void *ctx);
void http__stop(struct http_server *s);

/*
 * "HTTP/1.1 ..." with @json (NULL: none) into a malloc()ed,
 * NUL-terminated @out; its length, 0 without memory.
 */
size_t http__format(unsigned int status, const char *json, bool head,
		    bool close, char **out);

#endif
