// SPDX-License-Identifier: GPL-2.0
/*
 * huge_pages "2M", in the test VM: a guest whose memory is 2 MiB
 * hugetlbfs pages boots, takes Full and Diff snapshots, and is restored
 * into huge pages through the Uffd backend, as Firecracker does it, by
 * tools/uffd-handler and by a handler written to Firecracker's protocol
 * alone (fc_uffd_handler.c), which must be told 2 MiB pages.  The guest
 * (guest/memcheck.c) goes on with the checksums of the original and
 * verifies its whole buffer.  What Firecracker refuses is refused: a
 * File restore of such a snapshot, an odd memory size, a page size it
 * does not know; and a pool too small fails InstanceStart, not the guest.
 *
 * The test reserves the pages it needs (vm.nr_hugepages) and gives them
 * back.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "sys_util.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/memcheck.cpio.gz"
#define GUEST_MIB	128
/* One guest at a time, two while a restore overlaps a kill, and spare. */
#define POOL_PAGES	(2 * GUEST_MIB / 2 + 16)
/* The 2 MiB pool's, which is the default size's only on most hosts. */
#define HUGE_2M		"/sys/kernel/mm/hugepages/hugepages-2048kB/"
#define NR_HUGEPAGES	HUGE_2M "nr_hugepages"
#define FREE_2M		HUGE_2M "free_hugepages"

FIXTURE(huge) {
	char dir[64];
	char out[4096];
	long nr_hugepages;	/* the host's, given back at the end */
	struct vmm_proc a, b;
	pid_t handler;
};

static bool write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

/*
 * The harness runs no teardown after a setup that failed: a pool that
 * came out short is given back here before the failure.
 */
FIXTURE_SETUP(huge)
{
	long got;
	int i;

	snprintf(self->dir, sizeof(self->dir), "/tmp/hugetest-%d", getpid());
	self->nr_hugepages = file__read_long(NR_HUGEPAGES);
	ASSERT_LE(0, self->nr_hugepages);
	/* Pages the kernel cannot find at once it may after compaction. */
	for (i = 0; i < 3 && file__read_long(FREE_2M) < POOL_PAGES; i++) {
		write_long("/proc/sys/vm/compact_memory", 1);
		write_long(NR_HUGEPAGES, self->nr_hugepages + POOL_PAGES);
	}
	got = file__read_long(FREE_2M);
	if (got < POOL_PAGES)
		write_long(NR_HUGEPAGES, self->nr_hugepages);
	ASSERT_LE(POOL_PAGES, got)
		TH_LOG("the test VM gave %ld of the %d huge pages asked for",
		       got, POOL_PAGES);
	mkdir(self->dir, 0700);
}

FIXTURE_TEARDOWN(huge)
{
	char cmd[128];

	vmm_proc__kill(&self->a);
	vmm_proc__kill(&self->b);
	if (self->handler > 0) {
		kill(self->handler, SIGKILL);
		waitpid(self->handler, NULL, 0);
	}
	if (!write_long(NR_HUGEPAGES, self->nr_hugepages))
		fprintf(stderr, "# cannot give the huge pages back\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

static void path(FIXTURE_DATA(huge) *self, char *buf, const char *name)
{
	snprintf(buf, 256, "%s/%s", self->dir, name);
}

/* PUT /machine-config for @v with @extra members; its status. */
static int machine_config(FIXTURE_DATA(huge) *self, struct vmm_proc *v,
			  unsigned int mib, const char *extra)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"vcpu_count\":2,\"mem_size_mib\":%u%s}",
		 mib, extra);
	return vmm_proc__api(v, "PUT", "/machine-config", body, self->out,
			     sizeof(self->out));
}

/*
 * Whether @v's guest memory, a mapping of @mib MiB, is in 2 MiB pages:
 * smaps gives each mapping's size and then its KernelPageSize.
 */
