// SPDX-License-Identifier: GPL-2.0
/*
 * The API server fuzzed over its socket, against a VM that is running,
 * paused, and being restored (a second VMM process that gets requests
 * while and just after PUT /snapshot/load runs).  Worker threads send
 * seeded requests: wrong methods, unknown and near-miss paths (real
 * Firecracker paths mutated), the documented bodies mutated (fields
 * dropped, renamed, duplicated, retyped, nested; huge numbers, unicode,
 * NULs, bad UTF-8), bodies over the server's limit, truncated bodies,
 * bad framing, pipelined requests, requests trickled a few bytes at a
 * time and connections abandoned.  Meanwhile a slowloris thread keeps
 * connections open that never finish a request, and a prober times a
 * plain GET / on a fresh connection.
 *
 * Every answer must be a well-formed HTTP/1.1 response; every 4xx a JSON
 * object with "fault_message", also to bad framing; no 5xx; a 2xx
 * only where the request cannot change the VM (GETs, FlushMetrics).  The
 * generator never sends a request that would legitimately stop the test
 * (pause, resume, SendCtrlAltDel, a snapshot, configuring the VMM that
 * is about to load): one that parses as such gets an unknown member,
 * which every handler refuses, and is counted as defanged.  The guest
 * must tick through the running phase, and stay paused through the
 * paused one; afterwards GET / and the configuration answer as before,
 * the VMM has the fds it had and its memory outside the guest's grew by
 * less than RSS_BOUND_KB.
 *
 * A VMM neither started nor loaded is fuzzed too, and must stay so.
 *
 * API_FUZZ_REQUESTS sets the total (default 10^4, split over running,
 * paused and restoring; a fifth more for the fresh VMM); the seed is
 * printed and API_FUZZ_SEED=N replays it: each worker's sequence is the
 * seed's, the interleaving is not.  Bad framing is held to the same
 * rules: the VMM frames HTTP itself (vmm/http.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define TICKER_INITRD	"build/guest/ticker.cpio.gz"
/* The server's limit, Firecracker's default http_api_max_payload_size. */
#define BODY_LIMIT	51200
#define NR_WORKERS	4
/* An answer may wait behind a snapshot load: generous. */
#define ANSWER_MS	30000
/* A GET / while slow clients hold connections open, at most this long. */
#define STALL_BOUND_MS	3000
/* VMM memory outside guest RAM may grow this much over a run. */
#define RSS_BOUND_KB	(8 * 1024)
#define MAX_REPORTS	20

/* Fresh: a VMM not yet started or loaded, which must stay so. */
enum phase { PH_FRESH, PH_RUNNING, PH_PAUSED, PH_RESTORING, NR_PHASES };

static const char *const phase_names[] = {
	"fresh", "running", "paused", "restoring",
};

/* Kinds of request, for the closing counts. */
enum kind {
	K_NORMAL, K_HUGE, K_TRUNCATED, K_ABANDONED, K_SLOW, K_FRAMING,
	K_PIPELINED, NR_KINDS,
};

static const char *const kind_names[] = {
	"normal", "huge", "truncated", "abandoned", "slow", "framing",
	"pipelined",
};

struct phase_stats {
	atomic_long sent;
	atomic_long kinds[NR_KINDS];
	atomic_long status[600];
	atomic_long no_answer;	/* none, where none is right */
	atomic_long defanged;
	atomic_long probe_max_ms;
	atomic_long probes;
	double seconds;
};

struct fuzz {
	const char *sock;
	uint64_t seed;
	enum phase phase;
	long per_worker;
	atomic_bool loaded;	/* restoring: the load has answered */
	atomic_bool stop;	/* slowloris and prober: finish */
	atomic_long done;	/* requests finished in this phase */
	atomic_long failures;
	pthread_mutex_t report_lock;
	struct phase_stats st[NR_PHASES];
};

/* What one generated request is and how to send it. */
struct req {
	char *buf;
	size_t len;
	enum kind kind;
	unsigned int answers;	/* responses to read (pipelined: 2) */
	bool head;		/* HEAD: no body in the answer */
	char method[16];
	char path[64];		/* as dispatched, for the 2xx oracle */
	bool flush;		/* PUT /actions FlushMetrics: 204 is right */
	size_t cut;		/* truncated or abandoned: bytes sent */
};

/* xorshift64*: a worker's own sequence, from the seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t pick(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31)) | 1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A growable byte buffer: requests hold NULs, so lengths, not strlen. */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		TEST_REQUIRE(b->p, "realloc");
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_add(b, tmp, n < (int)sizeof(tmp) ? n : (int)sizeof(tmp) - 1);
}

/*
 * Firecracker v1.10's routes with a documented body each (its swagger's
 * examples, pagetrack's extensions too); GETs have none.
 */
static const struct {
	const char *method, *path, *body;
} routes[] = {
	{ "GET", "/", NULL },
	{ "GET", "/version", NULL },
	{ "GET", "/machine-config", NULL },
	{ "GET", "/vm/config", NULL },
	{ "GET", "/mmds", NULL },
	{ "GET", "/balloon", NULL },
	{ "GET", "/balloon/statistics", NULL },
	{ "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}" },
	{ "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}" },
	{ "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}" },
	{ "PUT", "/boot-source", "{\"kernel_image_path\":\"/boot/vmlinuz\","
	  "\"boot_args\":\"console=ttyS0 reboot=k panic=1\","
	  "\"initrd_path\":\"/tmp/apifuzz-initrd\"}" },
	{ "PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256,"
	  "\"smt\":false,\"track_dirty_pages\":false,\"cpu_template\":"
	  "\"None\",\"huge_pages\":\"None\"}" },
	{ "PATCH", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,"
	  "\"track_working_set\":false,\"working_set_interval_ms\":20}" },
	{ "PATCH", "/vm", "{\"state\":\"Paused\"}" },
	{ "PATCH", "/vm", "{\"state\":\"Resumed\"}" },
	{ "PUT", "/snapshot/create", "{\"snapshot_type\":\"Full\","
	  "\"snapshot_path\":\"/tmp/apifuzz-c.vmstate\",\"mem_file_path\":"
	  "\"/tmp/apifuzz-c.mem\",\"layers_path\":\"/tmp/apifuzz-c.layers\"}" },
	{ "PUT", "/snapshot/load", "{\"snapshot_path\":\"/tmp/apifuzz-l."
	  "vmstate\",\"mem_backend\":{\"backend_type\":\"File\","
	  "\"backend_path\":\"/tmp/apifuzz-l.mem\"},\"enable_diff_snapshots\":"
	  "false,\"resume_vm\":true,\"track_working_set\":false}" },
	{ "PUT", "/snapshot/layers",
	  "{\"layers_path\":\"/tmp/apifuzz-x.layers\"}" },
	{ "PUT", "/drives/rootfs", "{\"drive_id\":\"rootfs\",\"path_on_host\":"
	  "\"/tmp/apifuzz.ext4\",\"is_root_device\":true,\"is_read_only\":"
	  "false,\"cache_type\":\"Unsafe\",\"io_engine\":\"Sync\","
	  "\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,"
	  "\"one_time_burst\":0,\"refill_time\":100},\"ops\":{\"size\":100,"
	  "\"refill_time\":100}}}" },
	{ "PATCH", "/drives/rootfs", "{\"drive_id\":\"rootfs\","
	  "\"path_on_host\":\"/tmp/apifuzz2.ext4\"}" },
	{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
	  "\"guest_mac\":\"AA:FC:00:00:00:01\",\"host_dev_name\":\"tap0\","
	  "\"rx_rate_limiter\":{\"ops\":{\"size\":10,\"refill_time\":100}}}" },
	{ "PATCH", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
	  "\"tx_rate_limiter\":{\"bandwidth\":{\"size\":1000,"
	  "\"refill_time\":10}}}" },
	{ "PUT", "/vsock", "{\"guest_cid\":3,\"uds_path\":"
	  "\"/tmp/apifuzz-v.sock\"}" },
	{ "PUT", "/entropy", "{\"rate_limiter\":{\"bandwidth\":{\"size\":"
	  "1000,\"one_time_burst\":0,\"refill_time\":100}}}" },
	{ "PUT", "/logger", "{\"log_path\":\"/tmp/apifuzz-fc.log\","
	  "\"level\":\"Info\",\"show_level\":true,\"show_log_origin\":false}" },
	{ "PUT", "/metrics", "{\"metrics_path\":\"/tmp/apifuzz-m.json\"}" },
	{ "PUT", "/mmds", "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami\"}}}" },
	{ "PUT", "/mmds/config", "{\"network_interfaces\":[\"eth0\"],"
	  "\"version\":\"V2\"}" },
	{ "PUT", "/balloon", "{\"amount_mib\":0,\"deflate_on_oom\":false,"
	  "\"stats_polling_interval_s\":1}" },
	{ "PUT", "/cpu-config", "{\"cpuid_modifiers\":[]}" },
};

