// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots end to end, in the test VM.  The guest (guest/memcheck.c)
 * changes one page per tick and prints the tick and a checksum; being
 * deterministic, a guest restored at tick n must print for the ticks after
 * exactly what the original printed.  It also re-verifies its whole
 * buffer every five ticks.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "crc32.h"
#include "test_util.h"
#include "vmm_util.h"
#include "vmstate.h"

#define INITRD		"build/guest/memcheck.cpio.gz"
#define GENERATIONS	3
/*
 * A snapshot rests this long between its creation and a load, so that a
 * restored clock which counted the rest shows a jump no restore explains.
 */
#define REST_S		8.0

FIXTURE(snap) {
	char dir[64];
	char out[4096];
	struct vmm_proc a, b, c, d;
	pid_t handler;
	double created_at;	/* host time of the last snapshot created */
	double loaded_at;	/* host time the last load was asked for */
};

FIXTURE_SETUP(snap)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/snaptest-%d", getpid());
	mkdir(self->dir, 0700);
}

FIXTURE_TEARDOWN(snap)
{
	char cmd[256];

	vmm_proc__kill(&self->a);
	vmm_proc__kill(&self->b);
	vmm_proc__kill(&self->c);
	vmm_proc__kill(&self->d);
	if (self->handler > 0) {
		kill(self->handler, SIGKILL);
		waitpid(self->handler, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "%s/ro", self->dir);
	umount(cmd);
	umount(self->dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s-else", self->dir, self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/*
 * @name in the directory beside the test's (the directory itself if
 * @name is NULL), made if need be: not on a file system a test fills up
 * or makes read-only.
 */
static void elsewhere(FIXTURE_DATA(snap) *self, char *buf, const char *name)
{
	snprintf(buf, 256, "%s-else", self->dir);
	mkdir(buf, 0700);
	if (name)
		snprintf(buf, 256, "%s-else/%s", self->dir, name);
}

static void path(FIXTURE_DATA(snap) *self, char *buf, const char *name)
{
	snprintf(buf, 256, "%s/%s", self->dir, name);
}

/* Guest monotonic time printed with tick @n, or -1. */
static double tick_time(struct vmm_proc *v, long n)
{
	char prefix[32], line[256], *t;

	snprintf(prefix, sizeof(prefix), "TICK %ld ", n);
	if (!vmm_proc__find_line(v, prefix, line, sizeof(line)))
		return -1;
	t = strstr(line, "T=");
	return t ? atof(t + 2) : -1;
}

/* The "TICK n S=..." line for tick @n, checksum part only. */
static bool tick_sum(struct vmm_proc *v, long n, char *sum)
{
	char prefix[32], line[256], *s;

	snprintf(prefix, sizeof(prefix), "TICK %ld ", n);
	if (!vmm_proc__find_line(v, prefix, line, sizeof(line)))
		return false;
	s = strstr(line, "S=");
	if (!s)
		return false;
	memcpy(sum, s, 18);
	sum[18] = '\0';
	return true;
}

/* NAME.vmstate and NAME.mem in the test's directory. */
static void snap_paths(FIXTURE_DATA(snap) *self, const char *name,
		       char *vmstate, char *mem)
{
	char file[64];

	snprintf(file, sizeof(file), "%s.vmstate", name);
	path(self, vmstate, file);
	snprintf(file, sizeof(file), "%s.mem", name);
	path(self, mem, file);
}

static int create_at(FIXTURE_DATA(snap) *self, struct vmm_proc *v,
		     const char *type, const char *vmstate, const char *mem)
{
	char body[1024];
	int status;

	snprintf(body, sizeof(body), "{\"snapshot_type\":\"%s\",\"snapshot_path\":"
		 "\"%s\",\"mem_file_path\":\"%s\"}", type, vmstate, mem);
	status = vmm_proc__api(v, "PUT", "/snapshot/create", body, self->out,
			       sizeof(self->out));
	if (status == 204)
		self->created_at = test__now_s();
	return status;
}

/*
 * PUT /snapshot/load @body into @v once the last snapshot created has
 * rested REST_S, noting when the load was asked for.
 */
static int load_body(FIXTURE_DATA(snap) *self, struct vmm_proc *v,
		     const char *body)
{
	double wait = self->created_at + REST_S - test__now_s();

	if (wait > 0)
		usleep(wait * 1e6);
	self->loaded_at = test__now_s();
	return vmm_proc__api(v, "PUT", "/snapshot/load", body, self->out,
			     sizeof(self->out));
}

static int create(FIXTURE_DATA(snap) *self, struct vmm_proc *v,
		  const char *type, const char *name)
{
	char vmstate[256], mem[256];

	snap_paths(self, name, vmstate, mem);
	return create_at(self, v, type, vmstate, mem);
}

static int load_at(FIXTURE_DATA(snap) *self, struct vmm_proc *v,
		   const char *vmstate, const char *mem, bool diff)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
		 "{\"backend_type\":\"File\",\"backend_path\":\"%s\"},"
		 "\"enable_diff_snapshots\":%s,\"resume_vm\":true}", vmstate,
		 mem, diff ? "true" : "false");
	return load_body(self, v, body);
}

static int load(FIXTURE_DATA(snap) *self, struct vmm_proc *v,
		const char *name, bool diff)
{
	char vmstate[256], mem[256];

	snap_paths(self, name, vmstate, mem);
	return load_at(self, v, vmstate, mem, diff);
}

