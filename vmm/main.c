// SPDX-License-Identifier: GPL-2.0
/*
 * vmm - a KVM virtual machine monitor that boots Linux, speaks
 * Firecracker's API, and takes and restores snapshots.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "parse.h"
#include "snapshot.h"
#include "vmm.h"

struct vmm_opts {
	struct boot_config boot;
	uint64_t mem_size;
	unsigned int vcpus;
	bool track_dirty;
	bool track_ws;
	bool hugetlb;			/* huge_pages "2M" */
	unsigned int ws_interval_ms;
	const char *api_sock;
	const struct api_config *devices;	/* from the API, or NULL */
};

static struct vm vm;
static int console_fd = STDOUT_FILENO;

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"	vmm - boot a Linux guest under KVM\n"
"\n"
"SYNOPSIS\n"
"	vmm --api-sock PATH\n"
"	vmm --kernel BZIMAGE [--initrd FILE] [--cmdline TEXT] [--mem SIZE]\n"
"	    [--vcpus N] [--api-sock PATH] [--console FILE]\n"
"\n"
"DESCRIPTION\n"
"	With --api-sock only, vmm serves Firecracker's HTTP API on the\n"
"	Unix socket PATH and waits to be configured (PUT /boot-source,\n"
"	PUT /machine-config) and started (PUT /actions InstanceStart);\n"
"	PATCH /vm pauses and resumes it.  See Documentation/vmm-api.yaml.\n"
"	With --kernel it boots at once, and serves the API too if asked.\n"
"\n"
"	Boots a Linux bzImage or vmlinux at its 64-bit entry with KVM's\n"
"	in-kernel interrupt controllers and PIT.  The guest's serial\n"
"	console (ttyS0) is this program's standard output, or --console;\n"
"	its input is standard input.  The VM ends when the guest reboots\n"
"	(through the keyboard controller: reboot=k, the default) or powers\n"
"	off (ACPI S5); vmm then exits 0.\n"
"\n"
"OPTIONS\n"
"	-a, --api-sock PATH\n"
"		Serve the API on this Unix socket (which must not exist).\n"
"	-k, --kernel BZIMAGE\n"
"		Linux kernel image: a bzImage (boot protocol 2.12 or\n"
"		later) or an uncompressed ELF vmlinux.\n"
"	-i, --initrd FILE\n"
"		Initial ramdisk, placed as high in memory as the kernel\n"
"		allows.\n"
"	-c, --cmdline TEXT\n"
"		Kernel command line (default: \"" API_DEFAULT_CMDLINE "\").\n"
"	-m, --mem SIZE\n"
"		Guest memory: bytes, or with k, M or G (default 256M; at\n"
"		most 256G; above 3G, RAM goes on from 4G).\n"
"	-n, --vcpus N\n"
"		Virtual CPUs, 1 to 32 (default 1).\n"
"	-o, --console FILE\n"
"		Append the guest's console output to FILE (created if\n"
"		missing) instead of writing it to standard output.  A VM\n"
"		restored from a snapshot writes there too.\n"
"	-h, --help\n"
"		This text.\n"
"\n"
"EXIT STATUS\n"
"	0 when the guest rebooted or powered off, or on SIGINT/SIGTERM;\n"
"	1 on a VM error or triple fault; 2 on a usage error.\n"
"\n"
"EXAMPLE\n"
"	vmm --kernel /boot/vmlinuz-$(uname -r) --initrd initrd.img \\\n"
"	    --mem 512M --vcpus 2\n", f);
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "vmm: %s '%s'\nTry 'vmm --help'.\n", what, arg);
	return 2;
}

