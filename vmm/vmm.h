/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's view of one virtual machine: KVM file descriptors, guest
 * memory, vCPUs and the devices the run loops dispatch to.
 */
#ifndef VMM_H
#define VMM_H

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "logger.h"
#include "metrics.h"

#define VMM_MAX_VCPUS		32

/* virtio-mmio devices: one IRQ each, of those the legacy devices leave. */
#define VMM_MAX_VIRTIO		15

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif
#define VMM_PAGE_SIZE		4096ULL
/* Where guest memory starts in the host: a huge page's size. */
#define VMM_MEM_ALIGN		(2ULL << 20)
/* huge_pages "2M": guest memory in hugetlbfs pages of this size. */
#define VMM_HUGE_PAGE_SIZE	(2ULL << 20)
/*
 * Guest RAM: slot 0 from 0 up to 3 GiB, below the 32-bit hole of the
 * virtio windows, the I/O APIC and the LAPIC; the rest in slot 1 from
 * 4 GiB.  The host maps it all in one piece, so a page's index in the
 * memory file, the dirty bitmaps and the layers is its host offset:
 * guest-physical addresses from 4 GiB are 1 GiB past their offset.
 */
#define VMM_LOW_MEM_END		(3ULL << 30)
#define VMM_HIGH_MEM_START	(4ULL << 30)
#define VMM_MAX_MEM		(256ULL << 30)

/*
 * Guest-physical layout at boot (below 1 MiB, as the kernel expects):
 * GDT and IDT for the 64-bit entry, the zero page, identity-mapping page
 * tables, the command line, the MP table and the ACPI tables.  The kernel goes to 1 MiB,
 * the initrd as high as the kernel allows.
 */
#define BOOT_GDT		0x500
#define BOOT_IDT		0x520
#define BOOT_PARAMS		0x7000
#define BOOT_STACK		0x8ff0
#define BOOT_PML4		0x9000
#define BOOT_PDPT		0xa000
#define BOOT_PD			0xb000	/* 4 pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE		0x20000
#define BOOT_CMDLINE_MAX	2048
#define BOOT_EBDA		0x9fc00	/* MP table; reserved in e820 */
#define BOOT_ACPI		0xe0000	/* RSDP and tables; reserved */
#define BOOT_ACPI_END		0xf0000
/*
 * [BOOT_ACPI_END, BOOT_KERNEL) is reserved and unused but for the page at
 * MEMFILE_ID_OFFSET (vmstate.h), which only memory files hold: the
 * identity of the snapshot each one belongs to.
 */
#define BOOT_KERNEL		0x100000
#define BOOT_CS			0x10	/* __BOOT_CS */
#define BOOT_DS			0x18	/* __BOOT_DS */

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
};

enum vm_exit_reason {
	VM_RUNNING,
	VM_EXIT_RESET,		/* the guest asked for a reset (reboot) */
	VM_EXIT_POWEROFF,	/* the guest entered ACPI S5 */
	VM_EXIT_SHUTDOWN,	/* triple fault */
	VM_EXIT_ERROR,		/* KVM or device error */
	VM_EXIT_SIGNAL,		/* SIGINT or SIGTERM */
};

/* Samples a working-set window's first-access order (sampler.c). */
struct sampler {
	unsigned int interval_ms;	/* 0: no sampling */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running;
	bool stop;
};

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size;

	uint8_t *mem;
	uint64_t mem_size;
	bool track_dirty;	/* slot logs dirty pages for diff snapshots */
	/*
	 * Pages dirtied outside KVM's log since the last snapshot: the VMM's
	 * own writes, and a harvest a failed snapshot could not write out.
	 */
	uint64_t *pending_dirty;
	/*
	 * Working-set recorder: a window opens whenever the vCPUs start or
	 * resume and closes when they pause.  NULL unless asked for.
	 */
	struct wset *ws;
	struct sampler sampler;
	/* A VM loaded from a snapshot: its memory file and vmstate CRC. */
	int base_mem_fd;
	uint32_t base_crc;
	/* The last snapshot taken or loaded: the parent of a Diff. */
	uint8_t snapshot_id[16];
	struct prefetch *prefetch;	/* restored from layers */
	bool huge_mem;			/* guest memory 2 MiB aligned */
	bool hugetlb;			/* in 2 MiB hugetlbfs pages */
	int uffd;			/* Uffd backend, or -1 */

	unsigned int nr_vcpus;
	struct vcpu vcpus[VMM_MAX_VCPUS];

	/* virtio-mmio devices, by slot (virtio/core.c). */
	unsigned int nr_virtio;
	struct virtio_dev *virtio[VMM_MAX_VIRTIO];

	pthread_mutex_t lock;	/* exit and pause state */
	pthread_cond_t exited;
	enum vm_exit_reason exit_reason;
	bool started;		/* every vCPU's run loop is running */
	bool pause_requested;
	unsigned int nr_paused;	/* vCPUs parked while pause_requested */
	pthread_cond_t paused;	/* nr_paused or pause_requested changed */
};

