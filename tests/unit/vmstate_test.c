// SPDX-License-Identifier: GPL-2.0
/* The vmstate file format: building, writing, reading back, refusing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bitmap.h"
#include "crc32.h"
#include "layers.h"
#include "vmstate.h"

/* 3 GiB, the VMM's largest guest: a 96 KiB dirty bitmap. */
#define BIG_MEM		(3ULL << 30)
#define BIG_PAGES	(BIG_MEM / VMSTATE_PAGE_SIZE)

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/vmstate_test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/vmstate", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

static void fill_pattern(uint64_t *bm, uint64_t nbits)
{
	uint64_t i;

	for (i = 0; i < bitmap__words(nbits); i++)
		bm[i] = 0x9e3779b97f4a7c15ULL * (i + 1);
}

/*
 * A Diff of a 3 GiB guest, then sections the size of vCPU state: the
 * bitmap alone outgrows the buffer's first allocation, so every section
 * after it is appended to a moved buffer.  Before the fix build_vmstate()
 * wrote the VM section through a pointer into the old one (snapinfo then
 * showed "0 vCPUs, 0 MiB"); ASan flags any such use.
 */
static void test_big_diff_reads_back(void **state)
{
	struct fixture *f = *state;
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	uint64_t *dirty = bitmap__alloc(BIG_PAGES);
	static uint8_t vcpu[sizeof(struct vs_vcpu) + 8192];
	struct vsbuf b;
	struct vstate vs;
	char err[256];
	size_t len;
	int i;

	assert_non_null(dirty);
	fill_pattern(dirty, BIG_PAGES);
	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &(struct vs_vm) {
		.mem_size = BIG_MEM, .nr_vcpus = 4 }, dirty), 0);
	for (i = 0; i < 4; i++) {
		memset(vcpu, 0x40 + i, sizeof(vcpu));
		assert_int_equal(vsbuf__add(&b, VS_VCPU, vcpu, sizeof(vcpu)),
				 0);
	}
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);

	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	vm = vstate__find(&vs, VS_VM, 0, &len);
	assert_non_null(vm);
	assert_int_equal(len, sizeof(*vm));
	assert_int_equal(vm->mem_size, BIG_MEM);
	assert_int_equal(vm->nr_vcpus, 4);
	mem = vstate__find(&vs, VS_MEMORY, 0, &len);
	assert_non_null(mem);
	assert_int_equal(len, sizeof(*mem) + bitmap__bytes(BIG_PAGES));
	assert_int_equal(mem->type, VS_MEM_DIFF);
	assert_int_equal(mem->mem_size, BIG_MEM);
	assert_int_equal(mem->bitmap_bytes, 96 * 1024);
	assert_memory_equal(mem + 1, dirty, mem->bitmap_bytes);
	for (i = 0; i < 4; i++) {
		const uint8_t *v = vstate__find(&vs, VS_VCPU, i, &len);

		assert_non_null(v);
		assert_int_equal(len, sizeof(vcpu));
		assert_int_equal(v[0], 0x40 + i);
		assert_int_equal(v[len - 1], 0x40 + i);
	}
	vstate__free(&vs);
	free(dirty);
}

/* A Full snapshot's memory section is the bare header. */
static void test_full_layout(void **state)
{
	struct fixture *f = *state;
	const struct vs_memory *mem;
	struct vsbuf b;
	struct vstate vs;
	char err[256];
	size_t len;

	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &(struct vs_vm) {
		.mem_size = 256 << 20, .nr_vcpus = 1 }, NULL), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	mem = vstate__find(&vs, VS_MEMORY, 0, &len);
	assert_non_null(mem);
	assert_int_equal(len, sizeof(*mem));
	assert_int_equal(mem->type, VS_MEM_FULL);
	assert_int_equal(mem->bitmap_bytes, 0);
	vstate__free(&vs);
}

