// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP/1.1 for the API socket (http.h says why the VMM frames it).  The
 * parser works on what a connection has read so far and keeps no copy
 * of the head; one thread polls the listening socket and every
 * connection, and answers requests in the order they came.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "logger.h"

enum {
	P_HEAD,
	P_BODY,
	P_CHUNK_SIZE,
	P_CHUNK_DATA,
	P_CHUNK_END,
	P_TRAILER,
};

/* What a refused connection may still send before it is closed. */
#define HTTP_MAX_DRAIN		(1 << 20)
/* How long the server leaves a listening socket it cannot accept on. */
#define HTTP_ACCEPT_PAUSE_MS	100

static enum http_result bad(struct http_parser *p, unsigned int status,
			    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum http_result bad(struct http_parser *p, unsigned int status,
			    const char *fmt, ...)
{
	va_list ap;

	char *c;

	p->req.status = status;
	va_start(ap, fmt);
	vsnprintf(p->req.why, sizeof(p->req.why), fmt, ap);
	va_end(ap);
	/*
	 * The reason quotes the client, and goes into a JSON string and
	 * the log: printable ASCII only, or jansson would refuse it and
	 * the answer would go without its fault_message.
	 */
	for (c = p->req.why; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	p->req.close = true;
	return HTTP_BAD;
}

static void request__reset(struct http_parser *p)
{
	free(p->req.target);
	free(p->req.body);
	memset(&p->req, 0, sizeof(p->req));
	p->cap = 0;
	p->scan = 0;
	p->want_continue = false;
}

void http_parser__init(struct http_parser *p, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->max_body = max_body;
}

void http_parser__free(struct http_parser *p)
{
	request__reset(p);
}

/* RFC 9110's tchar: what a method or a field name is made of. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Line [@s, @e) without its CR, if it has one. */
static const char *line_end(const char *s, const char *e)
{
	return e > s && e[-1] == '\r' ? e - 1 : e;
}

static bool field_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(name, want, n);
}

/* Does the comma-separated list [@v, @e) hold @token? */
static bool list_has(const char *v, const char *e, const char *token)
{
	size_t n = strlen(token);

	while (v < e) {
		const char *comma = memchr(v, ',', e - v);
		const char *end = comma ? comma : e;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - v) == n && !strncasecmp(v, token, n))
			return true;
		v = comma ? comma + 1 : e;
	}
	return false;
}

