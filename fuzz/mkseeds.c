// SPDX-License-Identifier: GPL-2.0
/*
 * mkseeds DIR - the binary seed corpora, written with the VMM's own
 * writers so that they follow the formats as they change: DIR/vmstate/
 * (Full and Diff vmstates of a small VM, every section a restore reads),
 * DIR/snapmerge/ (a Diff of the base fuzz/seeds.h names, memory files)
 * and DIR/layers/ (layer files, address and first-access order).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitmap.h"
#include "fuzz_util.h"
#include "layers.h"
#include "seeds.h"
#include "vmstate.h"

#define NPAGES	(SEED_MEM_SIZE / VMSTATE_PAGE_SIZE)

static const char *dir;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "mkseeds: %s: %s\n", what, why);
	exit(1);
}

/* @path again as @path.zcrc, its checksums zeroed (fuzz_util.h). */
static void zcrc_variant(const char *path,
			 void (*zero)(uint8_t *buf, size_t len))
{
	char zpath[4200];
	struct stat st;
	uint8_t *buf;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die(path, strerror(errno));
	buf = malloc(st.st_size);
	if (!buf || read(fd, buf, st.st_size) != st.st_size)
		die(path, "cannot read it back");
	close(fd);
	zero(buf, st.st_size);
	snprintf(zpath, sizeof(zpath), "%s.zcrc", path);
	fd = open(zpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, st.st_size) != st.st_size || close(fd))
		die(zpath, strerror(errno));
	free(buf);
}

static void path_of(char *path, const char *sub, const char *name)
{
	snprintf(path, 4096, "%s/%s", dir, sub);
	if (mkdir(path, 0755) && errno != EEXIST)
		die(path, strerror(errno));
	snprintf(path, 4096, "%s/%s/%s", dir, sub, name);
}

/* A vCPU section as vcpu__save() writes one, with a few MSRs and leaves. */
static void add_vcpu(struct vsbuf *b, unsigned int id)
{
	size_t len = sizeof(struct vs_vcpu) + 2 * sizeof(struct kvm_msr_entry) +
		     3 * sizeof(struct kvm_cpuid_entry2);
	struct kvm_msr_entry *msr;
	struct kvm_cpuid_entry2 *leaf;
	struct vs_vcpu *vs = vsbuf__section(b, VS_VCPU, len);

	if (!vs)
		die("vcpu", "out of memory");
	vs->id = id;
	vs->nr_msrs = 2;
	vs->nr_cpuid = 3;
	vs->tsc_khz = 2000000;
	vs->regs.rip = 0x100000;
	vs->mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	msr = (struct kvm_msr_entry *)(vs + 1);
	msr[0].index = 0x10;		/* IA32_TSC */
	msr[1].index = 0x1b;		/* IA32_APIC_BASE */
	msr[1].data = 0xfee00900;
	leaf = (struct kvm_cpuid_entry2 *)(msr + 2);
	leaf[1].function = 1;
	leaf[2].function = 0x40000000;
}

static void add_devices(struct vsbuf *b, unsigned int rx_len)
{
	struct kvm_clock_data clock = { .clock = 123456789 };
	struct kvm_pit_state2 pit = { 0 };
	struct vs_irqchip irq = { 0 };
	struct vs_serial serial = { .lcr = 3, .rx_len = rx_len };
	unsigned int i;

	for (i = 0; i < 3; i++)
		irq.chip[i].chip_id = i;
	memset(serial.rx, 'a', rx_len);
	vsbuf__add(b, VS_IRQCHIP, &irq, sizeof(irq));
	vsbuf__add(b, VS_PIT, &pit, sizeof(pit));
	vsbuf__add(b, VS_CLOCK, &clock, sizeof(clock));
	vsbuf__add(b, VS_SERIAL, &serial, sizeof(serial));
}

/*
 * A virtio device's section, as virtio__save_all() writes one: after
 * vs_serial's 76 bytes, so not 8-byte aligned in the file.
 */
static void add_virtio(struct vsbuf *b)
{
	struct vs_virtio hdr = {
		.device_id = 4, .version = 2, .nr_queues = 1, .state_len = 12,
		.id = "rng0",
	};
	uint8_t *p = vsbuf__section(b, VS_VIRTIO, sizeof(hdr) + 12);

	if (!p)
		die("virtio", "out of memory");
	hdr.vqs[0].max_size = 256;
	memcpy(p, &hdr, sizeof(hdr));
	memset(p + sizeof(hdr), 7, 12);
}

