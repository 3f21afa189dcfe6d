// SPDX-License-Identifier: GPL-2.0
/*
 * Firecracker-style snapshots of a paused VM: a vmstate file (vmstate.h)
 * and a memory file, Full (all of guest memory) or Diff (only the pages
 * dirtied since the previous snapshot, at their offsets in a sparse file).
 * Both files are written to temporary names and renamed into place, and
 * the previous snapshot's files are kept until the new one is whole, so
 * a crash mid-snapshot leaves the previous snapshot loadable.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bitmap.h"
#include "crc32.h"
#include "layers.h"
#include "memscan.h"
#include "snapshot.h"
#include "virtio/virtio.h"
#include "vmstate.h"
#include "wset.h"

_Static_assert(MEMFILE_ID_OFFSET >= BOOT_ACPI_END &&
	       MEMFILE_ID_OFFSET + VMSTATE_PAGE_SIZE <= BOOT_KERNEL,
	       "the identity page lies in reserved guest memory");

_Static_assert(sizeof(((struct vm *)0)->snapshot_id) == VS_ID_BYTES,
	       "struct vm holds a snapshot id");

static uint64_t nr_pages(struct vm *vm)
{
	return vm->mem_size / VMM_PAGE_SIZE;
}

/* Each section is read into a local copy, then appended whole. */
static int save_vm_state(struct vm *vm, struct vsbuf *b)
{
	struct kvm_clock_data clock = { 0 };
	struct kvm_pit_state2 pit = { 0 };
	struct vs_irqchip irq = { 0 };
	struct vs_serial serial = { 0 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		irq.chip[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &irq.chip[i]) < 0)
			return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return -errno;
	serial__save(&serial);
	vsbuf__add(b, VS_IRQCHIP, &irq, sizeof(irq));
	vsbuf__add(b, VS_PIT, &pit, sizeof(pit));
	vsbuf__add(b, VS_CLOCK, &clock, sizeof(clock));
	return vsbuf__add(b, VS_SERIAL, &serial, sizeof(serial));
}

static int build_vmstate(struct vm *vm, enum snapshot_type type,
			 const uint64_t *dirty, const uint8_t *id,
			 struct vsbuf *b)
{
	struct vs_vm vsvm = {
		.mem_size = vm->mem_size,
		.nr_vcpus = vm->nr_vcpus,
		.flags = vm->hugetlb ? VS_VM_HUGETLB_2M : 0,
	};
	unsigned int i;
	int ret;

	memcpy(vsvm.id, id, VS_ID_BYTES);
	/* A Diff holds the pages changed since the VM's last snapshot. */
	if (type == SNAPSHOT_DIFF)
		memcpy(vsvm.parent_id, vm->snapshot_id, VS_ID_BYTES);
	ret = vsbuf__add_layout(b, &vsvm, type == SNAPSHOT_DIFF ? dirty : NULL);
	if (ret)
		return ret;
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu__save(&vm->vcpus[i], b);
		if (ret)
			return ret;
	}
	ret = save_vm_state(vm, b);
	return ret ? ret : virtio__save_all(vm, b);
}

/*
 * Write the layers of the last closed window to a synced temporary file
 * next to @path, named in @tmp: its pages as they are in @mem, which must
 * hold the memory of the snapshot with vmstate CRC @crc.
 */
static int write_layers(struct vm *vm, const uint8_t *mem, uint32_t crc,
			const char *path, char *tmp, char *err, size_t errlen)
{
	uint64_t *ro;
	int fd, ret;

	if (!vm->ws) {
		snprintf(err, errlen, "layers need a recorded working set: "
			 "set track_working_set in machine-config or "
			 "snapshot/load");
		return -EINVAL;
	}
	if (!vm->ws->recorded) {
		snprintf(err, errlen, "no working set recorded yet: resume "
			 "the VM, let it work, pause it");
		return -EINVAL;
	}
	ro = bitmap__alloc(nr_pages(vm));
	if (!ro)
		return -ENOMEM;
	wset__read_only(vm->ws, ro);
	fd = file__create_temp(path, tmp, err, errlen);
	if (fd < 0) {
		free(ro);
		return fd;
	}
	ret = layers__write(fd, mem, vm->mem_size, ro, vm->ws->dirty,
			    wset__first_access(vm->ws), crc, err, errlen);
	free(ro);
	if (ret) {
		close(fd);
		unlink(tmp);
		return ret;
	}
	return file__sync_temp(fd, tmp, err, errlen);
}

