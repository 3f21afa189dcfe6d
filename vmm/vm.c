// SPDX-License-Identifier: GPL-2.0
/* The VM: KVM, guest memory, in-kernel interrupt controllers and PIT. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bitmap.h"
#include "vmm.h"
#include "virtio/virtio.h"
#include "wset.h"

/* Where KVM may put its real-mode TSS and identity map (Intel): unused. */
#define KVM_TSS_ADDR		0xfffbd000UL
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000UL

/* Locks and "nothing open yet": once, before any other thread exists. */
void vm__prepare(struct vm *vm)
{
	pthread_condattr_t monotonic;
	unsigned int i;

	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->sampler.lock, NULL);
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->sampler.wake, &monotonic);
	pthread_condattr_destroy(&monotonic);
	pthread_cond_init(&vm->exited, NULL);
	pthread_cond_init(&vm->paused, NULL);
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	vm->base_mem_fd = -1;
	vm->uffd = -1;
	/* 0 is a valid descriptor (stdin may be closed): -1 means none. */
	for (i = 0; i < VMM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
}

/*
 * Guest memory is anonymous, or with @fd a private mapping of a snapshot's
 * memory file: pages load lazily on first touch and the file is never
 * written.
 *
 * With @align it starts at a host address aligned to VMM_MEM_ALIGN: KVM
 * maps a transparent huge page of it with one entry only where guest and
 * host addresses agree modulo 2 MiB, and mmap() aligns neither a file
 * mapping nor, before Linux 6.7, an anonymous one.  Only restores into
 * huge pages ask for it: booted guests keep the 4 KiB nested mappings
 * every test ran with (a booted guest that hung in the test VM in the
 * first CI run with aligned memory is not yet explained).
 */
static uint8_t *map_guest_memory(uint64_t size, int fd, bool align)
{
	uint8_t *area, *mem;
	uintptr_t pad;

	if (!align) {
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_NORESERVE |
			   (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
		return mem == MAP_FAILED ? NULL : mem;
	}
	area = mmap(NULL, size + VMM_MEM_ALIGN, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	pad = -(uintptr_t)area & (VMM_MEM_ALIGN - 1);
	mem = mmap(area + pad, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE |
		   (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
	if (mem == MAP_FAILED) {
		munmap(area, size + VMM_MEM_ALIGN);
		return NULL;
	}
	if (pad)
		munmap(area, pad);
	munmap(mem + size, VMM_MEM_ALIGN - pad);
	return mem;
}

/*
 * huge_pages "2M": anonymous memory in 2 MiB hugetlbfs pages, which the
 * kernel aligns.  Unlike Firecracker (MAP_NORESERVE, and a SIGBUS when
 * the pool runs dry), the pages are reserved here, so a pool too small
 * fails the mmap() and the request that asked for it, not the guest.
 */
static uint8_t *map_hugetlb_memory(uint64_t size)
{
	uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			    MAP_HUGE_2MB, -1, 0);

	return mem == MAP_FAILED ? NULL : mem;
}

#define HUGETLB_2M_SYSFS	"/sys/kernel/mm/hugepages/hugepages-2048kB/"

static long read_hugetlb_count(const char *name)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), HUGETLB_2M_SYSFS "%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/*
 * Whether the host's pool has the 2 MiB pages a guest of @mem_size needs,
 * free and not reserved by another mapping: asked before a VM is built,
 * so that a refusal leaves the VMM able to take the next request.  A
 * mapping made meanwhile can still take them; vm__init() then fails.
 */
int vm__check_hugetlb_pool(uint64_t mem_size, char *err, size_t errlen)
{
	long need = mem_size / VMM_HUGE_PAGE_SIZE;
	long free_pages = read_hugetlb_count("free_hugepages");
	long resv = read_hugetlb_count("resv_hugepages");
	long over = read_hugetlb_count("nr_overcommit_hugepages");
	long surplus = read_hugetlb_count("surplus_hugepages");
	long avail;

	if (free_pages < 0 || resv < 0 || over < 0 || surplus < 0) {
		snprintf(err, errlen, "huge_pages 2M: this host has no 2 MiB "
			 "hugetlbfs pages (%s)", HUGETLB_2M_SYSFS);
		return -ENODEV;
	}
	/* Surplus pages the kernel may still make count too. */
	avail = free_pages - resv + (over > surplus ? over - surplus : 0);
	if (avail < need) {
		snprintf(err, errlen, "huge_pages 2M: the guest needs %ld "
			 "free 2 MiB huge pages, the host's pool has %ld "
			 "(raise vm.nr_hugepages)", need, avail);
		return -ENOMEM;
	}
	return 0;
}

uint64_t vm__page_size(const struct vm *vm)
{
	return vm->hugetlb ? VMM_HUGE_PAGE_SIZE : VMM_PAGE_SIZE;
}

static int create_vm(struct vm *vm)
{
	int ret;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		vmm__log("/dev/kvm: %s", strerror(errno));
		return ret;
	}
	ret = vm_ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		vmm__log("KVM API version %d, expected %d", ret,
			 KVM_API_VERSION);
		return -EINVAL;
	}
	vm->vm_fd = vm_ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	return vm->vm_fd < 0 ? vm->vm_fd : 0;
}