static int set_state(FIXTURE_DATA(snap) *self, struct vmm_proc *v,
		     const char *state)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
	return vmm_proc__api(v, "PATCH", "/vm", body, self->out,
			     sizeof(self->out));
}

/* Boot the workload in @v and let it verify its memory twice. */
static bool boot_workload(struct vmm_proc *v, bool track_ws)
{
	char line[256];
	int i;

	vmm_proc__configure(v, INITRD, 2, true);
	if (track_ws && vmm_proc__api(v, "PATCH", "/machine-config",
				      "{\"track_working_set\":true}", line,
				      sizeof(line)) != 204) {
		fprintf(stderr, "# machine-config: %s\n", line);
		return false;
	}
	if (vmm_proc__api(v, "PUT", "/actions",
			  "{\"action_type\":\"InstanceStart\"}", line,
			  sizeof(line)) != 204)
		return false;
	for (i = 0; i < 300; i++) {
		if (vmm_proc__find_line(v, "VERIFY 10 ", line, sizeof(line)))
			return strstr(line, " ok") != NULL;
		sleep(1);
	}
	fprintf(stderr, "# the workload did not verify its memory in 300 s\n");
	vmm_proc__show_console(v, 40);
	return false;
}

/*
 * The restored guest @v goes on from tick @n as the original @orig did:
 * same checksum at tick n + 2, memory verified, no reboot, sane time.
 * (Tick n + 1 may have been half printed when the VM was paused, its
 * start in the original's console and its end in the restored one's.)
 */
static void expect_continues(struct __test_metadata *_metadata,
			     FIXTURE_DATA(snap) *self, struct vmm_proc *orig,
			     struct vmm_proc *v, long n)
{
	char want[32], got[32], line[256];
	double ran, over, t_orig, t_v;

	ASSERT_TRUE(vmm_proc__expect_tick(v, n + 1, 120))
		TH_LOG("restored guest did not tick past %ld", n + 1);
	ran = test__now_s() - self->loaded_at;
	ASSERT_TRUE(vmm_proc__expect_tick(v, n + 6, 120))
		TH_LOG("restored guest did not tick past %ld", n + 6);
	ASSERT_TRUE(tick_sum(orig, n + 2, want));
	ASSERT_TRUE(tick_sum(v, n + 2, got)) TH_LOG("no tick %ld", n + 2);
	EXPECT_STREQ(want, got);
	/*
	 * Guest time goes on from the clock the snapshot saved: not from
	 * zero, and not by the REST_S or more the snapshot then spent on
	 * disk.  The original, resumed after its snapshot, read the time of
	 * its tick n + 2 on a clock no earlier than the saved one; the
	 * restored guest may be ahead of that by the host time from the load
	 * request to its own tick n + 2, however slow a nested restore and
	 * its first faults are, and not by more.
	 */
	t_orig = tick_time(orig, n + 2);
	t_v = tick_time(v, n + 2);
	ASSERT_LT(0, t_orig);
	EXPECT_GT(t_v, tick_time(orig, n));
	over = t_v - t_orig - ran;
	EXPECT_LT(over, 2.0)
		TH_LOG("guest time at tick %ld: %.2f, the original's %.2f, "
		       "%.2f s after the load was asked for", n + 2, t_v,
		       t_orig, ran);
	EXPECT_FALSE(vmm_proc__find_line(v, "GUEST-BOOTED", line,
					 sizeof(line))) TH_LOG("rebooted");
	EXPECT_FALSE(vmm_proc__find_line(v, "TICK 1 ", line, sizeof(line)));
	EXPECT_TRUE(vmm_proc__find_line(v, "VERIFY ", line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " ok")) TH_LOG("%s", line);
}

/*
 * A restore of snapshot "full" whose page faults a handler written to
 * Firecracker's documented Uffd protocol alone serves
 * (fc_uffd_handler.c, modelled on Firecracker v1.10's example handler):
 * it copies pages of the size page_size_kib gives, read as bytes, as
 * Firecracker fills that field.  Sent as 4, it copies 4-byte pages,
 * fails, and the guest hangs; sent as 4096, the guest goes on as the
 * original @orig did from tick @n.
 */
static void firecracker_uffd_restore(struct __test_metadata *_metadata,
				     FIXTURE_DATA(snap) *self,
				     struct vmm_proc *orig, long n)
{
	char vmstate[256], mem[256], sock[256], log[256], body[1024];
	char line[512] = "";
	unsigned long faults = 0, page = 0;
	bool regions = false;
	int status;
	FILE *f;