static bool memory_in_huge_pages(struct vmm_proc *v, unsigned int mib)
{
	char path[64], line[256];
	bool found = false, in_guest = false;
	unsigned long kb;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", v->pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %lu kB", &kb) == 1)
			in_guest = kb == mib * 1024UL;
		else if (in_guest &&
			 sscanf(line, "KernelPageSize: %lu kB", &kb) == 1)
			found |= kb == 2048;
	}
	fclose(f);
	return found;
}

/* The checksum the guest printed at tick @n, in @sum (17 bytes). */
static bool tick_sum(struct vmm_proc *v, long n, char *sum)
{
	char prefix[32], line[256];
	const char *s;

	snprintf(prefix, sizeof(prefix), "TICK %ld ", n);
	if (!vmm_proc__find_line(v, prefix, line, sizeof(line)))
		return false;
	s = strstr(line, "S=");
	if (!s || strlen(s) < 18)
		return false;
	snprintf(sum, 17, "%s", s + 2);
	return true;
}

/*
 * @restored runs from the snapshot @orig took at tick @n: it prints the
 * checksums @orig printed for ticks n + 2 to n + 4 (the pause may have
 * cut tick n + 1's line in two) and verifies its whole buffer, in 2 MiB
 * pages.
 */
static void expect_same_run(struct __test_metadata *_metadata,
			    struct vmm_proc *orig, struct vmm_proc *restored,
			    long n)
{
	char a[17], b[17], line[256];
	long t;

	ASSERT_TRUE(vmm_proc__expect_tick(restored, n + 4, 120));
	for (t = n + 2; t <= n + 4; t++) {
		ASSERT_TRUE(tick_sum(orig, t, a));
		ASSERT_TRUE(tick_sum(restored, t, b));
		EXPECT_STREQ(a, b) TH_LOG("tick %ld", t);
	}
	ASSERT_TRUE(vmm_proc__wait_line(restored, "VERIFY ", line,
					sizeof(line), 60));
	EXPECT_NE(NULL, strstr(line, " ok")) TH_LOG("%s", line);
	EXPECT_TRUE(memory_in_huge_pages(restored, GUEST_MIB));
}

/* @v runs on past tick @n + 4 and is paused again. */
static void run_on(struct __test_metadata *_metadata,
		   FIXTURE_DATA(huge) *self, struct vmm_proc *v, long n)
{
	ASSERT_EQ(204, vmm_proc__set_state(v, "Resumed", self->out,
					   sizeof(self->out)));
	ASSERT_TRUE(vmm_proc__expect_tick(v, n + 4, 120));
	ASSERT_EQ(204, vmm_proc__set_state(v, "Paused", self->out,
					   sizeof(self->out)));
}

/*
 * The handler's log, shown; @x and @y from its last line that @fmt
 * reads, and in @regions its handshake line (fc_uffd_handler's) if asked.
 */
static void handler_report(const char *log, const char *fmt,
			   unsigned long *x, unsigned long *y, char *regions,
			   size_t len)
{
	char buf[1024];
	FILE *f = fopen(log, "r");

	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		fprintf(stderr, "# handler: %s", buf);
		sscanf(buf, fmt, x, y);
		if (regions && !strncmp(buf, "fc-uffd-handler: regions ", 25))
			snprintf(regions, len, "%s", buf);
	}
	fclose(f);
}

static void stop_handler(struct __test_metadata *_metadata,
			 FIXTURE_DATA(huge) *self)
{
	int status;

	kill(self->handler, SIGTERM);
	ASSERT_EQ(self->handler, waitpid(self->handler, &status, 0));
	self->handler = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("handler status %#x", status);
}

/* PUT /snapshot/load, resumed, @extra members before resume_vm. */
static int load(FIXTURE_DATA(huge) *self, struct vmm_proc *v,
		const char *vmstate, const char *backend, const char *where,
		const char *extra)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\","
		 "\"mem_backend\":{\"backend_type\":\"%s\","
		 "\"backend_path\":\"%s\"},%s\"resume_vm\":true}", vmstate,
		 backend, where, extra);
	return vmm_proc__api(v, "PUT", "/snapshot/load", body, self->out,
			     sizeof(self->out));
}

