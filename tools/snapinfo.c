// SPDX-License-Identifier: GPL-2.0
/*
 * snapinfo - what a snapshot's files hold: a vmstate's VM and memory
 * layout, a layer file's classes and ranges; checksums verified.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitmap.h"
#include "layers.h"
#include "vmstate.h"

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"	snapinfo - show and check pagetrack snapshot files\n"
"\n"
"SYNOPSIS\n"
"	snapinfo [--ranges] [--verify] [--snapshot VMSTATE] FILE...\n"
"\n"
"DESCRIPTION\n"
"	For each FILE, tells by its magic what it is and prints:\n"
"\n"
"	vmstate (a snapshot's state file): format version, the payload's\n"
"	CRC-32 (which its layers carry), the snapshot id (which its\n"
"	memory file carries) and for a Diff the id of the snapshot it is\n"
"	a diff of, guest memory size, vCPUs, the TSC frequency, and\n"
"	whether the memory file is Full or Diff, with a Diff's page\n"
"	count.  Its checksums and layout are always verified.\n"
"\n"
"	layers (the working-set file vmm writes): the snapshot it belongs\n"
"	to, pages per class (read-only, dirty, present = both), the\n"
"	number of guest ranges and the order the pages are stored in:\n"
"	first access, when the recording sampled it, or address.  The\n"
"	header and index are always checked: checksums, ranges inside\n"
"	guest memory and not overlapping, file long enough.\n"
"\n"
"	memory file: the snapshot id and memory size its identity page\n"
"	gives.\n"
"\n"
"OPTIONS\n"
"	-r, --ranges\n"
"		List a layer file's ranges in file order: first and last\n"
"		guest-physical address, pages, class.\n"
"	-v, --verify\n"
"		Also read every page of a layer file and check its CRC.\n"
"	-s, --snapshot VMSTATE\n"
"		Check that each layer file belongs to this snapshot.\n"
"	-h, --help\n"
"		This text.\n"
"\n"
"EXIT STATUS\n"
"	0 when every file is sound (and belongs, with --snapshot); 1 when\n"
"	one is not, with the reason on standard error; 2 on a usage error.\n"
"\n"
"EXAMPLE\n"
"	snapinfo --verify --snapshot fn.vmstate fn.vmstate fn.layers\n", f);
}

struct opts {
	bool ranges;
	bool verify;
	const char *snapshot;
	uint32_t snapshot_crc;
	uint64_t snapshot_mem;
};

static void mib(const char *what, uint64_t pages)
{
	printf("  %-12s %10llu pages  %9.1f MiB\n", what,
	       (unsigned long long)pages,
	       pages * LAYERS_PAGE_SIZE / 1048576.0);
}

#define MSR_IA32_TSC		0x10
#define MSR_MTRR_FIRST		0x200
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_LSTAR		0xc0000082
#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00

/*
 * Per vCPU: how many MSRs were saved, how many of them MTRRs (which KVM's
 * MSR list leaves out), and the TSC; where the guest has its kvmclock
 * wall clock (selftests/vmm/snapshot_size_test.c reads all of these).
 */