static void write_vmstate(const char *sub, const char *name,
			  unsigned int vcpus, const uint64_t *dirty)
{
	struct vs_vm vm = { .mem_size = SEED_MEM_SIZE, .nr_vcpus = vcpus };
	char path[4096], err[512];
	struct vsbuf b;
	unsigned int i;

	memset(vm.id, 0x1d, sizeof(vm.id));
	if (dirty)
		seed__base_id(vm.parent_id);
	vsbuf__init(&b);
	vsbuf__add_layout(&b, &vm, dirty);
	for (i = 0; i < vcpus; i++)
		add_vcpu(&b, i);
	add_devices(&b, vcpus == 1 ? 0 : 5);
	if (vcpus > 1)
		add_virtio(&b);
	path_of(path, sub, name);
	if (vstate__write_file(path, &b, err, sizeof(err)))
		die(path, err);
	vsbuf__free(&b);
	zcrc_variant(path, fuzz__zero_vmstate);
}

/*
 * A memory file of @size bytes as fuzz__memfile() takes it: its
 * identity page, as memfile__write_id() writes it, then the size.
 */
static void write_memfile(const char *name, uint64_t size, uint8_t idbyte)
{
	uint8_t id[VS_ID_BYTES], page[VMSTATE_PAGE_SIZE];
	char path[4096];
	int fd, mem;

	memset(id, idbyte, sizeof(id));
	path_of(path, "snapmerge", name);
	mem = memfd_create("seed-mem", MFD_CLOEXEC);
	if (mem < 0 || ftruncate(mem, size) ||
	    memfile__write_id(mem, size, id) ||
	    pread(mem, page, sizeof(page), MEMFILE_ID_OFFSET) != sizeof(page))
		die(path, "cannot build the memory file");
	close(mem);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, page, sizeof(page)) != sizeof(page) ||
	    write(fd, &size, sizeof(size)) != sizeof(size) || close(fd))
		die(path, strerror(errno));
	zcrc_variant(path, fuzz__zero_memfile_id);
}

static void write_layers(const char *name, const uint16_t *first_seen)
{
	static uint8_t mem[SEED_MEM_SIZE];
	uint64_t ro[bitmap__words(NPAGES)], dirty[bitmap__words(NPAGES)];
	char path[4096], err[512];
	unsigned int i;
	int fd;

	memset(ro, 0, sizeof(ro));
	memset(dirty, 0, sizeof(dirty));
	for (i = 0; i < NPAGES; i++) {
		memset(mem + i * VMSTATE_PAGE_SIZE, i, 16);
		if (i % 3 == 0)
			bitmap__set(ro, i);
		else if (i % 5 == 0)
			bitmap__set(dirty, i);
	}
	path_of(path, "layers", name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path, strerror(errno));
	if (layers__write(fd, mem, SEED_MEM_SIZE, ro, dirty, first_seen,
			  0x12345678, err, sizeof(err)))
		die(path, err);
	close(fd);
	zcrc_variant(path, fuzz__zero_layers);
}

int main(int argc, char **argv)
{
	uint64_t dirty[bitmap__words(NPAGES)];
	uint16_t first_seen[NPAGES];
	unsigned int i;

	memset(dirty, 0, sizeof(dirty));
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST)
		die(dir, strerror(errno));
	bitmap__set(dirty, 1);
	bitmap__set(dirty, 2);
	bitmap__set(dirty, NPAGES - 1);
	for (i = 0; i < NPAGES; i++)
		first_seen[i] = (NPAGES - i) % 4;

	write_vmstate("vmstate", "full", 1, NULL);
	write_vmstate("vmstate", "diff-2vcpu", 2, dirty);
	write_vmstate("snapmerge", "diff", 1, dirty);
	write_memfile("memfile-1mib", MEMFILE_ID_OFFSET + VMSTATE_PAGE_SIZE,
		      0xba);
	write_memfile("memfile-256mib", 256ULL << 20, 0x1d);
	write_layers("by-address", NULL);
	write_layers("first-access", first_seen);
	return 0;
}
