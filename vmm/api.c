// SPDX-License-Identifier: GPL-2.0
/*
 * Firecracker's HTTP API (the v1.10 subset this VMM implements) on a Unix
 * socket: http.c frames the requests, jansson parses them.  Requests are checked in
 * full before anything changes, so a bad request leaves the VM as it was:
 * 400 with {"fault_message": ...}; success is 204, a GET's is 200 with
 * the JSON Firecracker gives.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "logger.h"
#include "metrics.h"
#include "pagetrack.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* Firecracker's default http_api_max_payload_size. */
#define API_MAX_BODY		51200

struct request {
	char *body;
	size_t len;
	bool too_big;
};

struct reply {
	unsigned int status;
	char *json;		/* NULL: no body */
};

/* The length of the valid UTF-8 character at @s, or 0. */
static size_t utf8_char_len(const unsigned char *s)
{
	unsigned int n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	/* The terminating NUL is no continuation byte: never read past it. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong, a surrogate, or past Unicode: jansson refuses these. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

/*
 * A fault message quotes what the client sent, the URL as it came and
 * any path, and is cut at its buffer's size, maybe inside a character:
 * bytes that are not UTF-8 become '?', or jansson would refuse to make
 * a string of it and the 400 would go out with no body.
 */
static void utf8_scrub(char *s)
{
	while (*s) {
		size_t n = utf8_char_len((const unsigned char *)s);

		if (n)
			s += n;
		else
			*s++ = '?';
	}
}

static struct reply reply_fault(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static struct reply reply_fault(const char *fmt, ...)
{
	struct reply r = { .status = 400 };
	char msg[512];
	json_t *obj;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_scrub(msg);
	obj = json_pack("{s:s}", "fault_message", msg);
	r.json = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return r;
}

static struct reply reply_ok(void)
{
	return (struct reply) { .status = 204 };
}

/* 200 with @obj, whose reference this takes. */
static struct reply reply_json(json_t *obj)
{
	struct reply r = { .status = 200 };

	r.json = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return r;
}

/* Parse a body that must be one JSON object. */
static json_t *parse_body(const struct request *req, struct reply *err)
{
	json_error_t jerr;
	json_t *root;

	root = json_loadb(req->body ? req->body : "", req->len,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		*err = reply_fault("malformed JSON: %s (line %d, column %d)",
				   jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*err = reply_fault("the request body must be a JSON object");
		return NULL;
	}
	return root;
}

static const char *state_name(struct api *api)
{
	if (!api->ops->started(api->ctx))
		return "Not started";
	return api->ops->paused(api->ctx) ? "Paused" : "Running";
}

static struct reply get_instance_info(struct api *api)
{
	return reply_json(json_pack("{s:s, s:s, s:s, s:s}",
				    "app_name", "pagetrack-vmm",
				    "id", "anonymous-instance",
				    "state", state_name(api),
				    "vmm_version", API_VMM_VERSION));
}

/* Firecracker's FirecrackerVersion, with this VMM's version in it. */
static struct reply get_version(struct api *api, json_t *body)
{
	(void)api;
	(void)body;
	return reply_json(json_pack("{s:s}", "firecracker_version",
				    API_VMM_VERSION));
}

static struct reply put_boot_source(struct api *api, json_t *body)
{
	const char *kernel, *args = NULL, *initrd = NULL;
	json_error_t jerr;
	int fd;

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s?s, s?s}",
			   "kernel_image_path", &kernel, "boot_args", &args,
			   "initrd_path", &initrd))
		return reply_fault("boot-source: %s", jerr.text);
	if (api->ops->started(api->ctx))
		return reply_fault("boot-source cannot change after "
				   "InstanceStart");
	fd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return reply_fault("cannot open kernel image %s: %s", kernel,
				   strerror(errno));
	close(fd);
	if (initrd) {
		fd = open(initrd, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return reply_fault("cannot open initrd %s: %s", initrd,
					   strerror(errno));
		close(fd);
	}
	if (args && strlen(args) >= API_MAX_CMDLINE)
		return reply_fault("boot_args longer than %d bytes",
				   API_MAX_CMDLINE - 1);

	/* As in Firecracker, a PUT replaces the whole boot source. */
	snprintf(api->cfg.kernel, sizeof(api->cfg.kernel), "%s", kernel);
	snprintf(api->cfg.initrd, sizeof(api->cfg.initrd), "%s",
		 initrd ? initrd : "");
	snprintf(api->cfg.cmdline, sizeof(api->cfg.cmdline), "%s",
		 args ? args : API_DEFAULT_CMDLINE);
	api->cfg.have_boot_args = args;
	api->cfg.have_kernel = true;
	api->configured = true;
	return reply_ok();
}

/* Firecracker's TokenBucket: size and refill_time required. */
static bool bad_token_bucket(json_t *v, struct token_bucket_config *out,
			     const char *what, const char *kind,
			     struct reply *r)
{
	json_int_t size, refill, burst = 0;
	json_error_t jerr;

	if (json_unpack_ex(v, &jerr, JSON_STRICT, "{s:I, s:I, s?I}", "size",
			   &size, "refill_time", &refill, "one_time_burst",
			   &burst)) {
		*r = reply_fault("%s: %s: %s", what, kind, jerr.text);
		return true;
	}
	if (size < 0 || refill < 0 || burst < 0) {
		*r = reply_fault("%s: %s: size, one_time_burst and refill_time "
				 "must not be negative", what, kind);
		return true;
	}
	/*
	 * As Firecracker's TokenBucket::new: a size or a refill_time of 0
	 * is no limit, not an error (its rate-limiter docs disable a
	 * bucket with both 0).
	 */
	if (!size || !refill)
		size = burst = refill = 0;
	*out = (struct token_bucket_config) {
		.size = size, .one_time_burst = burst, .refill_time_ms = refill,
	};
	return false;
}

/*
 * Firecracker's RateLimiter, null or absent meaning none.  With @given,
 * which buckets the request named (PATCH changes only those).
 */
static bool bad_rate_limiter(json_t *v, struct rate_limit_config *out,
			     bool given[2], const char *what, struct reply *r)
{
	json_t *bw = NULL, *ops = NULL;
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	if (given)
		given[0] = given[1] = false;
	if (!v || json_is_null(v))
		return false;
	if (json_unpack_ex(v, &jerr, JSON_STRICT, "{s?o, s?o}", "bandwidth",
			   &bw, "ops", &ops)) {
		*r = reply_fault("%s: %s", what, jerr.text);
		return true;
	}
	if (bw && !json_is_null(bw) &&
	    bad_token_bucket(bw, &out->bandwidth, what, "bandwidth", r))
		return true;
	if (ops && !json_is_null(ops) &&
	    bad_token_bucket(ops, &out->ops, what, "ops", r))
		return true;
	if (given) {
		given[0] = bw;
		given[1] = ops;
	}
	return false;
}

static json_t *token_bucket_json(const struct token_bucket_config *b)
{
	return json_pack("{s:I, s:I, s:I}", "size", (json_int_t)b->size,
			 "one_time_burst", (json_int_t)b->one_time_burst,
			 "refill_time", (json_int_t)b->refill_time_ms);
}

/* GET /vm/config's RateLimiter: null without limits. */
static json_t *rate_limiter_json(const struct rate_limit_config *c)
{
	json_t *obj;

	if (!rate_limit_config__active(c))
		return json_null();
	obj = json_object();
	if (c->bandwidth.size)
		json_object_set_new(obj, "bandwidth",
				    token_bucket_json(&c->bandwidth));
	if (c->ops.size)
		json_object_set_new(obj, "ops", token_bucket_json(&c->ops));
	return obj;
}

#define NO_PAGETRACK	"track_working_set needs /dev/pagetrack: " \
			"load pagetrack.ko first"

static bool pagetrack_present(void)
{
	return !access(PAGETRACK_DEVICE, R_OK | W_OK);
}

/*
 * True, with the reply to send, when @body's working_set_interval_ms
 * (@ms) is refused.  Unset, it takes @dflt.
 */
static bool bad_ws_interval(json_t *body, json_int_t *ms, bool track_ws,
			    unsigned int dflt, struct reply *r)
{
	if (!json_object_get(body, "working_set_interval_ms")) {
		*ms = dflt;
		return false;
	}
	if (!track_ws)
		*r = reply_fault("working_set_interval_ms needs "
				 "track_working_set");
	else if (*ms < 0 || *ms > API_MAX_WS_INTERVAL_MS)
		*r = reply_fault("working_set_interval_ms must be 0 to %d, "
				 "not %lld", API_MAX_WS_INTERVAL_MS,
				 (long long)*ms);
	else
		return false;
	return true;
}

/*
 * The fields of Firecracker v1.10's MachineConfiguration (swagger, and
 * MachineConfig in src/vmm/src/vmm_config/machine_config.rs), then
 * pagetrack's.  v1.10 knows gdb_socket_path only in its gdb build.
 */
static const struct {
	const char *name;
	json_type type;
} machine_fields[] = {
	{ "vcpu_count", JSON_INTEGER },
	{ "mem_size_mib", JSON_INTEGER },
	{ "smt", JSON_TRUE },
	{ "cpu_template", JSON_STRING },
	{ "track_dirty_pages", JSON_TRUE },
	{ "huge_pages", JSON_STRING },
	{ "track_working_set", JSON_TRUE },
	{ "working_set_interval_ms", JSON_INTEGER },
};

/* v1.10's CpuTemplate enum (swagger; V1N1 is aarch64's). */
static const char *const cpu_templates[] = {
	"C3", "T2", "T2S", "T2CL", "T2A", "V1N1",
};

static const char *type_name(json_type type)
{
	switch (type) {
	case JSON_INTEGER:
		return "an integer";
	case JSON_STRING:
		return "a string";
	default:
		return "true or false";
	}
}

#define NR_MACHINE_FIELDS \
	(sizeof(machine_fields) / sizeof(machine_fields[0]))

static bool type_is(json_t *val, json_type type)
{
	return type == JSON_TRUE ? json_is_boolean(val) :
	       json_typeof(val) == type;
}

/* Every member of @body is a field of machine-config, of its type. */
static bool bad_machine_fields(json_t *body, struct reply *r)
{
	const char *key;
	json_t *val;
	size_t i;

	json_object_foreach(body, key, val) {
		for (i = 0; i < NR_MACHINE_FIELDS; i++)
			if (!strcmp(key, machine_fields[i].name))
				break;
		if (i < NR_MACHINE_FIELDS &&
		    type_is(val, machine_fields[i].type))
			continue;
		if (i < NR_MACHINE_FIELDS)
			*r = reply_fault("machine-config: %s must be %s", key,
					 type_name(machine_fields[i].type));
		else if (!strcmp(key, "gdb_socket_path"))
			*r = reply_fault("machine-config: gdb_socket_path "
					 "(Firecracker's gdb build) is not "
					 "supported");
		else
			*r = reply_fault("machine-config: unknown field '%s': "
					 "Firecracker v1.10 knows vcpu_count, "
					 "mem_size_mib, smt, cpu_template, "
					 "track_dirty_pages and huge_pages; "
					 "pagetrack adds track_working_set "
					 "and working_set_interval_ms", key);
		return true;
	}
	return false;
}

/* Firecracker's explicit defaults are accepted; what it needs is not. */
static bool bad_machine_values(json_t *body, struct reply *r)
{
	json_t *v;
	size_t i;

	v = json_object_get(body, "smt");
	if (v && json_is_true(v)) {
		*r = reply_fault("smt is not supported: the VMM gives the "
				 "guest no sibling threads to enable; give "
				 "false or leave it out");
		return true;
	}
	v = json_object_get(body, "cpu_template");
	if (v && strcmp(json_string_value(v), "None")) {
		for (i = 0; i < sizeof(cpu_templates) /
			    sizeof(cpu_templates[0]); i++)
			if (!strcmp(json_string_value(v), cpu_templates[i]))
				break;
		if (i < sizeof(cpu_templates) / sizeof(cpu_templates[0]))
			*r = reply_fault("cpu_template '%s' is not supported: "
					 "the VMM has no CPU templates, the "
					 "guest sees the CPUID KVM supports; "
					 "give \"None\" or leave it out",
					 cpu_templates[i]);
		else
			*r = reply_fault("cpu_template must be one of C3, T2, "
					 "T2S, T2CL, T2A, V1N1 or None, not "
					 "'%s'", json_string_value(v));
		return true;
	}
	v = json_object_get(body, "huge_pages");
	if (v && strcmp(json_string_value(v), "None") &&
	    strcmp(json_string_value(v), "2M")) {
		*r = reply_fault("huge_pages must be None or 2M, not '%s'",
				 json_string_value(v));
		return true;
	}
	return false;
}

static bool get_bool(json_t *body, const char *key, bool dflt)
{
	json_t *v = json_object_get(body, key);

	return v ? json_is_true(v) : dflt;
}

static json_int_t get_int(json_t *body, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(body, key);

	return v ? json_integer_value(v) : dflt;
}

/*
 * PUT sets the whole machine-config, as in Firecracker: its optional
 * fields not given take their defaults (smt and track_dirty_pages
 * false, cpu_template and huge_pages None).  pagetrack's fields keep
 * their old rule: track_working_set not given stays as it was,
 * working_set_interval_ms not given is 20.  PATCH changes only the
 * fields given, at least one; the rest keep their values.
 */
static struct reply set_machine_config(struct api *api, json_t *body,
				       bool patch)
{
	const char *what = patch ? "PATCH /machine-config" :
			   "PUT /machine-config";
	json_int_t vcpus, mem_mib, interval;
	bool track, track_ws, hugetlb;
	struct reply r;
	json_t *v;

	if (bad_machine_fields(body, &r))
		return r;
	if (patch && !json_object_size(body))
		return reply_fault("%s needs at least one field", what);
	if (!patch && (!json_object_get(body, "vcpu_count") ||
		       !json_object_get(body, "mem_size_mib")))
		return reply_fault("%s needs vcpu_count and mem_size_mib",
				   what);
	if (api->ops->started(api->ctx))
		return reply_fault("machine-config cannot change after "
				   "InstanceStart");
	vcpus = get_int(body, "vcpu_count", api->cfg.vcpus);
	mem_mib = get_int(body, "mem_size_mib", api->cfg.mem_mib);
	track = get_bool(body, "track_dirty_pages",
			 patch && api->cfg.track_dirty_pages);
	track_ws = get_bool(body, "track_working_set",
			    api->cfg.track_working_set);
	interval = get_int(body, "working_set_interval_ms", 0);
	if (vcpus < 1 || vcpus > API_MAX_VCPUS)
		return reply_fault("vcpu_count must be 1 to %d, not %lld",
				   API_MAX_VCPUS, (long long)vcpus);
	if (mem_mib < 16 || mem_mib > API_MAX_MEM_MIB)
		return reply_fault("mem_size_mib must be 16 to %d, not %lld",
				   API_MAX_MEM_MIB, (long long)mem_mib);
	if (bad_machine_values(body, &r))
		return r;
	v = json_object_get(body, "huge_pages");
	hugetlb = v ? !strcmp(json_string_value(v), "2M") :
		  patch && api->cfg.hugetlb;
	/* Firecracker's InvalidMemorySize, in its words. */
	if (hugetlb && mem_mib % 2)
		return reply_fault("The memory size (MiB) is either 0, or not "
				   "a multiple of the configured page size: "
				   "huge_pages 2M needs an even mem_size_mib, "
				   "not %lld", (long long)mem_mib);
	if (bad_ws_interval(body, &interval, track_ws,
			    patch ? api->cfg.working_set_interval_ms :
			    API_DEFAULT_WS_INTERVAL_MS, &r))
		return r;
	if (track_ws && !pagetrack_present())
		return reply_fault(NO_PAGETRACK);
	api->cfg.working_set_interval_ms = interval;
	api->cfg.vcpus = vcpus;
	api->cfg.mem_mib = mem_mib;
	api->cfg.track_dirty_pages = track;
	api->cfg.hugetlb = hugetlb;
	api->cfg.track_working_set = track_ws;
	api->configured = true;
	return reply_ok();
}

static struct reply put_machine_config(struct api *api, json_t *body)
{
	return set_machine_config(api, body, false);
}

static struct reply patch_machine_config(struct api *api, json_t *body)
{
	return set_machine_config(api, body, true);
}

/*
 * Firecracker's MachineConfig as v1.10 serializes it: no cpu_template
 * when there is none, huge_pages "None" or "2M".  Started or loaded, the
 * vCPUs, memory and its pages are the VM's.  pagetrack's fields only when
 * recording.
 */
static json_t *machine_config_json(struct api *api)
{
	unsigned int vcpus = api->cfg.vcpus, mem_mib = api->cfg.mem_mib;
	bool hugetlb = api->cfg.hugetlb;
	json_t *obj;

	if (api->ops->started(api->ctx))
		api->ops->describe(api->ctx, &vcpus, &mem_mib, &hugetlb);
	obj = json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", vcpus,
			"mem_size_mib", mem_mib, "smt", 0,
			"track_dirty_pages", api->cfg.track_dirty_pages,
			"huge_pages", hugetlb ? "2M" : "None");
	if (api->cfg.track_working_set) {
		unsigned int ms = api->cfg.working_set_interval_ms;

		json_object_set_new(obj, "track_working_set", json_true());
		json_object_set_new(obj, "working_set_interval_ms",
				    json_integer(ms));
	}
	return obj;
}