	snap_paths(self, "full", vmstate, mem);
	path(self, sock, "fc.uffd");
	path(self, log, "fc-handler.log");
	self->handler = fc_uffd_handler__start(sock, mem, log);
	ASSERT_EQ(0, access(sock, F_OK)) TH_LOG("fc_uffd_handler did not listen");
	vmm_proc__start(&self->c, self->dir, "c");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
		 "{\"backend_type\":\"Uffd\",\"backend_path\":\"%s\"},"
		 "\"resume_vm\":true}", vmstate, sock);
	ASSERT_EQ(204, load_body(self, &self->c, body))
		TH_LOG("%s", self->out);
	/* The guest's clock is read at its tick n + 2: wait no longer. */
	if (!vmm_proc__wait_tick(&self->c, n + 1, 120)) {
		snprintf(body, sizeof(body), "sed 's/^/# handler: /' %s >&2",
			 log);
		if (system(body))
			TH_LOG("no handler log %s", log);
	}
	expect_continues(_metadata, self, orig, &self->c, n);
	vmm_proc__kill(&self->c);

	kill(self->handler, SIGTERM);
	ASSERT_EQ(self->handler, waitpid(self->handler, &status, 0));
	self->handler = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("fc_uffd_handler failed (status %#x)", status);
	f = fopen(log, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		fprintf(stderr, "# handler: %s", line);
		/* The handshake as Firecracker v1.10 and v1.12 send it. */
		if (!strncmp(line, "fc-uffd-handler: regions ", 25))
			regions = strstr(line, "\"page_size_kib\":4096") &&
				  strstr(line, "\"page_size\":4096");
		sscanf(line, "fc-uffd-handler: %lu faults served, page size %lu",
		       &faults, &page);
	}
	fclose(f);
	EXPECT_TRUE(regions) TH_LOG("page_size_kib and page_size not 4096");
	EXPECT_EQ(4096, page);
	EXPECT_GT(faults, 0);
}

TEST_F_TIMEOUT(snap, full_restore_in_new_process, 900)
{
	long n;

	vmm_proc__start(&self->a, self->dir, "a");
	ASSERT_TRUE(boot_workload(&self->a, false));
	/* Creating needs a paused VM. */
	EXPECT_EQ(400, create(self, &self->a, "Full", "full"));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	n = vmm_proc__last_tick(&self->a);
	ASSERT_EQ(204, create(self, &self->a, "Full", "full"));
	/* The original runs on to show what tick n + 2 must look like. */
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n + 2, 60));
	vmm_proc__kill(&self->a);

	vmm_proc__start(&self->b, self->dir, "b");
	ASSERT_EQ(204, load(self, &self->b, "full", false));
	expect_continues(_metadata, self, &self->a, &self->b, n);
	vmm_proc__api(&self->b, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Running\""));
	/*
	 * The loaded VM's machine, dirty tracking as the load asked; no
	 * boot source, as Firecracker reports a restored VM.
	 */
	EXPECT_EQ(200, vmm_proc__api(&self->b, "GET", "/machine-config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_STREQ("{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,"
		     "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}",
		     self->out);
	EXPECT_EQ(200, vmm_proc__api(&self->b, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"boot-source\":{\"kernel_image_path\":"
			       "\"\",\"initrd_path\":null,\"boot_args\":null}"));
	vmm_proc__kill(&self->b);

	/* The same snapshot through a handler written to Firecracker's docs. */
	firecracker_uffd_restore(_metadata, self, &self->a, n);
}

TEST_F_TIMEOUT(snap, diff_generations, 1800)
{
	long n[GENERATIONS + 1];
	char cmd[2048], name[32];
	int g, i;

	vmm_proc__start(&self->a, self->dir, "a");
	ASSERT_TRUE(boot_workload(&self->a, false));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	n[0] = vmm_proc__last_tick(&self->a);
	ASSERT_EQ(204, create(self, &self->a, "Full", "base"));
	for (g = 1; g <= GENERATIONS; g++) {
		ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
		ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n[g - 1] + 4, 60));
		ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
		n[g] = vmm_proc__last_tick(&self->a);
		snprintf(name, sizeof(name), "diff%d", g);
		ASSERT_EQ(204, create(self, &self->a, "Diff", name));
	}
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n[GENERATIONS] + 2, 60));
	vmm_proc__kill(&self->a);

	/* A diff is sparse: far smaller on disk than the full memory. */
	snprintf(cmd, sizeof(cmd), "test $(du -k %s/diff2.mem | cut -f1) -lt "
		 "$(($(du -k %s/base.mem | cut -f1) / 4))", self->dir,
		 self->dir);
	EXPECT_EQ(0, system(cmd)) TH_LOG("diff2.mem is not sparse");

	/* A diff alone cannot be loaded. */
	vmm_proc__start(&self->b, self->dir, "refuse");
	EXPECT_EQ(400, load(self, &self->b, "diff1", false));
	EXPECT_NE(NULL, strstr(self->out, "merge"));
	vmm_proc__kill(&self->b);

	/*
	 * Diffs out of order, or a Diff's vmstate with another's memory:
	 * refused, and nothing written.
	 */
	snprintf(cmd, sizeof(cmd), "build/snapmerge -o %s/bad.vmstate "
		 "%s/bad.mem %s/base.mem %s/diff2.vmstate %s/diff2.mem "
		 "%s/diff1.vmstate %s/diff1.mem", self->dir, self->dir,
		 self->dir, self->dir, self->dir, self->dir, self->dir);
	EXPECT_NE(0, system(cmd)) TH_LOG("diffs out of order were merged");
	snprintf(cmd, sizeof(cmd), "build/snapmerge -o %s/bad.vmstate "
		 "%s/bad.mem %s/base.mem %s/diff1.vmstate %s/diff2.mem",
		 self->dir, self->dir, self->dir, self->dir, self->dir);
	EXPECT_NE(0, system(cmd)) TH_LOG("another diff's memory was merged");
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c bad", self->dir);
	EXPECT_NE(0, system(cmd)) TH_LOG("a refused merge wrote files");

	for (g = 1; g <= GENERATIONS; g++) {
		int len = snprintf(cmd, sizeof(cmd), "build/snapmerge -o "
				   "%s/gen%d.vmstate %s/gen%d.mem %s/base.mem",
				   self->dir, g, self->dir, g, self->dir);

		for (i = 1; i <= g; i++)
			len += snprintf(cmd + len, sizeof(cmd) - len,
					" %s/diff%d.vmstate %s/diff%d.mem",
					self->dir, i, self->dir, i);
		ASSERT_EQ(0, system(cmd));
		snprintf(name, sizeof(name), "gen%d", g);
		vmm_proc__start(&self->b, self->dir, name);
		ASSERT_EQ(204, load(self, &self->b, name, true));
		expect_continues(_metadata, self, &self->a, &self->b, n[g]);
		vmm_proc__kill(&self->b);
		/* Merged images are full size: keep one at a time. */
		snprintf(cmd, sizeof(cmd), "%s/gen%d.mem", self->dir, g);
		unlink(cmd);
	}
}

