// SPDX-License-Identifier: GPL-2.0
/*
 * vmm's Firecracker-compatible API, end to end: configure, start, pause
 * (the guest's console counter stops), resume (it goes on), and refuse
 * bad requests with a 400 and a reason while the VM keeps running.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define TICKER_INITRD	"build/guest/ticker.cpio.gz"

FIXTURE(vmm) {
	struct vmm_proc v;
	char out[4096];
};

FIXTURE_SETUP(vmm)
{
	vmm_proc__start(&self->v, "/tmp", "vmm-api-test");
}

FIXTURE_TEARDOWN(vmm)
{
	vmm_proc__kill(&self->v);
	unlink(self->v.sock);
	unlink(self->v.log);
}

static void configure(struct __test_metadata *_metadata, FIXTURE_DATA(vmm) *self)
{
	(void)_metadata;
	vmm_proc__configure(&self->v, TICKER_INITRD, 2, false);
}

TEST_F_TIMEOUT(vmm, start_pause_resume, 400)
{
	long paused_at;

	ASSERT_EQ(200, vmm_proc__api(&self->v, "GET", "/", NULL, self->out,
			   sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Not started\""));
	configure(_metadata, self);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	ASSERT_TRUE(vmm_proc__wait_tick(&self->v, 2, 300)) TH_LOG("guest never ticked");
	vmm_proc__api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Running\""));

	/* Resumed while running is done already: 204, as in Firecracker. */
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/vm", "{\"state\":\"Resumed\"}",
			   self->out, sizeof(self->out)));
	EXPECT_STREQ("", self->out);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/vm", "{\"state\":\"Paused\"}",
			   self->out, sizeof(self->out)));
	vmm_proc__api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Paused\""));
	paused_at = vmm_proc__last_tick(&self->v);
	/* And Paused while paused. */
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/vm", "{\"state\":\"Paused\"}",
			   self->out, sizeof(self->out)));
	EXPECT_STREQ("", self->out);
	vmm_proc__api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Paused\""));
	sleep(3);
	EXPECT_EQ(paused_at, vmm_proc__last_tick(&self->v)) TH_LOG("ticked while paused");

	ASSERT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/vm", "{\"state\":\"Resumed\"}",
			   self->out, sizeof(self->out)));
	EXPECT_TRUE(vmm_proc__wait_tick(&self->v, paused_at, 120))
		TH_LOG("no tick after resume");
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/vm", "{\"state\":\"Resumed\"}",
			   self->out, sizeof(self->out)));
	vmm_proc__api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Running\""));
}

/* Bad requests: 400 with a reason, and the VM goes on running. */
TEST_F_TIMEOUT(vmm, bad_requests_keep_vm_running, 400)
{
	static const char *const bad[][3] = {
		{ "PUT", "/machine-config", "{\"vcpu_count\":2" },
		{ "PUT", "/machine-config", "{\"vcpu_count\":\"2\",\"mem_size_mib\":256}" },
		{ "PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"bogus\":1}" },
		{ "PUT", "/machine-config", "{\"vcpu_count\":64,\"mem_size_mib\":256}" },
		{ "PUT", "/machine-config", "[]" },
		{ "PUT", "/boot-source", "{\"kernel_image_path\":\"/nonexistent\"}" },
		{ "PUT", "/actions", "{\"action_type\":\"Reboot\"}" },
		{ "PATCH", "/vm", "{\"state\":\"Sleeping\"}" },
		{ "GET", "/nothing-here", NULL },
		{ "DELETE", "/vm", NULL },
	};
	long before;
	size_t i;

	/* Before start: pausing is refused, starting without a kernel too. */
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PATCH", "/vm", "{\"state\":\"Paused\"}",
			   self->out, sizeof(self->out)));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "boot-source"));
	/* A sampling interval needs a recorder, and a sane value. */
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			   "\"working_set_interval_ms\":10}",
			   self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "needs track_working_set"));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			   "\"track_working_set\":true,"
			   "\"working_set_interval_ms\":20000}",
			   self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "0 to 10000"));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/snapshot/load",
			   "{\"snapshot_path\":\"/nonexistent\","
			   "\"mem_backend\":{\"backend_type\":\"File\","
			   "\"backend_path\":\"/nonexistent\"},"
			   "\"working_set_interval_ms\":-5}",
			   self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "needs track_working_set"));

	configure(_metadata, self);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	ASSERT_TRUE(vmm_proc__wait_tick(&self->v, 2, 300));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(400, vmm_proc__api(&self->v, bad[i][0], bad[i][1], bad[i][2],
				   self->out, sizeof(self->out)));
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\":"));
	}
	/* Configuration is frozen once started, and start happens once. */
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":1,\"mem_size_mib\":128}",
			   self->out, sizeof(self->out)));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));

	before = vmm_proc__last_tick(&self->v);
	EXPECT_TRUE(vmm_proc__wait_tick(&self->v, before, 120))
		TH_LOG("the VM stopped after bad requests");
	vmm_proc__api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Running\""));
}

/* Started as root, the VMM holds no capability and cannot regain one. */
TEST_F(vmm, no_capabilities)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	ASSERT_EQ(0, getuid());
	snprintf(path, sizeof(path), "/proc/%d/status", self->v.pid);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapPrm:", 7) ||
		    !strncmp(line, "CapBnd:", 7) || !strncmp(line, "CapAmb:", 7)) {
			EXPECT_NE(NULL, strstr(line, "0000000000000000"))
				TH_LOG("%s", line);
			found++;
		}
		if (!strncmp(line, "NoNewPrivs:", 11)) {
			EXPECT_NE(NULL, strstr(line, "1"));
			found++;
		}
	}
	fclose(f);
	EXPECT_EQ(5, found);
}

/* SIGTERM ends the VMM cleanly and removes its socket. */
TEST_F(vmm, sigterm_exits_cleanly)
{
	int status;

	kill(self->v.pid, SIGTERM);
	ASSERT_EQ(self->v.pid, waitpid(self->v.pid, &status, 0));
	self->v.pid = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_NE(0, access(self->v.sock, F_OK));
}

TEST_HARNESS_MAIN