int vm__init(struct vm *vm, uint64_t mem_size, unsigned int nr_vcpus,
	     int mem_fd, bool track_dirty, bool track_ws)
{
	struct kvm_pit_config pit = { .flags = 0 };
	struct kvm_userspace_memory_region region;
	int ret;

	/*
	 * Memory first: a mapping refused (huge pages a hugetlb cgroup or a
	 * racing mapping took) fails the request before a VM exists, and
	 * the VMM can take the next one.
	 */
	vm->mem_size = mem_size;
	vm->mem = vm->hugetlb ? map_hugetlb_memory(mem_size) :
		  map_guest_memory(mem_size, mem_fd, vm->huge_mem);
	if (!vm->mem) {
		ret = -errno;
		vmm__log("cannot map %llu MiB of guest memory%s: %s",
			 (unsigned long long)(mem_size >> 20),
			 vm->hugetlb ? " in 2 MiB huge pages" : "",
			 strerror(errno));
		return ret;
	}
	ret = create_vm(vm);
	if (ret) {
		/* No VM: nothing is half built, the next request may try. */
		if (vm->kvm_fd >= 0)
			close(vm->kvm_fd);
		vm->kvm_fd = -1;
		munmap(vm->mem, mem_size);
		vm->mem = NULL;
		return ret;
	}
	ret = vm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret < 0)
		return ret;
	vm->run_size = ret;

	if ((ret = vm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR)) ||
	    (ret = vm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
			    &(uint64_t){ KVM_IDENTITY_MAP_ADDR })) ||
	    (ret = vm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0)) ||
	    (ret = vm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit)))
		return ret;

	/* The recorder needs KVM's dirty log, so it turns logging on. */
	vm->track_dirty = track_dirty || track_ws;
	if (vm->track_dirty) {
		vm->pending_dirty = bitmap__alloc(mem_size / VMM_PAGE_SIZE);
		if (!vm->pending_dirty)
			return -ENOMEM;
	}
	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.flags = vm->track_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = 0,
		.memory_size = vm__low_mem(vm),
		.userspace_addr = (uintptr_t)vm->mem,
	};
	ret = vm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
	if (ret)
		return ret;
	if (mem_size > VMM_LOW_MEM_END) {
		region.slot = 1;
		region.guest_phys_addr = VMM_HIGH_MEM_START;
		region.memory_size = mem_size - VMM_LOW_MEM_END;
		region.userspace_addr = (uintptr_t)vm->mem + VMM_LOW_MEM_END;
		ret = vm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
		if (ret)
			return ret;
	}
	if (track_ws) {
		vm->ws = malloc(sizeof(*vm->ws));
		if (!vm->ws)
			return -ENOMEM;
		ret = wset__init(vm->ws, vm->mem, mem_size / VMM_PAGE_SIZE,
				 vm->vm_fd, vm__low_mem(vm) / VMM_PAGE_SIZE);
		if (ret) {
			vmm__log("working-set tracking: %s%s", strerror(-ret),
				 ret == -ENODEV ? " (is pagetrack.ko loaded?)" :
				 "");
			free(vm->ws);
			vm->ws = NULL;
			return ret;
		}
	}

	vm->nr_vcpus = nr_vcpus;
	return 0;
}