/* Flip or cut a copy of a good vmstate; every damaged copy is refused. */
static void damaged_copy(FIXTURE_DATA(snap) *self, const char *to,
			 long offset, long truncate_to)
{
	char cmd[512];

	/* Memory files are only read: a link saves 256 MiB of tmpfs. */
	snprintf(cmd, sizeof(cmd), "cp %s/full.vmstate %s/%s.vmstate && "
		 "ln -sf full.mem %s/%s.mem", self->dir, self->dir, to,
		 self->dir, to);
	TEST_REQUIRE(!system(cmd), "%s", cmd);
	snprintf(cmd, sizeof(cmd), "%s/%s.vmstate", self->dir, to);
	if (offset >= 0) {
		int fd = open(cmd, O_RDWR);
		uint8_t c;

		TEST_REQUIRE(pread(fd, &c, 1, offset) == 1, "pread");
		c ^= 0x40;
		TEST_REQUIRE(pwrite(fd, &c, 1, offset) == 1, "pwrite");
		close(fd);
	}
	if (truncate_to >= 0)
		TEST_REQUIRE(!truncate(cmd, truncate_to), "truncate");
}

/* A newer format version, with a header that is otherwise valid. */
static void future_version(FIXTURE_DATA(snap) *self)
{
	struct vmstate_header *h;
	char p[256];

	damaged_copy(self, "future", -1, -1);
	path(self, p, "future.vmstate");
	h = vmstate_file__read(p);
	TEST_REQUIRE(h, "reading %s", p);
	h->version = VMSTATE_VERSION + 1;
	TEST_REQUIRE(vmstate_file__write(p, h), "writing %s", p);
}

/*
 * A vmstate whose checksums hold but whose VM section claims one vCPU more
 * than it has: the load fails only after the VM was created.
 */
static void extra_vcpu(FIXTURE_DATA(snap) *self)
{
	struct vs_vm vm;
	uint64_t len;
	char p[256];
	void *file, *sec;

	damaged_copy(self, "halfvm", -1, -1);
	path(self, p, "halfvm.vmstate");
	file = vmstate_file__read(p);
	TEST_REQUIRE(file, "reading %s", p);
	sec = vmstate_file__section(file, VS_VM, 0, &len);
	TEST_REQUIRE(sec && len == sizeof(vm), "no VM section in %s", p);
	memcpy(&vm, sec, sizeof(vm));
	vm.nr_vcpus++;
	memcpy(sec, &vm, sizeof(vm));
	TEST_REQUIRE(vmstate_file__write(p, file), "writing %s", p);
}

/*
 * full.vmstate beside a memory file of another snapshot, and no .prev:
 * what a crash between the renames of a create would leave if it did
 * not keep the previous memory file.  Sparse, of the right size, with a
 * sound identity page naming another id.
 */
static void other_memory(FIXTURE_DATA(snap) *self)
{
	uint8_t page[VMSTATE_PAGE_SIZE] = { 0 };
	struct memfile_id *t = (struct memfile_id *)page;
	struct stat st;
	char p[256];
	int fd;

	damaged_copy(self, "othermem", -1, -1);
	path(self, p, "othermem.mem");
	unlink(p);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_REQUIRE(fd >= 0, "%s", p);
	path(self, p, "full.mem");
	TEST_REQUIRE(!stat(p, &st) && st.st_size > (off_t)MEMFILE_ID_OFFSET,
		     "full.mem");
	memcpy(t->magic, MEMFILE_MAGIC, sizeof(t->magic));
	t->version = 1;
	t->size = sizeof(*t);
	t->mem_size = st.st_size;
	memset(t->id, 0x5a, sizeof(t->id));
	t->crc = crc32__update(0, t, offsetof(struct memfile_id, crc));
	TEST_REQUIRE(!ftruncate(fd, st.st_size) &&
		     pwrite(fd, page, sizeof(page), MEMFILE_ID_OFFSET) ==
		     sizeof(page), "writing %s", p);
	close(fd);
}

