// SPDX-License-Identifier: GPL-2.0
/*
 * Linux loader: a bzImage through the 64-bit boot protocol
 * (Documentation/x86/boot.rst): the protected-mode kernel at 1 MiB, the
 * zero page with the setup header, an e820 map, the command line and the
 * initrd, and the long-mode environment the 64-bit entry point expects.
 *
 * Or, told apart by its magic, an uncompressed ELF vmlinux as x86
 * Firecracker boots it: each PT_LOAD segment at its physical address and
 * the vCPU at e_entry, which is startup_64's physical address, in the
 * same long mode with the zero page in %rsi.  That is the entry the
 * bzImage's decompressor itself jumps to, so the kernel sees the boot it
 * always sees.  (The PVH entry, a 32-bit one named by an ELF note, is the
 * other way Firecracker knows; this loader does not use it.)
 */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#define SETUP_HEADER_OFFSET	0x1f1
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG		0xaa55
#define MIN_BOOT_PROTOCOL	0x020c		/* has xloadflags */
#define ENTRY_64_OFFSET		0x200
#define LOADER_UNDEFINED	0xff

#define GDT_CODE64		0x00af9b000000ffffULL
#define GDT_DATA		0x00cf93000000ffffULL
#define PDE_2M			0x83ULL		/* present, writable, 2 MiB */
#define PTE_TABLE		0x03ULL		/* present, writable */
#define E820_RAM		1
#define E820_RESERVED		2

/* Copy @size bytes of @path from @offset into guest memory at @gpa. */
static int load_file(struct vm *vm, const char *path, uint64_t offset,
		     uint64_t gpa, uint64_t size)
{
	uint8_t *dst = vm__gpa(vm, gpa, size);
	uint64_t done = 0;
	int fd, ret = 0;

	if (!dst)
		return -ENOSPC;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t n = pread(fd, dst + done, size - done, offset + done);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		done += n;
	}
	close(fd);
	return ret;
}

static int file_size(const char *path, uint64_t *size)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*size = st.st_size;
	return 0;
}

static void add_e820(struct boot_params *bp, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

static void setup_page_tables(struct vm *vm)
{
	uint64_t *pml4 = vm__gpa(vm, BOOT_PML4, VMM_PAGE_SIZE);
	uint64_t *pdpt = vm__gpa(vm, BOOT_PDPT, VMM_PAGE_SIZE);
	uint64_t *pd = vm__gpa(vm, BOOT_PD, 4 * VMM_PAGE_SIZE);
	uint64_t i;

	/* Identity map of the first 4 GiB: all of RAM and the initrd. */
	memset(pml4, 0, VMM_PAGE_SIZE);
	memset(pdpt, 0, VMM_PAGE_SIZE);
	pml4[0] = BOOT_PDPT | PTE_TABLE;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * VMM_PAGE_SIZE) | PTE_TABLE;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PDE_2M;
}

static void setup_gdt(struct vm *vm)
{
	uint64_t *gdt = vm__gpa(vm, BOOT_GDT, 4 * sizeof(uint64_t));
	uint64_t *idt = vm__gpa(vm, BOOT_IDT, sizeof(uint64_t));

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_CS / 8] = GDT_CODE64;
	gdt[BOOT_DS / 8] = GDT_DATA;
	*idt = 0;
}

/* Place the initrd as high as the kernel accepts, page aligned. */
static int load_initrd(struct vm *vm, struct boot_params *bp,
		       const char *path, uint64_t kernel_end)
{
	uint64_t size, top, addr;
	int ret;

	ret = file_size(path, &size);
	if (ret) {
		vmm__log("initrd %s: %s", path, strerror(-ret));
		return ret;
	}
	top = vm__low_mem(vm);
	if (top > (uint64_t)bp->hdr.initrd_addr_max + 1)
		top = (uint64_t)bp->hdr.initrd_addr_max + 1;
	if (size > top || ((top - size) & ~(VMM_PAGE_SIZE - 1)) < kernel_end) {
		vmm__log("initrd %s (%llu MiB) does not fit in guest memory",
			 path, (unsigned long long)(size >> 20));
		return -ENOSPC;
	}
	addr = (top - size) & ~(VMM_PAGE_SIZE - 1);
	ret = load_file(vm, path, 0, addr, size);
	if (ret) {
		vmm__log("initrd %s: %s", path, strerror(-ret));
		return ret;
	}
	bp->hdr.ramdisk_image = addr;
	bp->hdr.ramdisk_size = size;
	return 0;
}