static enum http_result parse_request_line(struct http_parser *p,
					   const char *s, const char *e,
					   bool *http10)
{
	struct http_request *r = &p->req;
	const char *m = s, *t, *v, *q;

	while (s < e && is_tchar(*s))
		s++;
	if (s == m || s == e || *s != ' ')
		return bad(p, 400, "malformed request line: no method");
	if ((size_t)(s - m) >= sizeof(r->method))
		return bad(p, 400, "malformed request line: method too long");
	memcpy(r->method, m, s - m);
	/* Known now: even a refusal of what follows has no body then. */
	r->head = !strcmp(r->method, "HEAD");
	t = ++s;
	while (s < e && (unsigned char)*s > ' ' && *s != 0x7f)
		s++;
	if (s == t || s == e || *s != ' ')
		return bad(p, 400, "malformed request line: no target");
	v = s + 1;
	if (e - v != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' ||
	    v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return bad(p, 400, "malformed request line: no HTTP version "
			   "after the target");
	if (v[5] != '1')
		return bad(p, 505, "HTTP/%c.%c is not supported, only HTTP/1.1",
			   v[5], v[7]);
	*http10 = v[7] == '0';
	/* Absolute form: the path is what follows the authority. */
	if (*t != '/' && (e - t > 7) && !strncasecmp(t, "http://", 7)) {
		const char *path = memchr(t + 7, '/', s - t - 7);

		t = path ? path : s;
	}
	q = memchr(t, '?', s - t);
	if (q)
		s = q;
	r->target = t == s ? strdup("/") : strndup(t, s - t);
	if (!r->target)
		return bad(p, 500, "out of memory");
	return HTTP_MORE;
}

/* Content-Length: digits only; too many of them is too large a body. */
static enum http_result parse_length(struct http_parser *p, const char *v,
				     const char *e, bool *have, size_t *len)
{
	size_t n = 0;
	const char *d;

	if (v == e)
		return bad(p, 400, "Content-Length is empty");
	for (d = v; d < e; d++) {
		if (*d < '0' || *d > '9')
			return bad(p, 400, "Content-Length \"%.*s\" is not a "
				   "number", (int)(e - v > 40 ? 40 : e - v), v);
		if (n > p->max_body)
			continue;
		n = n * 10 + (*d - '0');
	}
	if (*have && n != *len)
		return bad(p, 400, "two Content-Length fields that differ");
	*have = true;
	*len = n;
	return HTTP_MORE;
}

/* The header fields of the head [@s, @e), the request line done. */
static enum http_result parse_fields(struct http_parser *p, const char *s,
				     const char *e, bool http10)
{
	bool have_len = false, keep_alive = false, expect = false;
	size_t len = 0;
	int te = 0;

	while (s < e) {
		const char *nl = memchr(s, '\n', e - s);
		const char *end = line_end(s, nl), *colon, *v, *ve;

		if (end == s)
			break;
		if (*s == ' ' || *s == '\t')
			return bad(p, 400, "a header field folded over lines");
		colon = memchr(s, ':', end - s);
		if (!colon || colon == s)
			return bad(p, 400, "a header line without a field name "
				   "and colon");
		for (v = s; v < colon; v++)
			if (!is_tchar(*v))
				return bad(p, 400, "a header field name with "
					   "a space or a control character");
		/* obs-text (0x80 and up) is allowed, controls are not. */
		for (v = colon + 1; v < end; v++)
			if (((unsigned char)*v < 0x20 && *v != '\t') ||
			    *v == 0x7f)
				return bad(p, 400, "a header field value with a "
					   "control character");
		v = colon + 1;
		ve = end;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (field_is(s, colon - s, "Content-Length")) {
			if (parse_length(p, v, ve, &have_len, &len) == HTTP_BAD)
				return HTTP_BAD;
		} else if (field_is(s, colon - s, "Transfer-Encoding")) {
			if (te++ || (size_t)(ve - v) != 7 ||
			    strncasecmp(v, "chunked", 7))
				return bad(p, 501, "transfer coding \"%.*s\" is "
					   "not supported: send chunked or a "
					   "Content-Length",
					   (int)(ve - v > 40 ? 40 : ve - v), v);
		} else if (field_is(s, colon - s, "Connection")) {
			if (list_has(v, ve, "close"))
				p->req.close = true;
			if (list_has(v, ve, "keep-alive"))
				keep_alive = true;
		} else if (field_is(s, colon - s, "Expect")) {
			if ((size_t)(ve - v) != 12 ||
			    strncasecmp(v, "100-continue", 12))
				return bad(p, 417, "expectation \"%.*s\" is not "
					   "supported",
					   (int)(ve - v > 40 ? 40 : ve - v), v);
			expect = true;
		}
		s = nl + 1;
	}
	if (http10 && !keep_alive)
		p->req.close = true;
	if (te && (have_len || http10))
		return bad(p, 400, "Transfer-Encoding with %s",
			   http10 ? "HTTP/1.0" : "a Content-Length");
	if (len > p->max_body)
		return bad(p, 413, "request body larger than %zu bytes",
			   p->max_body);
	p->chunked = te;
	p->need = len;
	/* RFC 9110 10.1.1: an HTTP/1.0 client gets no 100 Continue. */
	p->want_continue = expect && !http10 && (te || len);
	p->phase = te ? P_CHUNK_SIZE : len ? P_BODY : P_HEAD;
	return HTTP_MORE;
}

/*
 * The end of the head in @in, past its empty line, or 0 while it has not
 * come.  Empty lines before the request line are skipped (RFC 9112 2.2).
 */
static size_t head_end(struct http_parser *p, const char *in, size_t len,
		       size_t *skip)
{
	size_t i, start;

	*skip = 0;
	while (*skip < len && (in[*skip] == '\r' || in[*skip] == '\n'))
		(*skip)++;
	if (p->scan < *skip)
		p->scan = *skip;
	/* Resume a line back: its start decides whether it is empty. */
	start = p->scan;
	while (start > *skip && in[start - 1] != '\n')
		start--;
	for (i = p->scan; i < len; i++) {
		if (in[i] != '\n')
			continue;
		if (start > *skip && (i == start ||
				      (i == start + 1 && in[start] == '\r')))
			return i + 1;
		start = i + 1;
	}
	p->scan = len;
	return 0;
}

static enum http_result parse_head(struct http_parser *p, const char *in,
				   size_t len, size_t *used)
{
	const char *nl;
	size_t end, skip;
	bool http10 = false;

	end = head_end(p, in, len, &skip);
	if (!end && len - skip <= HTTP_MAX_HEAD) {
		/* The caller may drop the empty lines. */
		*used = skip;
		p->scan -= skip;
		return HTTP_MORE;
	}
	if (!end || end - skip > HTTP_MAX_HEAD) {
		if (!memchr(in + skip, '\n', HTTP_MAX_HEAD))
			return bad(p, 414, "request line longer than %d bytes",
				   HTTP_MAX_HEAD);
		return bad(p, 431, "request header fields longer than %d "
			   "bytes", HTTP_MAX_HEAD);
	}
	in += skip;
	nl = memchr(in, '\n', end - skip);
	if (parse_request_line(p, in, line_end(in, nl), &http10) == HTTP_BAD ||
	    parse_fields(p, nl + 1, in + end - skip, http10) == HTTP_BAD)
		return HTTP_BAD;
	*used = end;
	p->scan = 0;
	return p->phase == P_HEAD ? HTTP_REQUEST : HTTP_MORE;
}

static int body_add(struct http_parser *p, const char *in, size_t n)
{
	struct http_request *r = &p->req;

	if (r->len + n + 1 > p->cap) {
		size_t cap = r->len + n + 1 > 2 * p->cap ? r->len + n + 1 :
			     2 * p->cap;
		char *b = realloc(r->body, cap);

		if (!b)
			return -ENOMEM;
		r->body = b;
		p->cap = cap;
	}
	memcpy(r->body + r->len, in, n);
	r->len += n;
	r->body[r->len] = '\0';
	return 0;
}

/* A chunk-size or trailer line in @in: its length with the LF, or 0. */
static size_t chunk_line(const char *in, size_t len, const char **end)
{
	const char *nl = memchr(in, '\n', len);

	if (!nl)
		return 0;
	*end = line_end(in, nl);
	return nl + 1 - in;
}

static enum http_result parse_chunk_size(struct http_parser *p,
					 const char *in, const char *e)
{
	const char *s = in;
	size_t n = 0;

	while (s < e && s - in < 16 &&
	       ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		(*s >= 'A' && *s <= 'F'))) {
		n = n * 16 + (*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
		s++;
	}
	/* chunk-ext: BWS only before its ';'. */
	while (s < e && (*s == ' ' || *s == '\t') && memchr(s, ';', e - s))
		s++;
	if (s == in || (s < e && *s != ';'))
		return bad(p, 400, "a chunk size that is not hexadecimal");
	if (n > p->max_body - p->req.len)
		return bad(p, 413, "request body larger than %zu bytes",
			   p->max_body);
	p->need = n;
	p->phase = n ? P_CHUNK_DATA : P_TRAILER;
	return HTTP_MORE;
}

enum http_result http_parser__feed(struct http_parser *p, const char *in,
				   size_t len, size_t *used)
{
	const char *end;
	size_t n;

	*used = 0;
	if (p->phase == P_HEAD) {
		/* A new request, unless one is half read. */
		if (p->req.target || p->req.status)
			request__reset(p);
		n = 0;
		if (parse_head(p, in, len, &n) != HTTP_MORE || !n ||
		    p->phase == P_HEAD) {
			*used = n;
			return p->req.status ? HTTP_BAD :
			       p->req.target ? HTTP_REQUEST : HTTP_MORE;
		}
		*used = n;
	}
	while (*used < len) {
		const char *s = in + *used;
		size_t left = len - *used;

		switch (p->phase) {
		case P_BODY:
		case P_CHUNK_DATA:
			n = left < p->need ? left : p->need;
			if (body_add(p, s, n))
				return bad(p, 500, "out of memory");
			*used += n;
			p->need -= n;
			if (p->need)
				return HTTP_MORE;
			if (p->phase == P_BODY) {
				p->phase = P_HEAD;
				return HTTP_REQUEST;
			}
			p->phase = P_CHUNK_END;
			break;
		case P_CHUNK_END:
			n = chunk_line(s, left > 2 ? 2 : left, &end);
			if (!n && left < 2)
				return HTTP_MORE;
			if (!n || end != s)
				return bad(p, 400, "a chunk longer than its "
					   "size");
			*used += n;
			p->phase = P_CHUNK_SIZE;
			break;
		case P_CHUNK_SIZE:
		case P_TRAILER:
			n = chunk_line(s, left, &end);
			if ((!n && left > HTTP_MAX_LINE) || n > HTTP_MAX_LINE)
				return bad(p, 400, "a chunk-size or trailer line "
					   "longer than %d bytes",
					   HTTP_MAX_LINE);
			if (!n)
				return HTTP_MORE;
			*used += n;
			if (p->phase == P_CHUNK_SIZE) {
				if (parse_chunk_size(p, s, end) == HTTP_BAD)
					return HTTP_BAD;
			} else if (end == s) {
				p->phase = P_HEAD;
				return HTTP_REQUEST;
			}
			break;
		}
	}
	return HTTP_MORE;
}

static const char *reason(unsigned int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

size_t http__format(unsigned int status, const char *json, bool head,
		    bool close, char **out)
{
	size_t blen = json && !head && status != 204 ? strlen(json) : 0;
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %u %s\r\nServer: Firecracker "
		     "API\r\nConnection: %s\r\n%s", status, reason(status),
		     close ? "close" : "keep-alive",
		     json && status >= 200 && status != 204 ?
		     "Content-Type: application/json\r\n" : "");
	/* RFC 9110 8.6: no Content-Length in a 1xx or 204. */
	if (status >= 200 && status != 204)
		n += snprintf(hdr + n, sizeof(hdr) - n,
			      "Content-Length: %zu\r\n", json ? strlen(json) : 0);
	n += snprintf(hdr + n, sizeof(hdr) - n, "\r\n");
	*out = malloc(n + blen + 1);
	if (!*out)
		return 0;
	memcpy(*out, hdr, n);
	if (blen)
		memcpy(*out + n, json, blen);
	(*out)[n + blen] = '\0';
	return n + blen;
}

/* A refusal of the framing itself: Firecracker's fault_message object. */
static char *fault_json(const char *why)
{
	json_t *obj = json_pack("{s:s}", "fault_message", why);
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	return s;
}

struct http_conn {
	int fd;
	struct http_parser p;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	bool closing;		/* answered with "Connection: close" */
	bool eof;		/* the client sends no more */
	bool shut;		/* our side is shut down */
	uint64_t active;	/* the server's clock when last heard from */
	size_t drained;
};

static void conn__free(struct http_conn *c)
{
	close(c->fd);
	http_parser__free(&c->p);
	free(c->in);
	free(c->out);
	free(c);
}

static int conn__queue(struct http_conn *c, const char *data, size_t len)
{
	char *b;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	b = realloc(c->out, c->out_len + len);
	if (!b)
		return -ENOMEM;
	memcpy(b + c->out_len, data, len);
	c->out = b;
	c->out_len += len;
	return 0;
}

static int conn__answer(struct http_conn *c, unsigned int status,
			const char *json, bool head, bool close)
{
	char *resp;
	size_t n = http__format(status, json, head, close, &resp);
	int ret = n ? conn__queue(c, resp, n) : -ENOMEM;

	free(resp);
	return ret;
}

/* Write what is queued; -errno once the client cannot take it. */
static int conn__flush(struct http_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += n;
	}
	return 0;
}