#define NR_ROUTES	(sizeof(routes) / sizeof(routes[0]))
/* The first route with a body. */
#define FIRST_BODY	7

static const char *const methods[] = {
	"GET", "PUT", "PATCH", "POST", "DELETE", "HEAD", "OPTIONS", "TRACE",
	"get", "Put", "PUTT", "PATC", "FOO", "M-SEARCH",
};

/* A printable excerpt of @len bytes at @p, for a failure's report. */
static void excerpt(char *out, size_t size, const char *p, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, size - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < size)
		o += snprintf(out + o, size - o, "...");
	out[o] = '\0';
}

static void failure(struct fuzz *f, const struct req *r, const char *resp,
		    size_t resp_len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void failure(struct fuzz *f, const struct req *r, const char *resp,
		    size_t resp_len, const char *fmt, ...)
{
	char what[256], ex[700];
	va_list ap;
	long n;

	n = atomic_fetch_add(&f->failures, 1);
	if (n >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&f->report_lock);
	fprintf(stderr, "# FAIL (%s, %s): %s\n", phase_names[f->phase],
		r ? kind_names[r->kind] : "-", what);
	if (r) {
		excerpt(ex, sizeof(ex), r->buf, r->len);
		fprintf(stderr, "#   request: %s\n", ex);
	}
	if (resp) {
		excerpt(ex, sizeof(ex), resp, resp_len);
		fprintf(stderr, "#   answer: %s\n", ex);
	}
	pthread_mutex_unlock(&f->report_lock);
}

/* --- bodies ---------------------------------------------------------- */

/*
 * Values a field is retyped to.  Strings that stand for raw JSON text are
 * swapped in after dumping (jansson cannot write them): too-big numbers,
 * lone surrogates, bad escapes.
 */
#define RAW_MARK	"@@raw@@"

static const char *const raw_values[] = {
	"99999999999999999999999999", "-99999999999999999999999999",
	"1e99999", "-1e-99999", "18446744073709551616", "0x10", "01",
	"\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\u0000\"", "\"\\x41\"",
	"NaN", "Infinity", "-", "1.", ".5", "tru", "nul",
};

static json_t *random_value(uint64_t *s)
{
	static const char *const strings[] = {
		"", "None", "Full", "Diff", "File", "Uffd", "Paused",
		"Resumed", "InstanceStart", "FlushMetrics", "/tmp",
		"/nonexistent/x", "rootfs", "eth0", "\xc3\xbc\xe2\x82\xac"
		"\xf0\x9f\x98\x80", "AA:FC:00:00:00:01", "2M", "Off",
		"../../etc/passwd", "C3",
	};
	static const json_int_t ints[] = {
		0, -1, 1, 2, 3, 16, 255, 256, 65535, 65536, 2147483647,
		2147483648LL, 4294967295LL, 4294967296LL, INT64_MAX,
		INT64_MIN, -4294967296LL,
	};
	char *big;
	json_t *v;
	size_t n;

	switch (pick(s, 12)) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(pick(s, 2));
	case 2:
	case 3:
		return json_integer(ints[pick(s, sizeof(ints) /
						 sizeof(ints[0]))]);
	case 4:
		return json_real(pick(s, 2) ? 1e308 : -0.5);
	case 5:
	case 6:
		return json_string(strings[pick(s, sizeof(strings) /
					       sizeof(strings[0]))]);
	case 7:
		/* A NUL inside: C strings end there, JSON ones do not. */
		return json_stringn("/tmp/a\0b", 8);
	case 8:
		n = pick(s, 4) ? 1 + pick(s, 300) : 1 + pick(s, 60000);
		big = malloc(n + 1);
		TEST_REQUIRE(big, "malloc");
		memset(big, 'A' + pick(s, 26), n);
		big[n] = '\0';
		v = json_string(big);
		free(big);
		return v;
	case 9:
		v = json_array();
		json_array_append_new(v, json_integer(1));
		json_array_append_new(v, json_string("x"));
		return v;
	case 10:
		return pick(s, 2) ? json_object() : json_array();
	default:
		return json_string(RAW_MARK);
	}
}

/* Every container in @v, with @v first. */
static void containers(json_t *v, json_t **out, size_t *n, size_t max)
{
	const char *key;
	json_t *m;
	size_t i;

	if (*n == max || (!json_is_object(v) && !json_is_array(v)))
		return;
	out[(*n)++] = v;
	if (json_is_object(v)) {
		json_object_foreach(v, key, m)
			containers(m, out, n, max);
	} else {
		json_array_foreach(v, i, m)
			containers(m, out, n, max);
	}
}

/* The key of a random member of object @o, or NULL. */
static const char *random_key(uint64_t *s, json_t *o)
{
	size_t i = 0, want = pick(s, json_object_size(o));
	const char *key;
	json_t *m;

	json_object_foreach(o, key, m)
		if (i++ == want)
			return key;
	return NULL;
}

/* One structural mutation of @root, which it may replace. */
static json_t *mutate_json(uint64_t *s, json_t *root)
{
	json_t *all[64], *c, *v;
	const char *key;
	char name[80];
	size_t n = 0, i;

	containers(root, all, &n, 64);
	if (!n || !pick(s, 12)) {
		/* The root itself: a scalar, an array, or nested deep. */
		v = pick(s, 3) ? random_value(s) : json_array();
		if (json_is_array(v) && pick(s, 2))
			json_array_append(v, root);
		json_decref(root);
		return v;
	}
	c = all[pick(s, n)];
	if (json_is_array(c)) {
		if (json_array_size(c) && pick(s, 2))
			json_array_set_new(c, pick(s, json_array_size(c)),
					   random_value(s));
		else
			json_array_append_new(c, random_value(s));
		return root;
	}
	key = random_key(s, c);
	switch (pick(s, 6)) {
	case 0:
		if (key)
			json_object_del(c, key);
		break;
	case 1:
	case 2:
		if (key)
			json_object_set_new(c, key, random_value(s));
		break;
	case 3:
		/* A near-miss name: case, a character more or less. */
		if (!key)
			break;
		snprintf(name, sizeof(name), "%s", key);
		i = pick(s, strlen(name) + 1);
		if (pick(s, 2) && name[i])
			name[i] ^= 0x20;
		else if (pick(s, 2) && name[i])
			memmove(name + i, name + i + 1, strlen(name + i));
		else
			strcat(name, "_");
		v = json_incref(json_object_get(c, key));
		json_object_del(c, key);
		json_object_set_new(c, name, v);
		break;
	case 4:
		/* Nested one level deeper than it should be. */
		if (!key)
			break;
		v = json_object();
		json_object_set(v, key, json_object_get(c, key));
		json_object_set_new(c, key, v);
		break;
	default:
		json_object_set_new(c, pick(s, 2) ? "bogus" : "\xe2\x98\x83",
				    random_value(s));
		break;
	}
	return root;
}

/* Raw text for each RAW_MARK; @b holds the dumped body. */
static void fill_raw(uint64_t *s, struct buf *b)
{
	const char *mark = "\"" RAW_MARK "\"";
	size_t ml = strlen(mark);
	struct buf out = { 0 };
	char *p = b->p, *q;

	while ((q = memmem(p, b->len - (p - b->p), mark, ml))) {
		const char *raw = raw_values[pick(s, sizeof(raw_values) /
						  sizeof(raw_values[0]))];

		buf_add(&out, p, q - p);
		buf_add(&out, raw, strlen(raw));
		p = q + ml;
	}
	buf_add(&out, p, b->len - (p - b->p));
	free(b->p);
	*b = out;
}