/* Read and check the bzImage's setup header into @bp. */
static int read_setup_header(const char *path, struct boot_params *bp,
			     uint64_t *kernel_offset, uint64_t *kernel_size)
{
	uint8_t buf[0x300];
	uint64_t size = 0;
	size_t hdr_len;
	int fd, ret;

	ret = file_size(path, &size);
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = pread(fd, buf, sizeof(buf), 0) == sizeof(buf) ? 0 : -EINVAL;
	close(fd);
	if (ret)
		return ret;

	/* The header ends where the jump at 0x200 lands. */
	hdr_len = 0x202 + buf[0x201] - SETUP_HEADER_OFFSET;
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, buf + SETUP_HEADER_OFFSET, hdr_len);
	if (bp->hdr.boot_flag != BOOT_FLAG || bp->hdr.header != HDRS_MAGIC)
		return -ENOEXEC;
	if (bp->hdr.version < MIN_BOOT_PROTOCOL ||
	    !(bp->hdr.xloadflags & XLF_KERNEL_64))
		return -ENOTSUP;

	*kernel_offset = ((uint64_t)(bp->hdr.setup_sects ?: 4) + 1) * 512;
	if (*kernel_offset >= size)
		return -ENOEXEC;
	*kernel_size = size - *kernel_offset;
	return 0;
}

/* An ELF vmlinux's alignment, as Firecracker gives it (kernel_alignment). */
#define ELF_KERNEL_ALIGN	0x1000000
#define ELF_INITRD_ADDR_MAX	0x7fffffff

static bool is_elf(const char *path)
{
	unsigned char magic[SELFMAG];
	bool elf = false;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (pread(fd, magic, SELFMAG, 0) == SELFMAG)
		elf = !memcmp(magic, ELFMAG, SELFMAG);
	close(fd);
	return elf;
}

/*
 * Read and check @path's ELF header and program headers (at most
 * ELF_MAX_PHDRS): a 64-bit little-endian x86-64 executable with at least
 * one PT_LOAD, each above the boot structures below 1 MiB.
 */
#define ELF_MAX_PHDRS		32

static int read_elf(const char *path, Elf64_Ehdr *eh, Elf64_Phdr *ph,
		    char *err, size_t errlen)
{
	unsigned int i, loads = 0;
	uint64_t size;
	ssize_t n;
	int fd;

	if (file_size(path, &size))
		size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = pread(fd, eh, sizeof(*eh), 0);
	if (n != sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_type != ET_EXEC ||
	    eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phnum > ELF_MAX_PHDRS) {
		close(fd);
		snprintf(err, errlen, "%s: an ELF file, but not an x86-64 "
			 "vmlinux (64-bit executable)", path);
		return -ENOEXEC;
	}
	n = pread(fd, ph, eh->e_phnum * sizeof(*ph), eh->e_phoff);
	close(fd);
	if (n != (ssize_t)(eh->e_phnum * sizeof(*ph))) {
		snprintf(err, errlen, "%s: truncated program headers", path);
		return -ENOEXEC;
	}
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_paddr < BOOT_KERNEL ||
		    ph[i].p_filesz > ph[i].p_memsz ||
		    ph[i].p_offset + ph[i].p_filesz > size ||
		    ph[i].p_paddr + ph[i].p_memsz < ph[i].p_paddr) {
			snprintf(err, errlen, "%s: segment %u (at %#llx) is "
				 "not loadable", path, i,
				 (unsigned long long)ph[i].p_paddr);
			return -ENOEXEC;
		}
		loads++;
	}
	if (!loads) {
		snprintf(err, errlen, "%s: an ELF file without PT_LOAD "
			 "segments", path);
		return -ENOEXEC;
	}
	return 0;
}

static int load_elf(struct vm *vm, const char *path, struct boot_params *bp,
		    uint64_t *entry, uint64_t *kernel_end)
{
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Ehdr eh;
	char err[256];
	unsigned int i;
	uint64_t end = 0;
	int ret;

	ret = read_elf(path, &eh, ph, err, sizeof(err));
	if (ret) {
		vmm__log("%s", err);
		return ret;
	}
	for (i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD &&
		    ph[i].p_paddr + ph[i].p_memsz > end)
			end = ph[i].p_paddr + ph[i].p_memsz;
	if (end > vm__low_mem(vm)) {
		vmm__log("%s needs %llu MiB of guest memory", path,
			 (unsigned long long)(end >> 20) + 1);
		return -ENOSPC;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		ret = load_file(vm, path, ph[i].p_offset, ph[i].p_paddr,
				ph[i].p_filesz);
		if (ret) {
			vmm__log("%s: %s", path, strerror(-ret));
			return ret;
		}
		/* Fresh memory reads zero, but say what .bss is. */
		memset(vm__gpa(vm, ph[i].p_paddr + ph[i].p_filesz,
			       ph[i].p_memsz - ph[i].p_filesz), 0,
		       ph[i].p_memsz - ph[i].p_filesz);
	}
	/* The setup header fields Firecracker fills for a vmlinux. */
	bp->hdr.boot_flag = BOOT_FLAG;
	bp->hdr.header = HDRS_MAGIC;
	bp->hdr.kernel_alignment = ELF_KERNEL_ALIGN;
	bp->hdr.cmdline_size = BOOT_CMDLINE_MAX;
	bp->hdr.initrd_addr_max = ELF_INITRD_ADDR_MAX;
	*entry = eh.e_entry;
	*kernel_end = end;
	return 0;
}

