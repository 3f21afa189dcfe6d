/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmstate file: a header (magic, format version, payload length and
 * CRC-32) and a payload of typed, sized sections.  Every section is
 * checked against its expected size on load, so a truncated, corrupted or
 * foreign file is refused with a reason before anything is restored.
 */
#ifndef VMM_VMSTATE_H
#define VMM_VMSTATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMSTATE_MAGIC		"PTVMSTAT"
/*
 * Version 2: the vCPU section gives the TSC frequency, the VM section the
 * snapshot's identity.  Version 3: virtio devices, one section each, which
 * a version-2 reader would silently drop.  Older files are refused by the
 * version check.
 */
#define VMSTATE_VERSION		3
#define VMSTATE_MAX_SIZE	(64ULL << 20)

struct vmstate_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t payload_len;
	uint32_t payload_crc;
	uint32_t header_crc;	/* of the fields above */
};

enum vmstate_section_type {
	VS_VM = 1,
	VS_MEMORY,
	VS_VCPU,
	VS_IRQCHIP,
	VS_PIT,
	VS_CLOCK,
	VS_SERIAL,
	VS_VIRTIO,	/* one per virtio device, in slot order */
};

struct vmstate_section {
	uint32_t type;
	uint32_t reserved;
	uint64_t len;
};

#define VS_ID_BYTES	16

/*
 * @id is random, new for every snapshot, and also in the identity page
 * of its memory file, so that a vmstate is never paired with another snapshot's
 * memory.  A Diff names in @parent_id the snapshot it is a diff of (zero:
 * none was taken since boot); a Full has no parent.
 */
struct vs_vm {
	uint64_t mem_size;
	uint32_t nr_vcpus;
	uint32_t flags;		/* VS_VM_*; 0 in files before they were */
	uint8_t id[VS_ID_BYTES];
	uint8_t parent_id[VS_ID_BYTES];
};

/*
 * Guest memory in 2 MiB hugetlbfs pages (huge_pages "2M"): a restore
 * uses them too and goes through the Uffd backend, as in Firecracker.
 */
#define VS_VM_HUGETLB_2M	(1u << 0)
#define VS_VM_FLAGS		VS_VM_HUGETLB_2M

enum vs_memory_type { VS_MEM_FULL, VS_MEM_DIFF };

/* Followed, for a diff, by bitmap_bytes of dirty-log-layout bitmap. */
struct vs_memory {
	uint32_t type;
	uint32_t reserved;
	uint64_t mem_size;
	uint64_t bitmap_bytes;
};

#define VS_MAX_CPUID	256

/* Followed by nr_msrs kvm_msr_entry and nr_cpuid kvm_cpuid_entry2. */
struct vs_vcpu {
	uint32_t id;
	uint32_t nr_msrs;
	uint32_t nr_cpuid;
	uint32_t tsc_khz;	/* KVM_GET_TSC_KHZ */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_debugregs debugregs;
};

struct vs_irqchip {
	struct kvm_irqchip chip[3];	/* PIC master, PIC slave, IOAPIC */
};

struct vs_serial {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, thri_pending;
	uint32_t rx_len;
	uint8_t rx[64];
};

struct vs_virtq {
	uint16_t max_size;
	uint16_t size;
	uint16_t last_avail;
	uint16_t used_idx;
	uint32_t ready;
	uint32_t reserved;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
};

#define VS_VIRTIO_QUEUES	8

/*
 * A virtio device: the transport's state, then @state_len bytes of the
 * device type's own, whose layout @version names.
 */
struct vs_virtio {
	uint32_t device_id;
	uint32_t version;
	uint32_t index;			/* register window and IRQ slot */
	uint32_t status;
	char id[64];
	uint64_t driver_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint32_t nr_queues;
	struct vs_virtq vqs[VS_VIRTIO_QUEUES];
	uint64_t state_len;
};

struct vsbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int error;
};

#define VMSTATE_PAGE_SIZE	4096ULL
#define VMSTATE_HUGE_PAGE_SIZE	(2ULL << 20)	/* VS_VM_HUGETLB_2M */

