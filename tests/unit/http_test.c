// SPDX-License-Identifier: GPL-2.0
/*
 * The API socket's HTTP parser (vmm/http.c), request by request: what
 * clients send is taken whatever the cuts between reads, and bad framing
 * is refused with the status RFC 9110/9112 give it and a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

#define MAX_BODY	64

struct parsed {
	unsigned int n;
	unsigned int status;	/* of a refusal, or 0 */
	char method[4][HTTP_MAX_METHOD];
	char target[4][64];
	char body[4][MAX_BODY + 1];
	bool close[4], head[4];
	bool want_continue;
};

/* @in read @step bytes at a time (0: at once) by one connection. */
static void parse(const char *in, size_t len, size_t step, struct parsed *o)
{
	struct http_parser p;
	char *buf = malloc(len + 1);
	size_t have = 0, off = 0, used;

	assert_non_null(buf);
	memset(o, 0, sizeof(*o));
	http_parser__init(&p, MAX_BODY);
	for (;;) {
		enum http_result res = http_parser__feed(&p, buf, have, &used);
		size_t more;

		memmove(buf, buf + used, have - used);
		have -= used;
		o->want_continue |= p.want_continue;
		if (res == HTTP_BAD) {
			const char *c;

			assert_true(p.req.why[0]);
			for (c = p.req.why; *c; c++)
				assert_true(*c >= 0x20 && *c <= 0x7e);
			o->status = p.req.status;
			break;
		}
		if (res == HTTP_REQUEST) {
			assert_true(o->n < 4);
			strcpy(o->method[o->n], p.req.method);
			snprintf(o->target[o->n], 64, "%s", p.req.target);
			if (p.req.len)
				memcpy(o->body[o->n], p.req.body, p.req.len);
			o->close[o->n] = p.req.close;
			o->head[o->n++] = p.req.head;
			continue;
		}
		if (off == len)
			break;
		more = !step || len - off < step ? len - off : step;
		memcpy(buf + have, in + off, more);
		have += more;
		off += more;
	}
	http_parser__free(&p);
	free(buf);
}

/* The same at once, a byte at a time and three at a time. */
static void parse_all_ways(const char *in, struct parsed *o)
{
	static const size_t steps[] = { 1, 3, 0 };
	struct parsed other;
	size_t i;

	for (i = 0; i < 3; i++) {
		parse(in, strlen(in), steps[i], i ? &other : o);
		if (!i)
			continue;
		assert_int_equal(other.n, o->n);
		assert_int_equal(other.status, o->status);
		assert_memory_equal(other.body, o->body, sizeof(o->body));
		assert_memory_equal(other.target, o->target, sizeof(o->target));
	}
}

static void test_get_and_keep_alive(void **state)
{
	struct parsed o;

	(void)state;
	parse_all_ways("GET /machine-config HTTP/1.1\r\nHost: localhost\r\n"
		       "Accept: */*\r\n\r\n", &o);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.method[0], "GET");
	assert_string_equal(o.target[0], "/machine-config");
	assert_false(o.close[0]);
	assert_string_equal(o.body[0], "");
}

static void test_pipelined_with_bodies(void **state)
{
	struct parsed o;

	(void)state;
	parse_all_ways("PUT /vm HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
		       "\r\n"	/* an empty line before the next is skipped */
		       "PATCH /vm HTTP/1.1\r\ncontent-length:  2 \r\n"
		       "Connection: close\r\n\r\n{}", &o);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.body[0], "{\"a\":1}");
	assert_string_equal(o.method[1], "PATCH");
	assert_string_equal(o.body[1], "{}");
	assert_false(o.close[0]);
	assert_true(o.close[1]);
}

static void test_chunked(void **state)
{
	struct parsed o;

	(void)state;
	parse_all_ways("PUT /logger HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		       "\r\n3;ext=1\r\n{\"a\r\nA\r\n\":\"bcdefgh\r\n1\r\n}\r\n"
		       "0\r\nX-Trailer: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n", &o);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.body[0], "{\"a\":\"bcdefgh}");
	assert_string_equal(o.target[1], "/");
}

static void test_bare_lf_http10_and_forms(void **state)
{
	struct parsed o;

	(void)state;
	parse_all_ways("PUT /drives/root?x=1 HTTP/1.0\nContent-Length: 2\n\n{}"
		       , &o);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.target[0], "/drives/root");
	assert_true(o.close[0]);
	parse_all_ways("GET http://localhost/version HTTP/1.1\r\n\r\n"
		       "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &o);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.target[0], "/version");
	assert_true(o.head[1]);
	assert_false(o.close[1]);
}

static void test_expect_continue(void **state)
{
	static const char in[] = "PUT /vm HTTP/1.1\r\nExpect: 100-continue\r\n"
				 "Content-Length: 2\r\n\r\n";
	struct parsed o;

	(void)state;
	parse(in, sizeof(in) - 1, 0, &o);
	assert_int_equal(o.n, 0);
	assert_true(o.want_continue);
	parse_all_ways("PUT /vm HTTP/1.1\r\nExpect: something\r\n\r\n", &o);
	assert_int_equal(o.status, 417);
	/* RFC 9110 10.1.1: not to an HTTP/1.0 client. */
	parse_all_ways("PUT /vm HTTP/1.0\r\nExpect: 100-continue\r\n"
		       "Content-Length: 2\r\n\r\n{}", &o);
	assert_int_equal(o.n, 1);
	assert_false(o.want_continue);
}

