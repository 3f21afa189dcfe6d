// SPDX-License-Identifier: GPL-2.0
/*
 * The API's request handlers (vmm/api.c, api__handle) driven with a fake
 * VMM.  An input is a sequence of requests, each "METHOD PATH\n" and a
 * body, separated by a line "%%"; the fake VM starts, pauses and loads
 * as asked, so later requests meet every state.  Every answer must be
 * 200 with a JSON object, 204 with no body, or 400 with a fault_message,
 * and the configuration must stay inside the bounds the VMM relies on.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>
#include <string.h>

#include "api.h"
#include "virtio/virtio.h"
#include "fuzz_util.h"

#define SEPARATOR	"\n%%\n"

struct fake_vm {
	bool started, paused, broken;
	unsigned int vcpus, mem_mib;
};

static bool fake_started(void *ctx)
{
	return ((struct fake_vm *)ctx)->started;
}

static bool fake_usable(void *ctx)
{
	return !((struct fake_vm *)ctx)->broken;
}

static bool fake_paused(void *ctx)
{
	return ((struct fake_vm *)ctx)->paused;
}

static void fake_describe(void *ctx, unsigned int *vcpus,
			  unsigned int *mem_mib, bool *hugetlb)
{
	struct fake_vm *vm = ctx;

	*vcpus = vm->vcpus;
	*mem_mib = vm->mem_mib;
	*hugetlb = false;
}

static int fake_start(void *ctx, const struct api_config *cfg)
{
	struct fake_vm *vm = ctx;

	/* What vmm/main.c builds the VM from. */
	FUZZ_ASSERT(cfg->have_kernel && cfg->kernel[0]);
	FUZZ_ASSERT(cfg->vcpus >= 1 && cfg->vcpus <= API_MAX_VCPUS);
	FUZZ_ASSERT(cfg->mem_mib >= 1 && cfg->mem_mib <= API_MAX_MEM_MIB);
	FUZZ_ASSERT(memchr(cfg->cmdline, 0, sizeof(cfg->cmdline)));
	FUZZ_ASSERT(cfg->working_set_interval_ms <= API_MAX_WS_INTERVAL_MS);
	FUZZ_ASSERT(cfg->nr_nets <= API_MAX_NETS);
	vm->started = true;
	vm->vcpus = cfg->vcpus;
	vm->mem_mib = cfg->mem_mib;
	return 0;
}

static void fake_pause(void *ctx)
{
	((struct fake_vm *)ctx)->paused = true;
}

static void fake_resume(void *ctx)
{
	((struct fake_vm *)ctx)->paused = false;
}

/* Paths are only names here: a create or load "fails" on an odd length. */
static int fake_fail(const char *path, char *err, size_t errlen)
{
	FUZZ_ASSERT(path && path[0]);
	if (strlen(path) % 2)
		return 0;
	snprintf(err, errlen, "%s: %s", path, strerror(EIO));
	return -EIO;
}

static int fake_snapshot_create(void *ctx, bool diff, const char *vmstate,
				const char *mem, const char *layers,
				char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	(void)diff;
	(void)layers;
	FUZZ_ASSERT(vm->started && vm->paused);
	FUZZ_ASSERT(mem && mem[0]);
	return fake_fail(vmstate, err, errlen);
}

static int fake_snapshot_layers(void *ctx, const char *layers, char *err,
				size_t errlen)
{
	struct fake_vm *vm = ctx;

	FUZZ_ASSERT(vm->started && vm->paused);
	return fake_fail(layers, err, errlen);
}

static int fake_snapshot_load(void *ctx, const struct api_load *load,
			      char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;
	int ret;

	FUZZ_ASSERT(!vm->started);
	FUZZ_ASSERT(load->mem_path && load->mem_path[0]);
	FUZZ_ASSERT(load->working_set_interval_ms <= API_MAX_WS_INTERVAL_MS);
	ret = fake_fail(load->snapshot_path, err, errlen);
	/* A load that fails after the VM was built leaves it unusable. */
	if (ret && strlen(load->mem_path) % 2 == 0)
		vm->broken = true;
	if (!ret) {
		vm->started = true;
		vm->paused = !load->resume_vm;
		vm->vcpus = 1;
		vm->mem_mib = 128;
	}
	return ret;
}

static int fake_net_update(void *ctx, const char *iface_id,
			   const struct rate_limit_config *rx,
			   const bool rx_given[2],
			   const struct rate_limit_config *tx,
			   const bool tx_given[2], char *err, size_t errlen)
{
	(void)rx;
	(void)rx_given;
	(void)tx;
	(void)tx_given;
	FUZZ_ASSERT(((struct fake_vm *)ctx)->started);
	return fake_fail(iface_id, err, errlen);
}

/*
 * The VMM's TAP opener (vmm/virtio/net.c), which PUT /network-interfaces
 * tries: here names of odd length open, others fail as a missing TAP.
 * Like the next, it stands in for a device helper api.c calls: link
 * errors here name any new one.
 */