TEST_F_TIMEOUT(snap, bad_snapshots_are_refused, 900)
{
	static const struct {
		const char *name;
		const char *reason;
	} bad[] = {
		{ "flipped", "checksum" },
		{ "cut", "truncated" },
		{ "header", "header is corrupted" },
		{ "future", "format version" },
		{ "notsnap", "not a pagetrack vmstate" },
		{ "shortmem", "the snapshot needs" },
		{ "missing", "cannot open" },
		{ "othermem", "belongs to another snapshot" },
	};
	char p[256], cmd[512];
	size_t i;

	vmm_proc__start(&self->a, self->dir, "a");
	ASSERT_TRUE(boot_workload(&self->a, false));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	/* Diff needs dirty tracking; this VM has it, so try bad types. */
	EXPECT_EQ(400, create(self, &self->a, "Partial", "x"));
	ASSERT_EQ(204, create(self, &self->a, "Full", "full"));
	vmm_proc__kill(&self->a);

	damaged_copy(self, "flipped", 200, -1);
	damaged_copy(self, "cut", -1, 1000);
	damaged_copy(self, "header", 9, -1);
	future_version(self);
	path(self, p, "notsnap.vmstate");
	snprintf(cmd, sizeof(cmd), "head -c 4096 /dev/urandom > %s && "
		 "ln -sf full.mem %s/notsnap.mem", p, self->dir);
	ASSERT_EQ(0, system(cmd));
	damaged_copy(self, "shortmem", -1, -1);
	path(self, p, "shortmem.mem");
	unlink(p);
	snprintf(cmd, sizeof(cmd), "head -c 4096 /dev/zero > %s", p);
	ASSERT_EQ(0, system(cmd));
	other_memory(self);

	/* One VMM refuses them all, then still loads the good one. */
	vmm_proc__start(&self->b, self->dir, "b");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(400, load(self, &self->b, bad[i].name, false));
		EXPECT_NE(NULL, strstr(self->out, bad[i].reason))
			TH_LOG("%s: want '%s'", bad[i].name, bad[i].reason);
	}
	ASSERT_EQ(204, load(self, &self->b, "full", false));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->b, 12, 120));
	/* Loading is once per process. */
	EXPECT_EQ(400, load(self, &self->b, "full", false));
	vmm_proc__kill(&self->b);

	/*
	 * Every section is checked before the VM is built, so a vmstate
	 * whose vCPU list is short is refused with nothing changed: the
	 * process is still unstarted and loads the good snapshot next.
	 */
	extra_vcpu(self);
	vmm_proc__start(&self->b, self->dir, "half");
	EXPECT_EQ(400, load(self, &self->b, "halfvm", false));
	EXPECT_NE(NULL, strstr(self->out, "lacks vCPU 2"));
	EXPECT_EQ(400, set_state(self, &self->b, "Paused"));
	EXPECT_NE(NULL, strstr(self->out, "not started"));
	ASSERT_EQ(204, load(self, &self->b, "full", false));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->b, 12, 120));
	EXPECT_EQ(200, vmm_proc__api(&self->b, "GET", "/", NULL, self->out,
				     sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "Running"));
}

/*
 * Fill the file system at @dir with a file "filler" until less than half
 * of what memory file @mem occupies is free: a second snapshot like it
 * cannot be written.  (Memory files are sparse where guest memory is
 * zero, so their size says little of the space they take.)
 */
static int fill_up(const char *dir, const char *mem)
{
	unsigned long long avail, need;
	struct statvfs sv;
	struct stat st;
	char p[256];
	int fd, ret;

	if (stat(mem, &st) || statvfs(dir, &sv))
		return -1;
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	need = (unsigned long long)st.st_blocks * 512;
	if (avail <= need / 2)
		return 0;
	snprintf(p, sizeof(p), "%s/filler", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	ret = posix_fallocate(fd, 0, avail - need / 2);
	close(fd);
	return ret ? -1 : 0;
}

/*
 * A snapshot that fails half way (the disk fills up) leaves the previous
 * snapshot at the same paths intact and loadable; the VM, still there, is
 * snapshotted on another file system, and that snapshot loads too.
 */
TEST_F_TIMEOUT(snap, failed_snapshot_keeps_previous, 900)
{
	char cmd[256], vmstate[256], mem[256];
	long n, n2;

	ASSERT_EQ(0, mount("tmpfs", self->dir, "tmpfs", 0, "size=300m"));
	vmm_proc__start(&self->a, "/tmp", "snapfail-a");
	ASSERT_TRUE(boot_workload(&self->a, false));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	n = vmm_proc__last_tick(&self->a);
	ASSERT_EQ(204, create(self, &self->a, "Full", "full"));
	snprintf(cmd, sizeof(cmd), "cat %s/full.vmstate %s/full.mem | "
		 "md5sum > %s/../snapfail.md5", self->dir, self->dir,
		 self->dir);
	ASSERT_EQ(0, system(cmd));

	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n + 3, 60));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	/* Another memory file as large as the first one does not fit. */
	snprintf(cmd, sizeof(cmd), "%s/full.mem", self->dir);
	ASSERT_EQ(0, fill_up(self->dir, cmd));
	EXPECT_EQ(400, create(self, &self->a, "Full", "full"));
	EXPECT_NE(NULL, strstr(self->out, "No space left"));

	snprintf(cmd, sizeof(cmd), "cat %s/full.vmstate %s/full.mem | "
		 "md5sum | cmp -s - %s/../snapfail.md5", self->dir, self->dir,
		 self->dir);
	EXPECT_EQ(0, system(cmd)) TH_LOG("the previous snapshot changed");
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c tmp", self->dir);
	EXPECT_NE(0, system(cmd)) TH_LOG("temporary files left behind");

	/*
	 * The disk still full, the VM is snapshotted on another one, right
	 * at a pause: guest time runs on while the VM is paused, and a
	 * restored guest goes on from the time its snapshot was taken.
	 */
	n2 = vmm_proc__last_tick(&self->a);
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n2 + 2, 60));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	n2 = vmm_proc__last_tick(&self->a);
	elsewhere(self, vmstate, "full.vmstate");
	elsewhere(self, mem, "full.mem");
	ASSERT_EQ(204, create_at(self, &self->a, "Full", vmstate, mem))
		TH_LOG("%s", self->out);
	/* Room again: the File backend's page cache is the tmpfs too. */
	snprintf(cmd, sizeof(cmd), "%s/filler", self->dir);
	unlink(cmd);

	/* The VM is still there; the old snapshot still loads. */
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n2 + 4, 60));
	vmm_proc__kill(&self->a);
	vmm_proc__start(&self->b, "/tmp", "snapfail-b");
	ASSERT_EQ(204, load(self, &self->b, "full", false));
	expect_continues(_metadata, self, &self->a, &self->b, n);
	vmm_proc__kill(&self->b);
	/* And so does the one taken elsewhere, at the later pause. */
	vmm_proc__start(&self->c, "/tmp", "snapfail-c");
	ASSERT_EQ(204, load_at(self, &self->c, vmstate, mem, false))
		TH_LOG("%s", self->out);
	expect_continues(_metadata, self, &self->a, &self->c, n2);
	unlink("/tmp/snapfail-a.log");
	unlink("/tmp/snapfail-b.log");
	unlink("/tmp/snapfail-c.log");
}