static struct reply get_machine_config(struct api *api, json_t *body)
{
	(void)body;
	return reply_json(machine_config_json(api));
}

/* Firecracker's BlockDeviceConfig as v1.10 serializes it. */
static json_t *drives_json(const struct api_config *c)
{
	const struct virtio_drive_config *d;
	json_t *list = json_array();
	unsigned int i;

	for (i = 0; i < c->nr_drives; i++) {
		d = &c->drives[i];
		json_array_append_new(list, json_pack(
			"{s:s, s:o, s:b, s:s, s:b, s:s, s:o, s:s, s:n}",
			"drive_id", d->drive_id, "partuuid",
			d->partuuid[0] ? json_string(d->partuuid) : json_null(),
			"is_root_device", d->root, "cache_type",
			d->writeback ? "Writeback" : "Unsafe",
			"is_read_only", d->read_only, "path_on_host", d->path,
			"rate_limiter", rate_limiter_json(&d->limit),
			"io_engine", "Sync", "socket"));
	}
	return list;
}

/*
 * Firecracker's FullVmConfiguration: every member v1.10 gives, null or
 * empty for what this VMM does not have.  After a snapshot load the
 * boot source is empty, as in Firecracker.
 */
static json_t *nets_json(struct api *api);

static struct reply get_vm_config(struct api *api, json_t *body)
{
	const struct api_config *c = &api->cfg;
	json_t *boot, *vsock, *entropy = json_null();