/* Mutations of the text itself. */
static void mutate_bytes(uint64_t *s, struct buf *b)
{
	static const char *const inserts[] = {
		"\0", "\xff", "\xc0\x80", "\xed\xa0\x80", "\x80", ",", "}",
		"{", "[", "\"", "\\", ":", "\r\n", "\"a\":1,",
	};
	size_t at = pick(s, b->len + 1), n;
	const char *ins;
	struct buf out = { 0 };

	switch (pick(s, 5)) {
	case 0:
		b->len = at;	/* truncated JSON */
		break;
	case 1:
		if (b->len)
			b->p[pick(s, b->len)] = pick(s, 256);
		break;
	case 2:
		/* Deep nesting, past jansson's depth limit or not. */
		n = pick(s, 2) ? 1 + pick(s, 64) : 2000 + pick(s, 3000);
		while (n--)
			buf_add(&out, "[", 1);
		buf_add(&out, b->p, b->len);
		free(b->p);
		*b = out;
		return;
	case 3:
		/* A member twice: jansson is told to refuse duplicates. */
		if (b->len > 2 && b->p[0] == '{' && b->p[1] == '"') {
			char *end = memchr(b->p + 1, ',', b->len - 1);

			if (!end)
				end = b->p + b->len - 1;
			buf_add(&out, b->p, end - b->p);
			buf_add(&out, ",", 1);
			buf_add(&out, b->p + 1, b->len - 1);
			free(b->p);
			*b = out;
		}
		break;
	default:
		ins = inserts[pick(s, sizeof(inserts) / sizeof(inserts[0]))];
		n = *ins ? strlen(ins) : 1;
		buf_add(&out, b->p, at);
		buf_add(&out, ins, n);
		buf_add(&out, b->p + at, b->len - at);
		free(b->p);
		*b = out;
		break;
	}
}

/* The path the server dispatches on: no query, %XX decoded. */
static void effective_path(const char *path, char *out, size_t size)
{
	size_t o = 0;
	unsigned int c;

	for (; *path && *path != '?' && o + 1 < size; path++) {
		if (*path == '%' && sscanf(path + 1, "%2x", &c) == 1 &&
		    isxdigit((unsigned char)path[1]) &&
		    isxdigit((unsigned char)path[2])) {
			out[o++] = c;
			path += 2;
		} else {
			out[o++] = *path;
		}
	}
	out[o] = '\0';
}

/*
 * True if @body to @method @path could change the VM in a way the test
 * must not see now: pausing or resuming, Ctrl-Alt-Del, a snapshot of the
 * paused VM, and before the load anything that configures the VMM.
 * Conservative: any object body to those routes counts.
 */
static bool dangerous(struct fuzz *f, const char *method, const char *path,
		      json_t *body)
{
	json_t *v;

	if (strcmp(method, "PUT") && strcmp(method, "PATCH"))
		return false;
	if (f->phase == PH_FRESH ||
	    (f->phase == PH_RESTORING && !atomic_load(&f->loaded)))
		return true;
	if (!strcmp(path, "/vm"))
		return json_object_get(body, "state");
	if (!strcmp(path, "/actions")) {
		v = json_object_get(body, "action_type");
		return !json_is_string(v) ||
		       (strcmp(json_string_value(v), "InstanceStart") &&
			strcmp(json_string_value(v), "FlushMetrics"));
	}
	if (f->phase == PH_PAUSED)
		return !strncmp(path, "/snapshot/", 10);
	return false;
}

/* --- requests -------------------------------------------------------- */

/* A documented path mutated, or a path of its own. */
static void fuzz_path(uint64_t *s, const char *base, char *out, size_t size)
{
	static const char *const weird[] = {
		"", "*", "//", "/drives/", "/drives/a-b", "/drives/a/b",
		"/drives/%00", "/network-interfaces/", "/snapshot",
		"/snapshot/", "/vm/", "/vm/config/x", "/../vm", "/./vm",
		"/VM", "/Machine-Config", "/actions?x=1", "/version#f",
		"/%76m", "/drives/\xc3\xa9", "http://localhost/",
		"/mmds/latest/meta-data", "/hotplug/memory", "/serial",
	};
	size_t n, i;

	if (!pick(s, 5)) {
		snprintf(out, size, "%s", weird[pick(s, sizeof(weird) /
						     sizeof(weird[0]))]);
		return;
	}
	snprintf(out, size, "%s", base);
	n = strlen(out);
	switch (pick(s, 8)) {
	case 0:
		snprintf(out + n, size - n, "/");
		break;
	case 1:
		if (n > 1)
			out[n - 1 - pick(s, n - 1)] = '\0';
		break;
	case 2:
		i = pick(s, n);
		if (out[i] != '/')
			out[i] ^= 0x20;
		break;
	case 3:
		snprintf(out + n, size - n, "?%s=%u",
			 pick(s, 2) ? "a" : "state",
			 (unsigned int)pick(s, 100));
		break;
	case 4:
		/* A long id: the server's limit is 64 bytes. */
		snprintf(out, size, "/drives/");
		n = strlen(out);
		i = 1 + pick(s, size - n - 1);
		memset(out + n, 'x', i);
		out[n + i] = '\0';
		break;
	case 5:
		i = pick(s, n);
		memmove(out + i + 1, out + i, n - i + 1);
		out[i] = "/%.~_-:;@!$&'()*+,="[pick(s, 19)];
		break;
	default:
		break;	/* the documented path as it is */
	}
}

/* The request line, headers and @body, framed as the kind wants. */
static void frame(uint64_t *s, struct buf *b, const char *method,
		  const char *path, const char *body, size_t len, bool keep)
{
	buf_printf(b, "%s %s HTTP/1.1\r\nHost: localhost\r\n", method,
		   *path ? path : "/");
	if (body)
		buf_printf(b, "Content-Type: application/json\r\n"
			   "Content-Length: %zu\r\n", len);
	if (!keep)
		buf_printf(b, "Connection: close\r\n");
	if (!pick(s, 8))
		buf_printf(b, "Accept: application/json\r\n");
	buf_add(b, "\r\n", 2);
	if (body)
		buf_add(b, body, len);
}

/*
 * A body for @route: its own, mutated; or another route's.  What it ends
 * as is parsed as the server will: if that is a request the test must
 * not send now, it gets an unknown member, which every handler refuses.
 */
static void make_body(struct fuzz *f, uint64_t *s, struct req *r,
		      const char *method, unsigned int route, struct buf *out)
{
	const char *base = routes[route].body;
	unsigned int i, n;
	json_t *root, *v;
	char *txt;

	if (!base || !pick(s, 10))
		base = routes[FIRST_BODY +
			      pick(s, NR_ROUTES - FIRST_BODY)].body;
	root = json_loads(base, 0, NULL);
	TEST_REQUIRE(root, "a route's body is JSON");
	n = pick(s, 4);
	for (i = 0; i < n; i++)
		root = mutate_json(s, root);
	txt = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(root);
	TEST_REQUIRE(txt, "json_dumps");
	buf_add(out, txt, strlen(txt));
	free(txt);
	fill_raw(s, out);
	if (!pick(s, 4))
		mutate_bytes(s, out);

	root = json_loadb(out->p, out->len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return;
	}
	v = json_object_get(root, "action_type");
	r->flush = json_is_string(v) &&
		   !strcmp(json_string_value(v), "FlushMetrics");
	if (dangerous(f, method, r->path, root)) {
		json_object_set_new(root, "apifuzz_defanged", json_true());
		atomic_fetch_add(&f->st[f->phase].defanged, 1);
		txt = json_dumps(root, JSON_COMPACT);
		TEST_REQUIRE(txt, "json_dumps");
		out->len = 0;
		buf_add(out, txt, strlen(txt));
		free(txt);
	}
	json_decref(root);
}

/* The oracle of one answer: what was asked. */
struct want {
	char method[16];
	char path[64];
	bool flush;
	bool head;
};