/* Write a vmstate of a VM section and a memory section as given. */
static void write_crafted(struct fixture *f, uint64_t vm_mem,
			  const struct vs_memory *mem, size_t mem_len)
{
	struct vs_vm vm = { .mem_size = vm_mem, .nr_vcpus = 1 };
	uint8_t *sec = calloc(1, mem_len + 1);
	struct vsbuf b;
	char err[256];

	assert_non_null(sec);
	memcpy(sec, mem, mem_len < sizeof(*mem) ? mem_len : sizeof(*mem));
	vsbuf__init(&b);
	assert_int_equal(vsbuf__add(&b, VS_VM, &vm, sizeof(vm)), 0);
	assert_int_equal(vsbuf__add(&b, VS_MEMORY, sec, mem_len), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	free(sec);
}

/* The file itself is sound; its layout must be refused, with @why. */
static void expect_refused(struct fixture *f, const char *why)
{
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	struct vstate vs;
	char err[256];

	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	assert_int_equal(vstate__layout(&vs, &vm, &mem, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, why))
		fail_msg("reason \"%s\" lacks \"%s\"", err, why);
	vstate__free(&vs);
}

/* Before the fix load read the header fields of an 8-byte section. */
static void test_short_memory_section(void **state)
{
	struct vs_memory mem = { .type = VS_MEM_FULL, .mem_size = 1 << 20 };

	write_crafted(*state, 1 << 20, &mem, 8);
	expect_refused(*state, "header alone needs");
	write_crafted(*state, 1 << 20, &mem, 0);
	expect_refused(*state, "header alone needs");
}

/* A Diff's bitmap must have one bit per page of the VM's memory. */
static void test_bitmap_mismatch(void **state)
{
	uint64_t pages = (64 << 20) / VMSTATE_PAGE_SIZE;
	struct vs_memory mem = {
		.type = VS_MEM_DIFF,
		.mem_size = 64 << 20,
		.bitmap_bytes = bitmap__bytes(pages) / 2,
	};

	/* Section and bitmap_bytes agree, but cover half the memory. */
	write_crafted(*state, 64 << 20, &mem,
		      sizeof(mem) + mem.bitmap_bytes);
	expect_refused(*state, "needs a 2048-byte bitmap");
	/* bitmap_bytes right, section short of it. */
	mem.bitmap_bytes = bitmap__bytes(pages);
	write_crafted(*state, 64 << 20, &mem, sizeof(mem) + 100);
	expect_refused(*state, "needs a 2048-byte bitmap");
	/* A Full snapshot carries no bitmap. */
	mem.type = VS_MEM_FULL;
	write_crafted(*state, 64 << 20, &mem,
		      sizeof(mem) + mem.bitmap_bytes);
	expect_refused(*state, "Full snapshot");
	/* The memory section and the VM disagree on the size. */
	write_crafted(*state, 128 << 20, &mem,
		      sizeof(mem) + mem.bitmap_bytes);
	expect_refused(*state, "the VM has");
	mem.type = 7;
	write_crafted(*state, 64 << 20, &mem, sizeof(mem));
	expect_refused(*state, "unknown type 7");
}

/* And the well-formed layouts built by vsbuf__add_layout() pass. */
static void test_layout_accepts_built(void **state)
{
	struct fixture *f = *state;
	uint64_t *dirty = bitmap__alloc(BIG_PAGES);
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	struct vsbuf b;
	struct vstate vs;
	char err[256];

	assert_non_null(dirty);
	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &(struct vs_vm) {
		.mem_size = BIG_MEM, .nr_vcpus = 2 }, dirty), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	assert_int_equal(vstate__layout(&vs, &vm, &mem, err, sizeof(err)), 0);
	assert_int_equal(vm->nr_vcpus, 2);
	assert_int_equal(mem->type, VS_MEM_DIFF);
	vstate__free(&vs);
	free(dirty);
}

/* Just past the identity page. */
#define SMALL_MEM	(MEMFILE_ID_OFFSET + VMSTATE_PAGE_SIZE)

static int open_mem(struct fixture *f, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return open(path, O_RDONLY);
}

/*
 * A memory file is guest memory, with an identity page naming its
 * snapshot in place of the reserved page at MEMFILE_ID_OFFSET; a Diff's
 * holds only its pages.  Load and snapmerge refuse a
 * file of another snapshot, or of none.
 */