	(void)body;
	if (c->entropy.present)
		entropy = json_pack("{s:o}", "rate_limiter",
				    rate_limiter_json(&c->entropy.limit));
	boot = json_pack("{s:s, s:o, s:o}", "kernel_image_path",
			 c->have_kernel ? c->kernel : "",
			 "initrd_path", c->have_kernel && c->initrd[0] ?
			 json_string(c->initrd) : json_null(),
			 "boot_args", c->have_kernel && c->have_boot_args ?
			 json_string(c->cmdline) : json_null());
	if (c->vsock.present)
		vsock = json_pack("{s:I, s:s}", "guest_cid",
				  (json_int_t)c->vsock.guest_cid, "uds_path",
				  c->vsock.uds_path);
	else
		vsock = json_null();
	return reply_json(json_pack("{s:n, s:o, s:o, s:n, s:n, s:o, s:n, s:n, "
				    "s:o, s:o, s:o}",
				    "balloon", "drives", drives_json(c),
				    "boot-source", boot,
				    "cpu-config", "logger", "machine-config",
				    machine_config_json(api), "metrics",
				    "mmds-config", "network-interfaces",
				    nets_json(api), "vsock", vsock, "entropy",
				    entropy));
}

#define BEFORE_START	"The requested operation is not supported before " \
			"starting the microVM."

/*
 * FlushMetrics and SendCtrlAltDel: a started (or loaded) VM's actions,
 * refused before as Firecracker refuses them.  Flushing unconfigured
 * metrics succeeds and writes nothing, as there.
 */
static struct reply put_runtime_action(struct api *api, const char *type)
{
	int ret;

	if (!api->ops->started(api->ctx))
		return reply_fault(BEFORE_START);
	if (!strcmp(type, "FlushMetrics")) {
		ret = metrics__flush();
		if (ret)
			return reply_fault("Failed to write metrics: %s",
					   strerror(-ret));
		return reply_ok();
	}
	ret = api->ops->send_ctrl_alt_del(api->ctx);
	if (ret)
		return reply_fault("SendCtrlAltDel: %s", ret == -ENOSPC ?
				   "the i8042's buffer is full" :
				   strerror(-ret));
	return reply_ok();
}

