// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI, for one reason: a guest "poweroff" must end the VM, and Linux on
 * x86 powers off only through ACPI's S5 sleep state.  The tables describe
 * what the MP table does (vCPUs, I/O APIC, ISA interrupt routing) plus a
 * fixed-hardware PM1 block at ACPI_PM_BASE and a DSDT holding \_S5 and
 * the virtio-mmio devices, which Debian's kernels find only through ACPI
 * (they lack VIRTIO_MMIO_CMDLINE_DEVICES).
 *
 * The FADT is not "hardware reduced": in that mode Linux drops the legacy
 * PIC and with it the ISA IRQs the 8250 console and the PIT are wired to,
 * and it would need the serial port described in AML.  A full FADT keeps
 * the ISA world as it is and costs two I/O registers.  SMI_CMD is zero:
 * the machine is always in ACPI mode, so the guest never has to switch.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm.h"
#include "virtio/virtio.h"

#define ACPI_PM_BASE		0x600
#define PM1_EVT_LEN		4	/* status, enable */
#define PM1_EN_OFF		2
#define PM1_CNT			(ACPI_PM_BASE + PM1_EVT_LEN)
#define PM1_CNT_LEN		2
#define PM1_SCI_EN		(1U << 0)
#define PM1_SLP_TYP(v)		(((v) >> 10) & 7)
#define PM1_SLP_EN		(1U << 13)
#define SLP_TYP_S5		5	/* what the DSDT's \_S5 says */
#define SCI_IRQ			9

#define FADT_WBINVD		(1U << 0)
#define FADT_PWR_BUTTON		(1U << 4)	/* none as fixed hardware */
#define FADT_SLP_BUTTON		(1U << 5)
#define BOOT_ARCH_LEGACY	(1U << 0)
#define BOOT_ARCH_8042		(1U << 1)
#define BOOT_ARCH_NO_VGA	(1U << 2)
#define BOOT_ARCH_NO_CMOS_RTC	(1U << 5)
#define MADT_PCAT_COMPAT	(1U << 0)
#define ISO_LEVEL_HIGH		0x000d	/* active high, level triggered */

#define APIC_DEFAULT_BASE	0xfee00000U
#define IOAPIC_DEFAULT_BASE	0xfec00000U

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

/* ACPI 6.0 FADT; the 64-bit X_ blocks are left to the 32-bit ones. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t facs;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_facs, x_dsdt;
	struct acpi_gas x_blocks[8];
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "ACPI 6.0 FADT size");

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint8_t rest[56];
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length, uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length, bus, irq;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length, uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

enum { MADT_LAPIC, MADT_IOAPIC, MADT_ISO, MADT_NMI_SRC, MADT_LAPIC_NMI };

/* Name (_S5_, Package (2) { 5, 0 }): SLP_TYPa and SLP_TYPb for S5. */
static const uint8_t dsdt_s5[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02,
	0x0a, SLP_TYP_S5, 0x0a, 0x00,
};

/*
 * The DSDT's AML, built into a fixed buffer.  Only what describing the
 * virtio-mmio devices takes: names, strings, byte integers, buffers, and
 * Device and Scope with their package lengths.
 */
#define AML_NAME		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_STRING_PREFIX	0x0d
#define AML_SCOPE		0x10
#define AML_BUFFER		0x11
#define AML_EXT_PREFIX		0x5b
#define AML_DEVICE		0x82
#define AML_ROOT_CHAR		0x5c

#define RES_MEMORY32_FIXED	0x86
#define RES_EXTENDED_IRQ	0x89
#define RES_END_TAG		0x79
/* Extended interrupt flags: consumer, edge-triggered, active high. */
#define RES_IRQ_CONSUMER	(1U << 0)
#define RES_IRQ_EDGE		(1U << 1)

struct aml {
	uint8_t buf[4096];
	size_t len;
	bool overflow;
};

static void aml__bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > sizeof(a->buf) - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml__byte(struct aml *a, uint8_t b)
{
	aml__bytes(a, &b, 1);
}

static void aml__u32(struct aml *a, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	aml__bytes(a, b, 4);
}

