// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots of guests of 256 MiB, 1, 3 and 4 GiB, in the test VM: the
 * sizes SNAPSHOT_SIZES lists in MiB ("1024 4096" unless set, as in make
 * check; 4 GiB has memory in both slots, on both sides of the hole; make
 * stress-restore runs "256 3072 4096"; snapshot_test covers 256 MiB in
 * make check, and each size costs a minute or two under nested
 * emulation).  The memcheck guest (guest/memcheck.c) spreads its 8 MiB
 * over up to 512 MiB (spread_mib).  Each size takes a Full, a chain of
 * three Diffs and, at the last Diff's pause, a second Full, the truth;
 * every memory file stores its nonzero pages only, which is what lets a
 * 4 GiB guest's snapshots fit on the test VM's tmpfs of 1.5 GiB; then
 *  - the Full restores and the guest goes on as the original did, and
 *    so it does again from the working set it recorded, restored
 *    through layers_prefetch HugePages;
 *  - the Full plus the first Diff, merged by snapmerge, restores alike;
 *  - the Full plus all three Diffs, merged, is byte for byte the truth's
 *    memory, and so is a Full taken of it restored and still paused,
 *    which stores no more than the truth (the VMM does not read the
 *    holes of the file it restored from: through the mapping, tmpfs
 *    would allocate each), after which it resumes and goes on as the
 *    original did;
 *  - a Diff taken first, at the same pause as the Full, merged onto
 *    memory of zeros, is that Full's memory: the first Diff of a booted
 *    VM holds everything the VMM wrote at boot (zero page, command line,
 *    page tables, kernel, initrd, MP and ACPI tables), which KVM's dirty
 *    log never saw, and everything the guest wrote since;
 *  - the vmstate has the TSC rate and the MTRRs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "crc32.h"
#include "test_util.h"
#include "vmm_util.h"
#include "vmstate.h"

#define INITRD		"build/guest/memcheck.cpio.gz"
#define VCPUS		2
#define DIFFS		3

FIXTURE(size) {
	char dir[64];
	char out[4096];
	struct vmm_proc a, b;
};

/*
 * @spread_mib: the virtual range memcheck's 8 MiB are spread over.  The
 * VMM's guest memory is THP-backed in the test VM, so each 2 MiB the
 * spread reaches costs 2 MiB of the test VM's 3 GiB: above 1 GiB the
 * spread stays at 512 MiB, where the guest's allocator, which takes the
 * highest zone first, still puts the pages in the 4 GiB guest's slot 1.
 */
FIXTURE_VARIANT(size) {
	unsigned int mib;
	unsigned int spread_mib;
};

FIXTURE_VARIANT_ADD(size, mib256) { .mib = 256, .spread_mib = 128 };
FIXTURE_VARIANT_ADD(size, mib1024) { .mib = 1024, .spread_mib = 512 };
FIXTURE_VARIANT_ADD(size, mib3072) { .mib = 3072, .spread_mib = 512 };
/* Both memory slots: 3 GiB below the hole, 1 GiB from 4 GiB. */
FIXTURE_VARIANT_ADD(size, mib4096) { .mib = 4096, .spread_mib = 512 };

/* Whether SNAPSHOT_SIZES (default "1024 4096") lists @mib. */
static bool size_wanted(unsigned int mib)
{
	const char *list = getenv("SNAPSHOT_SIZES");
	unsigned int m;
	int n;

	if (!list)
		list = "1024 4096";
	while (sscanf(list, "%u%n", &m, &n) == 1) {
		if (m == mib)
			return true;
		list += n;
	}
	return false;
}

FIXTURE_SETUP(size)
{
	/* The test skips itself: the harness would run it anyway. */
	if (!size_wanted(variant->mib))
		return;
	snprintf(self->dir, sizeof(self->dir), "/tmp/sizetest-%d", getpid());
	mkdir(self->dir, 0700);
}