static struct reply put_actions(struct api *api, json_t *body)
{
	const char *type;
	json_error_t jerr;
	char err[512] = "";
	int ret;

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s}", "action_type",
			   &type))
		return reply_fault("actions: %s", jerr.text);
	if (!strcmp(type, "FlushMetrics") || !strcmp(type, "SendCtrlAltDel"))
		return put_runtime_action(api, type);
	if (strcmp(type, "InstanceStart"))
		return reply_fault("unsupported action_type '%s'", type);
	if (api->ops->started(api->ctx))
		return reply_fault("the instance is already started");
	if (!api->cfg.have_kernel)
		return reply_fault("InstanceStart needs a boot-source first");
	/* What the VMM can check first fails before anything is built. */
	if (api->ops->check_start &&
	    api->ops->check_start(api->ctx, &api->cfg, err, sizeof(err)))
		return reply_fault("InstanceStart: %s", err);
	ret = api->ops->start(api->ctx, &api->cfg);
	if (ret)
		return reply_fault("InstanceStart failed: %s", strerror(-ret));
	return reply_ok();
}

static struct reply patch_vm(struct api *api, json_t *body)
{
	const char *state;
	json_error_t jerr;

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s}", "state", &state))
		return reply_fault("vm: %s", jerr.text);
	if (strcmp(state, "Paused") && strcmp(state, "Resumed"))
		return reply_fault("state must be Paused or Resumed, not '%s'",
				   state);
	if (!api->ops->started(api->ctx))
		return reply_fault("the instance is not started");
	/* Already in the state asked for: done, as Firecracker answers. */
	if (!strcmp(state, "Paused")) {
		if (!api->ops->paused(api->ctx))
			api->ops->pause(api->ctx);
	} else {
		if (api->ops->paused(api->ctx))
			api->ops->resume(api->ctx);
	}
	return reply_ok();
}

static struct reply put_snapshot_create(struct api *api, json_t *body)
{
	const char *type = "Full", *vmstate, *mem, *layers = NULL;
	json_error_t jerr;
	char err[512];
	bool diff;

	/*
	 * Firecracker v1.6 removed "version" (snapshots for older
	 * Firecrackers); v1.10's SnapshotCreateParams refuses it.
	 */
	if (json_object_get(body, "version"))
		return reply_fault("snapshot/create: the version field is not "
				   "accepted: Firecracker removed it in v1.6, "
				   "and snapshots are written in this VMM's "
				   "one format");
	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s?s, s:s, s:s, s?s}",
			   "snapshot_type", &type, "snapshot_path", &vmstate,
			   "mem_file_path", &mem, "layers_path", &layers))
		return reply_fault("snapshot/create: %s", jerr.text);
	if (strcmp(type, "Full") && strcmp(type, "Diff"))
		return reply_fault("snapshot_type must be Full or Diff, not "
				   "'%s'", type);
	diff = !strcmp(type, "Diff");
	if (!api->ops->started(api->ctx) || !api->ops->paused(api->ctx))
		return reply_fault("snapshots are taken of a paused instance "
				   "(PATCH /vm Paused first)");
	if (!*vmstate || !*mem || !strcmp(vmstate, mem))
		return reply_fault("snapshot_path and mem_file_path must be "
				   "two different files");
	if (layers && (!*layers || !strcmp(layers, vmstate) ||
		       !strcmp(layers, mem)))
		return reply_fault("layers_path must be a third file");
	if (api->ops->snapshot_create(api->ctx, diff, vmstate, mem, layers,
				      err, sizeof(err)))
		return reply_fault("snapshot/create: %s", err);
	return reply_ok();
}

static struct reply put_snapshot_load(struct api *api, json_t *body)
{
	const char *backend_type = NULL, *backend_path = NULL;
	const char *mem_file = NULL, *layers = NULL, *prefetch = NULL;
	int diff = 0, resume = 0, track_ws = 0;
	json_int_t interval = 0;
	struct api_load load;
	json_error_t jerr;
	struct reply r;
	char err[512];

	if (json_unpack_ex(body, &jerr, JSON_STRICT,
			   "{s:s, s?{s:s, s:s}, s?s, s?b, s?b, s?b, s?I, s?s, "
			   "s?s}",
			   "snapshot_path", &load.snapshot_path,
			   "mem_backend", "backend_type", &backend_type,
			   "backend_path", &backend_path,
			   "mem_file_path", &mem_file,
			   "enable_diff_snapshots", &diff,
			   "resume_vm", &resume,
			   "track_working_set", &track_ws,
			   "working_set_interval_ms", &interval,
			   "layers_path", &layers,
			   "layers_prefetch", &prefetch))
		return reply_fault("snapshot/load: %s", jerr.text);
	if (!backend_path == !mem_file)
		return reply_fault("give exactly one of mem_backend and the "
				   "deprecated mem_file_path");
	if (backend_type && strcmp(backend_type, "File") &&
	    strcmp(backend_type, "Uffd"))
		return reply_fault("backend_type must be File or Uffd, not "
				   "'%s'", backend_type);
	load.uffd = backend_type && !strcmp(backend_type, "Uffd");
	if (load.uffd && layers)
		return reply_fault("with the Uffd backend the page-fault "
				   "handler serves the layers, not the VMM");
	if (prefetch && !layers)
		return reply_fault("layers_prefetch needs layers_path");
	if (prefetch && strcmp(prefetch, "Background") &&
	    strcmp(prefetch, "HugePages"))
		return reply_fault("layers_prefetch must be Background or "
				   "HugePages, not '%s'", prefetch);
	load.layers_huge = prefetch && !strcmp(prefetch, "HugePages");
	if (load.layers_huge && track_ws)
		return reply_fault("layers_prefetch HugePages cannot record a "
				   "working set: record with Background");
	if (api->ops->started(api->ctx))
		return reply_fault("a snapshot loads only into a fresh VMM "
				   "process");
	if (api->configured)
		return reply_fault("a snapshot cannot be loaded after "
				   "boot-source or machine-config");
	if (bad_ws_interval(body, &interval, track_ws,
			    API_DEFAULT_WS_INTERVAL_MS, &r))
		return r;
	if (track_ws && !pagetrack_present())
		return reply_fault(NO_PAGETRACK);
	load.working_set_interval_ms = interval;
	load.mem_path = backend_path ? backend_path : mem_file;
	load.layers_path = layers;
	load.enable_diff_snapshots = diff;
	load.track_working_set = track_ws;
	load.resume_vm = resume;
	if (api->ops->snapshot_load(api->ctx, &load, err, sizeof(err)))
		return reply_fault("snapshot/load: %s", err);
	/* As Firecracker's resources, from the restored devices. */
	api->cfg.nr_drives = api->ops->drives(api->ctx, api->cfg.drives,
					      VIRTIO_BLK_MAX_DRIVES);
	api->cfg.track_dirty_pages = diff;
	api->cfg.track_working_set = track_ws;
	api->cfg.working_set_interval_ms = interval;
	return reply_ok();
}