/* What cannot be written to, and the reason the VMM must give. */
struct bad_target {
	const char *dir;	/* under the test's directory */
	const char *why;
};

static const struct bad_target bad_targets[] = {
	{ "ro", "Read-only file system" },
	{ "missing", "No such file or directory" },
	{ "notmine", "Permission denied" },
};

/*
 * A listing of the test's directory and of the bad targets (inode
 * numbers, sizes, times to the nanosecond), and with @content the
 * checksum of snapshot "full": what a refused create must leave as it
 * was.  The VMM never writes a file in place, so the listing shows any
 * change; the content, costly to read under emulation, is checked less
 * often.
 */
static void fingerprint(FIXTURE_DATA(snap) *self, bool content, char *sum,
			size_t len)
{
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "cd %s && { ls -laiR --time-style=full-iso "
		 ". | grep -v ' \\.\\.\\?$'; %s } | md5sum", self->dir,
		 content ? "cat full.vmstate full.mem;" : "");
	p = popen(cmd, "r");
	sum[0] = 0;
	if (p) {
		if (!fgets(sum, len, p))
			sum[0] = 0;
		pclose(p);
	}
}

/*
 * Each way a snapshot's target cannot be written (a read-only file
 * system, a directory that does not exist, one the VMM's user may not
 * write in), for its memory file or its vmstate, Full or Diff: the create
 * fails with a message naming the path and the reason, and changes
 * nothing: no file left behind, the previous snapshot at the same paths
 * intact and loadable, no dirty page lost (a Diff taken after them
 * elsewhere, merged onto the previous Full, is the memory a Full taken
 * at the same pause holds), the VM resumes.  The VMM runs as root bound
 * by file permissions, as an unprivileged VMM is.
 */
