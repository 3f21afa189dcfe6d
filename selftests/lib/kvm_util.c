// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "reader_guest.h"

extern const uint8_t reader_guest_start[], reader_guest_end[];

struct kvm_vm *vm__create(uint64_t npages, uint32_t slot_flags)
{
	struct kvm_userspace_memory_region region;
	struct kvm_vm *vm = calloc(1, sizeof(*vm));
	int mmap_size;

	TEST_REQUIRE(vm, "out of memory");
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	TEST_REQUIRE(vm->kvm_fd >= 0, "open /dev/kvm: %s", strerror(errno));
	TEST_REQUIRE(kvm_ioctl(vm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION,
		     "unexpected KVM API version");
	vm->vm_fd = kvm_ioctl(vm, KVM_CREATE_VM, 0);

	/*
	 * No THP: one huge host page would make every guest page behind it
	 * writable-and-present at once, and the tests count single pages.
	 */
	vm->npages = npages;
	vm->mem = mmap(NULL, npages * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_REQUIRE(vm->mem != MAP_FAILED, "mmap: %s", strerror(errno));
	madvise(vm->mem, npages * GUEST_PAGE_SIZE, MADV_NOHUGEPAGE);

	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.flags = slot_flags,
		.guest_phys_addr = 0,
		.memory_size = npages * GUEST_PAGE_SIZE,
		.userspace_addr = (uintptr_t)vm->mem,
	};
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);