int snapshot__write_base_layers(struct vm *vm, const char *path, char *err,
				size_t errlen)
{
	char tmp[4200];
	uint8_t *base;
	int ret;

	if (vm->uffd >= 0) {
		snprintf(err, errlen, "this VM's memory came through Uffd, "
			 "so the VMM cannot read its snapshot's pages: record "
			 "with the File backend");
		return -EINVAL;
	}
	if (vm->base_mem_fd < 0) {
		snprintf(err, errlen, "this VM was booted, not loaded from a "
			 "snapshot: give layers_path to snapshot/create");
		return -EINVAL;
	}
	base = mmap(NULL, vm->mem_size, PROT_READ, MAP_SHARED,
		    vm->base_mem_fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mapping the snapshot's memory file: %s",
			 strerror(errno));
		return -errno;
	}
	/* The snapshot's vmstate stays: one rename replaces its layers. */
	ret = write_layers(vm, base, vm->base_crc, path, tmp, err, errlen);
	munmap(base, vm->mem_size);
	return ret ? ret : file__rename_temp(tmp, path, err, errlen);
}

/*
 * Which of the files at @mem_path and @layers_path the snapshot now at
 * @vmstate_path no longer uses, because a create killed before its commit
 * renamed new ones over them and their .prev are the ones it uses.
 */
static void find_superseded(const char *vmstate_path, const char *mem_path,
			    const char *layers_path, bool *mem, bool *layers)
{
	const struct vs_memory *vsmem;
	const struct vs_vm *vsvm;
	char used[4200], why[512];
	struct layers l;
	struct vstate vs;
	int fd;

	*mem = *layers = false;
	if (vstate__read_file(vmstate_path, &vs, why, sizeof(why)))
		return;
	if (!vstate__layout(&vs, &vsvm, &vsmem, why, sizeof(why))) {
		fd = memfile__open(mem_path, vsvm->mem_size, vsvm->id, used,
				   why, sizeof(why));
		if (fd >= 0) {
			*mem = strcmp(used, mem_path);
			close(fd);
		}
		if (layers_path &&
		    !vstate__open_layers(layers_path, vsvm->mem_size,
					 vstate__id(&vs), &l, used, why,
					 sizeof(why))) {
			*layers = strcmp(used, layers_path);
			layers__close(&l);
		}
	}
	vstate__free(&vs);
}

/* Rename @tmp over @path; either way @tmp is no longer there to remove. */
static int rename_into_place(char *tmp, const char *path, char *err,
			     size_t errlen)
{
	int ret = file__rename_temp(tmp, path, err, errlen);

	tmp[0] = 0;
	return ret;
}

/*
 * The pages a Full snapshot reads: all, but for a VM restored from a
 * memory file, those in its holes the VM has not written are known to
 * be zero and are left unread (memscan.c: reading them would fill a
 * tmpfs with zeros).  NULL: no memory.
 */
static uint64_t *full_pages(struct vm *vm)
{
	uint64_t *bm = bitmap__alloc(nr_pages(vm));

	if (!bm)
		return NULL;
	memset(bm, 0xff, bitmap__bytes(nr_pages(vm)));
	if (vm->base_mem_fd >= 0 && vm->uffd < 0)
		memscan__maybe_data(vm->base_mem_fd, vm->mem, vm->mem_size, bm);
	return bm;
}

/*
 * Test hook: VMM_CRASH_AT=STEP kills the VMM with SIGKILL when a create
 * reaches STEP, as a crash there would.  A kill timed from outside almost
 * never lands between two renames, the instants that matter; this stops
 * the create exactly there (selftests/vmm/crash_create_test.c).
 */
static void crash_point(const char *step)
{
	const char *at = getenv("VMM_CRASH_AT");

	if (at && !strcmp(at, step))
		raise(SIGKILL);
}

/*
 * Every file is written in full and synced under a temporary name before
 * any is renamed, the vmstate last: that rename is the commit.  Until
 * then the previous snapshot's memory file and layers stay reachable as
 * .prev, where load looks when the vmstate is still the old one, so at
 * every instant the old or the new snapshot loads.
 */
