// SPDX-License-Identifier: GPL-2.0
/*
 * An Intel MultiProcessor Specification 1.4 table, which is how Linux
 * finds the vCPUs and the I/O APIC without ACPI.  It lives at the start of
 * the last KiB of base memory, where Linux looks for it.
 */
#include <errno.h>
#include <string.h>

#include "vmm.h"

#define APIC_DEFAULT_BASE	0xfee00000U
#define IOAPIC_DEFAULT_BASE	0xfec00000U
#define APIC_VERSION		0x14
#define IOAPIC_VERSION		0x11

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

#define CPU_ENABLED		1
#define CPU_BOOTPROCESSOR	2
#define ISA_IRQS		16

int mptable__write(struct vm *vm)
{
	const size_t room = 0xa0000 - BOOT_EBDA;
	uint8_t *base = vm__gpa(vm, BOOT_EBDA, room), *p;
	struct mpf_intel *mpf = (struct mpf_intel *)base;
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	uint8_t ioapic_id = vm->nr_vcpus;
	unsigned int i, entries = 0;

	if (!base || sizeof(*mpf) + sizeof(*mpc) +
	    vm->nr_vcpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	    sizeof(struct mpc_ioapic) +
	    (ISA_IRQS + 2) * sizeof(struct mpc_intsrc) > room)
		return -ENOSPC;
	memset(base, 0, room);
	/* Written by the VMM, so not in KVM's log: Diffs must see it. */
	vm__mark_dirty(vm, BOOT_EBDA, room);
	p = (uint8_t *)(mpc + 1);

	for (i = 0; i < vm->nr_vcpus; i++, entries++) {
		struct mpc_cpu *cpu = (struct mpc_cpu *)p;

		cpu->type = MP_PROCESSOR;
		cpu->apicid = i;
		cpu->apicver = APIC_VERSION;
		cpu->cpuflag = CPU_ENABLED | (i ? 0 : CPU_BOOTPROCESSOR);
		cpu->cpufeature = 0x600;	/* family 6 */
		cpu->featureflag = 0x201;	/* FPU, APIC */
		p += sizeof(*cpu);
	}

	*(struct mpc_bus *)p = (struct mpc_bus) {
		.type = MP_BUS, .busid = 0, .bustype = "ISA   ",
	};
	p += sizeof(struct mpc_bus);
	entries++;

	*(struct mpc_ioapic *)p = (struct mpc_ioapic) {
		.type = MP_IOAPIC, .apicid = ioapic_id,
		.apicver = IOAPIC_VERSION, .flags = 1,
		.apicaddr = IOAPIC_DEFAULT_BASE,
	};
	p += sizeof(struct mpc_ioapic);
	entries++;

	/* KVM's default routing sends ISA IRQ 0 (the PIT) to pin 2. */
	for (i = 0; i < ISA_IRQS; i++, entries++) {
		*(struct mpc_intsrc *)p = (struct mpc_intsrc) {
			.type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0,
			.srcbusirq = i, .dstapic = ioapic_id,
			.dstirq = i ? i : 2,
		};
		p += sizeof(struct mpc_intsrc);
	}
	*(struct mpc_intsrc *)p = (struct mpc_intsrc) {
		.type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0xff,
		.dstirq = 0,
	};
	p += sizeof(struct mpc_intsrc);
	*(struct mpc_intsrc *)p = (struct mpc_intsrc) {
		.type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = 0xff,
		.dstirq = 1,
	};
	p += sizeof(struct mpc_intsrc);
	entries += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = p - (uint8_t *)mpc;
	mpc->spec = 4;
	memcpy(mpc->oem, "PAGETRAK", 8);
	memcpy(mpc->productid, "VMM         ", 12);
	mpc->oemcount = entries;
	mpc->lapic = APIC_DEFAULT_BASE;
	mpc->checksum = byte_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = BOOT_EBDA + sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = byte_checksum(mpf, sizeof(*mpf));
	return 0;
}