static void test_memfile_identity(void **state)
{
	struct fixture *f = *state;
	uint8_t id[VS_ID_BYTES], other[VS_ID_BYTES], *mem, buf[4096];
	uint64_t *dirty = bitmap__alloc(SMALL_MEM / VMSTATE_PAGE_SIZE);
	char path[160], tmp[4200], err[256];
	struct memfile_id t;
	struct stat st;
	int fd;

	mem = malloc(SMALL_MEM);
	assert_non_null(mem);
	assert_non_null(dirty);
	memset(mem, 0xab, SMALL_MEM);
	assert_int_equal(vstate__new_id(id), 0);
	assert_int_equal(vstate__new_id(other), 0);
	assert_memory_not_equal(id, other, VS_ID_BYTES);

	snprintf(path, sizeof(path), "%s/diff.mem", f->dir);
	bitmap__set(dirty, 3);
	assert_int_equal(memfile__write_temp(path, mem, SMALL_MEM, dirty, id,
					     tmp, err, sizeof(err)), 0);
	assert_int_equal(file__rename_temp(tmp, path, err, sizeof(err)), 0);
	fd = open_mem(f, "diff.mem");
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, SMALL_MEM);
	/* Page 3 written, page 2 a hole. */
	assert_int_equal(pread(fd, buf, 4096, 3 * 4096), 4096);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(pread(fd, buf, 4096, 2 * 4096), 4096);
	assert_int_equal(buf[4095], 0);
	assert_int_equal(memfile__read_id(fd, &t), 0);
	assert_int_equal(t.mem_size, SMALL_MEM);
	assert_memory_equal(t.id, id, VS_ID_BYTES);
	assert_int_equal(memfile__check(fd, path, SMALL_MEM, id, err,
					sizeof(err)), 0);
	assert_int_equal(memfile__check(fd, path, SMALL_MEM, other, err,
					sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "belongs to another snapshot"));
	assert_int_equal(memfile__check(fd, path, 2 * SMALL_MEM, id, err,
					sizeof(err)), -EINVAL);
	close(fd);

	/* Longer or shorter, the identity no longer holds. */
	assert_int_equal(truncate(path, SMALL_MEM + 100), 0);
	fd = open_mem(f, "diff.mem");
	assert_int_equal(memfile__read_id(fd, &t), -ENODATA);
	assert_int_equal(memfile__check(fd, path, SMALL_MEM, id, err,
					sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no valid snapshot identity"));
	close(fd);
	assert_int_equal(truncate(path, MEMFILE_ID_OFFSET + 100), 0);
	fd = open_mem(f, "diff.mem");
	assert_int_equal(memfile__read_id(fd, &t), -ENODATA);
	close(fd);

	/* A Full copy holds every page. */
	snprintf(path, sizeof(path), "%s/full.mem", f->dir);
	assert_int_equal(memfile__write_temp(path, mem, SMALL_MEM, NULL, id,
					     tmp, err, sizeof(err)), 0);
	assert_int_equal(file__rename_temp(tmp, path, err, sizeof(err)), 0);
	fd = open_mem(f, "full.mem");
	assert_int_equal(pread(fd, buf, 4096, 2 * 4096), 4096);
	assert_int_equal(buf[4095], 0xab);
	assert_int_equal(memfile__check(fd, path, SMALL_MEM, id, err,
					sizeof(err)), 0);
	close(fd);
	free(mem);
	free(dirty);
}

/* What a killed create left goes; other files next to it stay. */
static void test_stale_temps(void **state)
{
	struct fixture *f = *state;
	static const char *const stale[] = { "a.mem.tmp.Ab12Cd",
					     "a.mem.tmp.zzzzzz" };
	static const char *const kept[] = { "a.mem", "a.mem.tmp.short",
					    "b.mem.tmp.Ab12Cd", "xa.mem.tmp.Ab12Cd",
					    "a.mem.tmp.Ab12Cd.keep" };
	char path[160];
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, stale[i]);
		fd = creat(path, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, kept[i]);
		fd = creat(path, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/a.mem", f->dir);
	file__remove_stale_temps(path);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, stale[i]);
		assert_int_equal(access(path, F_OK), -1);
	}
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, kept[i]);
		assert_int_equal(access(path, F_OK), 0);
	}
}

/* A Full memory file of snapshot @id at @path, renamed into place. */
static void put_memfile(const char *path, const uint8_t *mem,
			const uint8_t *id)
{
	char tmp[4200], err[256];

	assert_int_equal(memfile__write_temp(path, mem, SMALL_MEM, NULL, id,
					     tmp, err, sizeof(err)), 0);
	assert_int_equal(file__rename_temp(tmp, path, err, sizeof(err)), 0);
}