/* PkgLength of a body of @body bytes: it counts its own 1 to 3 bytes. */
static void aml__pkg_length(struct aml *a, size_t body)
{
	size_t total;

	if (body + 1 < 0x40) {
		aml__byte(a, body + 1);
		return;
	}
	if (body + 2 < 0x1000) {
		total = body + 2;
		aml__byte(a, 0x40 | (total & 0xf));
		aml__byte(a, total >> 4);
		return;
	}
	total = body + 3;
	aml__byte(a, 0x80 | (total & 0xf));
	aml__byte(a, total >> 4);
	aml__byte(a, total >> 12);
}

/* @op [@ext], PkgLength, then @body. */
static void aml__package(struct aml *a, uint8_t ext, uint8_t op,
			 const struct aml *body)
{
	if (ext)
		aml__byte(a, ext);
	aml__byte(a, op);
	aml__pkg_length(a, body->len);
	aml__bytes(a, body->buf, body->len);
	a->overflow |= body->overflow;
}

/* Device (VRnn) { _HID "LNRO0005", _UID n, _CRS: window and IRQ }. */
static void aml__virtio_device(struct aml *a, unsigned int n, uint64_t base,
			       uint64_t size, unsigned int irq)
{
	static const char hex[] = "0123456789ABCDEF";
	struct aml dev = { .len = 0 }, crs = { .len = 0 };
	const char name[4] = { 'V', 'R', hex[(n >> 4) & 0xf], hex[n & 0xf] };

	aml__bytes(&dev, name, 4);
	aml__byte(&dev, AML_NAME);
	aml__bytes(&dev, "_HID", 4);
	aml__byte(&dev, AML_STRING_PREFIX);
	aml__bytes(&dev, "LNRO0005", 9);	/* with its NUL */
	aml__byte(&dev, AML_NAME);
	aml__bytes(&dev, "_UID", 4);
	aml__byte(&dev, AML_BYTE_PREFIX);
	aml__byte(&dev, n);

	aml__byte(&crs, AML_BYTE_PREFIX);	/* the buffer's size */
	aml__byte(&crs, 12 + 9 + 2);
	aml__byte(&crs, RES_MEMORY32_FIXED);
	aml__byte(&crs, 9);
	aml__byte(&crs, 0);
	aml__byte(&crs, 1);			/* read-write */
	aml__u32(&crs, base);
	aml__u32(&crs, size);
	aml__byte(&crs, RES_EXTENDED_IRQ);
	aml__byte(&crs, 6);
	aml__byte(&crs, 0);
	aml__byte(&crs, RES_IRQ_CONSUMER | RES_IRQ_EDGE);
	aml__byte(&crs, 1);			/* one interrupt */
	aml__u32(&crs, irq);
	aml__byte(&crs, RES_END_TAG);
	aml__byte(&crs, 0);			/* checksum: none */

	aml__byte(&dev, AML_NAME);
	aml__bytes(&dev, "_CRS", 4);
	aml__package(&dev, 0, AML_BUFFER, &crs);
	aml__package(a, AML_EXT_PREFIX, AML_DEVICE, &dev);
}

/* \_S5 and, in Scope (\_SB), the virtio-mmio devices. */
static void dsdt__build(struct vm *vm, struct aml *a)
{
	struct aml sb = { .len = 0 };
	unsigned int i;

	aml__bytes(a, dsdt_s5, sizeof(dsdt_s5));
	if (!vm->nr_virtio)
		return;
	aml__byte(&sb, AML_ROOT_CHAR);
	aml__bytes(&sb, "_SB_", 4);
	for (i = 0; i < vm->nr_virtio; i++)
		aml__virtio_device(&sb, i, vm->virtio[i]->mmio_base,
				   VIRTIO_MMIO_SIZE, vm->virtio[i]->irq);
	aml__package(a, 0, AML_SCOPE, &sb);
}

static void acpi_header__fill(struct acpi_header *h, const char *sig,
			      uint32_t length, uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = length;
	h->revision = revision;
	memcpy(h->oem_id, "PGTRAK", 6);
	memcpy(h->oem_table_id, "PAGETRAK", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "PTVM", 4);
	h->creator_revision = 1;
	h->checksum = byte_checksum(h, length);
}