int net_tap__open(const char *name, char *err, size_t errlen)
{
	FUZZ_ASSERT(name);
	if (strlen(name) % 2)
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	snprintf(err, errlen, "no TAP device %s", name);
	return -ENODEV;
}

static int fake_drive_update(void *ctx, const char *id, const char *path,
			     const struct rate_limit_config *limit,
			     const bool given[2], char *err, size_t errlen)
{
	(void)path;
	(void)limit;
	(void)given;
	FUZZ_ASSERT(((struct fake_vm *)ctx)->started);
	return fake_fail(id, err, errlen);
}

static int fake_send_ctrl_alt_del(void *ctx)
{
	FUZZ_ASSERT(((struct fake_vm *)ctx)->started);
	return 0;
}

/* The loaded VM's drives: none, as a load here restores no device. */
static unsigned int fake_drives(void *ctx, struct virtio_drive_config *out,
				unsigned int max)
{
	(void)ctx;
	(void)out;
	(void)max;
	return 0;
}

/*
 * A drive's backing file: the real one opens the path, which a fuzzer
 * must not do with names it made up.
 */
int virtio_blk__open(const char *path, bool read_only, uint64_t *size,
		     char *err, size_t errlen)
{
	(void)read_only;
	FUZZ_ASSERT(path);
	*size = 1 << 20;
	if (strlen(path) % 2)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(err, errlen, "cannot open '%s'", path);
	return -ENOENT;
}

/*
 * The vsock device's check that its uds_path can be bound: the real one
 * binds the path, which a fuzzer must not do with names it made up.
 */
int virtio_vsock__check_path(const char *path, char *err, size_t errlen)
{
	FUZZ_ASSERT(path);
	if (strlen(path) % 2)
		return 0;
	snprintf(err, errlen, "cannot bind uds_path '%s'", path);
	return -EACCES;
}

static const struct api_ops fake_ops = {
	.started = fake_started,
	.usable = fake_usable,
	.paused = fake_paused,
	.describe = fake_describe,
	.start = fake_start,
	.pause = fake_pause,
	.resume = fake_resume,
	.snapshot_create = fake_snapshot_create,
	.snapshot_layers = fake_snapshot_layers,
	.snapshot_load = fake_snapshot_load,
	.net_update = fake_net_update,
	.drive_update = fake_drive_update,
	.drives = fake_drives,
	.send_ctrl_alt_del = fake_send_ctrl_alt_del,
};

static void check_reply(unsigned int status, char *json)
{
	json_error_t jerr;
	json_t *root = NULL, *msg;

	if (status == 204) {
		FUZZ_ASSERT(!json);
		return;
	}
	FUZZ_ASSERT(status == 200 || status == 400);
	FUZZ_ASSERT(json);
	root = json_loads(json, 0, &jerr);
	FUZZ_ASSERT(json_is_object(root));
	if (status == 400) {
		msg = json_object_get(root, "fault_message");
		FUZZ_ASSERT(json_is_string(msg));
		FUZZ_ASSERT(json_string_length(msg) > 0);
	}
	json_decref(root);
	free(json);
}

/* One "METHOD PATH\nBODY" request of @len bytes. */
static void one_request(struct api *api, const char *req, size_t len)
{
	char method[16], url[256], *json;
	const char *nl = memchr(req, '\n', len), *sp;
	size_t line, body;
	unsigned int status;

	if (!nl)
		nl = req + len;
	line = nl - req;
	body = nl < req + len ? len - line - 1 : 0;
	sp = memchr(req, ' ', line);
	if (!sp || (size_t)(sp - req) >= sizeof(method) ||
	    (size_t)(nl - sp - 1) >= sizeof(url))
		return;
	memcpy(method, req, sp - req);
	method[sp - req] = '\0';
	memcpy(url, sp + 1, nl - sp - 1);
	url[nl - sp - 1] = '\0';
	status = api__handle(api, method, url, body ? nl + 1 : NULL, body,
			     &json);
	check_reply(status, json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_vm vm = { 0 };
	/* The defaults vmm/main.c starts with. */
	struct api api = {
		.ops = &fake_ops, .ctx = &vm,
		.cfg = {
			.cmdline = API_DEFAULT_CMDLINE,
			.vcpus = 1,
			.mem_mib = 128,
		},
	};
	const char *p = (const char *)data, *end = p + size;

	pthread_mutex_init(&api.lock, NULL);
	while (p < end) {
		const char *sep = memmem(p, end - p, SEPARATOR,
					 strlen(SEPARATOR));
		const char *stop = sep ? sep : end;

		one_request(&api, p, stop - p);
		p = sep ? sep + strlen(SEPARATOR) : end;
	}
	pthread_mutex_destroy(&api.lock);
	return 0;
}