static int parse_args(int argc, char **argv, struct vmm_opts *o)
{
	static const struct option longopts[] = {
		{ "api-sock", required_argument, NULL, 'a' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'n' },
		{ "console", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "a:k:i:c:m:n:o:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'a':
			o->api_sock = optarg;
			break;
		case 'k':
			o->boot.kernel = optarg;
			break;
		case 'i':
			o->boot.initrd = optarg;
			break;
		case 'c':
			o->boot.cmdline = optarg;
			break;
		case 'm':
			if (parse__size(optarg, &v) || v < (16ULL << 20) ||
			    v > VMM_MAX_MEM || v % VMM_PAGE_SIZE)
				return usage_error("memory size must be 16M to "
						   "256G, page aligned, not",
						   optarg);
			o->mem_size = v;
			break;
		case 'n':
			if (parse__u64(optarg, &v) || !v || v > VMM_MAX_VCPUS)
				return usage_error("vCPU count must be 1 to 32, "
						   "not", optarg);
			o->vcpus = v;
			break;
		case 'o':
			console_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND |
					  O_CLOEXEC, 0640);
			if (console_fd < 0) {
				fprintf(stderr, "vmm: --console %s: %s\n",
					optarg, strerror(errno));
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'vmm --help'.\n");
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (!o->boot.kernel && !o->api_sock) {
		fprintf(stderr, "vmm: --kernel or --api-sock is required\n"
			"Try 'vmm --help'.\n");
		return 2;
	}
	return 0;
}

/*
 * The virtio devices the API configured, in Firecracker's order (drives,
 * network, vsock, entropy): the order fixes their slots, so the root
 * drive, attached first, is /dev/vda.
 */
static int vmm__create_devices(struct vm *vm, const struct api_config *cfg)
{
	char err[768];
	unsigned int i;
	int ret = 0;

	if (!cfg)
		return 0;
	for (i = 0; i < cfg->nr_drives && !ret; i++)
		ret = virtio_blk__create(vm, &cfg->drives[i], err,
					 sizeof(err));
	for (i = 0; i < cfg->nr_nets && !ret; i++)
		ret = virtio_net__create(vm, &cfg->nets[i], err, sizeof(err));
	if (!ret)
		ret = virtio_vsock__create(vm, &cfg->vsock, err, sizeof(err));
	if (!ret)
		ret = virtio_rng__create(vm, &cfg->entropy, err, sizeof(err));
	if (ret)
		vmm__log("%s", err);
	return ret;
}

static int vmm__boot(struct vm *vm, const struct vmm_opts *o)
{
	struct boot_config boot = o->boot;
	char cmdline[BOOT_CMDLINE_MAX + 1];
	uint64_t entry, boot_params;
	unsigned int i;
	int ret;

	vm->hugetlb = o->hugetlb;
	ret = vm__init(vm, o->mem_size, o->vcpus, -1, o->track_dirty,
		       o->track_ws);
	if (ret)
		return ret;
	vm->sampler.interval_ms = o->ws_interval_ms;
	ret = devices__init(vm, STDIN_FILENO, console_fd);
	if (!ret)
		ret = vmm__create_devices(vm, o->devices);
	if (ret)
		return ret;
	snprintf(cmdline, sizeof(cmdline), "%s", o->boot.cmdline);
	if (virtio__cmdline(vm, cmdline, sizeof(cmdline))) {
		vmm__log("kernel command line too long with the devices "
			 "(limit %d bytes)", BOOT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	boot.cmdline = cmdline;
	if ((ret = boot__load_linux(vm, &boot, &entry, &boot_params)) ||
	    (ret = mptable__write(vm)) ||
	    (ret = acpi__write_tables(vm)))
		return ret;
	for (i = 0; i < o->vcpus; i++) {
		ret = vcpu__init(&vm->vcpus[i], vm, i);
		if (ret)
			return ret;
	}
	/* APs wait in KVM for the INIT/SIPI the guest sends them. */
	ret = vcpu__setup_boot(&vm->vcpus[0], entry, boot_params);
	if (ret)
		return ret;
	ret = vm__start(vm);
	if (!ret)
		vmm__info("the guest is running: %u vCPUs, %llu MiB",
			  o->vcpus, (unsigned long long)(o->mem_size >> 20));
	return ret;
}

static bool api_started(void *ctx)
{
	struct vm *vm = ctx;
	bool started;

	pthread_mutex_lock(&vm->lock);
	started = vm->started;
	pthread_mutex_unlock(&vm->lock);
	return started;
}

static bool api_paused(void *ctx)
{
	return vm__is_paused(ctx);
}

static void api_describe(void *ctx, unsigned int *vcpus,
			 unsigned int *mem_mib, bool *hugetlb)
{
	struct vm *vm = ctx;

	*vcpus = vm->nr_vcpus;
	*mem_mib = vm->mem_size >> 20;
	*hugetlb = vm->hugetlb;
}

static int api_start(void *ctx, const struct api_config *cfg)
{
	struct vmm_opts o = {
		.boot = {
			.kernel = cfg->kernel,
			.initrd = cfg->initrd[0] ? cfg->initrd : NULL,
			.cmdline = cfg->cmdline,
		},
		.mem_size = (uint64_t)cfg->mem_mib << 20,
		.vcpus = cfg->vcpus,
		.track_dirty = cfg->track_dirty_pages,
		.track_ws = cfg->track_working_set,
		.hugetlb = cfg->hugetlb,
		.ws_interval_ms = cfg->working_set_interval_ms,
		.devices = cfg,
	};

	return vmm__boot(ctx, &o);
}

/*
 * A kernel that cannot boot, or huge pages the host does not have, fail
 * InstanceStart before the VM exists.
 */
static int api_check_start(void *ctx, const struct api_config *cfg,
			   char *err, size_t errlen)
{
	int ret;

	(void)ctx;
	ret = boot__check_kernel(cfg->kernel, err, errlen);
	if (!ret && cfg->hugetlb)
		ret = vm__check_hugetlb_pool((uint64_t)cfg->mem_mib << 20, err,
					     errlen);
	return ret;
}

static int api_send_ctrl_alt_del(void *ctx)
{
	(void)ctx;
	return i8042__ctrl_alt_del();
}

/*
 * Firecracker's latencies_us: the request's time (pause_vm) and the
 * VMM's part of it (vmm_pause_vm), the same span here.
 */
static void latency_store(struct metric *api, struct metric *vmm,
			  uint64_t since_us)
{
	uint64_t us = metrics__now_us() - since_us;

	metrics__store(api, us);
	metrics__store(vmm, us);
}

static void api_pause(void *ctx)
{
	uint64_t t = metrics__now_us();

	vm__pause(ctx);
	latency_store(&metrics.latencies_us.pause_vm,
		      &metrics.latencies_us.vmm_pause_vm, t);
}

static void api_resume(void *ctx)
{
	uint64_t t = metrics__now_us();

	vm__resume(ctx);
	latency_store(&metrics.latencies_us.resume_vm,
		      &metrics.latencies_us.vmm_resume_vm, t);
}

static int api_snapshot_create(void *ctx, bool diff, const char *vmstate,
			       const char *mem, const char *layers, char *err,
			       size_t errlen)
{
	uint64_t t = metrics__now_us();
	int ret;

	ret = snapshot__create(ctx, diff ? SNAPSHOT_DIFF : SNAPSHOT_FULL,
			       vmstate, mem, layers, err, errlen);
	if (!ret && diff)
		latency_store(&metrics.latencies_us.diff_create_snapshot,
			      &metrics.latencies_us.vmm_diff_create_snapshot, t);
	else if (!ret)
		latency_store(&metrics.latencies_us.full_create_snapshot,
			      &metrics.latencies_us.vmm_full_create_snapshot, t);
	if (!ret)
		vmm__info("%s snapshot written to %s and %s",
			  diff ? "Diff" : "Full", vmstate, mem);
	return ret;
}

static int api_snapshot_layers(void *ctx, const char *layers, char *err,
			       size_t errlen)
{
	return snapshot__write_base_layers(ctx, layers, err, errlen);
}

static int api_snapshot_load(void *ctx, const struct api_load *load,
			     char *err, size_t errlen)
{
	struct snapshot_load p = {
		.vmstate_path = load->snapshot_path,
		.mem_path = load->mem_path,
		.uffd = load->uffd,
		.layers_path = load->layers_path,
		.layers_huge = load->layers_huge,
		.track_dirty = load->enable_diff_snapshots,
		.track_ws = load->track_working_set,
		.ws_interval_ms = load->working_set_interval_ms,
		.resume = load->resume_vm,
		.console_in = STDIN_FILENO,
		.console_out = console_fd,
	};
	uint64_t t = metrics__now_us();
	int ret;

	ret = snapshot__load(ctx, &p, err, errlen);
	if (!ret) {
		latency_store(&metrics.latencies_us.load_snapshot,
			      &metrics.latencies_us.vmm_load_snapshot, t);
		vmm__info("snapshot %s loaded", load->snapshot_path);
	}
	return ret;
}

static int api_net_update(void *ctx, const char *iface_id,
			  const struct rate_limit_config *rx,
			  const bool rx_given[2],
			  const struct rate_limit_config *tx,
			  const bool tx_given[2], char *err, size_t errlen)
{
	return virtio_net__update(ctx, iface_id, rx, rx_given, tx, tx_given,
				  err, errlen);
}

static int api_drive_update(void *ctx, const char *id, const char *path,
			    const struct rate_limit_config *limit,
			    const bool given[2], char *err, size_t errlen)
{
	return virtio_blk__update(ctx, id, path, limit, given, err, errlen);
}

static unsigned int api_drives(void *ctx, struct virtio_drive_config *out,
			       unsigned int max)
{
	return virtio_blk__configs(ctx, out, max);
}

static bool api_usable(void *ctx)
{
	return !vm__half_built(ctx);
}

static const struct api_ops vmm_api_ops = {
	.started = api_started,
	.usable = api_usable,
	.paused = api_paused,
	.describe = api_describe,
	.check_start = api_check_start,
	.start = api_start,
	.send_ctrl_alt_del = api_send_ctrl_alt_del,
	.pause = api_pause,
	.resume = api_resume,
	.snapshot_create = api_snapshot_create,
	.snapshot_load = api_snapshot_load,
	.snapshot_layers = api_snapshot_layers,
	.net_update = api_net_update,
	.drive_update = api_drive_update,
	.drives = api_drives,
};

/* SIGINT and SIGTERM end the VM in an orderly way, from this thread. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	if (!sigwait(set, &sig))
		vm__request_exit(&vm, VM_EXIT_SIGNAL);
	return NULL;
}

int main(int argc, char **argv)
{
	struct vmm_opts o = {
		.boot.cmdline = API_DEFAULT_CMDLINE,
		.mem_size = 256ULL << 20,
		.vcpus = 1,
	};
	static struct api api = {
		.ops = &vmm_api_ops,
		.ctx = &vm,
		.cfg = {
			.cmdline = API_DEFAULT_CMDLINE,
			.vcpus = 1,
			.mem_mib = 128,
		},
	};
	static sigset_t blocked;
	enum vm_exit_reason reason;
	pthread_t sigthread;
	unsigned int i;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	ret = caps__drop_all();
	if (ret) {
		vmm__log("cannot drop capabilities: %s", strerror(-ret));
		return 1;
	}
	vm__prepare(&vm);

	/*
	 * Every thread inherits this mask: vCPU threads unblock the kick
	 * signal for themselves; only signal_thread takes SIGINT/SIGTERM.
	 */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	sigdelset(&blocked, SIGUSR1);
	pthread_create(&sigthread, NULL, signal_thread, &blocked);

	if (o.api_sock) {
		ret = api__start(&api, o.api_sock);
		if (ret) {
			vmm__log("API socket %s: %s", o.api_sock,
				 strerror(-ret));
			return 1;
		}
	}
	if (o.boot.kernel) {
		pthread_mutex_lock(&api.lock);
		ret = vmm__boot(&vm, &o);
		pthread_mutex_unlock(&api.lock);
		if (ret)
			vm__request_exit(&vm, VM_EXIT_ERROR);
	}

	pthread_mutex_lock(&vm.lock);
	while (vm.exit_reason == VM_RUNNING)
		pthread_cond_wait(&vm.exited, &vm.lock);
	reason = vm.exit_reason;
	pthread_mutex_unlock(&vm.lock);

	api__stop(&api);
	for (i = 0; i < vm.nr_vcpus; i++)
		vcpu__join(&vm.vcpus[i]);
	/* As Firecracker does on its way out: the last of the counters. */
	metrics__exit();
	serial__exit();
	vm__destroy(&vm);

	switch (reason) {
	case VM_EXIT_RESET:
	case VM_EXIT_POWEROFF:
	case VM_EXIT_SIGNAL:
		return 0;
	case VM_EXIT_SHUTDOWN:
		vmm__log("guest triple-faulted");
		return 1;
	default:
		return 1;
	}
}