/* Tables are laid out one after another, each 16-byte aligned. */
struct acpi_builder {
	struct vm *vm;
	uint64_t next;
};

static void *acpi_builder__alloc(struct acpi_builder *b, size_t len,
				 size_t align, uint64_t *gpa)
{
	void *p;

	b->next = (b->next + align - 1) & ~(uint64_t)(align - 1);
	if (b->next + len > BOOT_ACPI_END)
		return NULL;
	p = vm__gpa(b->vm, b->next, len);
	*gpa = b->next;
	b->next += len;
	return p;
}

static size_t madt_size(unsigned int nr_vcpus)
{
	return sizeof(struct acpi_header) + 8 +
	       nr_vcpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

static int madt__write(struct acpi_builder *b, uint64_t *gpa)
{
	struct vm *vm = b->vm;
	size_t len = madt_size(vm->nr_vcpus);
	uint8_t *madt = acpi_builder__alloc(b, len, 16, gpa), *p;
	uint8_t ioapic_id = vm->nr_vcpus;	/* as in the MP table */
	unsigned int i;

	if (!madt)
		return -ENOSPC;
	p = madt + sizeof(struct acpi_header);
	*(uint32_t *)p = APIC_DEFAULT_BASE;
	*(uint32_t *)(p + 4) = MADT_PCAT_COMPAT;
	p += 8;
	for (i = 0; i < vm->nr_vcpus; i++) {
		*(struct madt_lapic *)p = (struct madt_lapic) {
			.type = MADT_LAPIC, .length = sizeof(struct madt_lapic),
			.uid = i, .apic_id = i, .flags = 1,
		};
		p += sizeof(struct madt_lapic);
	}
	*(struct madt_ioapic *)p = (struct madt_ioapic) {
		.type = MADT_IOAPIC, .length = sizeof(struct madt_ioapic),
		.id = ioapic_id, .address = IOAPIC_DEFAULT_BASE,
	};
	p += sizeof(struct madt_ioapic);
	/* KVM's default routing sends ISA IRQ 0 (the PIT) to pin 2. */
	*(struct madt_iso *)p = (struct madt_iso) {
		.type = MADT_ISO, .length = sizeof(struct madt_iso),
		.irq = 0, .gsi = 2,
	};
	p += sizeof(struct madt_iso);
	*(struct madt_iso *)p = (struct madt_iso) {
		.type = MADT_ISO, .length = sizeof(struct madt_iso),
		.irq = SCI_IRQ, .gsi = SCI_IRQ, .flags = ISO_LEVEL_HIGH,
	};
	p += sizeof(struct madt_iso);
	*(struct madt_lapic_nmi *)p = (struct madt_lapic_nmi) {
		.type = MADT_LAPIC_NMI, .length = sizeof(struct madt_lapic_nmi),
		.uid = 0xff, .lint = 1,
	};
	acpi_header__fill((struct acpi_header *)madt, "APIC", len, 4);
	return 0;
}

int acpi__write_tables(struct vm *vm)
{
	struct acpi_builder b = { .vm = vm, .next = BOOT_ACPI };
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, facs_gpa, dsdt_gpa, madt_gpa;
	const size_t xsdt_len = sizeof(struct acpi_header) + 2 * 8;
	struct acpi_header *xsdt, *dsdt;
	struct aml aml = { .len = 0 };
	struct acpi_rsdp *rsdp;
	struct acpi_facs *facs;
	struct acpi_fadt *fadt;
	uint64_t *entries;

	memset(vm__gpa(vm, BOOT_ACPI, BOOT_ACPI_END - BOOT_ACPI), 0,
	       BOOT_ACPI_END - BOOT_ACPI);
	/* Written by the VMM, so not in KVM's log: Diffs must see it. */
	vm__mark_dirty(vm, BOOT_ACPI, BOOT_ACPI_END - BOOT_ACPI);
	rsdp = acpi_builder__alloc(&b, sizeof(*rsdp), 16, &rsdp_gpa);
	xsdt = acpi_builder__alloc(&b, xsdt_len, 16, &xsdt_gpa);
	fadt = acpi_builder__alloc(&b, sizeof(*fadt), 16, &fadt_gpa);
	facs = acpi_builder__alloc(&b, sizeof(*facs), 64, &facs_gpa);
	dsdt__build(vm, &aml);
	dsdt = acpi_builder__alloc(&b, sizeof(*dsdt) + aml.len, 16, &dsdt_gpa);
	if (!rsdp || !xsdt || !fadt || !facs || !dsdt || aml.overflow ||
	    madt__write(&b, &madt_gpa))
		return -ENOSPC;

	memcpy(dsdt + 1, aml.buf, aml.len);
	acpi_header__fill(dsdt, "DSDT", sizeof(*dsdt) + aml.len, 2);

	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);

	fadt->facs = facs_gpa;
	fadt->dsdt = dsdt_gpa;
	fadt->sci_int = SCI_IRQ;
	fadt->pm1a_evt_blk = ACPI_PM_BASE;
	fadt->pm1_evt_len = PM1_EVT_LEN;
	fadt->pm1a_cnt_blk = PM1_CNT;
	fadt->pm1_cnt_len = PM1_CNT_LEN;
	fadt->iapc_boot_arch = BOOT_ARCH_LEGACY | BOOT_ARCH_8042 |
			       BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC;
	fadt->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	acpi_header__fill(&fadt->h, "FACP", sizeof(*fadt), 6);

	entries = (uint64_t *)(xsdt + 1);
	entries[0] = fadt_gpa;
	entries[1] = madt_gpa;
	acpi_header__fill(xsdt, "XSDT", xsdt_len, 1);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "PGTRAK", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = xsdt_gpa;
	rsdp->checksum = byte_checksum(rsdp, offsetof(struct acpi_rsdp,
						      length));
	rsdp->ext_checksum = byte_checksum(rsdp, sizeof(*rsdp));
	return 0;
}