	vm->vcpu_fd = vm_ioctl(vm, KVM_CREATE_VCPU, 0);
	mmap_size = kvm_ioctl(vm, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run_size = mmap_size;
	vm->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	TEST_REQUIRE(vm->run != MAP_FAILED, "mmap kvm_run: %s",
		     strerror(errno));
	return vm;
}

void vm__destroy(struct kvm_vm *vm)
{
	munmap(vm->run, vm->run_size);
	close(vm->vcpu_fd);
	close(vm->vm_fd);
	close(vm->kvm_fd);
	munmap(vm->mem, vm->npages * GUEST_PAGE_SIZE);
	if (vm->data)
		munmap(vm->data, vm->data_pages * GUEST_PAGE_SIZE);
	free(vm);
}

void vm__load(struct kvm_vm *vm, uint64_t gpa, const void *code, size_t len)
{
	TEST_REQUIRE(gpa + len <= vm->npages * GUEST_PAGE_SIZE,
		     "payload of %zu bytes does not fit at %#lx", len,
		     (unsigned long)gpa);
	memcpy(vm__gpa(vm, gpa), code, len);
}

void vcpu__enter_real_mode(struct kvm_vm *vm, uint64_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_ioctl(vm, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	vcpu_ioctl(vm, KVM_SET_SREGS, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rflags = 0x2;
	vcpu_ioctl(vm, KVM_SET_REGS, &regs);
}

/*
 * 32-bit protected mode with flat 4 GiB segments and no paging: a guest
 * that can reach all of its memory with a handful of instructions.
 */
void vcpu__enter_flat32(struct kvm_vm *vm, uint64_t entry)
{
	struct kvm_segment flat = {
		.base = 0, .limit = 0xffffffff, .present = 1, .s = 1,
		.db = 1, .g = 1, .type = 0x3,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_ioctl(vm, KVM_GET_SREGS, &sregs);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat;
	flat.type = 0xb;
	flat.selector = 0x8;
	sregs.cs = flat;
	sregs.cr0 |= 1;		/* PE, no PG */
	vcpu_ioctl(vm, KVM_SET_SREGS, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rflags = 0x2;
	vcpu_ioctl(vm, KVM_SET_REGS, &regs);
}

void vcpu__set_regs(struct kvm_vm *vm, uint64_t esi, uint64_t edi,
		    uint64_t ebx)
{
	struct kvm_regs regs;

	vcpu_ioctl(vm, KVM_GET_REGS, &regs);
	regs.rsi = esi;
	regs.rdi = edi;
	regs.rbx = ebx;
	vcpu_ioctl(vm, KVM_SET_REGS, &regs);
}

uint32_t vcpu__run(struct kvm_vm *vm)
{
	vcpu_ioctl(vm, KVM_RUN, 0);
	return vm->run->exit_reason;
}

/* Run until the next exit, which must be an OUT of @size bytes of @value. */
void vcpu__expect_io_out(struct kvm_vm *vm, uint16_t port, uint32_t size,
			 uint32_t value)
{
	struct kvm_run *run = vm->run;
	uint32_t reason = vcpu__run(vm);
	uint32_t data = 0;

	TEST_REQUIRE(reason == KVM_EXIT_IO, "exit reason %u, expected IO",
		     reason);
	TEST_REQUIRE(run->io.direction == KVM_EXIT_IO_OUT &&
		     run->io.port == port && run->io.size == size &&
		     run->io.count == 1,
		     "IO exit dir %u port %#x size %u count %u, expected OUT %#x/%u",
		     run->io.direction, run->io.port, run->io.size,
		     run->io.count, port, size);
	memcpy(&data, (uint8_t *)run + run->io.data_offset, size);
	TEST_REQUIRE(data == value, "OUT %#x wrote %#x, expected %#x", port,
		     data, value);
}

void vm__get_dirty_log(struct kvm_vm *vm, uint64_t *bitmap)
{
	struct kvm_dirty_log log = {
		.slot = 0,
		.dirty_bitmap = bitmap,
	};

	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
}

/* KVM names each VM's debugfs directory "<pid>-<vm fd>". */
uint64_t vm__stat(struct kvm_vm *vm, const char *name)
{
	unsigned long long val;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/%s",
		 getpid(), vm->vm_fd, name);
	f = fopen(path, "r");
	TEST_REQUIRE(f, "%s: %s (is debugfs mounted?)", path, strerror(errno));
	TEST_REQUIRE(fscanf(f, "%llu", &val) == 1, "%s: unreadable", path);
	fclose(f);
	return val;
}

void vm__add_data_slot(struct kvm_vm *vm, uint64_t gpa, uint64_t npages,
		       enum mem_backing backing, uint32_t flags)
{
	struct kvm_userspace_memory_region region;
	uint64_t len = npages * GUEST_PAGE_SIZE, page;

	TEST_REQUIRE(!vm->data, "the VM has a data slot already");
	TEST_REQUIRE(gpa % HUGE_PAGE_SIZE == 0 && len % HUGE_PAGE_SIZE == 0,
		     "data slot %#" PRIx64 "+%#" PRIx64 " not 2 MiB aligned",
		     gpa, len);
	vm->data = mem__map(len, backing);
	vm->data_gpa = gpa;
	vm->data_pages = npages;
	vm->data_backing = backing;
	for (page = 0; page < npages; page++)
		*(uint32_t *)(vm->data + page * GUEST_PAGE_SIZE) =
			gpa / GUEST_PAGE_SIZE + page;
	if (backing != MEM_4K)
		mem__require_huge(vm->data, len, backing);

	region = (struct kvm_userspace_memory_region) {
		.slot = VM_DATA_SLOT,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = (uintptr_t)vm->data,
	};
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
}

struct kvm_vm *vm__create_reader(uint64_t data_pages,
				 enum mem_backing backing, uint32_t flags)
{
	struct kvm_vm *vm = vm__create(READER_SLOT0_PAGES, 0);

	vm__load(vm, READER_CODE_GPA, reader_guest_start,
		 reader_guest_end - reader_guest_start);
	vcpu__enter_flat32(vm, READER_CODE_GPA);
	vm__add_data_slot(vm, READER_DATA_GPA, data_pages, backing, flags);
	return vm;
}

void vm__read(struct kvm_vm *vm, const struct reader_run *runs, int nruns)
{
	uint32_t *list = vm__gpa(vm, READER_LIST_GPA);
	uint32_t sum = 0, gfn0 = vm->data_gpa / GUEST_PAGE_SIZE, page;
	int i;

	TEST_REQUIRE(vm->data, "no data slot");
	TEST_REQUIRE(nruns >= 0 && nruns <= READER_MAX_RUNS, "%d runs",
		     nruns);
	for (i = 0; i < nruns; i++) {
		TEST_REQUIRE(runs[i].npages &&
			     runs[i].first + (uint64_t)runs[i].npages <=
			     vm->data_pages, "run %u+%u out of the data slot",
			     runs[i].first, runs[i].npages);
		list[2 * i] = vm->data_gpa + (uint64_t)runs[i].first *
			      GUEST_PAGE_SIZE;
		list[2 * i + 1] = runs[i].npages;
		/* What the host wrote there (vm__add_data_slot()). */
		for (page = runs[i].first;
		     page < runs[i].first + runs[i].npages; page++)
			sum += gfn0 + page;
	}
	list[2 * nruns] = 0;
	list[2 * nruns + 1] = 0;
	vcpu__expect_io_out(vm, READER_PORT, 4, sum);
}

void vm__read_page(struct kvm_vm *vm, uint32_t page)
{
	struct reader_run run = { .first = page, .npages = 1 };

	vm__read(vm, &run, 1);
}

void vm__read_all(struct kvm_vm *vm)
{
	struct reader_run run = { .first = 0, .npages = vm->data_pages };

	vm__read(vm, &run, 1);
}
