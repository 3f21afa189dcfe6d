// SPDX-License-Identifier: GPL-2.0
/*
 * vmm's Firecracker-compatible API, end to end: configure, start, pause
 * (the guest's console counter stops), resume (it goes on), and refuse
 * bad requests with a 400 and a reason while the VM keeps running.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define VMM		"build/vmm"
#define TICKER_INITRD	"build/guest/ticker.cpio.gz"

struct vmm_proc {
	pid_t pid;
	char sock[64];
	char log[64];
};

/* One API call through curl; returns the HTTP status, body in @out. */
static int api(struct vmm_proc *v, const char *method, const char *path,
	       const char *body, char *out, size_t len)
{
	char cmd[8192];
	int status = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "curl -s -w '\\n%%{http_code}' "
		 "--unix-socket %s -X %s %s%s%s 'http://localhost%s'",
		 v->sock, method, body ? "-d '" : "", body ? body : "",
		 body ? "'" : "", path);
	p = popen(cmd, "r");
	TEST_REQUIRE(p, "popen curl");
	len = fread(out, 1, len - 1, p);
	out[len] = '\0';
	pclose(p);
	/* The status is the last line. */
	if (len) {
		char *nl = strrchr(out, '\n');

		status = atoi(nl ? nl + 1 : out);
		if (nl)
			*nl = '\0';
	}
	fprintf(stderr, "# %s %s %s -> %d %s\n", method, path,
		body ? body : "", status, out);
	return status;
}

static void start_vmm(struct vmm_proc *v)
{
	int i;

	snprintf(v->sock, sizeof(v->sock), "/tmp/vmm-api-%d.sock", getpid());
	snprintf(v->log, sizeof(v->log), "/tmp/vmm-api-%d.log", getpid());
	unlink(v->sock);
	v->pid = fork();
	TEST_REQUIRE(v->pid >= 0, "fork");
	if (!v->pid) {
		int fd = open(v->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(VMM, VMM, "--api-sock", v->sock, NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && access(v->sock, F_OK); i++)
		usleep(50000);
	TEST_REQUIRE(!access(v->sock, F_OK), "no API socket");
}

/* Highest "TICK n" in the console log, or -1. */
static long last_tick(struct vmm_proc *v)
{
	char line[256];
	long n = -1;
	FILE *f = fopen(v->log, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "TICK ", 5))
			n = atol(line + 5);
	fclose(f);
	return n;
}

static bool wait_tick(struct vmm_proc *v, long above, int seconds)
{
	time_t end = time(NULL) + seconds;

	while (time(NULL) < end) {
		if (last_tick(v) > above)
			return true;
		usleep(100000);
	}
	return false;
}

FIXTURE(vmm) {
	struct vmm_proc v;
	char out[4096];
};

FIXTURE_SETUP(vmm)
{
	start_vmm(&self->v);
}

FIXTURE_TEARDOWN(vmm)
{
	kill(self->v.pid, SIGKILL);
	waitpid(self->v.pid, NULL, 0);
	unlink(self->v.sock);
	unlink(self->v.log);
}

static void configure(struct __test_metadata *_metadata, FIXTURE_DATA(vmm) *self)
{
	struct utsname u;
	char body[1024];

	uname(&u);
	snprintf(body, sizeof(body), "{\"kernel_image_path\":"
		 "\"/boot/vmlinuz-%s\",\"initrd_path\":\"%s\",\"boot_args\":"
		 "\"console=ttyS0 reboot=k panic=1 pci=off quiet\"}",
		 u.release, TICKER_INITRD);
	ASSERT_EQ(204, api(&self->v, "PUT", "/boot-source", body, self->out,
			   sizeof(self->out)));
	ASSERT_EQ(204, api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":2,\"mem_size_mib\":256}",
			   self->out, sizeof(self->out)));
}

TEST_F_TIMEOUT(vmm, start_pause_resume, 400)
{
	long paused_at;

	ASSERT_EQ(200, api(&self->v, "GET", "/", NULL, self->out,
			   sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Not started\""));
	configure(_metadata, self);
	ASSERT_EQ(204, api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	ASSERT_TRUE(wait_tick(&self->v, 2, 300)) TH_LOG("guest never ticked");
	api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Running\""));

	ASSERT_EQ(204, api(&self->v, "PATCH", "/vm", "{\"state\":\"Paused\"}",
			   self->out, sizeof(self->out)));
	api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Paused\""));
	paused_at = last_tick(&self->v);
	sleep(3);
	EXPECT_EQ(paused_at, last_tick(&self->v)) TH_LOG("ticked while paused");

	ASSERT_EQ(204, api(&self->v, "PATCH", "/vm", "{\"state\":\"Resumed\"}",
			   self->out, sizeof(self->out)));
	EXPECT_TRUE(wait_tick(&self->v, paused_at, 120))
		TH_LOG("no tick after resume");
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
		{ "PATCH", "/vm", "{\"state\":\"Resumed\"}" },
		{ "GET", "/nothing-here", NULL },
		{ "DELETE", "/vm", NULL },
	};
	long before;
	size_t i;

	/* Before start: pausing is refused, starting without a kernel too. */
	EXPECT_EQ(400, api(&self->v, "PATCH", "/vm", "{\"state\":\"Paused\"}",
			   self->out, sizeof(self->out)));
	EXPECT_EQ(400, api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "boot-source"));

	configure(_metadata, self);
	ASSERT_EQ(204, api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	ASSERT_TRUE(wait_tick(&self->v, 2, 300));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(400, api(&self->v, bad[i][0], bad[i][1], bad[i][2],
				   self->out, sizeof(self->out)));
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\":"));
	}
	/* Configuration is frozen once started, and start happens once. */
	EXPECT_EQ(400, api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":1,\"mem_size_mib\":128}",
			   self->out, sizeof(self->out)));
	EXPECT_EQ(400, api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));

	before = last_tick(&self->v);
	EXPECT_TRUE(wait_tick(&self->v, before, 120))
		TH_LOG("the VM stopped after bad requests");
	api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Running\""));
}

/* SIGTERM ends the VMM cleanly and removes its socket. */
TEST_F(vmm, sigterm_exits_cleanly)
{
	int status;

	kill(self->v.pid, SIGTERM);
	ASSERT_EQ(self->v.pid, waitpid(self->v.pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_NE(0, access(self->v.sock, F_OK));
	self->v.pid = fork();	/* teardown has something to reap */
	if (!self->v.pid)
		_exit(0);
}

TEST_HARNESS_MAIN