static void want_of(struct req *r, struct want *w)
{
	snprintf(w->method, sizeof(w->method), "%s", r->method);
	snprintf(w->path, sizeof(w->path), "%s", r->path);
	w->flush = r->flush;
	w->head = r->head;
}

/* A normal request: method, path and body, each maybe wrong. */
static void gen_normal(struct fuzz *f, uint64_t *s, struct req *r,
		       struct buf *b, bool keep)
{
	unsigned int route = pick(s, NR_ROUTES);
	struct buf body = { 0 };
	char path[256];
	bool with_body;

	snprintf(r->method, sizeof(r->method), "%s", pick(s, 4) ?
		 routes[route].method :
		 methods[pick(s, sizeof(methods) / sizeof(methods[0]))]);
	if (pick(s, 3))
		snprintf(path, sizeof(path), "%s", routes[route].path);
	else
		fuzz_path(s, routes[route].path, path, sizeof(path));
	effective_path(path, r->path, sizeof(r->path));
	r->head = !strcmp(r->method, "HEAD");
	if (!strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH") ||
	    !strcmp(r->method, "POST"))
		with_body = pick(s, 20);
	else
		with_body = !pick(s, 7);
	r->flush = false;
	if (with_body)
		make_body(f, s, r, r->method, route, &body);
	frame(s, b, r->method, path, with_body ? body.p ? body.p : "" : NULL,
	      body.len, keep);
	free(body.p);
}

/* Bad framing: lengths, chunks, sizes and line ends. */
static void gen_framing(struct fuzz *f, uint64_t *s, struct req *r,
			struct buf *b)
{
	static const char *const bad_len[] = {
		"abc", "-1", "1 2", "99999999999999999999", "0x10", "",
		"+5", "5,5",
	};
	struct buf body = { 0 };
	unsigned int route = FIRST_BODY + pick(s, NR_ROUTES - FIRST_BODY);
	size_t i, n;

	snprintf(r->method, sizeof(r->method), "%s", routes[route].method);
	snprintf(r->path, sizeof(r->path), "%s", routes[route].path);
	make_body(f, s, r, r->method, route, &body);
	switch (pick(s, 10)) {
	case 0:
		buf_printf(b, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: "
			   "%s\r\n\r\n", r->method, r->path,
			   bad_len[pick(s, sizeof(bad_len) /
					 sizeof(bad_len[0]))]);
		buf_add(b, body.p, body.len);
		break;
	case 1:
		buf_printf(b, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: "
			   "%zu\r\nContent-Length: %zu\r\n\r\n", r->method,
			   r->path, body.len, body.len + 1 + pick(s, 9));
		buf_add(b, body.p, body.len);
		break;
	case 2:
	case 3:
		/* Chunked, right (an answer as any) or with a bad size. */
		buf_printf(b, "%s %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
			   "chunked\r\nConnection: close\r\n\r\n", r->method,
			   r->path);
		for (i = 0; i < body.len; i += n) {
			n = 1 + pick(s, 64);
			if (n > body.len - i)
				n = body.len - i;
			buf_printf(b, "%zx\r\n", n);
			buf_add(b, body.p + i, n);
			buf_add(b, "\r\n", 2);
		}
		if (pick(s, 3)) {
			buf_printf(b, "0\r\n\r\n");
		} else {
			buf_printf(b, "%s\r\n", pick(s, 2) ? "zz" :
				   "fffffffffffffffffff");
		}
		break;
	case 4:
		/* A header, then a URI, around the server's 32 KiB. */
		snprintf(r->method, sizeof(r->method), "GET");
		snprintf(r->path, sizeof(r->path), "/");
		n = 20000 + pick(s, 60000);
		buf_printf(b, "GET / HTTP/1.1\r\nHost: x\r\nX-Fuzz: ");
		for (i = 0; i < n; i++)
			buf_add(b, "a", 1);
		buf_printf(b, "\r\nConnection: close\r\n\r\n");
		break;
	case 5:
		snprintf(r->method, sizeof(r->method), "GET");
		snprintf(r->path, sizeof(r->path), "/");
		n = 20000 + pick(s, 60000);
		buf_printf(b, "GET /");
		for (i = 0; i < n; i++)
			buf_add(b, "a", 1);
		buf_printf(b, " HTTP/1.1\r\nHost: x\r\n"
			   "Connection: close\r\n\r\n");
		break;
	case 6:
		/* HTTP/1.0, bare LFs: answered as any. */
		buf_printf(b, "%s %s HTTP/1.0\nContent-Length: %zu\n\n",
			   r->method, r->path, body.len);
		buf_add(b, body.p, body.len);
		break;
	case 7:
		buf_printf(b, "%s %s HTTP/1.1\r\nHost: x\r\nno colon here\r\n"
			   "Content-Length: %zu\r\n\r\n", r->method, r->path,
			   body.len);
		buf_add(b, body.p, body.len);
		break;
	case 8:
		/* Expect: 100-continue: an interim answer, then the real. */
		buf_printf(b, "%s %s HTTP/1.1\r\nHost: x\r\nExpect: "
			   "100-continue\r\nContent-Length: %zu\r\nConnection: "
			   "close\r\n\r\n", r->method, r->path, body.len);
		buf_add(b, body.p, body.len);
		break;
	default:
		buf_printf(b, "%s %s%s HTTP/1.1 extra\r\nHost: x\r\n\r\n",
			   r->method, r->path, pick(s, 2) ? " " : "\t");
		break;
	}
	free(body.p);
}

static void gen_request(struct fuzz *f, uint64_t *s, struct req *r,
			struct want w[2])
{
	unsigned int k = pick(s, 100);
	struct buf b = { 0 };
	size_t n;

	memset(r, 0, sizeof(*r));
	r->answers = 1;
	if (k < 64) {
		r->kind = K_NORMAL;
		gen_normal(f, s, r, &b, !pick(s, 6));
	} else if (k < 68) {
		/* Over the limit: refused with a reason, never stored. */
		r->kind = K_HUGE;
		snprintf(r->method, sizeof(r->method), "PUT");
		snprintf(r->path, sizeof(r->path), "/boot-source");
		n = BODY_LIMIT + 1 + pick(s, 4) * pick(s, 100000);
		buf_printf(&b, "PUT /boot-source HTTP/1.1\r\nHost: x\r\n"
			   "Content-Length: %zu\r\nConnection: close\r\n\r\n"
			   "{\"kernel_image_path\":\"", n);
		n -= strlen("{\"kernel_image_path\":\"\"}");
		while (n--)
			buf_add(&b, "A", 1);
		buf_add(&b, "\"}", 2);
	} else if (k < 74) {
		/* Content-Length larger than what comes, then EOF. */
		r->kind = K_TRUNCATED;
		snprintf(r->method, sizeof(r->method), "PUT");
		snprintf(r->path, sizeof(r->path), "/machine-config");
		buf_printf(&b, "PUT /machine-config HTTP/1.1\r\nHost: x\r\n"
			   "Content-Length: %u\r\n\r\n{\"vcpu_count\":1,",
			   (unsigned int)(20 + pick(s, 100000)));
		r->cut = b.len;
	} else if (k < 80) {
		r->kind = K_ABANDONED;
		gen_normal(f, s, r, &b, false);
		r->cut = pick(s, 3) ? pick(s, b.len) : 0;
	} else if (k < 84) {
		r->kind = K_SLOW;
		gen_normal(f, s, r, &b, false);
	} else if (k < 94) {
		r->kind = K_FRAMING;
		gen_framing(f, s, r, &b);
	} else {
		/* Two on one connection, written at once. */
		r->kind = K_PIPELINED;
		gen_normal(f, s, r, &b, true);
		want_of(r, &w[0]);
		gen_normal(f, s, r, &b, false);
		want_of(r, &w[1]);
		r->answers = 2;
		r->buf = b.p;
		r->len = b.len;
		return;
	}
	want_of(r, &w[0]);
	r->buf = b.p;
	r->len = b.len;
}

/* --- the client ------------------------------------------------------ */