/* Bad framing, and what each is answered with. */
static void test_refusals(void **state)
{
	static const struct {
		const char *in;
		unsigned int status;
	} bad[] = {
		{ "PUT /vm HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length:\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length: 2,2\r\n\r\n{}", 400 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length: 2\r\n"
		  "Content-Length: 3\r\n\r\n{}", 400 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length: 99999999999999999999"
		  "\r\n\r\n", 413 },
		{ "PUT /vm HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		  "Content-Length: 2\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
		{ "PUT /vm HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		  400 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "zz\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "fffffffffffffffffff\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "41\r\n", 413 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "2\r\n{}}\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nno colon here\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nBad Name: 1\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1 extra\r\n\r\n", 400 },
		{ "PUT /vm\tHTTP/1.1\r\n\r\n", 400 },
		{ "PUT  /vm HTTP/1.1\r\n\r\n", 400 },
		{ "PUT /vm HTTP/2.0\r\n\r\n", 505 },
		{ "PUT /vm\r\n\r\n", 400 },
		{ "\x01GET / HTTP/1.1\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nX: a\rTransfer-Encoding: chunked\r\n"
		  "\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "2 \r\n{}\r\n0\r\n\r\n", 400 },
		{ "PUT /vm HTTP/1.1\r\nTransfer-Encoding: \xff\xfe\r\n\r\n",
		  501 },
	};
	static const char head_bad[] = "HEAD /a\rb HTTP/1.1\r\n\r\n";
	struct http_parser p;
	struct parsed o;
	size_t i, used;

	(void)state;
	/* A HEAD refused for its target: the answer has no body either. */
	http_parser__init(&p, MAX_BODY);
	assert_int_equal(http_parser__feed(&p, head_bad, sizeof(head_bad) - 1,
					   &used), HTTP_BAD);
	assert_true(p.req.head);
	http_parser__free(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_all_ways(bad[i].in, &o);
		if (o.status != bad[i].status)
			fail_msg("%zu: %d for %s", i, o.status, bad[i].in);
		assert_int_equal(o.n, 0);
	}
}

static void test_head_limits(void **state)
{
	size_t n = HTTP_MAX_HEAD + 100;
	char *in = malloc(n + 64);
	struct parsed o;

	(void)state;
	assert_non_null(in);
	memset(in, 'a', n + 64);
	memcpy(in, "GET /", 5);
	memcpy(in + n, " HTTP/1.1\r\n\r\n", 14);
	parse(in, n + 14, 4096, &o);
	assert_int_equal(o.status, 414);
	parse(in, n + 14, 0, &o);
	assert_int_equal(o.status, 414);

	memcpy(in, "GET / HTTP/1.1\r\nX-Long: ", 24);
	memcpy(in + n, "\r\n\r\n", 4);
	parse(in, n + 4, 4096, &o);
	assert_int_equal(o.status, 431);
	parse(in, n + 4, 0, &o);
	assert_int_equal(o.status, 431);
	/* Incomplete and under the limit: waits for more. */
	parse(in, HTTP_MAX_HEAD - 10, 0, &o);
	assert_int_equal(o.status, 0);
	assert_int_equal(o.n, 0);
	free(in);
}

/* A chunk extension past HTTP_MAX_LINE, in one read or many. */
static void test_long_chunk_line(void **state)
{
	static const char start[] = "PUT /vm HTTP/1.1\r\nTransfer-Encoding: "
				    "chunked\r\n\r\n2;x=";
	size_t n = sizeof(start) - 1 + HTTP_MAX_LINE + 16;
	char *in = malloc(n + 16);
	struct parsed o;

	(void)state;
	assert_non_null(in);
	memcpy(in, start, sizeof(start) - 1);
	memset(in + sizeof(start) - 1, 'a', n - sizeof(start) + 1);
	memcpy(in + n, "\r\n{}\r\n0\r\n\r\n", 11);
	parse(in, n + 11, 0, &o);
	assert_int_equal(o.status, 400);
	parse(in, n + 11, 100, &o);
	assert_int_equal(o.status, 400);
	free(in);
}

static void test_format(void **state)
{
	char *out;
	size_t n;

	(void)state;
	n = http__format(400, "{\"fault_message\":\"x\"}", false, true, &out);
	assert_int_equal(n, strlen(out));
	assert_non_null(strstr(out, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(out, "Content-Length: 21\r\n"));
	assert_non_null(strstr(out, "Connection: close\r\n"));
	assert_non_null(strstr(out, "\r\n\r\n{\"fault_message\":\"x\"}"));
	free(out);
	n = http__format(204, NULL, false, false, &out);
	assert_null(strstr(out, "Content-Length"));
	assert_string_equal(out + n - 4, "\r\n\r\n");
	free(out);
	/* HEAD: the length of what GET would get, no body. */
	n = http__format(200, "{}", true, false, &out);
	assert_non_null(strstr(out, "Content-Length: 2\r\n"));
	assert_string_equal(out + n - 4, "\r\n\r\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_keep_alive),
		cmocka_unit_test(test_pipelined_with_bodies),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_bare_lf_http10_and_forms),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_head_limits),
		cmocka_unit_test(test_long_chunk_line),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
