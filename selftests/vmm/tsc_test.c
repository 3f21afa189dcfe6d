// SPDX-License-Identifier: GPL-2.0
/*
 * After a restore the vCPUs' TSCs agree, as well as they did in the VM
 * that was snapshotted.
 *
 * What "agree" means is read from KVM itself: a vCPU's TSC is the host's
 * plus that vCPU's offset (debugfs kvm/PID-FD/vcpuN/tsc-offset, at a
 * scaling ratio of 1), so the difference of two vCPUs' offsets is what
 * their TSCs differ by at that instant, with no reading by the guest and
 * no timing of two reads.  On a host whose TSC is stable the offsets are
 * fixed, and vCPUs KVM matched into one TSC generation have equal ones.
 * On an unstable one (the nested test VM under TCG: "SMP vm created on
 * host with unstable TSC") KVM rewrites a vCPU's offset each time it
 * loads it: first back to the TSC of the vCPU's last exit (the TSC
 * stands still while the vCPU is not loaded), then, at its next entry,
 * up to its generation's first write plus the time since.  So a sleeping
 * vCPU's offset lags by the time it slept, and only the instants when
 * both vCPUs have just caught up show how far their generations' lines
 * are apart: the smallest of many differences, read 100 ms apart, each
 * counted only when both vCPUs entered the guest since the reading
 * before (tsc_disagreement()); where the host's TSC is stable, KVM keeps
 * the offsets fixed and every reading counts.  How
 * small it gets varies from host to host, so the bound is relative: the
 * same measurement in the booted, never snapshotted VM, taken in the
 * same run, sets it.
 *
 * A restore that creates and restores its vCPUs interleaved (vCPU 1
 * created after vCPU 0's TSC was written) puts vCPU 1 in a generation of
 * its own, whose line starts from vCPU 1's saved TSC: the TSC of its
 * last exit before the snapshot, which differs from vCPU 0's by as long
 * as one of them had been halted.  Measured in the nested test VM (QEMU
 * 10.0 TCG, TSC unstable, two runs): booted, 0.1 to 834 us; restored, at
 * most 0.7 us in 6 restores; restored by a VMM built to interleave
 * (PT_VMM_BIN), 1.03 to 1.46 s in each of 6 restores.
 *
 * A restore that writes each vCPU's saved TSC back as it was saved
 * leaves them as far apart as the saved values are, which on such a host
 * is as long as a vCPU sat halted before the pause: the second test
 * makes that premise certain.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"
#include "vmstate.h"

#define INITRD		"build/guest/fn.cpio.gz"
#define VCPUS		2
#define RESTORES	3
#define SAMPLES		31	/* readings that count; the smallest wins */
#define MAX_READINGS	600	/* one every 100 ms */
/*
 * The bound: this many times the booted VM's disagreement, and never
 * below FLOOR_NS: a booted VM may agree to the tick in one run and show
 * 834 us in the next, when no reading caught both vCPUs caught up.  A
 * restore that put the vCPUs in two generations is off by as long as
 * one of them had been halted before the snapshot, tens of ms and more.
 */
#define TIMES_BOOTED	4
#define FLOOR_NS	10000000

FIXTURE(tsc) {
	char dir[64];
	char vmstate[128], mem[128];
	char out[4096];
	struct vmm_proc v;
};

FIXTURE_SETUP(tsc)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/tsctest-%d", getpid());
	mkdir(self->dir, 0700);
	snprintf(self->vmstate, sizeof(self->vmstate), "%s/fn.vmstate",
		 self->dir);
	snprintf(self->mem, sizeof(self->mem), "%s/fn.mem", self->dir);
}