/* pagetrack extension: the layers of the snapshot this VM was loaded from. */
static struct reply put_snapshot_layers(struct api *api, json_t *body)
{
	const char *layers;
	json_error_t jerr;
	char err[512];

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s}", "layers_path",
			   &layers))
		return reply_fault("snapshot/layers: %s", jerr.text);
	if (!api->ops->started(api->ctx) || !api->ops->paused(api->ctx))
		return reply_fault("layers are written of a paused instance "
				   "(PATCH /vm Paused first)");
	if (!*layers)
		return reply_fault("layers_path must name a file");
	if (api->ops->snapshot_layers(api->ctx, layers, err, sizeof(err)))
		return reply_fault("snapshot/layers: %s", err);
	return reply_ok();
}

#define AFTER_START	"The requested operation is not supported after " \
			"starting the microVM."

/* "AA:FC:00:00:00:01": six hex octets. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6], i;
	char end;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return false;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	return true;
}

static struct net_iface_config *find_net(struct api *api, const char *id)
{
	unsigned int i;

	for (i = 0; i < api->cfg.nr_nets; i++)
		if (!strcmp(api->cfg.nets[i].iface_id, id))
			return &api->cfg.nets[i];
	return NULL;
}

/*
 * PUT /network-interfaces/{iface_id}: Firecracker's NetworkInterface.
 * The TAP is opened here, so a name that cannot be used is refused now;
 * a PUT of an existing id replaces its configuration.
 */
static struct reply put_net(struct api *api, const char *id, json_t *body)
{
	json_t *rx = NULL, *tx = NULL;
	const char *iface, *dev, *mac = NULL;
	struct net_iface_config cfg = { 0 }, *old;
	json_int_t mtu = 0;
	json_error_t jerr;
	char err[256];
	unsigned int i;
	struct reply r;
	int fd;

	if (json_unpack_ex(body, &jerr, JSON_STRICT,
			   "{s:s, s:s, s?s, s?I, s?o, s?o}", "iface_id", &iface,
			   "host_dev_name", &dev, "guest_mac", &mac, "mtu",
			   &mtu, "rx_rate_limiter", &rx, "tx_rate_limiter",
			   &tx))
		return reply_fault("network-interfaces: %s", jerr.text);
	if (api->ops->started(api->ctx))
		return reply_fault("network-interfaces: " AFTER_START);
	if (strcmp(iface, id))
		return reply_fault("network-interfaces: iface_id '%s' differs "
				   "from the path's '%s'", iface, id);
	if (strlen(iface) >= sizeof(cfg.iface_id) || !*iface)
		return reply_fault("network-interfaces: iface_id must be 1 to "
				   "%zu bytes", sizeof(cfg.iface_id) - 1);
	if (strlen(dev) >= sizeof(cfg.host_dev_name) || !*dev)
		return reply_fault("network-interfaces: host_dev_name must be "
				   "1 to %zu bytes, an interface name",
				   sizeof(cfg.host_dev_name) - 1);
	if (mac && !parse_mac(mac, cfg.mac))
		return reply_fault("network-interfaces: guest_mac '%s' is not "
				   "a MAC address (aa:bb:cc:dd:ee:ff)", mac);
	if (json_object_get(body, "mtu") && (mtu < 68 || mtu > 65535))
		return reply_fault("network-interfaces: mtu must be 68 to "
				   "65535");
	if (bad_rate_limiter(rx, &cfg.rx_limit, NULL,
			     "network-interfaces: rx_rate_limiter", &r) ||
	    bad_rate_limiter(tx, &cfg.tx_limit, NULL,
			     "network-interfaces: tx_rate_limiter", &r))
		return r;
	old = find_net(api, id);
	for (i = 0; i < api->cfg.nr_nets; i++) {
		const struct net_iface_config *n = &api->cfg.nets[i];

		if (n == old)
			continue;
		if (!strcmp(n->host_dev_name, dev))
			return reply_fault("network-interfaces: host_dev_name "
					   "%s is in use by '%s'", dev,
					   n->iface_id);
		if (mac && n->have_mac && !memcmp(n->mac, cfg.mac, 6))
			return reply_fault("network-interfaces: guest_mac %s "
					   "is in use by '%s'", mac,
					   n->iface_id);
	}
	if (!old && api->cfg.nr_nets == API_MAX_NETS)
		return reply_fault("network-interfaces: at most %d",
				   API_MAX_NETS);
	fd = net_tap__open(dev, err, sizeof(err));
	if (fd < 0)
		return reply_fault("network-interfaces: %s", err);
	close(fd);

	strcpy(cfg.iface_id, iface);
	strcpy(cfg.host_dev_name, dev);
	cfg.have_mac = mac;
	cfg.mtu = mtu;
	if (!old)
		old = &api->cfg.nets[api->cfg.nr_nets++];
	*old = cfg;
	api->configured = true;
	return reply_ok();
}

/* PATCH /network-interfaces/{iface_id}: rate limiters, after start. */
static struct reply patch_net(struct api *api, const char *id, json_t *body)
{
	struct rate_limit_config rx, tx;
	json_t *jrx = NULL, *jtx = NULL;
	struct net_iface_config *cfg;
	bool rx_given[2], tx_given[2];
	const char *iface;
	json_error_t jerr;
	char err[256];
	struct reply r;
	unsigned int i;

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s?o, s?o}",
			   "iface_id", &iface, "rx_rate_limiter", &jrx,
			   "tx_rate_limiter", &jtx))
		return reply_fault("network-interfaces: %s", jerr.text);
	if (strcmp(iface, id))
		return reply_fault("network-interfaces: iface_id '%s' differs "
				   "from the path's '%s'", iface, id);
	if (!api->ops->started(api->ctx))
		return reply_fault("network-interfaces: PATCH is supported "
				   "only after starting the microVM");
	cfg = find_net(api, id);
	if (!cfg)
		return reply_fault("network-interfaces: no interface '%s'", id);
	if (bad_rate_limiter(jrx, &rx, rx_given,
			     "network-interfaces: rx_rate_limiter", &r) ||
	    bad_rate_limiter(jtx, &tx, tx_given,
			     "network-interfaces: tx_rate_limiter", &r))
		return r;
	if (api->ops->net_update(api->ctx, id, &rx, rx_given, &tx, tx_given,
				 err, sizeof(err)))
		return reply_fault("network-interfaces: %s", err);
	for (i = 0; i < 2; i++) {
		if (rx_given[i])
			*(i ? &cfg->rx_limit.ops : &cfg->rx_limit.bandwidth) =
				*(i ? &rx.ops : &rx.bandwidth);
		if (tx_given[i])
			*(i ? &cfg->tx_limit.ops : &cfg->tx_limit.bandwidth) =
				*(i ? &tx.ops : &tx.bandwidth);
	}
	return reply_ok();
}

static json_t *nets_json(struct api *api)
{
	json_t *list = json_array(), *obj;
	char mac[18];
	unsigned int i;

	for (i = 0; i < api->cfg.nr_nets; i++) {
		const struct net_iface_config *n = &api->cfg.nets[i];

		obj = json_pack("{s:s, s:s, s:o, s:o}", "iface_id", n->iface_id,
				"host_dev_name", n->host_dev_name,
				"rx_rate_limiter",
				rate_limiter_json(&n->rx_limit),
				"tx_rate_limiter",
				rate_limiter_json(&n->tx_limit));
		if (n->have_mac) {
			snprintf(mac, sizeof(mac),
				 "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
				 n->mac[1], n->mac[2], n->mac[3], n->mac[4],
				 n->mac[5]);
			json_object_set_new(obj, "guest_mac", json_string(mac));
		}
		if (n->mtu)
			json_object_set_new(obj, "mtu", json_integer(n->mtu));
		json_array_append_new(list, obj);
	}
	return list;
}