/* Writing: sections appended to a growing buffer. */
void vsbuf__init(struct vsbuf *b);
void vsbuf__free(struct vsbuf *b);
/*
 * Append a section of @len zeroed bytes and return them to fill in.  The
 * buffer grows by realloc(), so the pointer is good only until the next
 * section is appended: fill it before then, or use vsbuf__add().  It is
 * 8-byte aligned only if every section before is a multiple of 8 bytes
 * long (vs_serial is not): after such a one, fill it with memcpy().
 */
void *vsbuf__section(struct vsbuf *b, uint32_t type, size_t len);
/* Append @len raw bytes, no section header (a device's own state). */
int vsbuf__append(struct vsbuf *b, const void *data, size_t len);
/* Append a section holding a copy of @data; 0 or the buffer's error. */
int vsbuf__add(struct vsbuf *b, uint32_t type, const void *data, size_t len);
/* The VM and memory sections; @dirty is a Diff's bitmap, NULL for Full. */
int vsbuf__add_layout(struct vsbuf *b, const struct vs_vm *vm,
		      const uint64_t *dirty);
int vstate__write_file(const char *path, const struct vsbuf *payload,
		       char *err, size_t errlen);
/* The same into a synced temporary file next to @path, named in @tmp. */
int vstate__write_temp(const char *path, const struct vsbuf *payload,
		       char *tmp, char *err, size_t errlen);

/* A new random snapshot identity. */
int vstate__new_id(uint8_t id[VS_ID_BYTES]);
bool vstate__id_is_zero(const uint8_t id[VS_ID_BYTES]);
/* @id in hex, in @out of at least 2 * VS_ID_BYTES + 1 bytes. */
void vstate__format_id(const uint8_t id[VS_ID_BYTES], char *out);

/*
 * The memory file is guest memory byte for byte from offset 0 and no
 * longer, as Firecracker writes it: the File backend maps it as it is,
 * and page-fault handlers written for Firecracker check that the regions
 * of the Uffd handshake add up to its size.  Its identity is therefore
 * one page of guest memory the guest never uses: MEMFILE_ID_OFFSET is
 * reserved in the e820 map (below the kernel, above the ACPI tables; see
 * vmm/vmm.h) and is written there, in the file only, by every create.
 * Not an extended attribute: it survives cp, tar and filesystems without
 * user xattrs (tmpfs before 6.6, some network filesystems).
 */
#define MEMFILE_MAGIC		"PTSNAPID"
#define MEMFILE_ID_OFFSET	0xff000ULL
#define MEMFILE_ID_PAGE		(MEMFILE_ID_OFFSET / VMSTATE_PAGE_SIZE)

struct memfile_id {
	char magic[8];
	uint32_t version;	/* 1 */
	uint32_t size;		/* of this structure */
	uint64_t mem_size;
	uint8_t id[VS_ID_BYTES];
	uint32_t reserved;
	uint32_t crc;		/* of the fields above */
};

/*
 * The memory-file offset of guest-physical @gpa: the file holds the RAM
 * below the 32-bit hole, then the RAM from 4 GiB (vmm/vmm.h), so from
 * 4 GiB a page is 1 GiB before its address.
 */
uint64_t memfile__offset(uint64_t gpa);

/* Write the identity page of snapshot @id into memory file @fd. */
int memfile__write_id(int fd, uint64_t mem_size,
		      const uint8_t id[VS_ID_BYTES]);
/*
 * Guest memory into a synced temporary file next to @path, named in @tmp:
 * all of it, or with @bitmap (a Diff) only those pages, sparse; then the
 * identity page.
 */
int memfile__write_temp(const char *path, const uint8_t *mem,
			uint64_t mem_size, const uint64_t *bitmap,
			const uint8_t id[VS_ID_BYTES], char *tmp, char *err,
			size_t errlen);
/*
 * The identity of @fd: 0, or -ENODATA when it has no valid one or the
 * file is not as long as the memory the identity names.
 */
int memfile__read_id(int fd, struct memfile_id *t);
/*
 * That @fd is the memory file of snapshot @id; why not in @err, and
 * -ESTALE when it is another snapshot's.
 */
int memfile__check(int fd, const char *path, uint64_t mem_size,
		   const uint8_t id[VS_ID_BYTES], char *err, size_t errlen);