FIXTURE_TEARDOWN(size)
{
	char cmd[128];

	vmm_proc__kill(&self->a);
	vmm_proc__kill(&self->b);
	if (!self->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

static void snap_path(FIXTURE_DATA(size) *self, char *buf, const char *name,
		      const char *ext)
{
	snprintf(buf, 256, "%s/%s.%s", self->dir, name, ext);
}

static int create(FIXTURE_DATA(size) *self, struct vmm_proc *v,
		  const char *type, const char *name)
{
	char body[1024], vmstate[256], mem[256];

	snap_path(self, vmstate, name, "vmstate");
	snap_path(self, mem, name, "mem");
	snprintf(body, sizeof(body), "{\"snapshot_type\":\"%s\","
		 "\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}", type,
		 vmstate, mem);
	return vmm_proc__api(v, "PUT", "/snapshot/create", body, self->out,
			     sizeof(self->out));
}

/*
 * Load snapshot @name into a new VMM @v, resumed or paused, with the
 * further fields @extra of the request (or none: NULL).
 */
static int load(FIXTURE_DATA(size) *self, struct vmm_proc *v,
		const char *name, bool resume, const char *extra)
{
	char body[1024], vmstate[256], mem[256];

	vmm_proc__start(v, self->dir, name);
	snap_path(self, vmstate, name, "vmstate");
	snap_path(self, mem, name, "mem");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\","
		 "\"mem_backend\":{\"backend_type\":\"File\","
		 "\"backend_path\":\"%s\"},"
		 "\"resume_vm\":%s%s%s}", vmstate, mem,
		 resume ? "true" : "false", extra ? "," : "", extra ?: "");
	return vmm_proc__api(v, "PUT", "/snapshot/load", body, self->out,
			     sizeof(self->out));
}

static int state(FIXTURE_DATA(size) *self, struct vmm_proc *v,
		 const char *s)
{
	return vmm_proc__set_state(v, s, self->out, sizeof(self->out));
}

/* Boot memcheck in @mib MiB, its pages spread over @spread MiB. */
static bool boot(FIXTURE_DATA(size) *self, unsigned int mib,
		 unsigned int spread)
{
	char body[1024], line[256];
	int i;

	vmm_proc__start(&self->a, self->dir, "a");
	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
		 "\"initrd_path\":\"%s\",\"boot_args\":\"console=ttyS0 "
		 "reboot=k panic=1 pci=off quiet MEMCHECK_SPREAD_MIB=%u\"}",
		 vmm_util__kernel(), INITRD, spread);
	if (vmm_proc__api(&self->a, "PUT", "/boot-source", body, self->out,
			  sizeof(self->out)) != 204)
		return false;
	snprintf(body, sizeof(body), "{\"vcpu_count\":%u,\"mem_size_mib\":%u,"
		 "\"track_dirty_pages\":true}", VCPUS, mib);
	if (vmm_proc__api(&self->a, "PUT", "/machine-config", body, self->out,
			  sizeof(self->out)) != 204 ||
	    !vmm_proc__boot(&self->a, "MEMCHECK ready", line, sizeof(line),
			    600))
		return false;
	/* Its 2048 pages spread as asked. */
	if (!strstr(line, " pages=2048 ") ||
	    atol(strstr(line, "stride=") + 7) != spread * 256 / 2048) {
		fprintf(stderr, "# memcheck did not spread: %s", line);
		return false;
	}
	for (i = 0; i < 120; i++) {
		if (vmm_proc__find_line(&self->a, "VERIFY 10 ", line,
					sizeof(line)))
			return strstr(line, " ok") != NULL;
		sleep(1);
	}
	vmm_proc__show_console(&self->a, 20);
	return false;
}

/* The checksum part of the console line for tick @n. */
static bool tick_sum(struct vmm_proc *v, long n, char *sum)
{
	char prefix[32], line[256], *s;

	snprintf(prefix, sizeof(prefix), "TICK %ld ", n);
	if (!vmm_proc__find_line(v, prefix, line, sizeof(line)))
		return false;
	s = strstr(line, "S=");
	if (!s)
		return false;
	snprintf(sum, 19, "%s", s);
	return true;
}

/*
 * Restored guest @v, paused at tick @n as the original @orig was, goes on
 * as it did: the same checksum two ticks later, its memory re-verified,
 * no reboot.
 */
static void expect_goes_on(struct __test_metadata *_metadata,
			   struct vmm_proc *orig, struct vmm_proc *v, long n)
{
	char want[32], got[32], line[256];
	long verify = (n + 6) / 5 * 5;

	ASSERT_TRUE(vmm_proc__expect_tick(v, verify, 180))
		TH_LOG("restored guest did not tick past %ld", verify);
	ASSERT_TRUE(tick_sum(orig, n + 2, want));
	ASSERT_TRUE(tick_sum(v, n + 2, got));
	EXPECT_STREQ(want, got);
	EXPECT_FALSE(vmm_proc__find_line(v, "GUEST-BOOTED", line,
					 sizeof(line)));
	ASSERT_TRUE(vmm_proc__find_line(v, "VERIFY ", line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " ok")) TH_LOG("%s", line);
}