static int sock_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, tries;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_REQUIRE(fd >= 0, "socket");
	/* The backlog is 16: a burst of connects may be refused a moment. */
	for (tries = 0; tries < 200; tries++) {
		if (!connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			return fd;
		if (errno != EAGAIN && errno != ECONNREFUSED)
			break;
		usleep(5000);
	}
	close(fd);
	return -1;
}

static bool send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

struct resp {
	int status;
	bool json_type;
	bool close;
	const char *body;
	size_t body_len;
};

/*
 * One response at @p: its length, 0 while incomplete, -1 if it is not
 * HTTP/1.1 as RFC 9112 frames it.  @head: no body follows.
 */
static long parse_response(const char *p, size_t len, bool head,
			   struct resp *r)
{
	const char *end, *line, *eol;
	long clen = -1;
	size_t hlen;

	memset(r, 0, sizeof(*r));
	if (!len)
		return 0;
	end = memmem(p, len, "\r\n\r\n", 4);
	if (len >= 9 && memcmp(p, "HTTP/1.1 ", 9))
		return -1;
	if (!end)
		return len > 65536 ? -1 : 0;
	hlen = end + 4 - p;
	if (hlen < 14 || !isdigit((unsigned char)p[9]) ||
	    !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]) || p[12] != ' ')
		return -1;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + p[11] - '0';
	if (r->status < 100)
		return -1;
	line = memmem(p, hlen, "\r\n", 2) + 2;
	while (line < end + 2) {
		const char *colon;

		eol = memmem(line, end + 2 - line, "\r\n", 2);
		colon = memchr(line, ':', eol - line);
		if (!colon || colon == line)
			return -1;
		if (!strncasecmp(line, "Content-Length:", 15)) {
			char num[24] = "";

			if (eol - line - 15 >= (long)sizeof(num))
				return -1;
			memcpy(num, line + 15, eol - line - 15);
			if (clen >= 0 || sscanf(num, " %ld", &clen) != 1 ||
			    clen < 0)
				return -1;
		} else if (!strncasecmp(line, "Content-Type:", 13)) {
			r->json_type = memmem(line, eol - line,
					      "application/json", 16);
		} else if (!strncasecmp(line, "Connection:", 11)) {
			r->close = memmem(line, eol - line, "close", 5);
		} else if (!strncasecmp(line, "Transfer-Encoding:", 18)) {
			return -1;	/* the server never chunks */
		}
		line = eol + 2;
	}
	if (r->status < 200 || r->status == 204 || r->status == 304 || head) {
		r->body = p + hlen;
		return hlen;
	}
	if (clen < 0)
		return -1;
	if (len < hlen + clen)
		return 0;
	r->body = p + hlen;
	r->body_len = clen;
	return hlen + clen;
}

/* Is @r the answer @w may get? */
static bool answer_ok(const struct want *w, const struct resp *r,
		      char *why, size_t size)
{
	json_t *root = NULL, *msg;
	bool ok = true;

	if (r->status >= 500) {
		snprintf(why, size, "a %d", r->status);
		return false;
	}
	if (r->status >= 300 && r->status < 400) {
		snprintf(why, size, "a redirect, %d", r->status);
		return false;
	}
	if (r->body_len)
		root = json_loadb(r->body, r->body_len, 0, NULL);
	if (r->status >= 400) {
		msg = json_object_get(root, "fault_message");
		if (!w->head &&
		    (!r->json_type || !json_is_string(msg))) {
			snprintf(why, size, "a %d without a JSON fault_message",
				 r->status);
			ok = false;
		}
	} else if (r->status == 200) {
		if (strcmp(w->method, "GET") && !w->head) {
			snprintf(why, size, "200 to %s %s", w->method, w->path);
			ok = false;
		} else if (!w->head && !json_is_object(root)) {
			snprintf(why, size, "200 without a JSON object");
			ok = false;
		}
	} else if (r->status == 204) {
		if (strcmp(w->method, "PUT") || strcmp(w->path, "/actions") ||
		    !w->flush) {
			snprintf(why, size, "204 to %s %s: a change the "
				 "generator should not make", w->method,
				 w->path);
			ok = false;
		}
	} else if (r->status != 100) {
		snprintf(why, size, "an unexpected %d", r->status);
		ok = false;
	}
	json_decref(root);
	return ok;
}

/*
 * Read until @n answers are whole, EOF, or @ms passed; @head[i]: the
 * i-th answers a HEAD.
 */
static size_t read_answers(int fd, struct buf *b, const bool *head,
			   unsigned int n, int ms, bool *eof)
{
	long deadline = now_ms() + ms;
	char tmp[16384];
	struct resp r;

	*eof = false;
	for (;;) {
		size_t off = 0;
		unsigned int got = 0;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left, used = 0;
		ssize_t k;

		/* Count the answers so far, interim 100s not among them. */
		while (got < n &&
		       (used = parse_response(b->p + off, b->len - off,
					      head[got], &r)) > 0) {
			off += used;
			if (r.status >= 200)
				got++;
		}
		if (got == n || used < 0)
			return off;
		left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return off;
		k = recv(fd, tmp, sizeof(tmp), 0);
		if (k <= 0) {
			*eof = true;
			return off;
		}
		buf_add(b, tmp, k);
	}
}

/* Check every answer in @b; true if all were well-formed. */
static void check_answers(struct fuzz *f, struct req *r, struct want w[2],
			  struct buf *b, bool eof)
{
	struct phase_stats *st = &f->st[f->phase];
	unsigned int i = 0;
	size_t off = 0;
	char why[160];
	struct resp a;
	long used = 0;

	while (i < r->answers) {
		used = parse_response(b->p + off, b->len - off, w[i].head, &a);
		if (used <= 0)
			break;
		off += used;
		if (a.status < 200)
			continue;
		atomic_fetch_add(&st->status[a.status], 1);
		if (!answer_ok(&w[i], &a, why, sizeof(why)))
			failure(f, r, b->p, b->len, "%s", why);
		i++;
		/*
		 * A closing answer ends the connection: nothing may follow.
		 * A refusal of bad framing or of a body too large closes it,
		 * since the server cannot tell where the next request begins:
		 * the rest of a pipeline goes unanswered.
		 */
		if (a.close) {
			if (off < b->len)
				failure(f, r, b->p, b->len, "bytes after a "
					"closing answer");
			else if (i < r->answers && a.status < 400)
				failure(f, r, b->p, b->len, "a %d closed the "
					"connection before the next request",
					a.status);
			return;
		}
	}
	if (i == r->answers)
		return;
	if (used < 0) {
		failure(f, r, b->p, b->len, "a malformed answer");
		return;
	}
	/* No (whole) answer: right only when the request was not whole. */
	if (b->len == off && (r->kind == K_TRUNCATED || r->kind == K_HUGE)) {
		atomic_fetch_add(&st->no_answer, 1);
		return;
	}
	failure(f, r, b->p, b->len, eof ? "closed without an answer" :
		"no answer in %d ms", ANSWER_MS);
}

/* Send @r as its kind says and check what comes back. */
static void perform(struct fuzz *f, uint64_t *s, struct req *r,
		    struct want w[2])
{
	struct buf b = { 0 };
	size_t off, chunk;
	bool eof, heads[2];
	int fd;

	fd = sock_connect(f->sock);
	if (fd < 0) {
		failure(f, r, NULL, 0, "connect: %s", strerror(errno));
		return;
	}
	switch (r->kind) {
	case K_ABANDONED:
		send_all(fd, r->buf, r->cut);
		close(fd);
		return;
	case K_SLOW:
		chunk = r->len / 40 + 1 + pick(s, 8);
		for (off = 0; off < r->len; off += chunk) {
			if (!send_all(fd, r->buf + off, off + chunk > r->len ?
				      r->len - off : chunk))
				break;
			usleep(1000 + pick(s, 10000));
		}
		break;
	case K_TRUNCATED:
		send_all(fd, r->buf, r->cut);
		shutdown(fd, SHUT_WR);
		break;
	default:
		/* The server may answer and close before it read all. */
		send_all(fd, r->buf, r->len);
		break;
	}
	heads[0] = w[0].head;
	heads[1] = r->answers > 1 && w[1].head;
	read_answers(fd, &b, heads, r->answers, ANSWER_MS, &eof);
	if (!b.p)
		buf_add(&b, "", 0);
	check_answers(f, r, w, &b, eof);
	free(b.p);
	close(fd);
}