/*
 * A restore of @vmstate taken at tick @n, in a VMM of its own named
 * @name, its faults served by tools/uffd-handler from @mem (and @layers
 * unless NULL): it goes on as the original did, the handler served
 * faults, and *@installed is what it installed from the layers.
 */
static void uffd_handler_restore(struct __test_metadata *_metadata,
				 FIXTURE_DATA(huge) *self, const char *vmstate,
				 const char *mem, const char *layers,
				 const char *name, long n,
				 unsigned long *installed)
{
	char sock[256], log[256];
	unsigned long faults = 0;

	path(self, sock, "h.uffd");
	snprintf(log, sizeof(log), "%s/handler-%s.log", self->dir, name);
	vmm_proc__start(&self->b, self->dir, name);
	self->handler = uffd_handler__start(sock, mem, layers, vmstate, log);
	ASSERT_EQ(0, access(sock, F_OK)) TH_LOG("uffd-handler did not listen");
	ASSERT_EQ(204, load(self, &self->b, vmstate, "Uffd", sock, ""))
		TH_LOG("%s", self->out);
	expect_same_run(_metadata, &self->a, &self->b, n);
	vmm_proc__kill(&self->b);
	stop_handler(_metadata, self);
	*installed = 0;
	handler_report(log, "uffd-handler: %lu faults served, %lu pages",
		       &faults, installed, NULL, 0);
	EXPECT_GT(faults, 0);
}

/*
 * One guest, booted in huge pages, snapshotted Full (with layers) at
 * tick n1 and Diff at n2, runs on after each so that its console holds
 * what every restore must print; then it goes, and its pages with it,
 * and each restore runs in a VMM of its own.
 */