int snapshot__create(struct vm *vm, enum snapshot_type type,
		     const char *vmstate_path, const char *mem_path,
		     const char *layers_path, char *err, size_t errlen)
{
	char mem_tmp[4200] = "", vs_tmp[4200] = "", layers_tmp[4200] = "";
	bool mem_superseded, layers_superseded;
	uint8_t id[VS_ID_BYTES];
	uint64_t *dirty = NULL, *full = NULL;
	struct vsbuf b;
	int ret;

	if (type == SNAPSHOT_DIFF && !vm->track_dirty) {
		snprintf(err, errlen, "Diff snapshots need dirty page "
			 "tracking: track_dirty_pages in machine-config, or "
			 "enable_diff_snapshots when loading");
		return -EINVAL;
	}
	ret = vstate__new_id(id);
	if (ret) {
		snprintf(err, errlen, "getrandom: %s", strerror(-ret));
		return ret;
	}
	vsbuf__init(&b);
	/* A killed create left files the size of guest memory behind. */
	file__remove_stale_temps(mem_path);
	file__remove_stale_temps(vmstate_path);
	if (layers_path)
		file__remove_stale_temps(layers_path);

	/*
	 * Harvest the log first: from here on the harvested pages exist
	 * only in this bitmap, so on failure they go back to pending_dirty
	 * for the next snapshot.
	 */
	if (vm->track_dirty) {
		dirty = bitmap__alloc(nr_pages(vm));
		if (!dirty)
			return -ENOMEM;
		ret = vm__get_dirty_log(vm, dirty);
		if (ret) {
			snprintf(err, errlen, "KVM_GET_DIRTY_LOG: %s",
				 strerror(-ret));
			goto out;
		}
		bitmap__or(dirty, dirty, vm->pending_dirty, nr_pages(vm));
	}

	if (type == SNAPSHOT_FULL) {
		full = full_pages(vm);
		if (!full) {
			ret = -ENOMEM;
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			goto out;
		}
	}
	ret = memfile__write_temp(mem_path, vm->mem, vm->mem_size,
				  type == SNAPSHOT_DIFF ? dirty : full, id,
				  mem_tmp, err, errlen);
	if (ret) {
		mem_tmp[0] = 0;
		goto out;
	}
	ret = build_vmstate(vm, type, dirty, id, &b);
	if (ret) {
		snprintf(err, errlen, "saving VM state: %s", strerror(-ret));
		goto out;
	}
	/* Layers first: the snapshot is whole only once its vmstate is. */
	if (layers_path) {
		ret = write_layers(vm, vm->mem, crc32__update(0, b.data, b.len),
				   layers_path, layers_tmp, err, errlen);
		if (ret) {
			layers_tmp[0] = 0;
			goto out;
		}
	}
	ret = vstate__write_temp(vmstate_path, &b, vs_tmp, err, errlen);
	if (ret) {
		vs_tmp[0] = 0;
		goto out;
	}

	crash_point("written");
	find_superseded(vmstate_path, mem_path, layers_path, &mem_superseded,
			&layers_superseded);
	ret = file__keep_previous(mem_path, mem_superseded, err, errlen);
	if (!ret && layers_path)
		ret = file__keep_previous(layers_path, layers_superseded, err,
					  errlen);
	if (!ret) {
		crash_point("kept");
		ret = rename_into_place(mem_tmp, mem_path, err, errlen);
	}
	if (!ret && layers_path) {
		crash_point("memory-renamed");
		ret = rename_into_place(layers_tmp, layers_path, err, errlen);
	}
	if (!ret) {
		crash_point(layers_path ? "layers-renamed" : "memory-renamed");
		ret = rename_into_place(vs_tmp, vmstate_path, err, errlen);
	}
	if (!ret) {
		crash_point("committed");
		file__drop_previous(mem_path);
		if (layers_path)
			file__drop_previous(layers_path);
		memcpy(vm->snapshot_id, id, VS_ID_BYTES);
	}
out:
	if (mem_tmp[0])
		unlink(mem_tmp);
	if (layers_tmp[0])
		unlink(layers_tmp);
	if (vs_tmp[0])
		unlink(vs_tmp);
	if (dirty) {
		if (ret)
			memcpy(vm->pending_dirty, dirty,
			       bitmap__bytes(nr_pages(vm)));
		else
			memset(vm->pending_dirty, 0,
			       bitmap__bytes(nr_pages(vm)));
	}
	free(dirty);
	free(full);
	vsbuf__free(&b);
	return ret;
}