struct worker {
	struct fuzz *f;
	int idx;
	pthread_t tid;
};

static void *worker_fn(void *arg)
{
	struct worker *wk = arg;
	struct fuzz *f = wk->f;
	uint64_t s = splitmix(f->seed ^ ((uint64_t)f->phase << 40) ^
			      (uint64_t)(wk->idx + 1));
	struct want w[2];
	struct req r;
	long i;

	for (i = 0; i < f->per_worker; i++) {
		gen_request(f, &s, &r, w);
		atomic_fetch_add(&f->st[f->phase].sent, 1);
		atomic_fetch_add(&f->st[f->phase].kinds[r.kind], 1);
		perform(f, &s, &r, w);
		free(r.buf);
		atomic_fetch_add(&f->done, 1);
	}
	return NULL;
}

/* --- slow clients and the prober ------------------------------------- */

/*
 * Connections that never finish a request: one idle since its connect,
 * one trickling a header, one trickling a body, a byte every 200 ms.
 */
static void *slowloris_fn(void *arg)
{
	static const char *const starts[] = {
		"", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
		"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: "
		"100000\r\n\r\n{\"vcpu_count\":",
	};
	struct fuzz *f = arg;
	int fds[3] = { -1, -1, -1 };
	unsigned int i;

	while (!atomic_load(&f->stop)) {
		for (i = 0; i < 3; i++) {
			if (fds[i] < 0) {
				fds[i] = sock_connect(f->sock);
				if (fds[i] >= 0 &&
				    !send_all(fds[i], starts[i],
					      strlen(starts[i]))) {
					close(fds[i]);
					fds[i] = -1;
				}
				continue;
			}
			if (i && !send_all(fds[i], "1", 1)) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
		usleep(200000);
	}
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* Milliseconds a GET / on a fresh connection takes, -1 if none came. */
static long probe_get(const char *sock, char *state, size_t size)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n"
				  "Connection: close\r\n\r\n";
	long t0 = now_ms(), ret = -1;
	struct buf b = { 0 };
	struct resp r;
	bool eof;
	int fd;

	fd = sock_connect(sock);
	if (fd < 0)
		return -1;
	if (send_all(fd, req, sizeof(req) - 1) &&
	    read_answers(fd, &b, &(bool){ false }, 1, ANSWER_MS, &eof) &&
	    parse_response(b.p, b.len, false, &r) > 0 && r.status == 200) {
		ret = now_ms() - t0;
		if (state) {
			const char *p = memmem(r.body, r.body_len,
					       "\"state\":\"", 9);
			size_t n = 0;

			if (p)
				for (p += 9; p[n] && p[n] != '"' &&
				     n + 1 < size; n++)
					state[n] = p[n];
			state[n] = '\0';
		}
	}
	free(b.p);
	close(fd);
	return ret;
}

/* A GET / every 500 ms while slow clients hold their connections. */
static void *prober_fn(void *arg)
{
	struct fuzz *f = arg;
	struct phase_stats *st = &f->st[f->phase];
	long ms;

	while (!atomic_load(&f->stop)) {
		ms = probe_get(f->sock, NULL, 0);
		atomic_fetch_add(&st->probes, 1);
		if (ms < 0 || ms > STALL_BOUND_MS)
			failure(f, NULL, NULL, 0, "GET / %s %ld ms, beside "
				"slow clients", ms < 0 ? "unanswered after" :
				"took", ms < 0 ? (long)ANSWER_MS : ms);
		if (ms > atomic_load(&st->probe_max_ms))
			atomic_store(&st->probe_max_ms, ms);
		usleep(500000);
	}
	return NULL;
}

/* --- the VMM's resources --------------------------------------------- */

static int fd_count(pid_t pid)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	TEST_REQUIRE(dir, "opendir %s", path);
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * Resident kB of @pid: all of it (VmRSS), and outside mappings of 64 MiB
 * or more (guest memory, whose growth is the guest's doing).
 */
static void rss_kb(pid_t pid, long *all, long *vmm)
{
	unsigned long start, end;
	char path[64], line[256];
	bool guest = false;
	long kb;
	FILE *fp;

	*all = *vmm = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	fp = fopen(path, "r");
	TEST_REQUIRE(fp, "fopen %s", path);
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, ' ') > strchr(line, '-'))
			guest = end - start >= (64UL << 20);
		else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
			*all += kb;
			if (!guest)
				*vmm += kb;
		}
	}
	fclose(fp);
}

/* --- phases ---------------------------------------------------------- */

struct run {
	struct worker w[NR_WORKERS];
	pthread_t slow, prober;
	bool probing;
	long t0;
};

static void phase_start(struct fuzz *f, struct run *run, const char *sock,
			enum phase ph, long count, bool probe)
{
	int i;

	f->sock = sock;
	f->phase = ph;
	f->per_worker = (count + NR_WORKERS - 1) / NR_WORKERS;
	atomic_store(&f->done, 0);
	atomic_store(&f->stop, false);
	run->probing = probe;
	run->t0 = now_ms();
	for (i = 0; i < NR_WORKERS; i++) {
		run->w[i] = (struct worker) { .f = f, .idx = i };
		TEST_REQUIRE(!pthread_create(&run->w[i].tid, NULL, worker_fn,
					     &run->w[i]), "pthread_create");
	}
	TEST_REQUIRE(!pthread_create(&run->slow, NULL, slowloris_fn, f),
		     "pthread_create");
	if (probe)
		TEST_REQUIRE(!pthread_create(&run->prober, NULL, prober_fn, f),
			     "pthread_create");
}

static bool phase_done(struct fuzz *f)
{
	return atomic_load(&f->done) >= f->per_worker * NR_WORKERS;
}

static void phase_finish(struct fuzz *f, struct run *run)
{
	int i;

	for (i = 0; i < NR_WORKERS; i++)
		pthread_join(run->w[i].tid, NULL);
	f->st[f->phase].seconds = (now_ms() - run->t0) / 1000.0;
	atomic_store(&f->stop, true);
	pthread_join(run->slow, NULL);
	if (run->probing)
		pthread_join(run->prober, NULL);
}

/*
 * A ticking guest ticks every second of its time; under the fuzzer, in
 * a nested guest of an emulated test VM, seconds of its time can take
 * several of ours.  A window this long without a tick is a stopped guest.
 */
#define TICK_WINDOW_S	30

/*
 * Run a phase against @v; in every window and over the whole phase the
 * guest's tick must have moved (@ticking) or stayed (not).  Returns the
 * checks that went wrong.
 */
static int phase_run(struct fuzz *f, struct vmm_proc *v, enum phase ph,
		     long count, bool ticking)
{
	long first = vmm_proc__last_tick(v), tick = first, t;
	long next = now_ms() + TICK_WINDOW_S * 1000;
	struct run run;
	int bad = 0;

	phase_start(f, &run, v->sock, ph, count, true);
	while (!phase_done(f)) {
		usleep(200000);
		if (now_ms() < next)
			continue;
		next = now_ms() + TICK_WINDOW_S * 1000;
		t = vmm_proc__last_tick(v);
		if ((t > tick) != ticking) {
			fprintf(stderr, "# %s: tick %ld, %d s before %ld\n",
				phase_names[ph], t, TICK_WINDOW_S, tick);
			bad++;
		}
		tick = t;
	}
	phase_finish(f, &run);
	t = vmm_proc__last_tick(v);
	if ((t > first) != ticking) {
		fprintf(stderr, "# %s: tick %ld at the end, %ld at the start\n",
			phase_names[ph], t, first);
		bad++;
	}
	return bad;
}

