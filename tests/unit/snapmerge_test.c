// SPDX-License-Identifier: GPL-2.0
/*
 * build/snapmerge on crafted chains: a Full base and Diffs written with the
 * VMM's own vmstate and memory-file code, merged, and the result compared
 * byte for byte with the memory the chain describes; chains that do not
 * hold together refused with their reason and nothing written.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bitmap.h"
#include "vmstate.h"

#define SNAPMERGE	"build/snapmerge"
/* Past the identity page, 1 MiB in. */
#define PAGES		512
#define MEM		(PAGES * VMSTATE_PAGE_SIZE)
/* The VMM's largest guest in one memory slot. */
#define BIG_MEM		(3ULL << 30)
/* A guest with memory on both sides of the 32-bit hole. */
#define BOTH_MEM	(4ULL << 30)
/* What a booted guest's kernel clears: its first Diff, mostly zeros. */
#define CLEARED		(256ULL << 20)

struct fixture {
	char dir[64];
	char err[4096];		/* snapmerge's standard error */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/snapmerge_test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
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

static void fpath(const struct fixture *f, char *buf, const char *name,
		  const char *ext)
{
	snprintf(buf, 256, "%s/%s.%s", f->dir, name, ext);
}

/*
 * Snapshot @name of @mem_size bytes @mem: Full without @dirty, else a
 * Diff of those pages, a diff of @parent.  Its new id in @id.
 */
static void put_snapshot(const struct fixture *f, const char *name,
			 const uint8_t *mem, uint64_t mem_size,
			 const uint64_t *dirty, const uint8_t *parent,
			 uint8_t *id)
{
	char vs_path[256], mem_path[256], tmp[4200], err[512];
	struct vs_vm vm = { .mem_size = mem_size, .nr_vcpus = 1 };
	struct vsbuf b;

	assert_int_equal(vstate__new_id(id), 0);
	memcpy(vm.id, id, VS_ID_BYTES);
	if (parent)
		memcpy(vm.parent_id, parent, VS_ID_BYTES);
	fpath(f, vs_path, name, "vmstate");
	fpath(f, mem_path, name, "mem");
	vsbuf__init(&b);
	assert_int_equal(vsbuf__add_layout(&b, &vm, dirty), 0);
	assert_int_equal(vstate__write_file(vs_path, &b, err, sizeof(err)), 0);
	vsbuf__free(&b);
	assert_int_equal(memfile__write_temp(mem_path, mem, mem_size, dirty,
					     id, tmp, err, sizeof(err)), 0);
	assert_int_equal(file__rename_temp(tmp, mem_path, err, sizeof(err)),
			 0);
}

/*
 * Run snapmerge -o out.vmstate out.mem base.mem and the Diffs named in
 * @diffs ("d1 d2"), in @limit_kib of address space if not 0; its exit
 * status, standard error in f->err.
 */
static int merge(struct fixture *f, const char *diffs, long limit_kib)
{
	char cmd[2048], errf[256], name[32];
	const char *p = diffs;
	int len, n, st;
	FILE *e;

	fpath(f, errf, "stderr", "txt");
	len = snprintf(cmd, sizeof(cmd), "%s%.0ld%s %s -o %s/out.vmstate "
		       "%s/out.mem %s/base.mem", limit_kib ? "ulimit -v " : "",
		       limit_kib, limit_kib ? ";" : "", SNAPMERGE, f->dir,
		       f->dir, f->dir);
	while (sscanf(p, "%31s%n", name, &n) == 1) {
		len += snprintf(cmd + len, sizeof(cmd) - len,
				" %s/%s.vmstate %s/%s.mem", f->dir, name,
				f->dir, name);
		p += n;
	}
	snprintf(cmd + len, sizeof(cmd) - len, " >/dev/null 2>%s", errf);
	st = system(cmd);
	f->err[0] = 0;
	e = fopen(errf, "r");
	assert_non_null(e);
	n = fread(f->err, 1, sizeof(f->err) - 1, e);
	f->err[n > 0 ? n : 0] = 0;
	fclose(e);
	unlink(errf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Pages @... (ending with -1) of @mem changed, and marked in @dirty. */
static void change_pages(uint8_t *mem, uint64_t *dirty, uint8_t value, ...)
{
	va_list ap;
	int page;

	memset(dirty, 0, bitmap__bytes(PAGES));
	va_start(ap, value);
	while ((page = va_arg(ap, int)) >= 0) {
		memset(mem + page * VMSTATE_PAGE_SIZE, value,
		       VMSTATE_PAGE_SIZE);
		bitmap__set(dirty, page);
	}
	va_end(ap);
}

/* The number of files in the test's directory whose name has @part. */
static int files_named(const struct fixture *f, const char *part)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c -- '%s'", f->dir, part);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/*
 * out.mem's first @len bytes are @want but for the identity page, which
 * names @id.
 */
static void expect_merged(const struct fixture *f, const uint8_t *want,
			  uint64_t len, const uint8_t *id)
{
	const uint64_t idpg = MEMFILE_ID_OFFSET, after = idpg + 4096;
	struct memfile_id t;
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	char p[256], err[512];
	struct vstate vs;
	uint8_t *got;
	int fd;

	fpath(f, p, "out", "mem");
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	got = malloc(len);
	assert_non_null(got);
	assert_int_equal(pread(fd, got, len, 0), len);
	assert_memory_equal(got, want, idpg);
	assert_memory_equal(got + after, want + after, len - after);
	free(got);
	assert_int_equal(memfile__read_id(fd, &t), 0);
	assert_memory_equal(t.id, id, VS_ID_BYTES);
	close(fd);

	fpath(f, p, "out", "vmstate");
	assert_int_equal(vstate__read_file(p, &vs, err, sizeof(err)), 0);
	assert_int_equal(vstate__layout(&vs, &vm, &mem, err, sizeof(err)), 0);
	assert_int_equal(mem->type, VS_MEM_FULL);
	assert_memory_equal(vm->id, id, VS_ID_BYTES);
	assert_true(vstate__id_is_zero(vm->parent_id));
	vstate__free(&vs);
}

/*
 * base, d1, d2, d3: each Diff rewrites pages of the one before, d3 turns
 * a page of data into zeros, which must reach the result too.
 */
struct chain {
	uint8_t mem[MEM];
	uint64_t dirty[PAGES / 64];
	uint8_t base[VS_ID_BYTES], d1[VS_ID_BYTES], d2[VS_ID_BYTES];
	uint8_t d3[VS_ID_BYTES];
};

static void put_chain(const struct fixture *f, struct chain *c)
{
	uint64_t i;

	for (i = 0; i < MEM; i++)
		c->mem[i] = (i * 2654435761ULL) >> 13;
	/* A zero page in the base is a hole in its memory file. */
	memset(c->mem + 9 * VMSTATE_PAGE_SIZE, 0, VMSTATE_PAGE_SIZE);
	put_snapshot(f, "base", c->mem, MEM, NULL, NULL, c->base);
	change_pages(c->mem, c->dirty, 0x11, 1, 5, 9, -1);
	put_snapshot(f, "d1", c->mem, MEM, c->dirty, c->base, c->d1);
	change_pages(c->mem, c->dirty, 0x22, 5, 7, 200, -1);
	put_snapshot(f, "d2", c->mem, MEM, c->dirty, c->d1, c->d2);
	change_pages(c->mem, c->dirty, 0, 2, 7, -1);
	put_snapshot(f, "d3", c->mem, MEM, c->dirty, c->d2, c->d3);
}

static void test_chain_of_three(void **state)
{
	struct fixture *f = *state;
	struct chain *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	put_chain(f, c);
	assert_int_equal(merge(f, "d1 d2 d3", 0), 0);
	expect_merged(f, c->mem, MEM, c->d3);
	assert_int_equal(files_named(f, ".tmp."), 0);
	free(c);
}

/*
 * A refused merge: exit status 1, @why in its message, and the files at
 * the output paths as they were (here: a previous merge's), no temporary.
 */
static void expect_refused(struct fixture *f, const char *diffs,
			   const char *why, const uint8_t *out_mem,
			   const uint8_t *out_id)
{
	assert_int_equal(merge(f, diffs, 0), 1);
	if (!strstr(f->err, why))
		fail_msg("'%s' refused without '%s': %s", diffs, why, f->err);
	expect_merged(f, out_mem, MEM, out_id);
	assert_int_equal(files_named(f, ".tmp."), 0);
}

static void test_refusals_change_nothing(void **state)
{
	struct fixture *f = *state;
	struct chain *c = calloc(1, sizeof(*c));
	uint8_t *gen1 = malloc(MEM), other[VS_ID_BYTES], od[VS_ID_BYTES];
	char a[256], b[256];
	int fd;

	assert_non_null(c);
	assert_non_null(gen1);
	put_chain(f, c);
	/* What base + d1 holds: the outputs every refusal must keep. */
	assert_int_equal(merge(f, "d1", 0), 0);
	fpath(f, a, "out", "mem");
	fd = open(a, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, gen1, MEM, 0), MEM);
	close(fd);

	/* Another chain: a diff of a base that is not this one. */
	put_snapshot(f, "obase", c->mem, MEM, NULL, NULL, other);
	change_pages(c->mem, c->dirty, 0x33, 3, -1);
	put_snapshot(f, "od1", c->mem, MEM, c->dirty, other, od);
	expect_refused(f, "od1", "is a diff of snapshot", gen1, c->d1);
	expect_refused(f, "d1 od1", "is a diff of snapshot", gen1, c->d1);
	/* Out of order, or one missing. */
	expect_refused(f, "d2 d1", "out of order", gen1, c->d1);
	expect_refused(f, "d1 d3", "out of order", gen1, c->d1);
	/* A Diff's vmstate with another Diff's memory file. */
	fpath(f, a, "d2", "mem");
	fpath(f, b, "x2", "mem");
	assert_int_equal(link(a, b), 0);
	fpath(f, a, "d3", "vmstate");
	fpath(f, b, "x2", "vmstate");
	assert_int_equal(link(a, b), 0);
	expect_refused(f, "d1 d2 x2", "belongs to another snapshot", gen1,
		       c->d1);
	/* A Full where a Diff belongs. */
	expect_refused(f, "base", "not a Diff snapshot", gen1, c->d1);
	free(gen1);
	free(c);
}

/* A killed merge's temporaries go with the next merge to the same paths. */
static void test_stale_temps_removed(void **state)
{
	struct fixture *f = *state;
	struct chain *c = calloc(1, sizeof(*c));
	char p[256];
	int fd;

	assert_non_null(c);
	put_chain(f, c);
	snprintf(p, sizeof(p), "%s/out.mem.tmp.Ab12Cd", f->dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MEM), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/out.vmstate.tmp.Xy34Zw", f->dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(merge(f, "d1 d2 d3", 0), 0);
	assert_int_equal(files_named(f, ".tmp."), 0);
	expect_merged(f, c->mem, MEM, c->d3);
	free(c);
}

/*
 * A 3 GiB guest's chain merged in 1 GiB of address space: snapmerge
 * streams the base's data and the Diffs' pages through a small buffer.
 * It once read the whole memory into one allocation, and failed here
 * ("out of memory"), as it would in a test VM of 3 GiB.  The result stays
 * sparse where the guest's memory is zero.
 */
static void test_big_chain_streams(void **state)
{
	static const uint64_t pages[] = {
		0, 1, 262143, 262144, 524288, 786431,
	};
	struct fixture *f = *state;
	uint64_t n = BIG_MEM / VMSTATE_PAGE_SIZE, i;
	uint64_t *dirty = bitmap__alloc(n);
	uint8_t *mem, id[VS_ID_BYTES], d1[VS_ID_BYTES], got[VMSTATE_PAGE_SIZE];
	struct stat st;
	char p[256];
	int fd;

	assert_non_null(dirty);
	mem = mmap(NULL, BIG_MEM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	for (i = 0; i < 6; i++)
		memset(mem + pages[i] * VMSTATE_PAGE_SIZE, 0x40 + i,
		       VMSTATE_PAGE_SIZE);
	put_snapshot(f, "base", mem, BIG_MEM, NULL, NULL, id);
	for (i = 0; i < 6; i += 2) {
		memset(mem + (pages[i] + 7) * VMSTATE_PAGE_SIZE, 0x70 + i,
		       VMSTATE_PAGE_SIZE);
		bitmap__set(dirty, pages[i] + 7);
		memset(mem + pages[i] * VMSTATE_PAGE_SIZE, 0x60 + i,
		       VMSTATE_PAGE_SIZE);
		bitmap__set(dirty, pages[i]);
	}
	put_snapshot(f, "d1", mem, BIG_MEM, dirty, id, d1);

	assert_int_equal(merge(f, "d1", 1 << 20), 0);
	fpath(f, p, "out", "mem");
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, BIG_MEM);
	assert_true(st.st_blocks * 512 < (64 << 20));
	for (i = 0; i < 6; i++) {
		uint64_t pg[] = { pages[i], pages[i] + 7, pages[i] + 3 };
		int k;

		for (k = 0; k < 3; k++) {
			if (pg[k] >= n)
				continue;
			assert_int_equal(pread(fd, got, sizeof(got),
					       pg[k] * VMSTATE_PAGE_SIZE),
					 sizeof(got));
			assert_memory_equal(got, mem + pg[k] *
					    VMSTATE_PAGE_SIZE, sizeof(got));
		}
	}
	close(fd);
	munmap(mem, BIG_MEM);
	free(dirty);
}

/* Bytes of file @name.mem the file system stores (not its holes). */
static uint64_t stored(const struct fixture *f, const char *name)
{
	struct stat st;
	char p[256];

	fpath(f, p, name, "mem");
	assert_int_equal(stat(p, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

/* Page @page of memory file @name.mem is @want. */
static void expect_page(const struct fixture *f, const char *name,
			uint64_t page, const uint8_t *want)
{
	uint8_t got[VMSTATE_PAGE_SIZE];
	char p[256];
	int fd;

	fpath(f, p, name, "mem");
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, sizeof(got), page * VMSTATE_PAGE_SIZE),
			 sizeof(got));
	close(fd);
	assert_memory_equal(got, want, sizeof(got));
}

/*
 * A 4 GiB guest's Diff of CLEARED bytes of zeros (what a Linux guest's
 * kernel writes as it clears the pages it allocates: init_on_alloc, whole
 * transparent huge pages) and a few pages of data, on both sides of the
 * hole.  The Diff's memory file and the merge store the data, not the
 * zeros: in the test VM's tmpfs of 1.5 GiB, a 4 GiB guest's first Diff
 * and its merge once held some 700 MiB of zeros each and the merge ran
 * out of space.  A zero page of the Diff over data of the base is still
 * zero in the result.
 */
static void test_zeros_stay_holes(void **state)
{
	/* Slot 0's start and end, slot 1's start and last page. */
	static const uint64_t pages[] = { 0, 786431, 786432, 1048575 };
	struct fixture *f = *state;
	uint64_t n = BOTH_MEM / VMSTATE_PAGE_SIZE, i;
	uint64_t cleared = 800000, nr = CLEARED / VMSTATE_PAGE_SIZE;
	uint64_t *dirty = bitmap__alloc(n);
	uint8_t *mem, id[VS_ID_BYTES], d1[VS_ID_BYTES];

	assert_non_null(dirty);
	mem = mmap(NULL, BOTH_MEM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	/* The base: data at the pages above and in the range cleared. */
	for (i = 0; i < 4; i++)
		memset(mem + pages[i] * VMSTATE_PAGE_SIZE, 0x40 + i,
		       VMSTATE_PAGE_SIZE);
	memset(mem + (cleared + 5) * VMSTATE_PAGE_SIZE, 0x55,
	       VMSTATE_PAGE_SIZE);
	put_snapshot(f, "base", mem, BOTH_MEM, NULL, NULL, id);
	assert_true(stored(f, "base") < (1 << 20));

	/* The Diff: the range cleared, a page of it written again. */
	memset(mem + cleared * VMSTATE_PAGE_SIZE, 0, CLEARED);
	for (i = cleared; i < cleared + nr; i++)
		bitmap__set(dirty, i);
	memset(mem + (cleared + 9) * VMSTATE_PAGE_SIZE, 0x66,
	       VMSTATE_PAGE_SIZE);
	/* And pages of data, one turned to zero, in both slots. */
	for (i = 0; i < 4; i++) {
		memset(mem + pages[i] * VMSTATE_PAGE_SIZE,
		       i == 2 ? 0 : 0x60 + i,
		       VMSTATE_PAGE_SIZE);
		bitmap__set(dirty, pages[i]);
	}
	put_snapshot(f, "d1", mem, BOTH_MEM, dirty, id, d1);
	if (stored(f, "d1") >= (1 << 20))
		fail_msg("the Diff stores %llu bytes of %llu dirtied",
			 (unsigned long long)stored(f, "d1"),
			 (unsigned long long)CLEARED);

	assert_int_equal(merge(f, "d1", 0), 0);
	if (stored(f, "out") >= (1 << 20))
		fail_msg("the merge stores %llu bytes",
			 (unsigned long long)stored(f, "out"));
	for (i = 0; i < 4; i++)
		expect_page(f, "out", pages[i],
			    mem + pages[i] * VMSTATE_PAGE_SIZE);
	for (i = cleared; i < cleared + 12; i++)
		expect_page(f, "out", i, mem + i * VMSTATE_PAGE_SIZE);
	munmap(mem, BOTH_MEM);
	free(dirty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_of_three, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refusals_change_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_temps_removed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_chain_streams, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_zeros_stay_holes, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