FIXTURE_TEARDOWN(tsc)
{
	char cmd[128];

	vmm_proc__kill(&self->v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/*
 * vCPU @id's TSC offset in KVM's debugfs directory of the VMM @pid's VM.
 * KVM names it after the thread that created the VM (an API thread), so
 * each of the process's threads is tried.
 */
static bool tsc_offset(pid_t pid, unsigned int id, long long *off)
{
	char pattern[128];
	bool ok = false;
	glob_t tasks, g;
	size_t i;
	FILE *f;

	snprintf(pattern, sizeof(pattern), "/proc/%d/task/*", pid);
	if (glob(pattern, 0, NULL, &tasks))
		return false;
	for (i = 0; i < tasks.gl_pathc && !ok; i++) {
		snprintf(pattern, sizeof(pattern),
			 "/sys/kernel/debug/kvm/%s-*/vcpu%u/tsc-offset",
			 strrchr(tasks.gl_pathv[i], '/') + 1, id);
		if (glob(pattern, 0, NULL, &g))
			continue;
		/* One VM per VMM process. */
		f = g.gl_pathc == 1 ? fopen(g.gl_pathv[0], "r") : NULL;
		if (f) {
			ok = fscanf(f, "%lld", off) == 1;
			fclose(f);
		}
		globfree(&g);
	}
	globfree(&tasks);
	return ok;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * How far vCPU 1's TSC is from vCPU 0's, in TSC ticks, unsigned: the
 * smallest difference of the two offsets over SAMPLES readings 100 ms
 * apart.  Where the host's TSC is stable KVM keeps each offset fixed and
 * every reading counts.  Where it is not (an offset moved), a reading
 * counts only if both offsets moved since the one before: each vCPU was
 * loaded and entered the guest in between, and was caught up.  A vCPU
 * that slept through the readings shows the offset of its last entry,
 * as old as its sleep (CI saw a restored guest's vCPU 1 sleep through
 * all 31 readings of 3 s: smallest difference 112 ms, median 1.75 s), so
 * readings go on, up to MAX_READINGS, until SAMPLES count.
 */
static bool tsc_disagreement(struct vmm_proc *v, long long *ticks)
{
	long long all[SAMPLES], fresh[SAMPLES], *d, off0, off1;
	long long prev0 = 0, prev1 = 0;
	unsigned int i, n, nr_all = 0, nr_fresh = 0;
	bool moving = false;

	for (i = 0; i < MAX_READINGS; i++) {
		if (!tsc_offset(v->pid, 0, &off0) ||
		    !tsc_offset(v->pid, 1, &off1)) {
			if (system("ls /sys/kernel/debug/kvm | sed 's/^/# /' "
				   ">&2"))
				fprintf(stderr, "# no kvm in debugfs\n");
			return false;
		}
		if (i) {
			moving |= off0 != prev0 || off1 != prev1;
			if (nr_all < SAMPLES)
				all[nr_all++] = llabs(off1 - off0);
			if (off0 != prev0 && off1 != prev1)
				fresh[nr_fresh++] = llabs(off1 - off0);
		}
		prev0 = off0;
		prev1 = off1;
		if (moving ? nr_fresh == SAMPLES : nr_all == SAMPLES)
			break;
		usleep(100000);
	}
	d = moving ? fresh : all;
	n = moving ? nr_fresh : nr_all;
	if (!n) {
		fprintf(stderr, "# in %u readings the two vCPUs never both "
			"entered the guest\n", i);
		return false;
	}
	qsort(d, n, sizeof(d[0]), cmp_ll);
	fprintf(stderr, "# vCPU 1 - vCPU 0: min %lld median %lld max %lld "
		"ticks, %u of %u readings (offsets %s)\n", d[0], d[n / 2],
		d[n - 1], n, i, moving ? "moving" : "fixed");
	*ticks = d[0];
	return true;
}

/* The TSC rate the snapshot holds, in kHz (snapinfo), or 0. */
static unsigned int snapshot_khz(const char *vmstate)
{
	unsigned int khz = 0;
	char cmd[256], line[256];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "build/snapinfo %s", vmstate);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " TSC %u kHz", &khz) == 1)
			break;
	pclose(f);
	return khz;
}

/*
 * Boot, measure the booted VM's disagreement into *@booted and snapshot
 * it; the snapshot's TSC rate in *@khz.
 */
static void booted_snapshot(struct __test_metadata *_metadata,
			    FIXTURE_DATA(tsc) *self, long long *booted,
			    unsigned int *khz)
{
	char line[256];

	vmm_proc__start(&self->v, self->dir, "booted");
	vmm_proc__configure(&self->v, INITRD, VCPUS, false);
	ASSERT_TRUE(vmm_proc__boot(&self->v, "FN-READY", line, sizeof(line),
				   600));
	/* KVM's debugfs is this test's instrument: no premise, no test. */
	ASSERT_TRUE(tsc_disagreement(&self->v, booted))
		TH_LOG("no kvm/%d-*/vcpuN/tsc-offset in debugfs", self->v.pid);
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__create(&self->v, self->vmstate, self->mem,
					NULL, self->out, sizeof(self->out)));
	vmm_proc__kill(&self->v);
	*khz = snapshot_khz(self->vmstate);
	ASSERT_NE(0, *khz);
}