/*
 * Open the memory file of snapshot @id read-only, checked: @path, or the
 * "@path.prev" an interrupted create kept (file__open_current); the name
 * opened in @used (4200 bytes).  The fd, or -errno with the reason.
 */
int memfile__open(const char *path, uint64_t mem_size,
		  const uint8_t id[VS_ID_BYTES], char *used, char *err,
		  size_t errlen);
struct layers;
/* The same for the layer file of the snapshot with vmstate CRC @crc. */
int vstate__open_layers(const char *path, uint64_t mem_size, uint32_t crc,
			struct layers *l, char *used, char *err, size_t errlen);

/*
 * Reading: the whole file checked, then sections looked up by type.  In
 * @data, the header, then each section 8-byte aligned (in the file they
 * are packed), so the structures they hold are read in place.
 */
struct vstate {
	uint8_t *data;
	size_t len;
};

/* vstate__read_file() of the @size bytes of a file at @file. */
int vstate__parse(const void *file, size_t size, struct vstate *vs,
		  char *err, size_t errlen);

int vstate__read_file(const char *path, struct vstate *vs, char *err,
		      size_t errlen);
void vstate__free(struct vstate *vs);
/* The @nth section of @type: its data and length, or NULL. */
const void *vstate__find(const struct vstate *vs, uint32_t type,
			 unsigned int nth, size_t *len);

/* The snapshot's identity, which its layer files carry: the payload CRC. */
static inline uint32_t vstate__id(const struct vstate *vs)
{
	return ((const struct vmstate_header *)vs->data)->payload_crc;
}

/*
 * The VM and memory sections, checked against each other: sizes, a
 * known memory type, and for a Diff a bitmap of exactly one bit per page.
 * On failure the reason is in @err.
 */
int vstate__layout(const struct vstate *vs, const struct vs_vm **vm,
		   const struct vs_memory **mem, char *err, size_t errlen);

/*
 * The @len bytes of a vCPU section: vCPU @id's, with a TSC rate, and
 * exactly as long as its MSR and CPUID counts say.
 */
int vstate__check_vcpu(const void *data, size_t len, unsigned int id,
		       char *err, size_t errlen);
/*
 * Every section a restore reads, checked before a VM is built: @vm's
 * vCPUs, then the irqchip, PIT, clock and serial state.
 */
int vstate__check_sections(const struct vstate *vs, const struct vs_vm *vm,
			   char *err, size_t errlen);

/*
 * Copy of @vs whose memory section says Full (a merged diff chain): same
 * identity, no parent.
 */
int vstate__as_full(const struct vstate *vs, struct vsbuf *out);

int file__create_temp(const char *path, char *tmp, char *err, size_t errlen);
/* Remove what file__create_temp() left of @path in a killed process. */
void file__remove_stale_temps(const char *path);
/* fsync and close @fd; on failure @tmp is removed. */
int file__sync_temp(int fd, const char *tmp, char *err, size_t errlen);
/* Rename the synced @tmp over @path and sync the directory. */
int file__rename_temp(const char *tmp, const char *path, char *err,
		      size_t errlen);
int file__commit_temp(int fd, const char *tmp, const char *path, char *err,
		      size_t errlen);

/*
 * A create that replaces a snapshot's files in place renames the memory
 * file (and layers) before the vmstate, so for a while the vmstate on
 * disk is the old one.  Before each such rename, file__keep_previous()
 * hard-links the file the old vmstate needs to "@path.prev", unless
 * @superseded: @path is no longer that file because an interrupted create
 * renamed over it already, and .prev, which it kept, is.  After the
 * vmstate's rename, the commit, file__drop_previous() removes .prev.
 */
int file__keep_previous(const char *path, bool superseded, char *err,
			size_t errlen);
void file__drop_previous(const char *path);
/*
 * Load's side: @open_one(@path), and when it returns -ESTALE (the file
 * belongs to another snapshot) @open_one("@path.prev").  Returns what
 * @open_one returned for the file used, named in @used (4200 bytes); if
 * neither belongs, the first call's result and reason.
 */
int file__open_current(const char *path,
		       int (*open_one)(const char *path, void *arg, char *err,
				       size_t errlen),
		       void *arg, char *used, char *err, size_t errlen);

#endif