/*
 * What snapinfo tells of snapshot @name: the TSC rate in @khz, the fewest
 * MTRRs a vCPU had saved in @mtrrs, where the guest's kvmclock wall clock
 * is in the memory file in @wall (0: none; above 4 GiB, where a guest's
 * kernel may be, the offset is not the address).  The number of vCPUs it listed.
 */
static int snapinfo(FIXTURE_DATA(size) *self, const char *name,
		    unsigned int *khz, unsigned int *mtrrs,
		    unsigned long long *wall)
{
	char vmstate[256], cmd[512], line[256];
	unsigned int id, nr, m;
	unsigned long long v;
	int n = 0;
	FILE *f;

	snap_path(self, vmstate, name, "vmstate");
	snprintf(cmd, sizeof(cmd), "build/snapinfo %s", vmstate);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	*khz = 0;
	*mtrrs = ~0u;
	*wall = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " TSC %u kHz", khz) == 1 ||
		    sscanf(line, " wall clock at %*x (kvmclock), memory file "
			   "offset %llx", wall) == 1)
			continue;
		if (sscanf(line, " vCPU %u MSRs %u (%u MTRRs) TSC %llu", &id,
			   &nr, &m, &v) == 4) {
			if (m < *mtrrs)
				*mtrrs = m;
			n++;
		}
	}
	pclose(f);
	return n;
}

/*
 * The vmstate of snapshot @name holds the TSC rate the guest calibrated
 * against and the MTRRs, which KVM's MSR list leaves out: at least
 * MTRRdefType and the eleven fixed-range ones.
 */
static void expect_vcpu_state(struct __test_metadata *_metadata,
			      FIXTURE_DATA(size) *self, const char *name)
{
	unsigned long long wall;
	unsigned int khz, mtrrs;

	ASSERT_EQ(VCPUS, snapinfo(self, name, &khz, &mtrrs, &wall));
	EXPECT_GT(khz, 0);
	EXPECT_GE(mtrrs, 12);
}

/* snapmerge -o @out.vmstate @out.mem base.mem d1 ... d@last; status. */
static int merge_from(FIXTURE_DATA(size) *self, const char *base,
		      const char *out, int first, int last)
{
	char cmd[2048];
	int len, i;

	len = snprintf(cmd, sizeof(cmd), "build/snapmerge -o %s/%s.vmstate "
		       "%s/%s.mem %s/%s.mem", self->dir, out, self->dir, out,
		       self->dir, base);
	for (i = first; i <= last; i++)
		len += snprintf(cmd + len, sizeof(cmd) - len,
				" %s/d%d.vmstate %s/d%d.mem", self->dir, i,
				self->dir, i);
	return system(cmd);
}

static int merge(FIXTURE_DATA(size) *self, const char *out, int last)
{
	return merge_from(self, "base", out, 1, last);
}

/*
 * The guest memory in memory files @a and @b is the same, byte for byte
 * (each names its own snapshot in its identity page): 0, or the number
 * of bytes that differ.
 */
static long same_memory(FIXTURE_DATA(size) *self, unsigned int mib,
			const char *a, const char *b)
{
	char pa[256], pb[256];

	snap_path(self, pa, a, "mem");
	snap_path(self, pb, b, "mem");
	return memfile_diff_bytes(pa, pb, (uint64_t)mib << 20, 0, 0);
}

/*
 * The same but for the kvmclock wall clock of snapshot @name (12 bytes
 * where the GPA its MSR holds is in the file), which KVM writes as it
 * restores that MSR:
 * the number of other bytes that differ, or -1.
 */
static long differ_but_wall_clock(FIXTURE_DATA(size) *self,
				  unsigned int mib, const char *a,
				  const char *b, const char *name)
{
	unsigned long long wall;
	unsigned int khz, mtrrs;
	char pa[256], pb[256];

	if (snapinfo(self, name, &khz, &mtrrs, &wall) != VCPUS)
		return -1;
	snap_path(self, pa, a, "mem");
	snap_path(self, pb, b, "mem");
	return memfile_diff_bytes(pa, pb, (uint64_t)mib << 20, wall,
				  wall ? 12 : 0);
}

/*
 * "zero.mem": @mib MiB of zeros (a hole) with an identity page naming the
 * zero id, the parent a VM's first Diff names: the base to merge it onto.
 */