/* PUT /entropy: Firecracker's EntropyDeviceConfig. */
static struct reply put_entropy(struct api *api, json_t *body)
{
	struct rate_limit_config limit;
	json_t *limiter = NULL;
	json_error_t jerr;
	struct reply r;

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s?o}", "rate_limiter",
			   &limiter))
		return reply_fault("entropy: %s", jerr.text);
	if (api->ops->started(api->ctx))
		return reply_fault("entropy: " AFTER_START);
	if (bad_rate_limiter(limiter, &limit, NULL, "entropy: rate_limiter",
			     &r))
		return r;
	api->cfg.entropy.present = true;
	api->cfg.entropy.limit = limit;
	api->configured = true;
	return reply_ok();
}

#define BEFORE_START	"The requested operation is not supported before " \
			"starting the microVM."

/* Firecracker's checked_id: not empty, only letters, digits and '_'. */
static bool bad_id(const char *id, struct reply *r)
{
	const char *p;

	if (!*id) {
		*r = reply_fault("the id must not be empty");
		return true;
	}
	for (p = id; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_')
			continue;
		*r = reply_fault("invalid id '%s': only letters, digits and "
				 "'_' are allowed", id);
		return true;
	}
	if (strlen(id) >= VIRTIO_BLK_ID_LEN) {
		*r = reply_fault("id '%s' is longer than %d characters", id,
				 VIRTIO_BLK_ID_LEN - 1);
		return true;
	}
	return false;
}

/* An optional member, null meaning not given: a string, or a fault. */
static bool bad_opt_string(json_t *v, const char *what, const char **out,
			   struct reply *r)
{
	if (!v || json_is_null(v))
		return false;
	if (!json_is_string(v)) {
		*r = reply_fault("drives: %s must be a string", what);
		return true;
	}
	*out = json_string_value(v);
	return false;
}

static bool bad_opt_bool(json_t *v, const char *what, bool *out,
			 struct reply *r)
{
	if (!v || json_is_null(v))
		return false;
	if (!json_is_boolean(v)) {
		*r = reply_fault("drives: %s must be true or false", what);
		return true;
	}
	*out = json_is_true(v);
	return false;
}

static int drive_index(const struct api_config *c, const char *id)
{
	unsigned int i;

	for (i = 0; i < c->nr_drives; i++)
		if (!strcmp(c->drives[i].drive_id, id))
			return i;
	return -1;
}

/*
 * The members of Firecracker v1.10's Drive other than drive_id and
 * is_root_device, all optional (null is not given): @d filled in, or a
 * fault.
 */
static bool bad_drive_options(json_t *body, struct virtio_drive_config *d,
			      const char **path, struct reply *r)
{
	const char *cache = "Unsafe", *engine = "Sync", *part = NULL;
	json_t *v;

	if (bad_opt_string(json_object_get(body, "path_on_host"),
			   "path_on_host", path, r) ||
	    bad_opt_string(json_object_get(body, "partuuid"), "partuuid",
			   &part, r) ||
	    bad_opt_string(json_object_get(body, "cache_type"), "cache_type",
			   &cache, r) ||
	    bad_opt_string(json_object_get(body, "io_engine"), "io_engine",
			   &engine, r) ||
	    bad_opt_bool(json_object_get(body, "is_read_only"),
			 "is_read_only", &d->read_only, r))
		return true;
	v = json_object_get(body, "socket");
	if (v && !json_is_null(v)) {
		*r = reply_fault("drives: vhost-user drives (socket) are not "
				 "supported; give path_on_host");
		return true;
	}
	if (bad_rate_limiter(json_object_get(body, "rate_limiter"), &d->limit,
			     NULL, "drives: rate_limiter", r))
		return true;
	if (!strcmp(engine, "Async")) {
		*r = reply_fault("drives: io_engine Async (io_uring) is not "
				 "supported yet; give Sync or leave it out");
		return true;
	}
	if (strcmp(engine, "Sync")) {
		*r = reply_fault("drives: io_engine must be Sync or Async, not "
				 "'%s'", engine);
		return true;
	}
	if (strcmp(cache, "Unsafe") && strcmp(cache, "Writeback")) {
		*r = reply_fault("drives: cache_type must be Unsafe or "
				 "Writeback, not '%s'", cache);
		return true;
	}
	d->writeback = !strcmp(cache, "Writeback");
	if (!**path) {
		*r = reply_fault("drives: path_on_host is required");
		return true;
	}
	if (strlen(*path) >= sizeof(d->path) ||
	    (part && strlen(part) >= sizeof(d->partuuid))) {
		*r = reply_fault("drives: path_on_host or partuuid is too "
				 "long");
		return true;
	}
	strcpy(d->path, *path);
	strcpy(d->partuuid, part ? part : "");
	return false;
}

/*
 * PUT /drives/{drive_id}: Firecracker's BlockDeviceConfig, before
 * InstanceStart.  A PUT of a configured id replaces that drive, as in
 * Firecracker; the root drive is kept first, so that it is /dev/vda, and
 * there is at most one.  The file must open as the drive would use it.
 */
static struct reply put_drive(struct api *api, const char *id, json_t *body)
{
	struct api_config *c = &api->cfg;
	struct virtio_drive_config d;
	const char *drive_id, *path = NULL;
	json_t *v1, *v2, *v3, *v4, *v5, *v6, *v7;
	json_error_t jerr;
	char err[512];
	uint64_t size;
	struct reply r;
	int root, i, fd;

	if (bad_id(id, &r))
		return r;
	if (json_unpack_ex(body, &jerr, JSON_STRICT,
			   "{s:s, s:b, s?o, s?o, s?o, s?o, s?o, s?o, s?o}",
			   "drive_id", &drive_id, "is_root_device", &root,
			   "path_on_host", &v1, "partuuid", &v2,
			   "cache_type", &v3, "is_read_only", &v4,
			   "rate_limiter", &v5, "io_engine", &v6,
			   "socket", &v7))
		return reply_fault("drives: %s", jerr.text);
	if (strcmp(drive_id, id))
		return reply_fault("The id from the path [%s] does not match "
				   "the id from the body [%s]!", id, drive_id);
	if (api->ops->started(api->ctx))
		return reply_fault("drives: " AFTER_START);
	memset(&d, 0, sizeof(d));
	strcpy(d.drive_id, id);
	d.root = root;
	path = "";
	if (bad_drive_options(body, &d, &path, &r))
		return r;
	i = drive_index(c, id);
	if (d.root && c->nr_drives && c->drives[0].root && i != 0)
		return reply_fault("drives: A root block device already "
				   "exists! (%s)", c->drives[0].drive_id);
	if (i < 0 && c->nr_drives == VIRTIO_BLK_MAX_DRIVES)
		return reply_fault("drives: at most %d drives",
				   VIRTIO_BLK_MAX_DRIVES);
	fd = virtio_blk__open(d.path, d.read_only, &size, err, sizeof(err));
	if (fd < 0)
		return reply_fault("drives: %s", err);
	close(fd);