/* Which file memfile__open() takes for snapshot @id: its identity's. */
static int open_memfile_of(const char *path, const uint8_t *id, char *used)
{
	struct memfile_id t;
	char err[256];
	int fd = memfile__open(path, SMALL_MEM, id, used, err, sizeof(err));

	if (fd < 0)
		return fd;
	assert_int_equal(memfile__read_id(fd, &t), 0);
	assert_memory_equal(t.id, id, VS_ID_BYTES);
	close(fd);
	return 0;
}

/*
 * A create kept the old memory file as .prev and renamed the new one in,
 * then died before its vmstate: the old vmstate's id finds .prev, the
 * new one's the file itself.  A second such create keeps that .prev (the
 * file itself belongs to no vmstate any more); the commit removes it.
 */
static void test_keep_previous_memfile(void **state)
{
	struct fixture *f = *state;
	uint8_t a[VS_ID_BYTES], b[VS_ID_BYTES], c[VS_ID_BYTES], *mem;
	char path[160], prev[170], used[4200], err[256];
	struct stat st, pst;

	mem = calloc(1, SMALL_MEM);
	assert_non_null(mem);
	assert_int_equal(vstate__new_id(a), 0);
	assert_int_equal(vstate__new_id(b), 0);
	assert_int_equal(vstate__new_id(c), 0);
	snprintf(path, sizeof(path), "%s/s.mem", f->dir);
	snprintf(prev, sizeof(prev), "%s.prev", path);

	put_memfile(path, mem, a);
	assert_int_equal(file__keep_previous(path, false, err, sizeof(err)),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(stat(prev, &pst), 0);
	assert_int_equal(st.st_ino, pst.st_ino);
	put_memfile(path, mem, b);
	assert_int_equal(open_memfile_of(path, a, used), 0);
	assert_string_equal(used, prev);
	assert_int_equal(open_memfile_of(path, b, used), 0);
	assert_string_equal(used, path);
	/* Neither is of @c: the reason is about the file asked for. */
	assert_int_equal(memfile__open(path, SMALL_MEM, c, used, err,
				       sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "belongs to another snapshot"));
	assert_string_equal(used, path);

	assert_int_equal(file__keep_previous(path, true, err, sizeof(err)), 0);
	put_memfile(path, mem, c);
	assert_int_equal(open_memfile_of(path, a, used), 0);
	assert_string_equal(used, prev);

	file__drop_previous(path);
	assert_int_equal(access(prev, F_OK), -1);
	assert_int_equal(memfile__open(path, SMALL_MEM, a, used, err,
				       sizeof(err)), -ESTALE);
	/* A first snapshot has nothing to keep; a stale .prev goes. */
	assert_int_equal(close(creat(prev, 0600)), 0);
	snprintf(path, sizeof(path), "%s/new.mem", f->dir);
	assert_int_equal(file__keep_previous(path, false, err, sizeof(err)),
			 0);
	snprintf(prev, sizeof(prev), "%s.prev", path);
	assert_int_equal(access(prev, F_OK), -1);
	free(mem);
}

/* Layers of the snapshot with vmstate CRC @crc at @path. */
static void put_layers(const char *path, const uint8_t *mem, uint32_t crc)
{
	uint64_t *ro = bitmap__alloc(SMALL_MEM / VMSTATE_PAGE_SIZE);
	uint64_t *dirty = bitmap__alloc(SMALL_MEM / VMSTATE_PAGE_SIZE);
	char tmp[4200], err[256];
	int fd;

	assert_non_null(ro);
	assert_non_null(dirty);
	bitmap__set(ro, 1);
	bitmap__set(dirty, 2);
	fd = file__create_temp(path, tmp, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(layers__write(fd, mem, SMALL_MEM, ro, dirty, NULL,
				       crc, err, sizeof(err)), 0);
	assert_int_equal(file__commit_temp(fd, tmp, path, err, sizeof(err)),
			 0);
	free(ro);
	free(dirty);
}

/* The same for layer files, which name their snapshot by vmstate CRC. */
static void test_keep_previous_layers(void **state)
{
	struct fixture *f = *state;
	char path[160], prev[170], used[4200], err[256];
	struct layers l;
	uint8_t *mem;

	mem = calloc(1, SMALL_MEM);
	assert_non_null(mem);
	snprintf(path, sizeof(path), "%s/s.layers", f->dir);
	snprintf(prev, sizeof(prev), "%s.prev", path);
	put_layers(path, mem, 111);
	assert_int_equal(file__keep_previous(path, false, err, sizeof(err)),
			 0);
	put_layers(path, mem, 222);

	assert_int_equal(vstate__open_layers(path, SMALL_MEM, 111, &l, used,
					     err, sizeof(err)), 0);
	assert_string_equal(used, prev);
	assert_int_equal(l.h.snapshot_crc, 111);
	layers__close(&l);
	assert_int_equal(vstate__open_layers(path, SMALL_MEM, 222, &l, used,
					     err, sizeof(err)), 0);
	assert_string_equal(used, path);
	layers__close(&l);
	assert_int_equal(vstate__open_layers(path, SMALL_MEM, 333, &l, used,
					     err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "not of this one"));
	file__drop_previous(path);
	assert_int_equal(vstate__open_layers(path, SMALL_MEM, 111, &l, used,
					     err, sizeof(err)), -ESTALE);
	free(mem);
}

/* @payload as a vmstate file with a sound header, not through vsbuf. */
static void write_raw(struct fixture *f, const void *payload, size_t len)
{
	struct vmstate_header h = { .magic = VMSTATE_MAGIC };
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	h.version = VMSTATE_VERSION;
	h.header_size = sizeof(h);
	h.payload_len = len;
	h.payload_crc = crc32__update(0, payload, len);
	h.header_crc = crc32__update(0, &h, offsetof(struct vmstate_header,
						     header_crc));
	assert_int_equal(fwrite(&h, sizeof(h), 1, fp), 1);
	assert_int_equal(fwrite(payload, len, 1, fp), 1);
	assert_int_equal(fclose(fp), 0);
}

/*
 * Sections are read in place as the structures they hold, but in the
 * file one may follow a section of any length (vs_serial's is 76, and
 * virtio sections follow it): fuzz/vmstate.c found the misaligned reads.
 * They are read into memory 8-byte aligned, and found whole.
 */
static void test_misaligned_section(void **state)
{
	struct fixture *f = *state;
	struct vs_vm vm = { .mem_size = SMALL_MEM, .nr_vcpus = 1 };
	struct vmstate_section first = { .type = VS_SERIAL, .len = 4 };
	struct vmstate_section second = { .type = VS_VM, .len = sizeof(vm) };
	uint8_t payload[sizeof(first) + 4 + sizeof(second) + sizeof(vm)];
	const struct vs_vm *got;
	struct vstate vs;
	struct vsbuf b;
	char err[256];
	size_t len;

	memset(payload, 0, sizeof(payload));
	memcpy(payload, &first, sizeof(first));
	memset(payload + sizeof(first), 0x5e, 4);
	memcpy(payload + sizeof(first) + 4, &second, sizeof(second));
	memcpy(payload + sizeof(payload) - sizeof(vm), &vm, sizeof(vm));
	write_raw(f, payload, sizeof(payload));
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	got = vstate__find(&vs, VS_VM, 0, &len);
	assert_non_null(got);
	assert_int_equal(len, sizeof(vm));
	assert_int_equal((uintptr_t)got % 8, 0);
	assert_int_equal(got->mem_size, SMALL_MEM);
	assert_int_equal(got->nr_vcpus, 1);
	assert_non_null(vstate__find(&vs, VS_SERIAL, 0, &len));
	assert_int_equal(len, 4);
	assert_null(vstate__find(&vs, VS_VM, 1, &len));
	vstate__free(&vs);

	/* Written so too, as virtio sections follow vs_serial's 76 bytes. */
	vsbuf__init(&b);
	assert_int_equal(vsbuf__add(&b, VS_SERIAL, payload, 4), 0);
	assert_int_equal(vsbuf__add(&b, VS_VM, &vm, sizeof(vm)), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	got = vstate__find(&vs, VS_VM, 0, &len);
	assert_non_null(got);
	assert_int_equal(got->mem_size, SMALL_MEM);
	vstate__free(&vs);
}

/*
 * A second VM or memory section is refused: the layout checks the
 * first, and vstate__as_full() read a second memory section's header
 * whatever its size, past the end of a short one at the file's end.
 */
static void test_second_layout_section(void **state)
{
	struct fixture *f = *state;
	struct vs_vm vm = { .mem_size = SMALL_MEM, .nr_vcpus = 1 };
	struct vsbuf b, full;
	struct vstate vs;
	char err[256];

	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &vm, NULL), 0);
	assert_int_equal(vsbuf__add(&b, VS_MEMORY, &vm, 0), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	vstate__as_full(&vs, &full);
	vsbuf__free(&full);
	vstate__free(&vs);
	expect_refused(f, "two memory sections");

	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &vm, NULL), 0);
	assert_int_equal(vsbuf__add(&b, VS_VM, &vm, sizeof(vm)), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	expect_refused(f, "two VM sections");
}

/* A Full of a VM of @mem_size bytes whose VM section has @flags. */
static void write_flagged(struct fixture *f, uint64_t mem_size,
			  uint32_t flags)
{
	struct vs_vm vm = { .mem_size = mem_size, .nr_vcpus = 1,
			    .flags = flags };
	struct vsbuf b;
	char err[256];

	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &vm, NULL), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
}