/* vm.c */
void vm__prepare(struct vm *vm);
int vm__init(struct vm *vm, uint64_t mem_size, unsigned int nr_vcpus,
	     int mem_fd, bool track_dirty, bool track_ws);
void vm__mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len);
int vm__get_dirty_log(struct vm *vm, uint64_t *bitmap);
void vm__destroy(struct vm *vm);
void vm__request_exit(struct vm *vm, enum vm_exit_reason reason);
int vm__start(struct vm *vm);
bool vm__half_built(struct vm *vm);
void vm__pause(struct vm *vm);
void vm__resume(struct vm *vm);
bool vm__is_paused(struct vm *vm);
int vm__irq_line(struct vm *vm, unsigned int irq, int level);
void *vm__gpa(struct vm *vm, uint64_t gpa, uint64_t len);
/* Bytes of guest RAM below the hole (slot 0). */
uint64_t vm__low_mem(const struct vm *vm);
uint64_t vm__page_size(const struct vm *vm);
int vm__check_hugetlb_pool(uint64_t mem_size, char *err, size_t errlen);

/* vcpu_state.c */
struct vsbuf;
int vcpu__save(struct vcpu *vcpu, struct vsbuf *b);
int vcpus__restore_tsc(struct vm *vm, const void *const *sections,
		       char *err, size_t errlen);
int vcpu__restore(struct vcpu *vcpu, const void *data, size_t len,
		  char *err, size_t errlen);

/* vcpu.c */
int vcpu__init(struct vcpu *vcpu, struct vm *vm, unsigned int id);
int vcpu__setup_boot(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params);
int vcpu__start(struct vcpu *vcpu);
void vcpu__kick(struct vcpu *vcpu);
void vcpu__kvmclock_ctrl(struct vcpu *vcpu);
void vcpu__join(struct vcpu *vcpu);

/* ioport.c */
typedef void (*ioport_fn)(void *dev, uint16_t port, uint8_t *data,
			  uint32_t len, bool is_write);
int ioport__register(uint16_t base, uint16_t count, ioport_fn fn, void *dev);
void ioport__dispatch(uint16_t port, uint8_t *data, uint32_t len,
		      bool is_write);

/* mmio.c: handlers get the offset into their range. */
typedef void (*mmio_fn)(void *dev, uint64_t offset, uint8_t *data,
			uint32_t len, bool is_write);
int mmio__register(uint64_t base, uint64_t len, mmio_fn fn, void *dev);
void mmio__unregister(uint64_t base);
void mmio__dispatch(uint64_t addr, uint8_t *data, uint32_t len,
		    bool is_write);

/* boot.c */
struct boot_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
};
int boot__load_linux(struct vm *vm, const struct boot_config *cfg,
		     uint64_t *entry, uint64_t *boot_params);
/* Whether @path is a kernel boot__load_linux can load; else why not. */
int boot__check_kernel(const char *path, char *err, size_t errlen);

/* What makes @len bytes sum to zero: MP and ACPI tables' checksum. */
static inline uint8_t byte_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

/* mptable.c */
int mptable__write(struct vm *vm);

/* acpi.c */
int acpi__write_tables(struct vm *vm);
int acpi_pm__init(struct vm *vm);

/* restore.c */
int restore__open_layers(struct vm *vm, const char *path, uint64_t mem_size,
			 uint32_t crc, char *err, size_t errlen);
int restore__map_layers(struct vm *vm, bool huge, char *err, size_t errlen);
void restore__exit(struct vm *vm);

/* sampler.c */
void sampler__start(struct vm *vm);
void sampler__stop(struct vm *vm);

/* uffd.c */
int uffd__connect(const char *path, char *err, size_t errlen);
int uffd__attach(struct vm *vm, int sock, char *err, size_t errlen);

/* devices.c */
int devices__init(struct vm *vm, int console_in, int console_out);

/* serial.c */
struct vs_serial;
int serial__init(struct vm *vm, int in_fd, int out_fd);
void serial__exit(void);
void serial__save(struct vs_serial *vs);
int serial__restore(const struct vs_serial *vs);

/* i8042.c */
int i8042__init(struct vm *vm);
/* SendCtrlAltDel: 0, -ENOSPC (buffer full) or -ENODEV (no VM). */
int i8042__ctrl_alt_del(void);

/* caps.c */
int caps__drop_all(void);


/* ioctl() that logs its name on failure and returns -errno. */
#define vm_ioctl(fd, cmd, arg)						\
	({								\
		int __r = ioctl(fd, cmd, arg);				\
		if (__r < 0) {						\
			__r = -errno;					\
			vmm__log("%s: %s", #cmd, strerror(errno));	\
		}							\
		__r;							\
	})


#endif
