// SPDX-License-Identifier: GPL-2.0
/*
 * vmm - a KVM virtual machine monitor that boots Linux and, in time,
 * speaks Firecracker's API and takes working-set-aware snapshots.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "vmm.h"

#define DEFAULT_CMDLINE	"console=ttyS0 reboot=k panic=1 pci=off nomodule " \
			"i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

struct vmm_opts {
	struct boot_config boot;
	uint64_t mem_size;
	unsigned int vcpus;
};

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"	vmm - boot a Linux guest under KVM\n"
"\n"
"SYNOPSIS\n"
"	vmm --kernel BZIMAGE [--initrd FILE] [--cmdline TEXT] [--mem SIZE]\n"
"	    [--vcpus N]\n"
"\n"
"DESCRIPTION\n"
"	Boots a Linux bzImage through the 64-bit boot protocol with KVM's\n"
"	in-kernel interrupt controllers and PIT.  The guest's serial\n"
"	console (ttyS0) is this program's standard output; its input is\n"
"	standard input.  The VM ends when the guest reboots or powers off\n"
"	(use reboot=k, the default); vmm then exits 0.\n"
"\n"
"OPTIONS\n"
"	-k, --kernel BZIMAGE\n"
"		Linux kernel image (bzImage, boot protocol 2.12 or later).\n"
"	-i, --initrd FILE\n"
"		Initial ramdisk, placed as high in memory as the kernel\n"
"		allows.\n"
"	-c, --cmdline TEXT\n"
"		Kernel command line (default: \"" DEFAULT_CMDLINE "\").\n"
"	-m, --mem SIZE\n"
"		Guest memory: bytes, or with k, M or G (default 256M; at\n"
"		most 3G).\n"
"	-n, --vcpus N\n"
"		Virtual CPUs, 1 to 32 (default 1).\n"
"	-h, --help\n"
"		This text.\n"
"\n"
"EXIT STATUS\n"
"	0 when the guest rebooted or powered off, 1 on a VM error or\n"
"	triple fault, 2 on a usage error.\n"
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
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "k:i:c:m:n:h", longopts,
				NULL)) != -1) {
		switch (c) {
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
						   "3G, page aligned, not",
						   optarg);
			o->mem_size = v;
			break;
		case 'n':
			if (parse__u64(optarg, &v) || !v || v > VMM_MAX_VCPUS)
				return usage_error("vCPU count must be 1 to 32, "
						   "not", optarg);
			o->vcpus = v;
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
	if (!o->boot.kernel) {
		fprintf(stderr, "vmm: --kernel is required\n"
			"Try 'vmm --help'.\n");
		return 2;
	}
	return 0;
}

static int vmm__boot(struct vm *vm, const struct vmm_opts *o)
{
	uint64_t entry, boot_params;
	unsigned int i;
	int ret;

	ret = vm__init(vm, o->mem_size, o->vcpus);
	if (ret)
		return ret;
	if ((ret = serial__init(vm, STDIN_FILENO, STDOUT_FILENO)) ||
	    (ret = i8042__init(vm)) ||
	    (ret = boot__load_linux(vm, &o->boot, &entry, &boot_params)) ||
	    (ret = mptable__write(vm)))
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
	for (i = 0; i < o->vcpus; i++) {
		ret = vcpu__start(&vm->vcpus[i]);
		if (ret) {
			vm__request_exit(vm, VM_EXIT_ERROR);
			return ret;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vmm_opts o = {
		.boot.cmdline = DEFAULT_CMDLINE,
		.mem_size = 256ULL << 20,
		.vcpus = 1,
	};
	static struct vm vm;
	enum vm_exit_reason reason;
	sigset_t kick;
	unsigned int i;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;

	/* vCPU threads unblock the kick signal for themselves only. */
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);

	ret = vmm__boot(&vm, &o);
	if (ret)
		vm__request_exit(&vm, VM_EXIT_ERROR);

	pthread_mutex_lock(&vm.lock);
	while (vm.exit_reason == VM_RUNNING)
		pthread_cond_wait(&vm.exited, &vm.lock);
	reason = vm.exit_reason;
	pthread_mutex_unlock(&vm.lock);

	for (i = 0; i < vm.nr_vcpus; i++)
		vcpu__join(&vm.vcpus[i]);
	serial__exit();
	vm__destroy(&vm);

	switch (reason) {
	case VM_EXIT_RESET:
		return 0;
	case VM_EXIT_SHUTDOWN:
		vmm__log("guest triple-faulted");
		return 1;
	default:
		return 1;
	}
}