	if (i < 0)
		i = c->nr_drives++;
	c->drives[i] = d;
	if (d.root && i) {
		memmove(&c->drives[1], &c->drives[0], i * sizeof(d));
		c->drives[0] = d;
	}
	api->configured = true;
	return reply_ok();
}

/*
 * PATCH /drives/{drive_id}: Firecracker's PartialDrive, after
 * InstanceStart: a new path_on_host, whose file and size the guest sees
 * from then on.
 */
static struct reply patch_drive(struct api *api, const char *id,
				json_t *body)
{
	const char *drive_id, *path = NULL;
	struct rate_limit_config limit;
	json_t *limiter = NULL;
	bool given[2];
	json_error_t jerr;
	char err[512];
	struct reply r;
	int i;

	if (bad_id(id, &r))
		return r;
	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s?s, s?o}",
			   "drive_id", &drive_id, "path_on_host", &path,
			   "rate_limiter", &limiter))
		return reply_fault("drives: %s", jerr.text);
	if (strcmp(drive_id, id))
		return reply_fault("The id from the path [%s] does not match "
				   "the id from the body [%s]!", id, drive_id);
	if (bad_rate_limiter(limiter, &limit, given, "drives: rate_limiter",
			     &r))
		return r;
	if (!api->ops->started(api->ctx))
		return reply_fault("drives: " BEFORE_START);
	if (path && strlen(path) >= VIRTIO_BLK_PATH_LEN)
		return reply_fault("drives: path_on_host is too long");
	if (api->ops->drive_update(api->ctx, id, path,
				   limiter ? &limit : NULL, given, err,
				   sizeof(err)))
		return reply_fault("drives: %s", err);
	i = drive_index(&api->cfg, id);
	if (path && i >= 0)
		strcpy(api->cfg.drives[i].path, path);
	if (limiter && i >= 0) {
		if (given[0])
			api->cfg.drives[i].limit.bandwidth = limit.bandwidth;
		if (given[1])
			api->cfg.drives[i].limit.ops = limit.ops;
	}
	return reply_ok();
}

/*
 * PUT /vsock: Firecracker's VsockDeviceConfig.  A second PUT replaces the
 * first, as there.  vsock_id, deprecated in Firecracker, is taken and
 * ignored; guest_cid is the swagger's, at least 3 (0 to 2 are the
 * hypervisor, the loopback and the host), and not VMADDR_CID_ANY.
 * uds_path is bound at InstanceStart; here a bind is tried (and undone)
 * so that a path that cannot be is refused now, not at the start.
 */
static struct reply put_vsock(struct api *api, json_t *body)
{
	const char *uds, *id = NULL;
	json_int_t cid;
	json_error_t jerr;
	char err[256];

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s?s, s:I, s:s}",
			   "vsock_id", &id, "guest_cid", &cid, "uds_path", &uds))
		return reply_fault("vsock: %s", jerr.text);
	if (api->ops->started(api->ctx))
		return reply_fault("vsock: " AFTER_START);
	if (cid < 3 || cid >= UINT32_MAX)
		return reply_fault("vsock: guest_cid %lld is not a guest's CID "
				   "(3 to 4294967294)", (long long)cid);
	if (!*uds)
		return reply_fault("vsock: uds_path must name a socket");
	if (strlen(uds) >= sizeof(api->cfg.vsock.uds_path))
		return reply_fault("vsock: uds_path is longer than a Unix "
				   "socket's %zu bytes",
				   sizeof(api->cfg.vsock.uds_path) - 1);
	if (virtio_vsock__check_path(uds, err, sizeof(err)))
		return reply_fault("vsock: %s", err);
	api->cfg.vsock.present = true;
	api->cfg.vsock.guest_cid = cid;
	strcpy(api->cfg.vsock.uds_path, uds);
	api->configured = true;
	return reply_ok();
}

/*
 * PUT /logger: Firecracker v1.10's LoggerConfig.  As there, every PUT
 * before the start applies (the last wins; a level left out is Info) and
 * none after; it does not count as configuring the VM, so a snapshot
 * load may follow.
 */
static struct reply put_logger(struct api *api, json_t *body)
{
	const char *path = NULL, *level = NULL, *module = NULL;
	json_t *show_level = NULL, *show_origin = NULL;
	struct log_config cfg = { .show_level = -1, .show_log_origin = -1 };
	json_error_t jerr;
	char err[512];

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s?s, s?s, s?o, s?o, s?s}",
			   "log_path", &path, "level", &level,
			   "show_level", &show_level,
			   "show_log_origin", &show_origin,
			   "module", &module))
		return reply_fault("logger: %s", jerr.text);
	if ((show_level && !json_is_boolean(show_level)) ||
	    (show_origin && !json_is_boolean(show_origin)))
		return reply_fault("logger: show_level and show_log_origin "
				   "are booleans");
	if (level && log__parse_level(level, &cfg.level))
		return reply_fault("logger: Invalid LevelFilter '%s': one of "
				   "Error, Warning, Info, Debug, Trace, Off",
				   level);
	if (api->ops->started(api->ctx))
		return reply_fault("logger: " AFTER_START);
	cfg.have_level = level;
	cfg.log_path = path;
	cfg.module = module;
	if (show_level)
		cfg.show_level = json_is_true(show_level);
	if (show_origin)
		cfg.show_log_origin = json_is_true(show_origin);
	if (log__configure(&cfg, err, sizeof(err)))
		return reply_fault("Logger error: %s", err);
	return reply_ok();
}

/* PUT /metrics: once, before the start or load, as in Firecracker. */
static struct reply put_metrics(struct api *api, json_t *body)
{
	const char *path;
	json_error_t jerr;
	char err[512];

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s}", "metrics_path",
			   &path))
		return reply_fault("metrics: %s", jerr.text);
	if (api->ops->started(api->ctx))
		return reply_fault("metrics: " AFTER_START);
	if (metrics__configure(path, err, sizeof(err)))
		return reply_fault("Metrics error: %s", err);
	return reply_ok();
}

/*
 * A route's path is exact, or with @fn_id a prefix ending in '/' whose
 * rest, one path segment, is the resource's id (/drives/{drive_id}).
 */
struct route {
	const char *method;
	const char *path;
	struct reply (*fn)(struct api *api, json_t *body);
	struct reply (*fn_id)(struct api *api, const char *id, json_t *body);
};

/*
 * Firecracker's request metrics (put_api_requests.drive_count, ...), by
 * route: a request counts, a 400 counts as a failure too.  Routes it has
 * no counter for are not counted.
 */