TEST_F_TIMEOUT(snap, unwritable_target_keeps_previous, 900)
{
	char vmstate[256], mem[256], bad[128], good_vs[256], good_mem[256];
	char before[64], after[64], whole[64], cmd[1200], other[256];
	unsigned int i, k;
	long n, n2;

	snprintf(bad, sizeof(bad), "%s/ro", self->dir);
	ASSERT_EQ(0, mkdir(bad, 0755));
	ASSERT_EQ(0, mount("tmpfs", bad, "tmpfs", MS_RDONLY, "size=1m"));
	snprintf(bad, sizeof(bad), "%s/notmine", self->dir);
	ASSERT_EQ(0, mkdir(bad, 0755));
	ASSERT_EQ(0, chown(bad, 65534, 65534));

	/* Their consoles elsewhere: the test's directory must not change. */
	elsewhere(self, other, NULL);
	vmm_proc__start_as(&self->a, other, "a", VMM_PROC_NO_FILE_CAPS);
	ASSERT_TRUE(boot_workload(&self->a, false));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	n = vmm_proc__last_tick(&self->a);
	ASSERT_EQ(204, create(self, &self->a, "Full", "full"))
		TH_LOG("%s", self->out);
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n + 3, 60));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	fingerprint(self, true, whole, sizeof(whole));
	fingerprint(self, false, before, sizeof(before));
	ASSERT_NE(0, before[0]);

	snap_paths(self, "full", good_vs, good_mem);
	for (i = 0; i < ARRAY_SIZE(bad_targets); i++) {
		const struct bad_target *t = &bad_targets[i];

		snprintf(bad, sizeof(bad), "%s/%s", self->dir, t->dir);
		snprintf(vmstate, sizeof(vmstate), "%s/full.vmstate", bad);
		snprintf(mem, sizeof(mem), "%s/full.mem", bad);
		/*
		 * k = 0, 1: the memory file's target bad, the vmstate's the
		 * previous snapshot's; 2, 3: the other way round.  Even k
		 * Full, odd Diff.
		 */
		for (k = 0; k < 4; k++) {
			const char *type = k % 2 ? "Diff" : "Full";

			EXPECT_EQ(400, create_at(self, &self->a, type,
						 k < 2 ? good_vs : vmstate,
						 k < 2 ? mem : good_mem))
				TH_LOG("%s %s", type, t->dir);
			EXPECT_NE(NULL, strstr(self->out, bad))
				TH_LOG("no path: %s", self->out);
			EXPECT_NE(NULL, strstr(self->out, t->why))
				TH_LOG("no reason: %s", self->out);
			fingerprint(self, false, after, sizeof(after));
			EXPECT_STREQ(before, after)
				TH_LOG("%s %s into %s changed files", type,
				       k < 2 ? "memory" : "vmstate", t->dir);
		}
	}
	fprintf(stderr, "# for instance: %s\n", self->out);
	fingerprint(self, true, after, sizeof(after));
	EXPECT_STREQ(whole, after) TH_LOG("snapshot full changed");

	/* The VM goes on, and is snapshotted elsewhere. */
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n + 6, 60));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	n2 = vmm_proc__last_tick(&self->a);
	elsewhere(self, vmstate, "d.vmstate");
	elsewhere(self, mem, "d.mem");
	ASSERT_EQ(204, create_at(self, &self->a, "Diff", vmstate, mem))
		TH_LOG("%s", self->out);
	elsewhere(self, vmstate, "again.vmstate");
	elsewhere(self, mem, "again.mem");
	ASSERT_EQ(204, create_at(self, &self->a, "Full", vmstate, mem))
		TH_LOG("%s", self->out);
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n2 + 4, 60));
	vmm_proc__kill(&self->a);

	/* The failed Diffs lost no page: full + d is again. */
	snprintf(cmd, sizeof(cmd), "build/snapmerge -o %s-else/m.vmstate "
		 "%s-else/m.mem %s %s-else/d.vmstate %s-else/d.mem >&2",
		 self->dir, self->dir, good_mem, self->dir, self->dir);
	ASSERT_EQ(0, system(cmd));
	elsewhere(self, vmstate, "m.mem");
	EXPECT_EQ(0, memfile_diff_bytes(vmstate, mem, 256 << 20, 0, 0))
		TH_LOG("the Diff after them lacks pages");

	/* The previous snapshot loads and goes on. */
	vmm_proc__start(&self->b, other, "b");
	ASSERT_EQ(204, load(self, &self->b, "full", false))
		TH_LOG("%s", self->out);
	expect_continues(_metadata, self, &self->a, &self->b, n);
	vmm_proc__kill(&self->b);
	/* So does the merge of the one taken after. */
	elsewhere(self, vmstate, "m.vmstate");
	elsewhere(self, mem, "m.mem");
	vmm_proc__start(&self->c, other, "c");
	ASSERT_EQ(204, load_at(self, &self->c, vmstate, mem, false))
		TH_LOG("%s", self->out);
	expect_continues(_metadata, self, &self->a, &self->c, n2);
}

/*
 * The Uffd backend with tools/uffd-handler: the handshake, the working
 * set installed at the first fault, the guest going on as the original.
 */
static void uffd_restore(struct __test_metadata *_metadata,
			 FIXTURE_DATA(snap) *self, long n)
{
	char vmstate[256], mem[256], layers[256], sock[256], log[256];
	char body[1024], line[256] = "";
	unsigned long faults = 0, installed = 0;
	long ro = 0, dirty = 0;
	int status;
	FILE *f;

	snap_paths(self, "full", vmstate, mem);
	path(self, layers, "fn.layers");
	path(self, sock, "fn.uffd");
	path(self, log, "handler.log");
	ASSERT_EQ(0, vmm_util__layer_pages(vmstate, layers, &ro, &dirty));

	vmm_proc__start(&self->d, self->dir, "d");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
		 "{\"backend_type\":\"Uffd\",\"backend_path\":\"%s\"},"
		 "\"resume_vm\":true}", vmstate, sock);
	/* No handler yet: refused, and the process can still load. */
	EXPECT_EQ(400, vmm_proc__api(&self->d, "PUT", "/snapshot/load", body,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "cannot connect"));
	self->handler = uffd_handler__start(sock, mem, layers, vmstate,
					     log);
	ASSERT_EQ(0, access(sock, F_OK)) TH_LOG("uffd-handler did not listen");
	ASSERT_EQ(204, load_body(self, &self->d, body))
		TH_LOG("%s", self->out);
	expect_continues(_metadata, self, &self->a, &self->d, n);
	vmm_proc__kill(&self->d);
	kill(self->handler, SIGTERM);
	ASSERT_EQ(self->handler, waitpid(self->handler, &status, 0));
	self->handler = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f = fopen(log, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "uffd-handler: %lu faults served, %lu pages",
			   &faults, &installed) == 2)
			break;
	fclose(f);
	TH_LOG("%s", line);
	EXPECT_GT(faults, 0);
	EXPECT_EQ((unsigned long)(ro + dirty), installed);
}

/*
 * Working-set layers, both ways: with the snapshot a booted VM takes
 * (boot -> pause -> create), and for the snapshot a VM was loaded from
 * (load -> resume -> pause -> snapshot/layers); then a restore from the
 * layers goes on exactly as the original did.  The workload re-reads
 * its 2048-page buffer every five ticks and writes a page per tick, so a
 * window of six ticks has at least that many present and dirty pages,
 * and far fewer than the 65536 pages of guest memory.
 */
