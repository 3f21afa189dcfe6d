// SPDX-License-Identifier: GPL-2.0
/*
 * Clones: CLONES VMMs restored from one snapshot and its working-set
 * layers, running at once, each invoked once.  Every clone must compute
 * the checksum the recording VM computed, and what the clones only read
 * must stay one copy: the read-only layer is mapped privately from the
 * layer file, so the pages a clone read but never wrote are the page
 * cache's, shared with every other clone (Documentation/layers.rst).
 * A restore that copied them into private memory would still compute
 * the right checksum, and fail here.
 *
 * make bench-clones measures the same at K = 1, 4, 8 for time and memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/fn.cpio.gz"
#define CLONES		3
/*
 * One invocation reads 64 MiB; CLONES of them share two emulated CPUs.
 * One vCPU each: this is about sharing memory, not SMP.
 */
#define INVOKE_SECONDS	(120 * CLONES)
#define VCPUS		1

FIXTURE(clones) {
	char dir[64];
	char vmstate[128], mem[128], layers[128];
	char out[4096];
	struct vmm_proc v[CLONES + 1];	/* [CLONES]: the recording VM */
};

FIXTURE_SETUP(clones)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/clonestest-%d",
		 getpid());
	mkdir(self->dir, 0700);
	snprintf(self->vmstate, sizeof(self->vmstate), "%s/fn.vmstate",
		 self->dir);
	snprintf(self->mem, sizeof(self->mem), "%s/fn.mem", self->dir);
	snprintf(self->layers, sizeof(self->layers), "%s/fn.layers",
		 self->dir);
}

FIXTURE_TEARDOWN(clones)
{
	char cmd[128];
	unsigned int i;

	for (i = 0; i <= CLONES; i++)
		vmm_proc__kill(&self->v[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/* What smaps says of a process's mappings of one file, in KiB. */
struct file_smaps {
	unsigned int maps;
	long rss, shared, private_clean, private_dirty;
};

/* Process @pid's mappings of @file, summed; false if smaps is unreadable. */
static bool file_smaps(pid_t pid, const char *file, struct file_smaps *fs)
{
	size_t n = strlen(file);
	char path[64], line[512];
	bool in_file = false;
	FILE *f;
	long kib;

	memset(fs, 0, sizeof(*fs));
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *dash = strchr(line, '-'), *name;

		/* A mapping's first line: "start-end perms off dev inode path". */
		if (dash && dash < strchr(line, ' ')) {
			name = strchr(line, '/');
			in_file = name && !strncmp(name, file, n) &&
				  name[n] == '\n';
			fs->maps += in_file;
			continue;
		}
		if (!in_file)
			continue;
		if (sscanf(line, "Rss: %ld kB", &kib) == 1)
			fs->rss += kib;
		/* On tmpfs every page cache page counts as dirty. */
		else if (sscanf(line, "Shared_Clean: %ld kB", &kib) == 1 ||
			 sscanf(line, "Shared_Dirty: %ld kB", &kib) == 1)
			fs->shared += kib;
		else if (sscanf(line, "Private_Clean: %ld kB", &kib) == 1)
			fs->private_clean += kib;
		else if (sscanf(line, "Private_Dirty: %ld kB", &kib) == 1)
			fs->private_dirty += kib;
	}
	fclose(f);
	return true;
}

TEST_F_TIMEOUT(clones, share_what_they_read, 1800)
{
	struct vmm_proc *rec = &self->v[CLONES];
	char line[256], want[17], sum[17], why[512], name[16], extra[256];
	long ro = 0, dirty = 0;
	struct file_smaps fs;
	unsigned int i;

	/* Booted, snapshotted, and one invocation's working set recorded. */
	vmm_proc__start(rec, self->dir, "booted");
	vmm_proc__configure(rec, INITRD, VCPUS, false);
	ASSERT_TRUE(vmm_proc__boot(rec, "FN-READY", line, sizeof(line), 600));
	ASSERT_EQ(204, vmm_proc__set_state(rec, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__create(rec, self->vmstate, self->mem, NULL,
					self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	vmm_proc__kill(rec);
	vmm_proc__start(rec, self->dir, "record");
	ASSERT_EQ(204, vmm_proc__load(rec, self->vmstate, "File", self->mem,
				      "\"track_working_set\":true", self->out,
				      sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(vmm_proc__invoke(rec, 1, INVOKE_SECONDS, want, why,
				     sizeof(why)))
		TH_LOG("the recording VM: %s", why);
	ASSERT_EQ(204, vmm_proc__set_state(rec, "Paused", self->out,
					   sizeof(self->out)));
	snprintf(extra, sizeof(extra), "{\"layers_path\":\"%s\"}",
		 self->layers);
	ASSERT_EQ(204, vmm_proc__api(rec, "PUT", "/snapshot/layers", extra,
				     self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	vmm_proc__kill(rec);
	ASSERT_EQ(0, vmm_util__layer_pages(self->vmstate, self->layers, &ro,
					   &dirty));
	/* fn reads a 64 MiB dataset it never writes. */
	ASSERT_GE(ro, 16384);

	/* All restored, then all invoked at once. */
	snprintf(extra, sizeof(extra), "\"layers_path\":\"%s\"", self->layers);
	for (i = 0; i < CLONES; i++) {
		snprintf(name, sizeof(name), "clone-%u", i);
		vmm_proc__start(&self->v[i], self->dir, name);
		ASSERT_EQ(204, vmm_proc__load(&self->v[i], self->vmstate,
					      "File", self->mem, extra,
					      self->out, sizeof(self->out)))
			TH_LOG("clone %u: %s", i, self->out);
	}
	for (i = 0; i < CLONES; i++)
		vmm_proc__type(&self->v[i], "go\n");
	for (i = 0; i < CLONES; i++) {
		/* Typed already; the report is all that is waited for. */
		ASSERT_TRUE(vmm_proc__wait_line(&self->v[i], "FN-DONE n=1 ",
						line, sizeof(line),
						INVOKE_SECONDS)) {
			vmm_proc__why_stuck(&self->v[i], why, sizeof(why));
			TH_LOG("clone %u: %s", i, why);
		}
		ASSERT_NE(NULL, strstr(line, "sum="));
		ASSERT_EQ(1, sscanf(strstr(line, "sum="), "sum=%16[0-9a-f]",
				    sum));
		EXPECT_STREQ(want, sum) TH_LOG("clone %u", i);
	}

	/*
	 * Each clone maps at least half the read-only layer from the page
	 * cache, shared with the others (smaps' Shared_Clean and
	 * Shared_Dirty): the function reads all of its dataset.
	 */
	for (i = 0; i < CLONES; i++) {
		ASSERT_TRUE(file_smaps(self->v[i].pid, self->layers, &fs));
		TH_LOG("clone %u: the layer file in %u mappings: Rss %ld, "
		       "shared %ld, Private_Clean %ld, Private_Dirty %ld KiB; "
		       "read-only layer %ld KiB", i, fs.maps, fs.rss, fs.shared,
		       fs.private_clean, fs.private_dirty, ro * 4);
		EXPECT_GE(fs.shared, ro * 4 / 2);
	}
}

TEST_HARNESS_MAIN