void vm__destroy(struct vm *vm)
{
	unsigned int i;

	/* Device threads use guest memory: they stop first. */
	virtio__destroy_all(vm);
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	restore__exit(vm);
	sampler__stop(vm);
	if (vm->ws) {
		wset__exit(vm->ws);
		free(vm->ws);
	}
	if (vm->base_mem_fd >= 0)
		close(vm->base_mem_fd);
	if (vm->uffd >= 0)
		close(vm->uffd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	free(vm->pending_dirty);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}

/* The first reason wins; every vCPU is kicked out of KVM_RUN. */
void vm__request_exit(struct vm *vm, enum vm_exit_reason reason)
{
	unsigned int i;

	pthread_mutex_lock(&vm->lock);
	if (vm->exit_reason == VM_RUNNING) {
		vm->exit_reason = reason;
		pthread_cond_broadcast(&vm->exited);
		pthread_cond_broadcast(&vm->paused);
	}
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(&vm->vcpus[i]);
}

/*
 * Working-set windows follow the vCPUs: one opens as they start or
 * resume, and closes once all are paused.  A recorder that fails is
 * reported and leaves no window, so layers are refused rather than wrong.
 */
static void vm__open_window(struct vm *vm)
{
	int ret;

	if (!vm->ws)
		return;
	ret = wset__start(vm->ws, vm->pending_dirty);
	if (ret)
		vmm__log("working set: cannot open a window: %s",
			 strerror(-ret));
	else
		sampler__start(vm);
}

static void vm__close_window(struct vm *vm)
{
	int ret;

	if (!vm->ws || !vm->ws->recording)
		return;
	sampler__stop(vm);
	ret = wset__stop(vm->ws, vm->pending_dirty);
	if (ret)
		vmm__log("working set: cannot close the window: %s",
			 strerror(-ret));
}

/* Until every vCPU is parked, or the VM stops: whether they all parked. */
static bool vm__wait_parked(struct vm *vm)
{
	bool parked;

	pthread_mutex_lock(&vm->lock);
	while (vm->nr_paused < vm->nr_vcpus && vm->exit_reason == VM_RUNNING)
		pthread_cond_wait(&vm->paused, &vm->lock);
	parked = vm->exit_reason == VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return parked;
}

/*
 * Start every vCPU's run loop.  The VM counts as started only once all
 * run; if one cannot, the VM is ended.
 */
int vm__start(struct vm *vm)
{
	unsigned int i;
	int ret;

	if (!vm->pause_requested)
		vm__open_window(vm);
	else
		virtio__pause_all(vm);
	ret = virtio__start_all(vm);
	if (ret) {
		vmm__log("cannot start the virtio devices: %s", strerror(-ret));
		vm__request_exit(vm, VM_EXIT_ERROR);
		return ret;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu__start(&vm->vcpus[i]);
		if (ret) {
			vm__request_exit(vm, VM_EXIT_ERROR);
			return ret;
		}
	}
	/* Started paused (a snapshot load): paused once all have parked. */
	if (vm->pause_requested)
		vm__wait_parked(vm);
	pthread_mutex_lock(&vm->lock);
	vm->started = true;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/*
 * A boot or snapshot load that failed after creating the VM leaves one
 * that neither runs nor can be set up again: only a new process helps.
 */
bool vm__half_built(struct vm *vm)
{
	bool started;

	pthread_mutex_lock(&vm->lock);
	started = vm->started;
	pthread_mutex_unlock(&vm->lock);
	return vm->vm_fd >= 0 && !started;
}

/*
 * Returns once every vCPU is parked outside KVM_RUN, so that its state
 * can be read and guest memory is no longer written by the guest.
 */
void vm__pause(struct vm *vm)
{
	unsigned int i;

	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = true;
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(&vm->vcpus[i]);

	if (vm__wait_parked(vm))
		for (i = 0; i < vm->nr_vcpus; i++)
			vcpu__kvmclock_ctrl(&vm->vcpus[i]);
	/* No request in flight once this returns: snapshots may follow. */
	virtio__pause_all(vm);
	vm__close_window(vm);
}

void vm__resume(struct vm *vm)
{
	vm__open_window(vm);
	virtio__resume_all(vm);
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->paused);
	pthread_mutex_unlock(&vm->lock);
}

bool vm__is_paused(struct vm *vm)
{
	bool paused;

	/* Requested is not enough: a vCPU may still be writing memory. */
	pthread_mutex_lock(&vm->lock);
	paused = vm->pause_requested && vm->nr_paused == vm->nr_vcpus;
	pthread_mutex_unlock(&vm->lock);
	return paused;
}

int vm__irq_line(struct vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level line = { .irq = irq, .level = level };

	return vm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &line);
}

/* The VMM wrote guest memory: KVM's log does not see it, diffs must. */
uint64_t vm__low_mem(const struct vm *vm)
{
	return vm->mem_size < VMM_LOW_MEM_END ? vm->mem_size : VMM_LOW_MEM_END;
}

/* The host offset of guest-physical @gpa..+@len, in one slot, or false. */
static bool vm__offset(const struct vm *vm, uint64_t gpa, uint64_t len,
		       uint64_t *offset)
{
	uint64_t low = vm__low_mem(vm), high = vm->mem_size - low;

	if (gpa < VMM_HIGH_MEM_START) {
		if (gpa > low || len > low - gpa)
			return false;
		*offset = gpa;
		return true;
	}
	gpa -= VMM_HIGH_MEM_START;
	if (gpa > high || len > high - gpa)
		return false;
	*offset = low + gpa;
	return true;
}

/* Host address of [gpa, gpa + len), or NULL if outside guest memory. */
void vm__mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t page;

	uint64_t off;

	if (!vm->pending_dirty || !len || !vm__offset(vm, gpa, len, &off))
		return;
	for (page = off / VMM_PAGE_SIZE;
	     page <= (off + len - 1) / VMM_PAGE_SIZE; page++)
		bitmap__set_atomic(vm->pending_dirty, page);
	if (vm->ws)
		wset__mark_written(vm->ws, off / VMM_PAGE_SIZE,
				   (off + len - 1) / VMM_PAGE_SIZE -
				   off / VMM_PAGE_SIZE + 1);
}

/* Fetch and reset KVM's dirty log of guest memory into @bitmap. */
int vm__get_dirty_log(struct vm *vm, uint64_t *bitmap)
{
	return kvm__get_dirty_logs(vm->vm_fd, vm->mem_size / VMM_PAGE_SIZE,
				   vm__low_mem(vm) / VMM_PAGE_SIZE, bitmap);
}

void *vm__gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t offset;

	if (!vm__offset(vm, gpa, len, &offset))
		return NULL;
	return vm->mem + offset;
}