int boot__check_kernel(const char *path, char *err, size_t errlen)
{
	struct boot_params bp;
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Ehdr eh;
	uint64_t offset, size;
	int ret;

	if (is_elf(path))
		return read_elf(path, &eh, ph, err, errlen);
	memset(&bp, 0, sizeof(bp));
	ret = read_setup_header(path, &bp, &offset, &size);
	if (ret == -ENOEXEC || ret == -EINVAL)
		snprintf(err, errlen, "%s is neither a bzImage nor an ELF "
			 "vmlinux", path);
	else if (ret == -ENOTSUP)
		snprintf(err, errlen, "%s: boot protocol %#x without a 64-bit "
			 "entry point", path, bp.hdr.version);
	else if (ret)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	return ret;
}

int boot__load_linux(struct vm *vm, const struct boot_config *cfg,
		     uint64_t *entry, uint64_t *boot_params)
{
	struct boot_params *bp = vm__gpa(vm, BOOT_PARAMS, sizeof(*bp));
	uint64_t offset, size, kernel_end;
	size_t cmdline_len = strlen(cfg->cmdline);
	bool elf = is_elf(cfg->kernel);
	int ret;

	memset(bp, 0, sizeof(*bp));
	if (elf) {
		ret = load_elf(vm, cfg->kernel, bp, entry, &kernel_end);
		if (ret)
			return ret;
		goto loaded;
	}
	ret = read_setup_header(cfg->kernel, bp, &offset, &size);
	if (ret == -ENOEXEC || ret == -EINVAL) {
		vmm__log("%s: not a bzImage", cfg->kernel);
		return ret;
	}
	if (ret == -ENOTSUP) {
		vmm__log("%s: boot protocol %#x without a 64-bit entry point",
			 cfg->kernel, bp->hdr.version);
		return ret;
	}
	if (ret) {
		vmm__log("%s: %s", cfg->kernel, strerror(-ret));
		return ret;
	}

	/* init_size: what the kernel needs from its load address onwards. */
	kernel_end = BOOT_KERNEL + (size > bp->hdr.init_size ?
				    size : bp->hdr.init_size);
	if (kernel_end > vm__low_mem(vm)) {
		vmm__log("%s needs %llu MiB of guest memory", cfg->kernel,
			 (unsigned long long)(kernel_end >> 20) + 1);
		return -ENOSPC;
	}
	ret = load_file(vm, cfg->kernel, offset, BOOT_KERNEL, size);
	if (ret) {
		vmm__log("%s: %s", cfg->kernel, strerror(-ret));
		return ret;
	}
	*entry = BOOT_KERNEL + ENTRY_64_OFFSET;

loaded:

	if (cmdline_len >= BOOT_CMDLINE_MAX ||
	    cmdline_len >= bp->hdr.cmdline_size) {
		vmm__log("kernel command line too long (%zu bytes, limit %u)",
			 cmdline_len, bp->hdr.cmdline_size < BOOT_CMDLINE_MAX ?
			 bp->hdr.cmdline_size : BOOT_CMDLINE_MAX);
		return -E2BIG;
	}
	memcpy(vm__gpa(vm, BOOT_CMDLINE, cmdline_len + 1), cfg->cmdline,
	       cmdline_len + 1);
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE;

	if (cfg->initrd) {
		ret = load_initrd(vm, bp, cfg->initrd, kernel_end);
		if (ret)
			return ret;
	}

	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.vid_mode = 0xffff;
	bp->acpi_rsdp_addr = BOOT_ACPI;
	add_e820(bp, 0, BOOT_EBDA, E820_RAM);
	add_e820(bp, BOOT_EBDA, 0xa0000 - BOOT_EBDA, E820_RESERVED);
	add_e820(bp, BOOT_ACPI, BOOT_KERNEL - BOOT_ACPI, E820_RESERVED);
	add_e820(bp, BOOT_KERNEL, vm__low_mem(vm) - BOOT_KERNEL, E820_RAM);
	if (vm->mem_size > VMM_LOW_MEM_END)
		add_e820(bp, VMM_HIGH_MEM_START, vm->mem_size - VMM_LOW_MEM_END,
			 E820_RAM);

	setup_gdt(vm);
	setup_page_tables(vm);
	/*
	 * All of the above is the VMM's writing, which KVM's log does not
	 * see: zero page, command line, GDT, page tables and kernel, all
	 * below kernel_end.  The MP and ACPI tables mark their own.
	 */
	vm__mark_dirty(vm, 0, kernel_end);
	if (bp->hdr.ramdisk_size)
		vm__mark_dirty(vm, bp->hdr.ramdisk_image,
			       bp->hdr.ramdisk_size);
	*boot_params = BOOT_PARAMS;
	return 0;
}