TEST_F_TIMEOUT(huge, boot_snapshot_restore, 900)
{
	char full[256], full_mem[256], diff[256], diff_mem[256];
	char merged[256], merged_mem[256], sock[256], log[256], layers[256];
	char cmd[2048], line[1024], regions[1024] = "";
	unsigned long faults = 0, page = 0, installed = 0;
	long n1, n2;

	path(self, full, "full.vmstate");
	path(self, full_mem, "full.mem");
	path(self, diff, "diff.vmstate");
	path(self, diff_mem, "diff.mem");
	path(self, merged, "merged.vmstate");
	path(self, merged_mem, "merged.mem");
	path(self, layers, "full.layers");
	path(self, sock, "h.uffd");

	vmm_proc__start(&self->a, self->dir, "a");
	vmm_proc__configure(&self->a, INITRD, 2, true);
	ASSERT_EQ(204, machine_config(self, &self->a, GUEST_MIB,
				      ",\"track_dirty_pages\":true,"
				      "\"track_working_set\":true,"
				      "\"huge_pages\":\"2M\""))
		TH_LOG("%s", self->out);
	ASSERT_EQ(200, vmm_proc__api(&self->a, "GET", "/machine-config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"2M\"")) TH_LOG("%s", self->out);
	ASSERT_TRUE(vmm_proc__boot(&self->a, "VERIFY 5 ", line, sizeof(line),
				   300));
	EXPECT_NE(NULL, strstr(line, " ok"));
	EXPECT_TRUE(memory_in_huge_pages(&self->a, GUEST_MIB));

	ASSERT_EQ(204, vmm_proc__set_state(&self->a, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__create(&self->a, full, full_mem, layers,
					self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	n1 = vmm_proc__last_tick(&self->a);
	snprintf(cmd, sizeof(cmd), "build/snapinfo %s | grep -q 'pages.*2 MiB "
		 "hugetlbfs'", full);
	EXPECT_EQ(0, system(cmd)) TH_LOG("snapinfo does not say 2 MiB pages");
	run_on(_metadata, self, &self->a, n1);

	n2 = vmm_proc__last_tick(&self->a);
	snprintf(cmd, sizeof(cmd), "{\"snapshot_type\":\"Diff\","
		 "\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}", diff,
		 diff_mem);
	ASSERT_EQ(204, vmm_proc__api(&self->a, "PUT", "/snapshot/create", cmd,
				     self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	snprintf(cmd, sizeof(cmd), "build/snapmerge -o %s %s %s %s %s", merged,
		 merged_mem, full_mem, diff, diff_mem);
	ASSERT_EQ(0, system(cmd));
	run_on(_metadata, self, &self->a, n2);
	/* Its console stays; its huge pages go back to the pool. */
	vmm_proc__kill(&self->a);

	/* What Firecracker refuses, after which the VMM still loads. */
	vmm_proc__start(&self->b, self->dir, "b-fc");
	EXPECT_EQ(400, load(self, &self->b, full, "File", full_mem, ""));
	EXPECT_NE(NULL, strstr(self->out, "only with the Uffd memory backend"))
		TH_LOG("%s", self->out);

	/* Firecracker's own protocol: it must be told 2 MiB pages. */
	path(self, log, "fc-handler.log");
	self->handler = fc_uffd_handler__start(sock, full_mem, log);
	ASSERT_EQ(0, access(sock, F_OK)) TH_LOG("fc_uffd_handler did not listen");
	ASSERT_EQ(204, load(self, &self->b, full, "Uffd", sock, ""))
		TH_LOG("%s", self->out);
	ASSERT_EQ(200, vmm_proc__api(&self->b, "GET", "/machine-config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"2M\"")) TH_LOG("%s", self->out);
	expect_same_run(_metadata, &self->a, &self->b, n1);
	vmm_proc__kill(&self->b);
	stop_handler(_metadata, self);
	handler_report(log, "fc-uffd-handler: %lu faults served, page size %lu",
		       &faults, &page, regions, sizeof(regions));
	EXPECT_NE(NULL, strstr(regions, "\"page_size_kib\":2097152"));
	EXPECT_NE(NULL, strstr(regions, "\"page_size\":2097152"));
	EXPECT_EQ(2UL << 20, page);
	EXPECT_GT(faults, 0);

	/* tools/uffd-handler: the merged Diff, then the Full with layers. */
	uffd_handler_restore(_metadata, self, merged, merged_mem, NULL,
			     "merged", n2, &installed);
	EXPECT_EQ(0, installed);
	uffd_handler_restore(_metadata, self, full, full_mem, layers,
			     "layers", n1, &installed);
	EXPECT_GT(installed, 0);
}

/* Bad input, each refused with a reason, and the VMM still configures. */
TEST_F(huge, refusals)
{
	char body[256];

	vmm_proc__start(&self->a, self->dir, "a");
	vmm_proc__configure(&self->a, INITRD, 2, false);
	EXPECT_EQ(400, machine_config(self, &self->a, 127,
				      ",\"huge_pages\":\"2M\""));
	EXPECT_NE(NULL, strstr(self->out, "multiple of the configured page"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(400, machine_config(self, &self->a, 128,
				      ",\"huge_pages\":\"1G\""));
	EXPECT_NE(NULL, strstr(self->out, "None or 2M")) TH_LOG("%s", self->out);
	EXPECT_EQ(204, machine_config(self, &self->a, 128,
				      ",\"huge_pages\":\"2M\""));
	/* PATCH keeps 2M: an odd size is refused, an even one taken. */
	EXPECT_EQ(400, vmm_proc__api(&self->a, "PATCH", "/machine-config",
				     "{\"mem_size_mib\":129}", self->out,
				     sizeof(self->out)));
	/* More than the pool holds: InstanceStart says so, nothing is built. */
	snprintf(body, sizeof(body), "{\"mem_size_mib\":%d}",
		 2 * (int)(file__read_long(FREE_2M) + 1));
	EXPECT_EQ(204, vmm_proc__api(&self->a, "PATCH", "/machine-config",
				     body, self->out, sizeof(self->out)));
	EXPECT_EQ(400, vmm_proc__api(&self->a, "PUT", "/actions",
				     "{\"action_type\":\"InstanceStart\"}",
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "huge pages")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "nr_hugepages"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(204, machine_config(self, &self->a, 128, ""));
	EXPECT_EQ(200, vmm_proc__api(&self->a, "GET", "/machine-config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"None\"")) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