static void print_vcpus(const struct vstate *vs, unsigned int nr_vcpus)
{
	const struct kvm_msr_entry *msr;
	const struct vs_vcpu *vcpu;
	unsigned long long tsc, lstar;
	unsigned int i, k, mtrrs;
	size_t len;

	for (i = 0; i < nr_vcpus; i++) {
		vcpu = vstate__find(vs, VS_VCPU, i, &len);
		if (!vcpu || len < sizeof(*vcpu) + (size_t)vcpu->nr_msrs *
						    sizeof(*msr))
			continue;
		msr = (const struct kvm_msr_entry *)(vcpu + 1);
		tsc = 0;
		lstar = 0;
		mtrrs = 0;
		for (k = 0; k < vcpu->nr_msrs; k++) {
			if (msr[k].index == MSR_IA32_TSC)
				tsc = msr[k].data;
			if (msr[k].index == MSR_LSTAR)
				lstar = msr[k].data;
			/*
			 * KVM writes the wall clock there as the MSR is
			 * restored: the one page a restore changes.
			 */
			if (!i && msr[k].index == MSR_KVM_WALL_CLOCK_NEW &&
			    msr[k].data)
				printf("  wall clock   at %#llx (kvmclock), "
				       "memory file offset %#llx\n",
				       (unsigned long long)msr[k].data,
				       (unsigned long long)
				       memfile__offset(msr[k].data));
			if (msr[k].index >= MSR_MTRR_FIRST &&
			    msr[k].index <= MSR_MTRR_DEF_TYPE)
				mtrrs++;
		}
		printf("  vCPU %-3u     MSRs %u (%u MTRRs) TSC %llu\n", i,
		       vcpu->nr_msrs, mtrrs, tsc);
		/*
		 * Where it stopped, and the kernel's system call entry:
		 * LSTAR minus entry_SYSCALL_64 in System.map is the
		 * guest kernel's KASLR offset, which turns a RIP in a
		 * trace into a symbol.
		 */
		printf("  vCPU %-3u     rip %#llx rsp %#llx cr3 %#llx "
		       "lstar %#llx mp_state %u\n", i,
		       (unsigned long long)vcpu->regs.rip,
		       (unsigned long long)vcpu->regs.rsp,
		       (unsigned long long)vcpu->sregs.cr3, lstar,
		       vcpu->mp_state.mp_state);
	}
}

static int show_vmstate(const char *path, const struct opts *o)
{
	const struct vmstate_header *h;
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	char err[512], id[2 * VS_ID_BYTES + 1];
	const struct vs_vcpu *vcpu;
	struct vstate vs;
	size_t len;
	int ret;

	(void)o;
	ret = vstate__read_file(path, &vs, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "snapinfo: %s\n", err);
		return 1;
	}
	h = (const struct vmstate_header *)vs.data;
	printf("%s: vmstate, format %u, payload CRC-32 %08x\n", path,
	       h->version, h->payload_crc);
	if (vstate__layout(&vs, &vm, &mem, err, sizeof(err))) {
		fprintf(stderr, "snapinfo: %s: %s\n", path, err);
		vstate__free(&vs);
		return 1;
	}
	vstate__format_id(vm->id, id);
	printf("  snapshot id  %s\n", id);
	if (mem->type == VS_MEM_DIFF) {
		vstate__format_id(vm->parent_id, id);
		printf("  diff of      %s\n",
		       vstate__id_is_zero(vm->parent_id) ?
		       "nothing (no snapshot before it)" : id);
	}
	printf("  memory       %10llu MiB\n  vCPUs        %10u\n",
	       (unsigned long long)(vm->mem_size >> 20), vm->nr_vcpus);
	if (vm->flags & VS_VM_HUGETLB_2M)
		printf("  pages        2 MiB hugetlbfs (huge_pages 2M): "
		       "restores through Uffd only\n");
	vcpu = vstate__find(&vs, VS_VCPU, 0, &len);
	if (vcpu && len >= sizeof(*vcpu))
		printf("  TSC          %10u kHz\n", vcpu->tsc_khz);
	print_vcpus(&vs, vm->nr_vcpus);
	if (mem->type == VS_MEM_DIFF)
		printf("  memory file  Diff, %llu pages\n",
		       (unsigned long long)bitmap__weight(
				(const uint64_t *)(mem + 1),
				vm->mem_size / VMSTATE_PAGE_SIZE));
	else
		printf("  memory file  Full\n");
	vstate__free(&vs);
	return 0;
}