static int put_zero_base(FIXTURE_DATA(size) *self, unsigned int mib)
{
	uint8_t page[VMSTATE_PAGE_SIZE] = { 0 };
	struct memfile_id *t = (struct memfile_id *)page;
	char p[256];
	int fd, ret;

	snap_path(self, p, "zero", "mem");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	memcpy(t->magic, MEMFILE_MAGIC, sizeof(t->magic));
	t->version = 1;
	t->size = sizeof(*t);
	t->mem_size = (uint64_t)mib << 20;
	t->crc = crc32__update(0, t, offsetof(struct memfile_id, crc));
	ret = !ftruncate(fd, t->mem_size) &&
	      pwrite(fd, page, sizeof(page), MEMFILE_ID_OFFSET) ==
	      sizeof(page) ? 0 : -1;
	close(fd);
	return ret;
}

/* The pages Diff @name holds (dirtied), or -1 for a Full. */
static long long diff_pages(FIXTURE_DATA(size) *self, const char *name)
{
	char vmstate[256], cmd[512], line[256];
	long long pages = -1;
	FILE *f;

	snap_path(self, vmstate, name, "vmstate");
	snprintf(cmd, sizeof(cmd), "build/snapinfo %s", vmstate);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		sscanf(line, " memory file Diff, %lld pages", &pages);
	pclose(f);
	return pages;
}

/*
 * Memory file @name.mem stores no more than its nonzero pages (its
 * identity page one of them): zero pages are holes, whatever the guest
 * dirtied.  A booted
 * Linux guest dirties hundreds of MiB of zeros (its kernel clears every
 * page it allocates, transparent huge pages whole); stored, they filled
 * the test VM's tmpfs at a 4 GiB guest's first merge.  Only the file's
 * data extents are read.  Prints its size and what it stores.
 */