static void print_stats(struct fuzz *f)
{
	long total = 0, n;
	double secs = 0;
	char line[512];
	int p, i, o;

	for (p = 0; p < NR_PHASES; p++) {
		struct phase_stats *st = &f->st[p];

		n = atomic_load(&st->sent);
		if (!n)
			continue;
		total += n;
		secs += st->seconds;
		fprintf(stderr, "# %-9s %6ld requests in %.1f s, %.0f/s; "
			"defanged %ld, no answer %ld, GET / beside slow "
			"clients: %ld probes, max %ld ms\n", phase_names[p], n,
			st->seconds, n / (st->seconds ? st->seconds : 1),
			atomic_load(&st->defanged), atomic_load(&st->no_answer),
			atomic_load(&st->probes),
			atomic_load(&st->probe_max_ms));
		o = snprintf(line, sizeof(line), "#   kinds:");
		for (i = 0; i < NR_KINDS; i++)
			o += snprintf(line + o, sizeof(line) - o, " %s %ld",
				      kind_names[i],
				      atomic_load(&st->kinds[i]));
		fprintf(stderr, "%s\n", line);
		o = snprintf(line, sizeof(line), "#   status:");
		for (i = 0; i < 600; i++)
			if (atomic_load(&st->status[i]))
				o += snprintf(line + o, sizeof(line) - o,
					      " %d: %ld", i,
					      atomic_load(&st->status[i]));
		fprintf(stderr, "%s\n", line);
	}
	fprintf(stderr, "# total %ld requests in %.1f s, %.0f/s, seed %llu, "
		"%ld failures\n", total, secs, total / (secs ? secs : 1),
		(unsigned long long)f->seed, atomic_load(&f->failures));
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

/* --- the tests ------------------------------------------------------- */

#define VMSTATE		"/tmp/apifuzz.vmstate"
#define MEMFILE		"/tmp/apifuzz.mem"

FIXTURE(apifuzz) {
	struct vmm_proc a, b;
	struct fuzz *f;
	char out[8192];
};

FIXTURE_SETUP(apifuzz)
{
	memset(&self->a, 0, sizeof(self->a));
	memset(&self->b, 0, sizeof(self->b));
	self->f = calloc(1, sizeof(*self->f));
	ASSERT_NE(NULL, self->f);
	pthread_mutex_init(&self->f->report_lock, NULL);
	self->f->seed = env_long("API_FUZZ_SEED", 0);
	if (!self->f->seed)
		self->f->seed = (uint64_t)time(NULL) ^ getpid() << 16;
	fprintf(stderr, "# seed %llu (API_FUZZ_SEED=%llu replays it)\n",
		(unsigned long long)self->f->seed,
		(unsigned long long)self->f->seed);
	vmm_proc__start(&self->a, "/tmp", "apifuzz-a");
}

FIXTURE_TEARDOWN(apifuzz)
{
	vmm_proc__kill(&self->a);
	vmm_proc__kill(&self->b);
	unlink(self->a.sock);
	unlink(self->a.log);
	if (self->b.pid || self->b.sock[0]) {
		unlink(self->b.sock);
		unlink(self->b.log);
	}
	unlink(VMSTATE);
	unlink(MEMFILE);
	free(self->f);
}

/* GET / and the configuration, to compare before and after a phase. */
static void config_of(struct vmm_proc *v, char *out, size_t size)
{
	char tmp[4096];
	int n;

	n = vmm_proc__api(v, "GET", "/", NULL, tmp, sizeof(tmp));
	snprintf(out, size, "%d %s", n, tmp);
	n = vmm_proc__api(v, "GET", "/vm/config", NULL, tmp, sizeof(tmp));
	snprintf(out + strlen(out), size - strlen(out), " %d %s", n, tmp);
}

/* Slow and abandoned clients, alone: a plain GET / is answered at once. */
TEST_F_TIMEOUT(apifuzz, slow_clients_do_not_stall, 120)
{
	static const char *const partial[] = {
		"G", "GET / HT", "GET / HTTP/1.1\r\nHost: x\r\n",
		"PUT /vm HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"st",
		"GET / HTTP/1.1\r\n\r\n",	/* its answer never read */
	};
	int fds[40], nfds = 0, base, i;
	long ms, worst = 0;
	char state[32];

	base = fd_count(self->a.pid);
	for (i = 0; i < 40; i++) {
		fds[nfds] = sock_connect(self->a.sock);
		ASSERT_LE(0, fds[nfds]);
		if (i % 2)
			ASSERT_TRUE(send_all(fds[nfds], partial[i / 2 % 5],
					     strlen(partial[i / 2 % 5])));
		nfds++;
	}
	for (i = 0; i < 20; i++) {
		ms = probe_get(self->a.sock, state, sizeof(state));
		ASSERT_LE(0, ms)
			TH_LOG("GET / unanswered beside 40 slow clients");
		EXPECT_STREQ("Not started", state);
		if (ms > worst)
			worst = ms;
	}
	fprintf(stderr, "# 40 slow connections open: 20 GET / in at most %ld "
		"ms; the VMM's fds %d, %d before\n", worst,
		fd_count(self->a.pid), base);
	EXPECT_GT(STALL_BOUND_MS, worst);
	/* Each connection costs the server an fd until the client leaves. */
	EXPECT_LE(base + 40, fd_count(self->a.pid));
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	for (i = 0; i < 50 && fd_count(self->a.pid) != base; i++)
		usleep(100000);
	EXPECT_EQ(base, fd_count(self->a.pid));
}

/*
 * One client holding more connections than the VMM has fds for: the
 * oldest are closed (API_MAX_CONNS), so a new client is still answered
 * and the VMM's fds stay bounded.  Before that fix the VMM ran out of
 * fds near 1020 connections and refused every client after.
 */
#define MANY_CONNS	1200

TEST_F_TIMEOUT(apifuzz, many_connections_do_not_lock_out, 120)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int *fds, n = 0, refused = 0, base, most = 0, i;
	struct rlimit rl;
	char state[32];
	long ms;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < MANY_CONNS + 64)
		SKIP(return, "RLIMIT_NOFILE's hard limit is %lu",
		     (unsigned long)rl.rlim_max);
	rl.rlim_cur = MANY_CONNS + 64;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	fds = calloc(MANY_CONNS, sizeof(*fds));
	ASSERT_NE(NULL, fds);
	ASSERT_GT(sizeof(addr.sun_path), strlen(self->a.sock));
	memcpy(addr.sun_path, self->a.sock, strlen(self->a.sock) + 1);
	base = fd_count(self->a.pid);
	for (i = 0; i < MANY_CONNS; i++) {
		/* Not blocking: a full backlog refuses, never hangs us. */
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		ASSERT_LE(0, fds[n]);
		if (connect(fds[n], (struct sockaddr *)&addr, sizeof(addr))) {
			close(fds[n]);
			refused++;
			usleep(2000);
			continue;
		}
		/* Half of them a header begun, never ended. */
		if (n % 2)
			send(fds[n], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL);
		n++;
		if (i % 100 == 99) {
			int c = fd_count(self->a.pid);

			if (c > most)
				most = c;
		}
	}
	ms = probe_get(self->a.sock, state, sizeof(state));
	fprintf(stderr, "# %d connections held (%d refused): the VMM's fds "
		"%d before, at most %d; a new GET / %ld ms\n", n, refused,
		base, most, ms);
	EXPECT_LE(0, ms) TH_LOG("a new client is locked out");
	EXPECT_STREQ("Not started", state);
	EXPECT_GE(base + API_MAX_CONNS + 16, most);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	for (i = 0; i < 50 && fd_count(self->a.pid) != base; i++)
		usleep(100000);
	EXPECT_EQ(base, fd_count(self->a.pid));
}

/*
 * A VMM neither started nor loaded, which nothing the generator sends
 * may configure: a few thousand requests, and it is as it was.
 */
TEST_F_TIMEOUT(apifuzz, fresh, 300)
{
	long n = env_long("API_FUZZ_REQUESTS", 10000) / 5, rss0, rss1, v0, v1;
	char before[8192], after[8192];
	int fd0, fd1, i;

	config_of(&self->a, before, sizeof(before));
	fd0 = fd_count(self->a.pid);
	rss_kb(self->a.pid, &rss0, &v0);
	EXPECT_EQ(0, phase_run(self->f, &self->a, PH_FRESH, n, false));
	config_of(&self->a, after, sizeof(after));
	EXPECT_STREQ(before, after);
	EXPECT_NE(NULL, strstr(after, "\"state\":\"Not started\""));
	for (i = 0; i < 50 && (fd1 = fd_count(self->a.pid)) != fd0; i++)
		usleep(100000);
	rss_kb(self->a.pid, &rss1, &v1);
	fprintf(stderr, "# VMM fds %d before, %d after; VmRSS %ld -> %ld kB\n",
		fd0, fd1, rss0, rss1);
	EXPECT_EQ(fd0, fd1);
	EXPECT_GT(RSS_BOUND_KB, rss1 - rss0);
	print_stats(self->f);
	EXPECT_EQ(0, atomic_load(&self->f->failures));
}

