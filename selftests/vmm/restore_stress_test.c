// SPDX-License-Identifier: GPL-2.0
/*
 * Restores of one snapshot, many times over, in the test VM: the function
 * guest (guest/fn.c) is booted and snapshotted, one invocation's working
 * set is recorded into layers, and then the snapshot is restored
 * RESTORE_STRESS_N times (default 5) with each backend, File, layers and
 * Uffd, each time in a new VMM, and the function invoked once: it must
 * report the checksum the original VM computed.  A failed restore is
 * recorded with its cause and the run goes on; at the end a table per
 * backend says how many went well and why the others did not.
 *
 * make check runs the default; make stress-restore N=... runs it alone.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/fn.cpio.gz"
/* One invocation reads 64 MiB: generous for nested emulation. */
#define INVOKE_SECONDS	120
#define MAX_FAILURES	20	/* causes kept per backend */

enum backend { BACKEND_FILE, BACKEND_LAYERS, BACKEND_UFFD, NR_BACKENDS };

static const char *const backend_names[NR_BACKENDS] = {
	"File", "layers", "Uffd",
};

struct tally {
	unsigned int ok, failed;
	char causes[MAX_FAILURES][256];
};

FIXTURE(stress) {
	char dir[64];
	char vmstate[128], mem[128], layers[128], sock[128], hlog[128];
	char out[4096];
	struct vmm_proc v;
	pid_t handler;
};

FIXTURE_SETUP(stress)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/stresstest-%d",
		 getpid());
	mkdir(self->dir, 0700);
	snprintf(self->vmstate, sizeof(self->vmstate), "%s/fn.vmstate",
		 self->dir);
	snprintf(self->mem, sizeof(self->mem), "%s/fn.mem", self->dir);
	snprintf(self->layers, sizeof(self->layers), "%s/fn.layers",
		 self->dir);
	snprintf(self->sock, sizeof(self->sock), "%s/fn.uffd", self->dir);
	snprintf(self->hlog, sizeof(self->hlog), "%s/handler.log", self->dir);
}

static void stop_handler(FIXTURE_DATA(stress) *self)
{
	if (self->handler > 0) {
		kill(self->handler, SIGKILL);
		waitpid(self->handler, NULL, 0);
		self->handler = 0;
	}
}