static int show_layers(const char *path, const struct opts *o)
{
	struct layers l;
	char err[512];
	uint32_t i;
	int ret = 0;

	if (layers__open(path, 0, &l, err, sizeof(err))) {
		fprintf(stderr, "snapinfo: %s\n", err);
		return 1;
	}
	printf("%s: layers, format %u, of snapshot %08x (%llu MiB)\n", path,
	       l.h.version, l.h.snapshot_crc,
	       (unsigned long long)(l.h.mem_size >> 20));
	mib("read-only", l.h.ro_pages);
	mib("dirty", l.h.dirty_pages);
	mib("present", l.h.ro_pages + l.h.dirty_pages);
	printf("  ranges       %10u\n", l.h.nr_ranges);
	printf("  order        %s\n", l.h.flags & LAYERS_FIRST_ACCESS_ORDER ?
	       "first access" : "address");
	if (o->ranges) {
		for (i = 0; i < l.h.nr_ranges; i++) {
			const struct layers_range *r = &l.ranges[i];

			printf("  %#012llx-%#012llx %8u %s\n",
			       (unsigned long long)(r->first_page *
						    LAYERS_PAGE_SIZE),
			       (unsigned long long)((r->first_page +
						     r->nr_pages) *
						    LAYERS_PAGE_SIZE - 1),
			       r->nr_pages, layers__class_name(r->class));
		}
	}
	if (o->verify) {
		if (layers__verify_data(&l, err, sizeof(err))) {
			fprintf(stderr, "snapinfo: %s: %s\n", path, err);
			ret = 1;
		} else {
			printf("  page data    CRC-32 %08x verified\n",
			       l.h.data_crc);
		}
	}
	if (o->snapshot &&
	    !layers__belongs(&l, o->snapshot_crc, o->snapshot_mem)) {
		fprintf(stderr, "snapinfo: %s does not belong to %s "
			"(snapshot %08x, %llu MiB)\n", path, o->snapshot,
			o->snapshot_crc,
			(unsigned long long)(o->snapshot_mem >> 20));
		ret = 1;
	}
	layers__close(&l);
	return ret;
}

/*
 * A memory file has no magic at its start: it is told by its identity
 * page (MEMFILE_ID_OFFSET).
 */
static int show_memory(const char *path)
{
	char id[2 * VS_ID_BYTES + 1];
	struct memfile_id t;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || memfile__read_id(fd, &t)) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "snapinfo: %s: neither a vmstate, a layer "
			"file nor a memory file\n", path);
		return 1;
	}
	close(fd);
	vstate__format_id(t.id, id);
	printf("%s: memory file\n  snapshot id  %s\n"
	       "  memory       %10llu MiB\n", path, id,
	       (unsigned long long)(t.mem_size >> 20));
	return 0;
}

static int show(const char *path, const struct opts *o)
{
	char magic[8] = { 0 };
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "snapinfo: %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	if (n == sizeof(magic) && !memcmp(magic, VMSTATE_MAGIC, 8))
		return show_vmstate(path, o);
	if (n == sizeof(magic) && !memcmp(magic, LAYERS_MAGIC, 8))
		return show_layers(path, o);
	return show_memory(path);
}

static int load_snapshot_id(struct opts *o)
{
	const struct vs_vm *vm;
	struct vstate vs;
	char err[512];
	size_t len;

	if (vstate__read_file(o->snapshot, &vs, err, sizeof(err))) {
		fprintf(stderr, "snapinfo: %s\n", err);
		return 1;
	}
	vm = vstate__find(&vs, VS_VM, 0, &len);
	o->snapshot_crc = vstate__id(&vs);
	o->snapshot_mem = vm ? vm->mem_size : 0;
	vstate__free(&vs);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ranges", no_argument, NULL, 'r' },
		{ "verify", no_argument, NULL, 'v' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct opts o = { 0 };
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "rvs:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.ranges = true;
			break;
		case 'v':
			o.verify = true;
			break;
		case 's':
			o.snapshot = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'snapinfo --help'.\n");
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "snapinfo: no file given\n"
			"Try 'snapinfo --help'.\n");
		return 2;
	}
	if (o.snapshot && load_snapshot_id(&o))
		return 1;
	for (; optind < argc; optind++)
		ret |= show(argv[optind], &o);
	return ret;
}