/*
 * For a failure's report: does the same snapshot restore with no
 * requests beside the load?  Tells the fuzzer's doing from the rest.
 */
static void quiet_restore(struct __test_metadata *_metadata,
			  FIXTURE_DATA(apifuzz) *self, long tick)
{
	struct vmm_proc c = { 0 };
	char out[1024];
	int st;

	(void)_metadata;
	vmm_proc__start(&c, "/tmp", "apifuzz-c");
	st = vmm_proc__load(&c, VMSTATE, "File", MEMFILE, NULL, out,
			    sizeof(out));
	fprintf(stderr, "# a quiet restore of the same snapshot: load %d, "
		"%s\n", st, vmm_proc__wait_tick(&c, tick, 60) ?
		"it ticks" : "no tick either");
	vmm_proc__show_console(&c, 10);
	vmm_proc__kill(&c);
	unlink(c.sock);
	unlink(c.log);
	(void)self;
}

/*
 * A VMM that is gone fails every later request; say once why it went (its
 * guest's triple fault, a sanitizer's report, a signal) and show its last
 * lines, rather than leave only the thousand failures that follow.
 */
static void vmm_alive(struct __test_metadata *_metadata, struct vmm_proc *v,
		      const char *phase, char *notes, size_t size)
{
	char why[512];
	size_t o = strlen(notes);

	if (!vmm_proc__exited(v))
		return;
	vmm_proc__why_stuck(v, why, sizeof(why));
	vmm_proc__show_console(v, 40);
	EXPECT_TRUE(false) TH_LOG("%s: the VMM is gone: %s", phase, why);
	snprintf(notes + o, size - o, "#   %s: the VMM is gone: %s\n", phase,
		 why);
}

/*
 * An expectation of this long test whose failure is also listed at its
 * end, which is what an excerpt of a CI log shows.
 */
#define CHECK(cond, fmt, ...)						\
	do {								\
		if (!(cond)) {						\
			size_t o = strlen(notes);			\
									\
			EXPECT_TRUE(false) TH_LOG(fmt, ##__VA_ARGS__);	\
			snprintf(notes + o, sizeof(notes) - o,		\
				 "#   " fmt "\n", ##__VA_ARGS__);	\
		}							\
	} while (0)

TEST_F_TIMEOUT(apifuzz, running_paused_restoring, 2700)
{
	long total = env_long("API_FUZZ_REQUESTS", 10000);
	long n_run = total * 55 / 100, n_pause = total * 20 / 100;
	long n_restore = total - n_run - n_pause;
	long rss0, rss1, vrss0, vrss1, tick, t0;
	char before[8192], after[8192];
	struct fuzz *f = self->f;
	int fd0, fd1, i, bad;
	char notes[2048] = "";
	struct run run;

	vmm_proc__configure(&self->a, TICKER_INITRD, 2, false);
	ASSERT_TRUE(vmm_proc__boot(&self->a, "TICK 2", self->out,
				   sizeof(self->out), 300));

	/* Warm up the server's allocations before the baseline. */
	phase_run(f, &self->a, PH_RUNNING, 200, true);
	memset(&f->st[PH_RUNNING], 0, sizeof(f->st[PH_RUNNING]));
	config_of(&self->a, before, sizeof(before));
	fd0 = fd_count(self->a.pid);
	rss_kb(self->a.pid, &rss0, &vrss0);

	/* Running: the guest must tick through it. */
	bad = phase_run(f, &self->a, PH_RUNNING, n_run, true);
	vmm_alive(_metadata, &self->a, "running", notes, sizeof(notes));
	CHECK(!bad, "running: the guest stopped ticking under the fuzzer "
	      "(%d windows of %d s without a tick)", bad, TICK_WINDOW_S);
	tick = vmm_proc__last_tick(&self->a);
	CHECK(vmm_proc__wait_tick(&self->a, tick, 30),
	      "running: no tick past %ld after the phase", tick);
	config_of(&self->a, after, sizeof(after));
	CHECK(!strcmp(before, after), "running: the configuration changed: "
	      "%.300s", after);

	/* Paused: it must not tick, and stay paused. */
	ASSERT_EQ(204, vmm_proc__set_state(&self->a, "Paused", self->out,
					   sizeof(self->out)));
	sleep(1);
	config_of(&self->a, before, sizeof(before));
	bad = phase_run(f, &self->a, PH_PAUSED, n_pause, false);
	vmm_alive(_metadata, &self->a, "paused", notes, sizeof(notes));
	CHECK(!bad, "paused: the guest ticked while paused, or resumed");
	config_of(&self->a, after, sizeof(after));
	CHECK(!strcmp(before, after), "paused: the configuration changed: "
	      "%.300s", after);
	CHECK(strstr(after, "\"state\":\"Paused\""), "paused: not paused "
	      "after the phase: %.300s", after);

	/* The VMM's resources: every connection closed by now. */
	for (i = 0; i < 50 && (fd1 = fd_count(self->a.pid)) != fd0; i++)
		usleep(100000);
	rss_kb(self->a.pid, &rss1, &vrss1);
	fprintf(stderr, "# VMM fds %d before, %d after; VmRSS %ld -> %ld kB, "
		"outside guest memory %ld -> %ld kB\n", fd0, fd1, rss0, rss1,
		vrss0, vrss1);
	CHECK(fd0 == fd1, "the VMM holds %d fds, %d before", fd1, fd0);
	CHECK(vrss1 - vrss0 < RSS_BOUND_KB, "the VMM grew by %ld kB",
	      vrss1 - vrss0);

	/* Restoring: a second VMM gets requests while it loads, and after. */
	ASSERT_EQ(204, vmm_proc__create(&self->a, VMSTATE, MEMFILE, NULL,
					self->out, sizeof(self->out)));
	tick = vmm_proc__last_tick(&self->a);
	vmm_proc__kill(&self->a);
	vmm_proc__start(&self->b, "/tmp", "apifuzz-b");
	atomic_store(&f->loaded, false);
	phase_start(f, &run, self->b.sock, PH_RESTORING, n_restore, false);
	for (t0 = now_ms(); atomic_load(&f->done) < n_restore / 10 &&
	     now_ms() - t0 < 5000; )
		usleep(10000);
	i = vmm_proc__load(&self->b, VMSTATE, "File", MEMFILE, NULL,
			   self->out, sizeof(self->out));
	atomic_store(&f->loaded, true);
	fprintf(stderr, "# the load answered %d after %ld requests\n", i,
		atomic_load(&f->done));
	CHECK(i == 204, "restoring: the load answered %d: %.300s", i,
	      self->out);
	while (!phase_done(f))
		usleep(100000);
	phase_finish(f, &run);
	if (!vmm_proc__wait_tick(&self->b, tick, 120)) {
		vmm_proc__why_stuck(&self->b, self->out, sizeof(self->out));
		vmm_proc__show_console(&self->b, 30);
		quiet_restore(_metadata, self, tick);
		CHECK(false, "restoring: the restored guest does not tick "
		      "past %ld: %.300s", tick, self->out);
	}
	vmm_alive(_metadata, &self->b, "restoring", notes, sizeof(notes));
	config_of(&self->b, after, sizeof(after));
	CHECK(strstr(after, "\"state\":\"Running\""), "restoring: not "
	      "running after the load: %.300s", after);

	print_stats(f);
	CHECK(!atomic_load(&f->failures), "%ld bad answers (the first are "
	      "shown above)", atomic_load(&f->failures));
	if (notes[0])
		fprintf(stderr, "# what failed:\n%s", notes);
}

TEST_HARNESS_MAIN