/* The section of @type, which must be exactly @size bytes. */
static const void *section(const struct vstate *vs, uint32_t type,
			   unsigned int nth, size_t size, const char *what,
			   char *err, size_t errlen)
{
	size_t len;
	const void *p = vstate__find(vs, type, nth, &len);

	if (!p)
		snprintf(err, errlen, "vmstate has no %s", what);
	else if (size && len != size)
		snprintf(err, errlen, "vmstate %s has %zu bytes, expected %zu",
			 what, len, size);
	else
		return p;
	return NULL;
}

static int restore_vm_state(struct vm *vm, const struct vstate *vs,
			    char *err, size_t errlen)
{
	const struct vs_irqchip *irq;
	const struct kvm_pit_state2 *pit;
	const struct vs_serial *serial;
	struct kvm_clock_data clock;
	const void *p;
	unsigned int i;

	irq = section(vs, VS_IRQCHIP, 0, sizeof(*irq), "irqchip state", err,
		      errlen);
	pit = section(vs, VS_PIT, 0, sizeof(*pit), "PIT state", err, errlen);
	p = section(vs, VS_CLOCK, 0, sizeof(clock), "clock", err, errlen);
	serial = section(vs, VS_SERIAL, 0, sizeof(*serial), "serial state",
			 err, errlen);
	if (!irq || !pit || !p || !serial)
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &irq->chip[i]) < 0) {
			snprintf(err, errlen, "KVM_SET_IRQCHIP: %s",
				 strerror(errno));
			return -errno;
		}
	}
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, pit) < 0) {
		snprintf(err, errlen, "KVM_SET_PIT2: %s", strerror(errno));
		return -errno;
	}
	/* Guest time goes on from the pause, not from the wall clock. */
	memcpy(&clock, p, sizeof(clock));
	clock.flags = 0;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0) {
		snprintf(err, errlen, "KVM_SET_CLOCK: %s", strerror(errno));
		return -errno;
	}
	if (serial__restore(serial)) {
		snprintf(err, errlen, "serial state is malformed");
		return -EINVAL;
	}
	return 0;
}

static int open_memory(const struct snapshot_load *p, const struct vs_vm *vsvm,
		       char *err, size_t errlen)
{
	char used[4200];

	return memfile__open(p->mem_path, vsvm->mem_size, vsvm->id, used, err,
			     errlen);
}

/*
 * A guest in 2 MiB huge pages is restored into them, and, as Firecracker
 * has it, only through Uffd: a private mapping of the memory file cannot
 * be hugetlbfs.  (Uffd takes no layers_path: its handler serves them.)
 */
static int check_hugetlb_load(const struct snapshot_load *p,
			      const struct vs_vm *vsvm, char *err,
			      size_t errlen)
{
	if (!p->uffd) {
		snprintf(err, errlen, "this snapshot's guest memory is in 2 "
			 "MiB huge pages (huge_pages 2M): it can be restored "
			 "only with the Uffd memory backend, as in "
			 "Firecracker");
		return -EINVAL;
	}
	return vm__check_hugetlb_pool(vsvm->mem_size, err, errlen);
}