TEST_F_TIMEOUT(snap, layers, 900)
{
	char vmstate[256], mem[256], layers[256], later[256], body[1024];
	long n, ro = 0, dirty = 0;

	path(self, layers, "boot.layers");
	vmm_proc__start(&self->a, self->dir, "a");
	ASSERT_TRUE(boot_workload(&self->a, true));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	EXPECT_EQ(400, vmm_proc__api(&self->a, "PUT", "/snapshot/layers",
				     "{\"layers_path\":\"/tmp/x.layers\"}",
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "booted, not loaded"));
	snap_paths(self, "full", vmstate, mem);
	snprintf(body, sizeof(body), "{\"snapshot_type\":\"Full\","
		 "\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\","
		 "\"layers_path\":\"%s\"}", vmstate, mem, layers);
	ASSERT_EQ(204, vmm_proc__api(&self->a, "PUT", "/snapshot/create", body,
				     self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	self->created_at = test__now_s();
	EXPECT_EQ(0, vmm_util__layer_pages(vmstate, layers, &ro, &dirty));
	EXPECT_GE(ro + dirty, 2048);
	/* The original runs on to show what tick n + 2 must look like. */
	n = vmm_proc__last_tick(&self->a);
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->a, n + 2, 60));
	vmm_proc__kill(&self->a);

	/* Loaded: the window runs from resume to pause. */
	vmm_proc__start(&self->b, self->dir, "b");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
		 "{\"backend_type\":\"File\",\"backend_path\":\"%s\"},"
		 "\"track_working_set\":true,\"resume_vm\":true}", vmstate,
		 mem);
	ASSERT_EQ(204, load_body(self, &self->b, body))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(vmm_proc__expect_tick(&self->b, n, 120));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->b, n + 6, 120));
	ASSERT_EQ(204, set_state(self, &self->b, "Paused"));
	path(self, layers, "fn.layers");
	snprintf(body, sizeof(body), "{\"layers_path\":\"%s\"}", layers);
	ASSERT_EQ(204, vmm_proc__api(&self->b, "PUT", "/snapshot/layers", body,
				     self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ro = dirty = 0;
	EXPECT_EQ(0, vmm_util__layer_pages(vmstate, layers, &ro, &dirty));
	EXPECT_GE(ro + dirty, 2048);
	EXPECT_GE(dirty, 5);
	EXPECT_LT(ro + dirty, 65536 / 2);

	/* The layers belong to the loaded snapshot, not to a newer one. */
	ASSERT_EQ(204, create(self, &self->b, "Full", "later"));
	snap_paths(self, "later", later, mem);
	EXPECT_EQ(1, vmm_util__layer_pages(later, layers, &ro, &dirty));
	/* A window as short as a resume and a pause makes valid layers. */
	ASSERT_EQ(204, set_state(self, &self->b, "Resumed"));
	ASSERT_EQ(204, set_state(self, &self->b, "Paused"));
	path(self, layers, "short.layers");
	snprintf(body, sizeof(body), "{\"layers_path\":\"%s\"}", layers);
	ASSERT_EQ(204, vmm_proc__api(&self->b, "PUT", "/snapshot/layers", body,
				     self->out, sizeof(self->out)));
	EXPECT_EQ(0, vmm_util__layer_pages(vmstate, layers, &ro, &dirty));
	vmm_proc__kill(&self->b);

	/*
	 * Restore from the layers of the first, long window: refused for
	 * another snapshot, which leaves the process able to load.
	 */
	path(self, layers, "fn.layers");
	snap_paths(self, "later", later, mem);
	vmm_proc__start(&self->c, self->dir, "c");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
		 "{\"backend_type\":\"File\",\"backend_path\":\"%s\"},"
		 "\"layers_path\":\"%s\",\"resume_vm\":true}", later, mem,
		 layers);
	EXPECT_EQ(400, vmm_proc__api(&self->c, "PUT", "/snapshot/load", body,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "not of this one")) TH_LOG("%s",
								      self->out);
	snap_paths(self, "full", vmstate, mem);
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
		 "{\"backend_type\":\"File\",\"backend_path\":\"%s\"},"
		 "\"layers_path\":\"%s\",\"track_working_set\":true,"
		 "\"resume_vm\":true}", vmstate, mem, layers);
	ASSERT_EQ(204, load_body(self, &self->c, body))
		TH_LOG("%s", self->out);
	expect_continues(_metadata, self, &self->a, &self->c, n);
	/* Recording still works on top of the layers. */
	ASSERT_EQ(204, set_state(self, &self->c, "Paused"));
	path(self, layers, "again.layers");
	snprintf(body, sizeof(body), "{\"layers_path\":\"%s\"}", layers);
	ASSERT_EQ(204, vmm_proc__api(&self->c, "PUT", "/snapshot/layers", body,
				     self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ro = dirty = 0;
	EXPECT_EQ(0, vmm_util__layer_pages(vmstate, layers, &ro, &dirty));
	EXPECT_GE(ro + dirty, 2048);
	vmm_proc__kill(&self->c);

	uffd_restore(_metadata, self, n);
}

TEST_HARNESS_MAIN