/*
 * Answer the whole requests read so far, one at a time: the next waits
 * until the answer to the last has gone out.  Returns -errno to close.
 */
static int conn__process(struct http_server *s, struct http_conn *c)
{
	while (!c->closing && c->out_off == c->out_len && c->in_len) {
		enum http_result res;
		size_t used;
		char *json = NULL;
		unsigned int status;
		int ret;

		res = http_parser__feed(&c->p, c->in, c->in_len, &used);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (res == HTTP_MORE) {
			if (c->p.want_continue) {
				c->p.want_continue = false;
				if (!c->p.req.len && !c->eof &&
				    (conn__answer(c, 100, NULL, false, false) ||
				     conn__flush(c)))
					return -EIO;
			}
			break;
		}
		if (res == HTTP_BAD) {
			vmm__log("The API server refused a request: %s",
				 c->p.req.why);
			json = fault_json(c->p.req.why);
			status = c->p.req.status;
		} else {
			status = s->handle(s->ctx, &c->p.req, &json);
		}
		c->closing = c->p.req.close || res == HTTP_BAD;
		ret = conn__answer(c, status, json, c->p.req.head, c->closing);
		free(json);
		if (ret)
			return ret;
		ret = conn__flush(c);
		if (ret)
			return ret;
	}
	/* Answered all it sent whole; what is left will never be whole. */
	if (c->eof && c->out_off == c->out_len)
		return -ECONNRESET;
	/* Refused: the client reads its EOF after the answer. */
	if (c->closing && c->out_off == c->out_len && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
	return 0;
}

/* Read what the client sent; -errno to close. */
static int conn__read(struct http_conn *c)
{
	char tmp[16384];
	ssize_t n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (!n) {
		c->eof = true;
		return 0;
	}
	/* Refused already: read until the client is done, not forever. */
	if (c->closing) {
		c->drained += n;
		return c->drained > HTTP_MAX_DRAIN ? -E2BIG : 0;
	}
	if (c->in_len + n > c->in_cap) {
		size_t cap = c->in_cap ? 2 * c->in_cap : sizeof(tmp);
		char *b;

		while (cap < c->in_len + n)
			cap *= 2;
		b = realloc(c->in, cap);
		if (!b)
			return -ENOMEM;
		c->in = b;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, tmp, n);
	c->in_len += n;
	return 0;
}

static void server__drop(struct http_server *s, unsigned int i)
{
	conn__free(s->conns[i]);
	s->nr_conns--;
	memmove(&s->conns[i], &s->conns[i + 1],
		(s->nr_conns - i) * sizeof(s->conns[0]));
}

/* The connection that has been quiet longest. */
static unsigned int server__idlest(const struct http_server *s)
{
	unsigned int i, idlest = 0;

	for (i = 1; i < s->nr_conns; i++)
		if (s->conns[i]->active < s->conns[idlest]->active)
			idlest = i;
	return idlest;
}

/*
 * One client must not lock the others out by holding connections open:
 * idle ones would fill the VMM's fds, and then every new client would be
 * refused.  So past HTTP_MAX_CONNS a new connection closes the one quiet
 * longest (not the oldest: that is an orchestrator's keep-alive one).
 * Out of fds, the same makes room.  Returns false when nothing could be
 * accepted: the listening socket is then left alone for a while, else it
 * would wake the server again at once.
 */
static bool server__accept(struct http_server *s)
{
	struct http_conn *c;
	int fd;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0 && s->nr_conns &&
	    (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	     errno == ENOMEM)) {
		server__drop(s, server__idlest(s));
		fd = accept4(s->listen_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
	}
	if (fd < 0)
		return errno == EAGAIN || errno == EINTR ||
		       errno == ECONNABORTED;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return false;
	}
	c->fd = fd;
	c->active = ++s->clock;
	http_parser__init(&c->p, s->max_body);
	if (s->nr_conns == HTTP_MAX_CONNS)
		server__drop(s, server__idlest(s));
	s->conns[s->nr_conns++] = c;
	return true;
}

