// SPDX-License-Identifier: GPL-2.0
/*
 * The API socket's HTTP parser (vmm/http.c) fed what a client could
 * send, cut where the first byte says: the bytes of one read are what a
 * connection holds, the rest comes later.  Whatever the cuts, the same
 * requests come out with the same bodies, none over the limit, and a
 * refusal is a 4xx or 5xx with a reason.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "http.h"

#define FUZZ_MAX_BODY	4096
#define FUZZ_MAX_REQS	64

struct outcome {
	unsigned int n;
	unsigned int status;		/* of the refusal ending it, or 0 */
	size_t len[FUZZ_MAX_REQS];
	uint32_t sum[FUZZ_MAX_REQS];	/* of method, target and body */
};

static uint32_t sum_of(const struct http_request *r)
{
	uint32_t h = 2166136261u;
	const char *parts[2] = { r->method, r->target };
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; parts[k][i]; i++)
			h = (h ^ (uint8_t)parts[k][i]) * 16777619u;
	for (i = 0; i < r->len; i++)
		h = (h ^ (uint8_t)r->body[i]) * 16777619u;
	return h;
}

/* Parse @data as one connection reading @step bytes at a time. */
static void run(const uint8_t *data, size_t size, size_t step,
		struct outcome *o)
{
	struct http_parser p;
	char *buf = malloc(size + 1);
	size_t have = 0, off = 0, used;

	memset(o, 0, sizeof(*o));
	if (!buf)
		abort();
	http_parser__init(&p, FUZZ_MAX_BODY);
	for (;;) {
		enum http_result res;
		size_t more;

		res = http_parser__feed(&p, buf, have, &used);
		FUZZ_ASSERT(used <= have);
		memmove(buf, buf + used, have - used);
		have -= used;
		if (res == HTTP_BAD) {
			FUZZ_ASSERT(p.req.status >= 400 && p.req.why[0]);
			o->status = p.req.status;
			break;
		}
		if (res == HTTP_REQUEST) {
			FUZZ_ASSERT(p.req.len <= FUZZ_MAX_BODY);
			FUZZ_ASSERT(p.req.target && p.req.method[0]);
			FUZZ_ASSERT(!p.req.len || p.req.body[p.req.len] == '\0');
			o->len[o->n] = p.req.len;
			o->sum[o->n++] = sum_of(&p.req);
			if (o->n == FUZZ_MAX_REQS)
				break;
			/* The next may be whole already: parse before reading. */
			continue;
		}
		if (off == size)
			break;
		more = size - off < step ? size - off : step;
		memcpy(buf + have, data + off, more);
		have += more;
		off += more;
	}
	http_parser__free(&p);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome whole, cut;
	size_t step, n;

	if (!size)
		return 0;
	step = 1 + data[0] % 17;
	data++;
	size--;
	run(data, size, size ? size : 1, &whole);
	run(data, size, step, &cut);
	/* The same requests, however the bytes came. */
	n = whole.n < cut.n ? whole.n : cut.n;
	FUZZ_ASSERT(!memcmp(whole.sum, cut.sum, n * sizeof(whole.sum[0])));
	FUZZ_ASSERT(!memcmp(whole.len, cut.len, n * sizeof(whole.len[0])));
	if (!whole.status && !cut.status)
		FUZZ_ASSERT(whole.n == cut.n);
	return 0;
}