/*
 * huge_pages "2M" is a flag of the VM section: kept, and with it a memory
 * size of whole huge pages; a flag this VMM does not know is refused
 * rather than dropped.
 */
static void test_vm_flags(void **state)
{
	struct fixture *f = *state;
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	struct vstate vs;
	char err[256];

	write_flagged(f, 64 << 20, VS_VM_HUGETLB_2M);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	assert_int_equal(vstate__layout(&vs, &vm, &mem, err, sizeof(err)), 0);
	assert_int_equal(vm->flags, VS_VM_HUGETLB_2M);
	vstate__free(&vs);
	write_flagged(f, (64 << 20) + VMSTATE_PAGE_SIZE, VS_VM_HUGETLB_2M);
	expect_refused(f, "impossible memory size");
	write_flagged(f, 64 << 20, VS_VM_HUGETLB_2M | 1u << 5);
	expect_refused(f, "flags 0x20 this VMM does not know");
}

/* A merged chain is the last Diff made whole: its id, no parent. */
static void test_as_full_keeps_id(void **state)
{
	struct fixture *f = *state;
	uint64_t *dirty = bitmap__alloc(SMALL_MEM / VMSTATE_PAGE_SIZE);
	struct vs_vm vm = { .mem_size = SMALL_MEM, .nr_vcpus = 1 };
	const struct vs_memory *mem;
	const struct vs_vm *got;
	struct vsbuf b, full;
	struct vstate vs;
	char err[256];

	assert_non_null(dirty);
	assert_int_equal(vstate__new_id(vm.id), 0);
	assert_int_equal(vstate__new_id(vm.parent_id), 0);
	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &vm, dirty), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	assert_int_equal(vstate__as_full(&vs, &full), 0);
	vstate__free(&vs);
	assert_int_equal(vstate__write_file(f->path, &full, err, sizeof(err)),
			 0);
	vsbuf__free(&full);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	assert_int_equal(vstate__layout(&vs, &got, &mem, err, sizeof(err)), 0);
	assert_int_equal(mem->type, VS_MEM_FULL);
	assert_memory_equal(got->id, vm.id, VS_ID_BYTES);
	assert_true(vstate__id_is_zero(got->parent_id));
	vstate__free(&vs);
	free(dirty);
}

/*
 * A guest's kernel may sit above 4 GiB (KASLR): what KVM writes there is
 * found 1 GiB lower in the file, below the hole at its address.
 */
static void test_memfile_offset(void **state)
{
	(void)state;
	assert_int_equal(memfile__offset(0), 0);
	assert_int_equal(memfile__offset(MEMFILE_ID_OFFSET), MEMFILE_ID_OFFSET);
	assert_int_equal(memfile__offset((3ULL << 30) - 4096),
			 (3ULL << 30) - 4096);
	assert_int_equal(memfile__offset(4ULL << 30), 3ULL << 30);
	assert_int_equal(memfile__offset(0x105802000ULL), 0xc5802000ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_big_diff_reads_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_layout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_memory_section,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitmap_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_layout_accepts_built,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_memfile_identity, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_temps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_keep_previous_memfile,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_previous_layers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_misaligned_section, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_second_layout_section,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_as_full_keeps_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vm_flags, setup,
						teardown),
		cmocka_unit_test(test_memfile_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