static void *server__thread(void *arg)
{
	struct pollfd pfd[HTTP_MAX_CONNS + 2];
	int ret;
	struct http_server *s = arg;
	bool listening = true;
	unsigned int i, n;

	/* Firecracker's name for the thread, which log lines carry. */
	pthread_setname_np(pthread_self(), "fc_api");
	for (;;) {
		pfd[0] = (struct pollfd) { .fd = s->wake[0], .events = POLLIN };
		/* A negative fd is skipped: not listening, for a while. */
		pfd[1] = (struct pollfd) {
			.fd = listening ? s->listen_fd : -1, .events = POLLIN,
		};
		n = s->nr_conns;
		for (i = 0; i < n; i++) {
			struct http_conn *c = s->conns[i];

			pfd[i + 2] = (struct pollfd) {
				.fd = c->fd,
				.events = c->out_off < c->out_len ? POLLOUT :
					  c->eof ? 0 : POLLIN,
			};
		}
		ret = poll(pfd, n + 2, listening ? -1 : HTTP_ACCEPT_PAUSE_MS);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			vmm__log("API server: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		listening = true;
		/* Back to front: dropping one moves only those after it. */
		for (i = n; i-- > 0;) {
			struct http_conn *c = s->conns[i];
			int ret = 0;

			if (!pfd[i + 2].revents)
				continue;
			c->active = ++s->clock;
			if (pfd[i + 2].revents & (POLLIN | POLLHUP | POLLERR))
				ret = conn__read(c);
			if (!ret)
				ret = conn__flush(c);
			if (!ret)
				ret = conn__process(s, c);
			if (ret)
				server__drop(s, i);
		}
		if ((pfd[1].revents & POLLIN) && !server__accept(s)) {
			vmm__log("API server: cannot accept a connection: %s",
				 strerror(errno));
			listening = false;
		}
	}
	return NULL;
}

int http__start(struct http_server *s, int listen_fd, size_t max_body,
		http_handler handle, void *ctx)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->listen_fd = listen_fd;
	s->max_body = max_body;
	s->handle = handle;
	s->ctx = ctx;
	if (pipe2(s->wake, O_CLOEXEC))
		return -errno;
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	ret = pthread_create(&s->thread, NULL, server__thread, s);
	if (ret) {
		close(s->wake[0]);
		close(s->wake[1]);
		s->wake[0] = s->wake[1] = -1;
		return -ret;
	}
	return 0;
}

void http__stop(struct http_server *s)
{
	if (s->wake[1] <= 0)
		return;
	if (write(s->wake[1], "", 1) < 0)
		vmm__log("API server: cannot wake: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	while (s->nr_conns)
		server__drop(s, s->nr_conns - 1);
	close(s->wake[0]);
	close(s->wake[1]);
	close(s->listen_fd);
	s->wake[0] = s->wake[1] = -1;
}