static const struct {
	const char *method;
	const char *path;
	struct metric *count, *fails;
} route_metrics[] = {
#define M(m, p, g, f)	{ m, p, &metrics.g.f##_count, &metrics.g.f##_fails }
#define M_GET(p, f)	{ "GET", p, &metrics.get_api_requests.f##_count, NULL }
	M("PUT", "/actions", put_api_requests, actions),
	M("PUT", "/boot-source", put_api_requests, boot_source),
	M("PUT", "/drives/", put_api_requests, drive),
	M("PUT", "/logger", put_api_requests, logger),
	M("PUT", "/machine-config", put_api_requests, machine_cfg),
	M("PUT", "/cpu-config", put_api_requests, cpu_cfg),
	M("PUT", "/metrics", put_api_requests, metrics),
	M("PUT", "/network-interfaces/", put_api_requests, network),
	M("PUT", "/mmds", put_api_requests, mmds),
	M("PUT", "/vsock", put_api_requests, vsock),
	M("PATCH", "/drives/", patch_api_requests, drive),
	M("PATCH", "/network-interfaces/", patch_api_requests, network),
	M("PATCH", "/machine-config", patch_api_requests, machine_cfg),
	M("PATCH", "/mmds", patch_api_requests, mmds),
	M_GET("/machine-config", machine_cfg),
	M_GET("/mmds", mmds),
	M_GET("/version", vmm_version),
#undef M
#undef M_GET
};

static const struct route routes[] = {
	{ "PUT", "/boot-source", put_boot_source, NULL },
	{ "PUT", "/machine-config", put_machine_config, NULL },
	{ "PATCH", "/machine-config", patch_machine_config, NULL },
	{ "GET", "/machine-config", get_machine_config, NULL },
	{ "GET", "/vm/config", get_vm_config, NULL },
	{ "GET", "/version", get_version, NULL },
	{ "PUT", "/actions", put_actions, NULL },
	{ "PUT", "/logger", put_logger, NULL },
	{ "PUT", "/metrics", put_metrics, NULL },
	{ "PATCH", "/vm", patch_vm, NULL },
	{ "PUT", "/snapshot/create", put_snapshot_create, NULL },
	{ "PUT", "/snapshot/load", put_snapshot_load, NULL },
	{ "PUT", "/snapshot/layers", put_snapshot_layers, NULL },
	{ "PUT", "/vsock", put_vsock, NULL },
	{ "PUT", "/entropy", put_entropy, NULL },
	{ "PUT", "/drives/", NULL, put_drive },
	{ "PATCH", "/drives/", NULL, patch_drive },
	{ "PUT", "/network-interfaces/", NULL, put_net },
	{ "PATCH", "/network-interfaces/", NULL, patch_net },
};

/* @url is @r's path, or for an id route its prefix and a valid id. */
static bool route_matches(const struct route *r, const char *url,
			  const char **id)
{
	size_t n = strlen(r->path);

	*id = NULL;
	if (!r->fn_id)
		return !strcmp(url, r->path);
	if (strncmp(url, r->path, n) || !url[n] || strchr(url + n, '/'))
		return false;
	*id = url + n;
	return true;
}

static void route_count(const struct route *route, const struct reply *r)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(route_metrics); i++) {
		if (strcmp(route->method, route_metrics[i].method) ||
		    strcmp(route->path, route_metrics[i].path))
			continue;
		metrics__inc(route_metrics[i].count);
		if (route_metrics[i].fails && r->status >= 400)
			metrics__inc(route_metrics[i].fails);
		return;
	}
}

/* Firecracker's "Put" from "PUT", as its log lines spell methods. */
static void log_request(const char *method, const char *url,
			const struct request *req)
{
	char name[8];
	json_t *str;
	char *quoted;
	size_t i;

	if (!log__enabled(LOG_INFO))
		return;
	for (i = 0; method[i] && i < sizeof(name) - 1; i++)
		name[i] = i ? tolower((unsigned char)method[i]) : method[i];
	name[i] = '\0';
	if (!req->len) {
		vmm__info("The API server received a %s request on \"%s\".",
			  name, url);
		return;
	}
	str = json_stringn_nocheck(req->body, req->len);
	quoted = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
	vmm__info("The API server received a %s request on \"%s\" with "
		  "body %s.", name, url, quoted ? quoted : "?");
	free(quoted);
	json_decref(str);
}

static void log_reply(const struct reply *r)
{
	json_t *obj, *msg;

	if (r->status < 400) {
		vmm__info("The request was executed successfully. Status "
			  "code: %u %s.", r->status, r->status == 200 ? "OK" :
			  "No Content");
		return;
	}
	obj = r->json ? json_loads(r->json, 0, NULL) : NULL;
	msg = json_object_get(obj, "fault_message");
	vmm__log("Received Error. Status code: 400 Bad Request. Message: %s",
		 json_is_string(msg) ? json_string_value(msg) : "");
	json_decref(obj);
}

static struct reply dispatch(struct api *api, const char *method,
			     const char *url, const struct request *req)
{
	bool path_known = false;
	const char *id;
	struct reply r;
	json_t *body;
	size_t i;

	if (req->too_big)
		return reply_fault("request body larger than %d bytes",
				   API_MAX_BODY);
	if (!strcmp(url, "/")) {
		if (strcmp(method, "GET"))
			return reply_fault("%s / is not supported", method);
		metrics__inc(&metrics.get_api_requests.instance_info_count);
		return get_instance_info(api);
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_matches(&routes[i], url, &id))
			continue;
		path_known = true;
		if (strcmp(method, routes[i].method))
			continue;
		/* As in Firecracker, a GET with a body is a bad request. */
		if (!strcmp(method, "GET") && req->len)
			return reply_fault("GET %s takes no body", url);
		if (!strcmp(method, "GET"))
			body = json_object();
		else
			body = parse_body(req, &r);
		if (!body)
			return r;
		pthread_mutex_lock(&api->lock);
		if (!api->ops->usable(api->ctx))
			r = reply_fault("the VM failed half way through its "
					"start or load: start a new VMM process");
		else if (id)
			r = routes[i].fn_id(api, id, body);
		else
			r = routes[i].fn(api, body);
		pthread_mutex_unlock(&api->lock);
		json_decref(body);
		route_count(&routes[i], &r);
		return r;
	}
	if (path_known)
		return reply_fault("%s %s is not supported", method, url);
	return reply_fault("unknown resource %s", url);
}

unsigned int api__handle(struct api *api, const char *method, const char *url,
			 const char *body, size_t len, char **json)
{
	struct request req = {
		.body = (char *)body, .len = len, .too_big = len > API_MAX_BODY,
	};
	struct reply r = dispatch(api, method, url, &req);

	*json = r.json;
	return r.status;
}

/* One request the server read whole, answered as Firecracker would. */
static unsigned int api__serve(void *ctx, const struct http_request *hr,
			       char **json)
{
	struct request req = { .body = hr->body, .len = hr->len };
	struct api *api = ctx;
	struct reply r;

	log_request(hr->method, hr->target, &req);
	r = dispatch(api, hr->method, hr->target, &req);
	log_reply(&r);
	*json = r.json;
	return r.status;
}

int api__start(struct api *api, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	pthread_mutex_init(&api->lock, NULL);
	api->path = path;
	ret = http__start(&api->http, fd, API_MAX_BODY, api__serve, api);
	if (ret) {
		close(fd);
		unlink(path);
		return ret;
	}
	api->serving = true;
	return 0;
}

void api__stop(struct api *api)
{
	if (api->serving) {
		http__stop(&api->http);
		api->serving = false;
		unlink(api->path);
	}
}