/*
 * PM1 status reads as zero: no fixed event is ever raised.  The enable
 * register keeps what is written, because ACPICA reads back the enable
 * bits it sets; it is not snapshotted, as without events nothing depends
 * on it once the guest has booted.
 */
struct acpi_pm {
	struct vm *vm;
	uint16_t pm1_en;
};

static struct acpi_pm acpi_pm;

static void acpi_pm__io(void *dev, uint16_t port, uint8_t *data,
			uint32_t len, bool is_write)
{
	struct acpi_pm *pm = dev;
	unsigned int off = port - ACPI_PM_BASE, i;
	uint8_t regs[PM1_EVT_LEN + PM1_CNT_LEN] = { 0 };

	memcpy(&regs[PM1_EN_OFF], &pm->pm1_en, sizeof(pm->pm1_en));
	regs[PM1_CNT - ACPI_PM_BASE] = PM1_SCI_EN;
	if (!is_write) {
		for (i = 0; i < len; i++)
			data[i] = off + i < sizeof(regs) ? regs[off + i] : 0;
		return;
	}
	for (i = 0; i < len && off + i < sizeof(regs); i++)
		regs[off + i] = data[i];
	memcpy(&pm->pm1_en, &regs[PM1_EN_OFF], sizeof(pm->pm1_en));
	if (off <= PM1_CNT - ACPI_PM_BASE + 1 &&
	    off + len > PM1_CNT - ACPI_PM_BASE) {
		uint16_t cnt;

		memcpy(&cnt, &regs[PM1_CNT - ACPI_PM_BASE], sizeof(cnt));
		if ((cnt & PM1_SLP_EN) && PM1_SLP_TYP(cnt) == SLP_TYP_S5)
			vm__request_exit(pm->vm, VM_EXIT_POWEROFF);
	}
}

int acpi_pm__init(struct vm *vm)
{
	acpi_pm = (struct acpi_pm) { .vm = vm };
	return ioport__register(ACPI_PM_BASE, PM1_EVT_LEN + PM1_CNT_LEN,
				acpi_pm__io, &acpi_pm);
}
