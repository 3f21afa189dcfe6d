// SPDX-License-Identifier: GPL-2.0
/* The vmstate file format: building, writing, reading back, refusing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bitmap.h"
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
	assert_int_equal(vsbuf__add_layout(&b, BIG_MEM, 4, dirty), 0);
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
	assert_int_equal(vsbuf__add_layout(&b, 256 << 20, 1, NULL), 0);
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
	assert_int_equal(vsbuf__add_layout(&b, BIG_MEM, 2, dirty), 0);
	assert_int_equal(vstate__write_file(f->path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	assert_int_equal(vstate__read_file(f->path, &vs, err, sizeof(err)), 0);
	assert_int_equal(vstate__layout(&vs, &vm, &mem, err, sizeof(err)), 0);
	assert_int_equal(vm->nr_vcpus, 2);
	assert_int_equal(mem->type, VS_MEM_DIFF);
	vstate__free(&vs);
	free(dirty);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