static void expect_sparse(struct __test_metadata *_metadata,
			  FIXTURE_DATA(size) *self, const char *name)
{
	static uint8_t page[4096];
	off_t data = 0, hole, off;
	uint64_t nonzero = 0;
	long long dirtied;
	struct statvfs fs;
	char p[256], held[64] = "";
	struct stat st;
	int fd;

	snap_path(self, p, name, "mem");
	fd = open(p, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	while ((data = lseek(fd, data, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		ASSERT_LT(data, hole);
		for (off = data; off < hole; off += sizeof(page)) {
			ASSERT_EQ(sizeof(page), pread(fd, page, sizeof(page),
						      off));
			if (page[0] || memcmp(page, page + 1, sizeof(page) - 1))
				nonzero++;
		}
		data = hole;
	}
	close(fd);
	ASSERT_EQ(0, statvfs(self->dir, &fs));
	dirtied = diff_pages(self, name);
	if (dirtied >= 0)
		snprintf(held, sizeof(held), " (a Diff of %lld pages)",
			 dirtied);
	fprintf(stderr, "# %s.mem: %llu MiB, %llu KiB stored, %llu nonzero "
		"pages%s; %llu MiB free here\n", name,
		(unsigned long long)st.st_size >> 20,
		(unsigned long long)st.st_blocks / 2,
		(unsigned long long)nonzero, held,
		(unsigned long long)fs.f_bavail * fs.f_frsize >> 20);
	/* Two pages of slack. */
	EXPECT_GE((nonzero + 2) * 4096, (uint64_t)st.st_blocks * 512)
		TH_LOG("%s.mem stores zeros", name);
}

static void drop(FIXTURE_DATA(size) *self, const char *name)
{
	char p[256];

	snap_path(self, p, name, "vmstate");
	unlink(p);
	snap_path(self, p, name, "mem");
	unlink(p);
}

TEST_F_TIMEOUT(size, full_diff_chain_identical, 2400)
{
	char name[16], layers[256], extra[512];
	struct timespec t0, t1;
	long n[DIFFS + 1];
	int g;

	if (!size_wanted(variant->mib))
		SKIP(return, "%u MiB: not in SNAPSHOT_SIZES (make "
		     "stress-restore runs 256, 3072 and 4096)", variant->mib);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_TRUE(boot(self, variant->mib, variant->spread_mib));
	ASSERT_EQ(204, state(self, &self->a, "Paused"));
	n[0] = vmm_proc__last_tick(&self->a);
	ASSERT_EQ(204, create(self, &self->a, "Diff", "d0"))
		TH_LOG("%s", self->out);
	ASSERT_EQ(204, create(self, &self->a, "Full", "base"))
		TH_LOG("%s", self->out);
	expect_sparse(_metadata, self, "d0");
	expect_sparse(_metadata, self, "base");
	expect_vcpu_state(_metadata, self, "base");
	/* The first Diff holds all the memory the VM ever wrote. */
	ASSERT_EQ(0, put_zero_base(self, variant->mib));
	ASSERT_EQ(0, merge_from(self, "zero", "boot", 0, 0));
	expect_sparse(_metadata, self, "boot");
	EXPECT_EQ(0, same_memory(self, variant->mib, "boot", "base"))
		TH_LOG("the first Diff lacks pages written since boot");
	drop(self, "boot");
	drop(self, "zero");
	drop(self, "d0");
	for (g = 1; g <= DIFFS; g++) {
		ASSERT_EQ(204, state(self, &self->a, "Resumed"));
		ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n[g - 1] + 3, 60));
		ASSERT_EQ(204, state(self, &self->a, "Paused"));
		n[g] = vmm_proc__last_tick(&self->a);
		snprintf(name, sizeof(name), "d%d", g);
		ASSERT_EQ(204, create(self, &self->a, "Diff", name))
			TH_LOG("%s", self->out);
	}
	/* The memory the chain must add up to, at the same pause. */
	ASSERT_EQ(204, create(self, &self->a, "Full", "truth"));
	for (g = 1; g <= DIFFS; g++) {
		snprintf(name, sizeof(name), "d%d", g);
		expect_sparse(_metadata, self, name);
	}
	expect_sparse(_metadata, self, "truth");
	ASSERT_EQ(204, state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n[DIFFS] + 8, 60));
	vmm_proc__kill(&self->a);

	/* The Full, recording the working set of its first ticks. */
	ASSERT_EQ(204, load(self, &self->b, "base", true,
			    "\"track_working_set\":true"))
		TH_LOG("%s", self->out);
	expect_goes_on(_metadata, &self->a, &self->b, n[0]);
	ASSERT_EQ(204, state(self, &self->b, "Paused"));
	snap_path(self, layers, "base", "layers");
	snprintf(extra, sizeof(extra), "{\"layers_path\":\"%s\"}", layers);
	ASSERT_EQ(204, vmm_proc__api(&self->b, "PUT", "/snapshot/layers",
				     extra, self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	vmm_proc__kill(&self->b);

	/*
	 * Those layers read into huge pages before the guest resumes: each
	 * 2 MiB of memory that holds a page of the working set, on both
	 * sides of the hole at 4 GiB.
	 */
	snprintf(extra, sizeof(extra), "\"layers_path\":\"%s\","
		 "\"layers_prefetch\":\"HugePages\"", layers);
	ASSERT_EQ(204, load(self, &self->b, "base", true, extra))
		TH_LOG("%s", self->out);
	expect_goes_on(_metadata, &self->a, &self->b, n[0]);
	vmm_proc__kill(&self->b);
	unlink(layers);

	/* A Diff of this size, through snapmerge. */
	ASSERT_EQ(0, merge(self, "gen1", 1));
	expect_sparse(_metadata, self, "gen1");
	ASSERT_EQ(204, load(self, &self->b, "gen1", true, NULL))
		TH_LOG("%s", self->out);
	expect_goes_on(_metadata, &self->a, &self->b, n[1]);
	vmm_proc__kill(&self->b);
	drop(self, "gen1");

	/* Three generations: the chain adds up to the truth exactly. */
	ASSERT_EQ(0, merge(self, "gen3", DIFFS));
	expect_sparse(_metadata, self, "gen3");
	drop(self, "base");
	EXPECT_EQ(0, same_memory(self, variant->mib, "gen3", "truth"))
		TH_LOG("the merged chain differs from the memory it recorded");
	ASSERT_EQ(204, load(self, &self->b, "gen3", false, NULL))
		TH_LOG("%s", self->out);
	/*
	 * Restored and not yet run, the VM's memory is still the truth's,
	 * but for the wall clock KVM writes as the MSR is restored.
	 */
	ASSERT_EQ(204, create(self, &self->b, "Full", "again"))
		TH_LOG("%s", self->out);
	expect_sparse(_metadata, self, "again");
	EXPECT_EQ(0, differ_but_wall_clock(self, variant->mib, "again",
					   "truth", "truth"))
		TH_LOG("the restored VM's memory differs");
	ASSERT_EQ(204, state(self, &self->b, "Resumed"));
	expect_goes_on(_metadata, &self->a, &self->b, n[DIFFS]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "# %u MiB: %ld s\n", variant->mib,
		(long)(t1.tv_sec - t0.tv_sec));
}

TEST_HARNESS_MAIN