/*
 * Restore the snapshot RESTORES times; the restored VMs must agree as
 * well as the booted one did (@booted), within the bound at the top.
 */
static void restores_agree(struct __test_metadata *_metadata,
			   FIXTURE_DATA(tsc) *self, long long booted,
			   unsigned int khz)
{
	long long restored, worst = 0, bound;
	char name[16];
	unsigned int i;

	bound = TIMES_BOOTED * booted;
	if (bound < FLOOR_NS * (long long)khz / 1000000)
		bound = FLOOR_NS * (long long)khz / 1000000;
	for (i = 0; i < RESTORES; i++) {
		snprintf(name, sizeof(name), "restored-%u", i + 1);
		vmm_proc__start(&self->v, self->dir, name);
		ASSERT_EQ(204, vmm_proc__load(&self->v, self->vmstate, "File",
					      self->mem, NULL, self->out,
					      sizeof(self->out)))
			TH_LOG("%s", self->out);
		/* The guest runs: each vCPU has woken and caught up. */
		sleep(1);
		ASSERT_TRUE(tsc_disagreement(&self->v, &restored));
		if (restored > worst)
			worst = restored;
		vmm_proc__kill(&self->v);
	}
	TH_LOG("TSC at %u kHz: vCPUs disagree by %.1f us booted, at worst "
	       "%.1f us in %d restores (bound %.1f us)", khz,
	       booted * 1000.0 / khz, worst * 1000.0 / khz, RESTORES,
	       bound * 1000.0 / khz);
	EXPECT_LE(worst, bound)
		TH_LOG("the restored vCPUs' TSCs disagree by %.1f us, the "
		       "booted VM's by %.1f us", worst * 1000.0 / khz,
		       booted * 1000.0 / khz);
}

TEST_F_TIMEOUT(tsc, agree_after_restore, 900)
{
	unsigned int khz;
	long long booted;

	booted_snapshot(_metadata, self, &booted, &khz);
	restores_agree(_metadata, self, booted, khz);
}

/*
 * The saved TSCs of a snapshot are not in step: KVM_GET_MSRS reads each
 * vCPU at its own moment, and where the host's TSC is unstable a vCPU
 * halted before the pause saved the TSC of its last exit, which can lag
 * the others by seconds (the idle guest's vCPU 0 did, in CI: the restored
 * vCPUs then disagreed by 0.06 to 1.28 s).  This snapshot's vCPU 1 is
 * made to have saved a TSC SKEW_S seconds ahead of vCPU 0's, beyond the
 * second within which KVM matches two writes; the restore must still put
 * both vCPUs on one TSC.
 */
#define SKEW_S		2
#define MSR_IA32_TSC	0x10

TEST_F_TIMEOUT(tsc, agree_after_restore_of_skewed_tscs, 900)
{
	struct kvm_msr_entry e;
	struct vs_vcpu vs;
	unsigned int khz, i;
	long long booted;
	bool skewed = false;
	uint8_t *sec;
	uint64_t len;
	void *file;

	booted_snapshot(_metadata, self, &booted, &khz);
	file = vmstate_file__read(self->vmstate);
	ASSERT_NE(NULL, file);
	sec = vmstate_file__section(file, VS_VCPU, 1, &len);
	ASSERT_TRUE(sec && len >= sizeof(vs));
	memcpy(&vs, sec, sizeof(vs));
	ASSERT_EQ(1, vs.id);
	for (i = 0; i < vs.nr_msrs; i++) {
		uint8_t *p = sec + sizeof(vs) + i * sizeof(e);

		memcpy(&e, p, sizeof(e));
		if (e.index != MSR_IA32_TSC)
			continue;
		e.data += (uint64_t)SKEW_S * khz * 1000;
		memcpy(p, &e, sizeof(e));
		skewed = true;
	}
	ASSERT_TRUE(skewed) TH_LOG("vCPU 1 saved no IA32_TSC");
	ASSERT_TRUE(vmstate_file__write(self->vmstate, file));
	restores_agree(_metadata, self, booted, khz);
}

TEST_HARNESS_MAIN