int snapshot__load(struct vm *vm, const struct snapshot_load *p,
		   char *err, size_t errlen)
{
	const void *sections[VMM_MAX_VCPUS];
	size_t lens[VMM_MAX_VCPUS];
	const struct vs_memory *mem;
	const struct vs_vm *vsvm;
	struct vstate vs;
	unsigned int i;
	int fd, ret, uffd_sock = -1;

	ret = vstate__read_file(p->vmstate_path, &vs, err, errlen);
	if (ret)
		return ret;
	ret = vstate__layout(&vs, &vsvm, &mem, err, errlen);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (!vsvm->nr_vcpus || vsvm->nr_vcpus > VMM_MAX_VCPUS ||
	    vsvm->mem_size > VMM_MAX_MEM) {
		snprintf(err, errlen, "vmstate describes an impossible VM "
			 "(%u vCPUs, %llu bytes)", vsvm->nr_vcpus,
			 (unsigned long long)vsvm->mem_size);
		goto out;
	}
	if (mem->type == VS_MEM_DIFF) {
		snprintf(err, errlen, "this is a Diff snapshot: merge its "
			 "memory onto its base first (snapmerge)");
		goto out;
	}
	/* All of it, before a VM exists: refused, the process can retry. */
	ret = vstate__check_sections(&vs, vsvm, err, errlen);
	if (ret)
		goto out;
	if (vsvm->flags & VS_VM_HUGETLB_2M) {
		ret = check_hugetlb_load(p, vsvm, err, errlen);
		if (ret)
			goto out;
	}

	if (p->layers_path) {
		ret = restore__open_layers(vm, p->layers_path, vsvm->mem_size,
					   vstate__id(&vs), err, errlen);
		if (ret)
			goto out;
	}
	if (p->uffd) {
		fd = -1;
		uffd_sock = uffd__connect(p->mem_path, err, errlen);
		if (uffd_sock < 0) {
			ret = uffd_sock;
			goto out;
		}
	} else {
		fd = open_memory(p, vsvm, err, errlen);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
	}
	vm->huge_mem = p->layers_huge;
	vm->hugetlb = vsvm->flags & VS_VM_HUGETLB_2M;
	ret = vm__init(vm, vsvm->mem_size, vsvm->nr_vcpus, fd, p->track_dirty,
		       p->track_ws);
	vm->sampler.interval_ms = p->ws_interval_ms;
	/* Kept: layers of this snapshot are cut from its own pages. */
	vm->base_mem_fd = fd;
	vm->base_crc = vstate__id(&vs);
	/* A Diff taken of this VM is a diff of this snapshot. */
	memcpy(vm->snapshot_id, vsvm->id, VS_ID_BYTES);
	if (ret) {
		snprintf(err, errlen, "cannot create the VM: %s",
			 strerror(-ret));
		goto out;
	}
	if (p->uffd) {
		ret = uffd__attach(vm, uffd_sock, err, errlen);
		if (ret)
			goto out;
	}
	if (vm->prefetch) {
		ret = restore__map_layers(vm, p->layers_huge, err, errlen);
		if (ret)
			goto out;
	}
	ret = devices__init(vm, p->console_in, p->console_out);
	if (ret) {
		snprintf(err, errlen, "devices: %s", strerror(-ret));
		goto out;
	}
	/*
	 * Every vCPU exists before any is restored: creating one writes TSC
	 * 0 to it and starts a new TSC generation in KVM, which would undo
	 * the synchronisation of vCPUs restored before it.
	 */
	for (i = 0; i < vsvm->nr_vcpus; i++) {
		ret = vcpu__init(&vm->vcpus[i], vm, i);
		if (ret) {
			snprintf(err, errlen, "vCPU %u: %s", i, strerror(-ret));
			goto out;
		}
	}
	/* Each there and well-formed: vstate__check_sections(). */
	for (i = 0; i < vsvm->nr_vcpus; i++)
		sections[i] = vstate__find(&vs, VS_VCPU, i, &lens[i]);
	ret = vcpus__restore_tsc(vm, sections, err, errlen);
	for (i = 0; !ret && i < vsvm->nr_vcpus; i++)
		ret = vcpu__restore(&vm->vcpus[i], sections[i], lens[i], err,
				    errlen);
	if (ret)
		goto out;
	ret = restore_vm_state(vm, &vs, err, errlen);
	if (!ret)
		ret = virtio__restore_all(vm, &vs, err, errlen);
	if (ret)
		goto out;

	/* Paused from the first instruction unless asked to resume. */
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = !p->resume;
	pthread_mutex_unlock(&vm->lock);
	ret = vm__start(vm);
	if (ret)
		snprintf(err, errlen, "starting vCPUs: %s", strerror(-ret));
	else
		virtio__restored_all(vm);
out:
	/* Refused before a VM existed: the process can load another. */
	if (ret && vm->vm_fd < 0)
		restore__exit(vm);
	if (uffd_sock >= 0)
		close(uffd_sock);
	vstate__free(&vs);
	return ret;
}