FIXTURE_TEARDOWN(stress)
{
	char cmd[128];

	vmm_proc__kill(&self->v);
	stop_handler(self);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/*
 * Invoke the function once ("go"): its checksum in @sum (17 bytes), or
 * false with the reason in @why.
 */
static bool invoke(struct vmm_proc *v, char *sum, char *why, size_t len)
{
	char line[256], *s;

	vmm_proc__type(v, "go\n");
	if (!vmm_proc__wait_line(v, "FN-DONE n=1 ", line, sizeof(line),
				 INVOKE_SECONDS)) {
		vmm_proc__why_stuck(v, why, len);
		return false;
	}
	s = strstr(line, "sum=");
	if (!s || sscanf(s, "sum=%16[0-9a-f]", sum) != 1) {
		snprintf(why, len, "unreadable report: %s", line);
		return false;
	}
	return true;
}

/* One restore with @b in a new VMM; false with the cause in @why. */
static bool restore_once(FIXTURE_DATA(stress) *self, enum backend b,
			 const char *name, const char *want, char *why,
			 size_t len)
{
	const char *backend = b == BACKEND_UFFD ? "Uffd" : "File";
	const char *path = b == BACKEND_UFFD ? self->sock : self->mem;
	char sum[17], extra[200];
	bool ok = false, started = false;

	snprintf(extra, sizeof(extra), "\"layers_path\":\"%s\"",
		 self->layers);

	if (b == BACKEND_UFFD) {
		self->handler = uffd_handler__start(self->sock, self->mem,
						    self->layers,
						    self->vmstate, self->hlog);
		if (access(self->sock, F_OK)) {
			snprintf(why, len, "uffd-handler did not listen");
			goto out;
		}
	}
	vmm_proc__start(&self->v, self->dir, name);
	started = true;
	if (vmm_proc__load(&self->v, self->vmstate, backend, path,
			   b == BACKEND_LAYERS ? extra : NULL,
			   self->out, sizeof(self->out)) != 204) {
		snprintf(why, len, "load refused: %.200s", self->out);
		goto out;
	}
	if (!invoke(&self->v, sum, why, len))
		goto out;
	ok = !strcmp(sum, want);
	if (!ok)
		snprintf(why, len, "checksum %s, the original computed %s",
			 sum, want);
out:
	if (started && !ok)
		vmm_proc__show_console(&self->v, 10);
	vmm_proc__kill(&self->v);
	stop_handler(self);
	/* A passing restore's console is not worth the disk. */
	if (ok)
		unlink(self->v.log);
	return ok;
}

TEST_F_TIMEOUT(stress, restore_n_times, 6 * 3600)
{
	const char *env = getenv("RESTORE_STRESS_N");
	long n = env ? strtol(env, NULL, 10) : 5, i;
	struct tally *t = calloc(NR_BACKENDS, sizeof(*t));
	char want[17], why[256], name[32], line[256];
	unsigned int b, failed = 0;

	ASSERT_NE(NULL, t);
	ASSERT_GT(n, 0) TH_LOG("RESTORE_STRESS_N=%s", env);

	/* The original: booted, snapshotted, then invoked for the sum. */
	vmm_proc__start(&self->v, self->dir, "original");
	vmm_proc__configure(&self->v, INITRD, 2, false);
	ASSERT_TRUE(vmm_proc__boot(&self->v, "FN-READY", line, sizeof(line),
				   600));
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__create(&self->v, self->vmstate, self->mem,
					NULL, self->out, sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Resumed", self->out,
					   sizeof(self->out)));
	ASSERT_TRUE(invoke(&self->v, want, why, sizeof(why)))
		TH_LOG("the original: %s", why);
	vmm_proc__kill(&self->v);
	TH_LOG("the original computed %s", want);

	/*
	 * One invocation's working set, recorded in a restored VM: the
	 * layers the layers and Uffd restores install.
	 */
	vmm_proc__start(&self->v, self->dir, "record");
	ASSERT_EQ(204, vmm_proc__load(&self->v, self->vmstate, "File",
				      self->mem, "\"track_working_set\":true",
				      self->out, sizeof(self->out)));
	ASSERT_TRUE(invoke(&self->v, line, why, sizeof(why)))
		TH_LOG("recording: %s", why);
	EXPECT_STREQ(want, line);
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	snprintf(line, sizeof(line), "{\"layers_path\":\"%s\"}",
		 self->layers);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/snapshot/layers",
				     line, self->out, sizeof(self->out)));
	vmm_proc__kill(&self->v);

	for (i = 0; i < n; i++) {
		for (b = 0; b < NR_BACKENDS; b++) {
			struct tally *bt = &t[b];

			snprintf(name, sizeof(name), "%s-%ld",
				 backend_names[b], i + 1);
			if (restore_once(self, b, name, want, why,
					 sizeof(why))) {
				bt->ok++;
				continue;
			}
			if (bt->failed < MAX_FAILURES)
				snprintf(bt->causes[bt->failed],
					 sizeof(bt->causes[0]), "%.31s: %.200s",
					 name, why);
			bt->failed++;
			/* At once: a run that dies later still shows it. */
			fprintf(stderr, "# restore %s failed: %s\n", name,
				why);
		}
	}

	fprintf(stderr, "# %-8s %6s %6s\n", "backend", "ok", "failed");
	for (b = 0; b < NR_BACKENDS; b++)
		fprintf(stderr, "# %-8s %6u %6u\n", backend_names[b], t[b].ok,
			t[b].failed);
	for (b = 0; b < NR_BACKENDS; b++) {
		for (i = 0; i < t[b].failed && i < MAX_FAILURES; i++)
			fprintf(stderr, "#   %s\n", t[b].causes[i]);
		if (t[b].failed > MAX_FAILURES)
			fprintf(stderr, "#   ... and %u more %s failures\n",
				t[b].failed - MAX_FAILURES, backend_names[b]);
		failed += t[b].failed;
	}
	free(t);
	EXPECT_EQ(0, failed) TH_LOG("%u of %ld restores failed", failed,
				    n * NR_BACKENDS);
}

TEST_HARNESS_MAIN
