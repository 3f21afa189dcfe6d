// SPDX-License-Identifier: GPL-2.0
/*
 * A long pause, in the test VM.  The guest's kvmclock runs on while its
 * vCPUs are parked; on resume its soft-lockup watchdog sees every CPU
 * stuck for the whole pause ("BUG: soft lockup - CPU#0 stuck for 25s!"),
 * unless the VMM told KVM the guest was stopped on purpose
 * (KVM_KVMCLOCK_CTRL at pause, which sets PVCLOCK_GUEST_STOPPED for the
 * guest to find).  The watchdog fires after twice watchdog_thresh, 20 s
 * in Debian's kernel: the pause lasts 30.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/memcheck.cpio.gz"
#define PAUSE_S		30

FIXTURE(pause) {
	char dir[64];
	char out[1024];
	struct vmm_proc v;
};

FIXTURE_SETUP(pause)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/pausetest-%d", getpid());
	mkdir(self->dir, 0700);
}

FIXTURE_TEARDOWN(pause)
{
	char cmd[128];

	vmm_proc__kill(&self->v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/* Whether a console line of @v has @needle anywhere; the line in @line. */
static bool console_has(struct vmm_proc *v, const char *needle, char *line,
			size_t len)
{
	FILE *f = fopen(v->log, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, len, f))
		found = strstr(line, needle);
	fclose(f);
	return found;
}

TEST_F_TIMEOUT(pause, long_pause_is_no_lockup, 600)
{
	char line[256];
	long n;

	vmm_proc__start(&self->v, self->dir, "v");
	vmm_proc__configure(&self->v, INITRD, 2, false);
	ASSERT_TRUE(vmm_proc__boot(&self->v, "TICK 5 ", line, sizeof(line),
				   300));
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	n = vmm_proc__last_tick(&self->v);
	sleep(PAUSE_S);
	/* Parked all along: not one tick while paused. */
	EXPECT_EQ(n, vmm_proc__last_tick(&self->v));
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Resumed", self->out,
					   sizeof(self->out)));
	/* The watchdog's hrtimer fires within watchdog_thresh / 5 = 2 s. */
	ASSERT_TRUE(vmm_proc__wait_tick(&self->v, n + 40, 120));
	EXPECT_FALSE(console_has(&self->v, "soft lockup", line, sizeof(line)))
		TH_LOG("%s", line);
	/*
	 * RCU's stall detector reads the same flag, but whichever of the
	 * two looks first on a CPU clears it: a report of RCU is told, not
	 * failed.
	 */
	if (console_has(&self->v, "detected stall", line, sizeof(line)))
		TH_LOG("note: %s", line);
}

TEST_HARNESS_MAIN
