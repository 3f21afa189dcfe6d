// SPDX-License-Identifier: GPL-2.0
/*
 * vmm's Firecracker-compatible API, end to end: configure, start, pause
 * (the guest's console counter stops), resume (it goes on), and refuse
 * bad requests with a 400 and a reason while the VM keeps running.
 * Bodies of 200 replies are compared whole: they are Firecracker v1.10's
 * shapes, as its swagger and its serializers give them.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "kselftest_harness.h"
#include "pagetrack.h"
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
	struct vmm_activity act;
	long paused_at;

	ASSERT_EQ(200, vmm_proc__api(&self->v, "GET", "/", NULL, self->out,
			   sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Not started\""));
	configure(_metadata, self);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->v, 2, 300)) TH_LOG("guest never ticked");
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
	/* Paused, a snapshot could be taken, but not with v1.10's removed field. */
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/snapshot/create",
			   "{\"snapshot_type\":\"Full\",\"snapshot_path\":"
			   "\"/tmp/api-version.vmstate\",\"mem_file_path\":"
			   "\"/tmp/api-version.mem\",\"version\":\"1.10.0\"}",
			   self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "the version field is not accepted"));
	EXPECT_NE(0, access("/tmp/api-version.mem", F_OK));
	/* Paused, no vCPU enters the guest, so KVM counts no exit. */
	ASSERT_TRUE(vmm_proc__activity(&self->v, 3000, &act))
		TH_LOG("no KVM statistics in debugfs for the VMM");
	TH_LOG("paused, over 3 s: vCPUs %llu ms, %llu exits", act.vcpu_cpu_ms,
	       act.exits);
	EXPECT_EQ(0, act.exits);
	EXPECT_EQ(paused_at, vmm_proc__last_tick(&self->v)) TH_LOG("ticked while paused");

	ASSERT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/vm", "{\"state\":\"Resumed\"}",
			   self->out, sizeof(self->out)));
	EXPECT_TRUE(vmm_proc__expect_tick(&self->v, paused_at, 120))
		TH_LOG("no tick after resume");
	/*
	 * Running, the ticker writes to its console (port I/O) at 5 Hz;
	 * the window is 25 ticks wide for a nested guest that stalls.
	 */
	ASSERT_TRUE(vmm_proc__activity(&self->v, 5000, &act));
	TH_LOG("running, over 5 s: vCPUs %llu ms, %llu exits (%llu halts, "
	       "%llu port I/O, %llu MMIO), %llu injected interrupts",
	       act.vcpu_cpu_ms, act.exits, act.halt_exits, act.io_exits,
	       act.mmio_exits, act.irq_injections);
	EXPECT_LT(0, act.io_exits);
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
		{ "PATCH", "/vm", "{}" },
		{ "GET", "/nothing-here", NULL },
		{ "DELETE", "/vm", NULL },
		{ "GET", "/machine-config", "{}" },
		{ "GET", "/vm", NULL },
		{ "PUT", "/version", "{}" },
	};
	/* Refused with the reason given, once the VM runs. */
	static const char *const refused[][4] = {
		{ "PUT", "/machine-config",
		  "{\"vcpu_count\":2,\"mem_size_mib\":256,\"cpu_template\":\"None\"}",
		  "cannot change after InstanceStart" },
		{ "PUT", "/machine-config",
		  "{\"vcpu_count\":2,\"mem_size_mib\":256,\"bogus\":1}",
		  "unknown field 'bogus'" },
		{ "PATCH", "/machine-config", "{\"vcpu_count\":1}",
		  "cannot change after InstanceStart" },
		{ "PATCH", "/machine-config", "{}", "needs at least one field" },
		{ "PUT", "/snapshot/create",
		  "{\"snapshot_path\":\"/tmp/x.vmstate\","
		  "\"mem_file_path\":\"/tmp/x.mem\",\"version\":\"1.0.0\"}",
		  "the version field is not accepted" },
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
	/* How layers are prefetched: a known way, with layers, no window. */
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/snapshot/load",
			   "{\"snapshot_path\":\"/nonexistent\","
			   "\"mem_backend\":{\"backend_type\":\"File\","
			   "\"backend_path\":\"/nonexistent\"},"
			   "\"layers_prefetch\":\"HugePages\"}",
			   self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "layers_prefetch needs layers_path"));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/snapshot/load",
			   "{\"snapshot_path\":\"/nonexistent\","
			   "\"mem_backend\":{\"backend_type\":\"File\","
			   "\"backend_path\":\"/nonexistent\"},"
			   "\"layers_path\":\"/nonexistent\","
			   "\"layers_prefetch\":\"Eager\"}",
			   self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "Background or HugePages, not 'Eager'"));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/snapshot/load",
			   "{\"snapshot_path\":\"/nonexistent\","
			   "\"mem_backend\":{\"backend_type\":\"File\","
			   "\"backend_path\":\"/nonexistent\"},"
			   "\"layers_path\":\"/nonexistent\","
			   "\"track_working_set\":true,"
			   "\"layers_prefetch\":\"HugePages\"}",
			   self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "cannot record a working set"));

	configure(_metadata, self);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->v, 2, 300));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(400, vmm_proc__api(&self->v, bad[i][0], bad[i][1], bad[i][2],
				   self->out, sizeof(self->out)));
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\":"));
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		EXPECT_EQ(400, vmm_proc__api(&self->v, refused[i][0], refused[i][1],
				   refused[i][2], self->out, sizeof(self->out)));
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\":"));
		EXPECT_NE(NULL, strstr(self->out, refused[i][3]))
			TH_LOG("want '%s'", refused[i][3]);
	}
	EXPECT_NE(0, access("/tmp/x.vmstate", F_OK)) TH_LOG("a snapshot was written");
	/* Configuration is frozen once started, and start happens once. */
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":1,\"mem_size_mib\":128}",
			   self->out, sizeof(self->out)));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));

	before = vmm_proc__last_tick(&self->v);
	EXPECT_TRUE(vmm_proc__expect_tick(&self->v, before, 120))
		TH_LOG("the VM stopped after bad requests");
	vmm_proc__api(&self->v, "GET", "/", NULL, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Running\""));
}

/* GET @path: 200, and the body is exactly @want. */
static void expect_get(struct __test_metadata *_metadata,
		       FIXTURE_DATA(vmm) *self, const char *path,
		       const char *want)
{
	EXPECT_EQ(200, vmm_proc__api(&self->v, "GET", path, NULL, self->out,
				     sizeof(self->out)));
	EXPECT_STREQ(want, self->out);
}

#define MACHINE(vcpus, mib, track) \
	"{\"vcpu_count\":" #vcpus ",\"mem_size_mib\":" #mib ",\"smt\":false," \
	"\"track_dirty_pages\":" #track ",\"huge_pages\":\"None\"}"

/* Firecracker's FullVmConfiguration around @boot and @machine. */
static void vm_config(char *buf, size_t len, const char *boot,
		      const char *machine)
{
	snprintf(buf, len, "{\"balloon\":null,\"drives\":[],\"boot-source\":%s,"
		 "\"cpu-config\":null,\"logger\":null,\"machine-config\":%s,"
		 "\"metrics\":null,\"mmds-config\":null,"
		 "\"network-interfaces\":[],\"vsock\":null,\"entropy\":null}",
		 boot, machine);
}

/*
 * GET /version, GET /vm/config, and GET, PUT and PATCH /machine-config:
 * Firecracker's defaults and explicit defaults accepted, what it would
 * need refused with the reason and nothing changed, PATCH as a partial
 * update, PUT as a whole one, and the VM booted as GET said.
 */
TEST_F_TIMEOUT(vmm, machine_config_and_gets, 400)
{
	static const char *const refused[][3] = {
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"cpu_template\":\"T2\"}",
		  "cpu_template 'T2' is not supported" },
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"cpu_template\":\"Z9\"}",
		  "cpu_template must be one of C3, T2, T2S, T2CL, T2A, V1N1 or None" },
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":255,\"huge_pages\":\"2M\"}",
		  "not a multiple of the configured page size" },
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"huge_pages\":\"1G\"}",
		  "huge_pages must be None or 2M" },
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":true}",
		  "smt is not supported" },
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"gdb_socket_path\":\"/tmp/g\"}",
		  "gdb_socket_path (Firecracker's gdb build) is not supported" },
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"page_size\":4096}",
		  "unknown field 'page_size'" },
		{ "PUT", "{\"vcpu_count\":2}", "needs vcpu_count and mem_size_mib" },
		{ "PUT", "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":0}",
		  "smt must be true or false" },
		{ "PATCH", "{}", "needs at least one field" },
		{ "PATCH", "{\"vcpu_count\":0}", "vcpu_count must be 1 to 32" },
		{ "PATCH", "{\"mem_size_mib\":\"256\"}", "mem_size_mib must be an integer" },
		{ "PATCH", "{\"smt\":true}", "smt is not supported" },
		{ "PATCH", "{\"cpu_template\":\"C3\"}", "cpu_template 'C3' is not supported" },
		{ "PATCH", "{\"huge_pages\":\"2M\",\"mem_size_mib\":17}",
		  "huge_pages 2M needs an even mem_size_mib" },
		{ "PATCH", "{\"vcpu_count\":2,\"bogus\":true}", "unknown field 'bogus'" },
	};
	char want[2048], boot[1024], body[1024];
	size_t i;

	expect_get(_metadata, self, "/version",
		   "{\"firecracker_version\":\"" API_VMM_VERSION "\"}");
	/* Firecracker's defaults: 1 vCPU, 128 MiB, no SMT, no template. */
	expect_get(_metadata, self, "/machine-config", MACHINE(1, 128, false));
	vm_config(want, sizeof(want), "{\"kernel_image_path\":\"\","
		  "\"initrd_path\":null,\"boot_args\":null}",
		  MACHINE(1, 128, false));
	expect_get(_metadata, self, "/vm/config", want);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		EXPECT_EQ(400, vmm_proc__api(&self->v, refused[i][0], "/machine-config",
				   refused[i][1], self->out, sizeof(self->out)));
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\":"));
		EXPECT_NE(NULL, strstr(self->out, refused[i][2]))
			TH_LOG("want '%s'", refused[i][2]);
	}
	expect_get(_metadata, self, "/machine-config", MACHINE(1, 128, false));

	/* Every field as clients send it, defaults spelled out. */
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,"
			   "\"cpu_template\":\"None\",\"track_dirty_pages\":true,"
			   "\"huge_pages\":\"None\"}", self->out, sizeof(self->out)));
	EXPECT_STREQ("", self->out);
	expect_get(_metadata, self, "/machine-config", MACHINE(2, 256, true));
	/* PATCH changes what it names; the rest keeps its value. */
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/machine-config",
			   "{\"mem_size_mib\":192}", self->out, sizeof(self->out)));
	expect_get(_metadata, self, "/machine-config", MACHINE(2, 192, true));
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/machine-config",
			   "{\"smt\":false,\"cpu_template\":\"None\",\"huge_pages\":\"None\"}",
			   self->out, sizeof(self->out)));
	expect_get(_metadata, self, "/machine-config", MACHINE(2, 192, true));
	/* PUT sets all of it: track_dirty_pages not given is false. */
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PUT", "/machine-config",
			   "{\"vcpu_count\":1,\"mem_size_mib\":192}", self->out,
			   sizeof(self->out)));
	expect_get(_metadata, self, "/machine-config", MACHINE(1, 192, false));
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/machine-config",
			   "{\"vcpu_count\":2}", self->out, sizeof(self->out)));
	expect_get(_metadata, self, "/machine-config", MACHINE(2, 192, false));

	/* pagetrack's fields show only while they are on. */
	if (!access(PAGETRACK_DEVICE, F_OK)) {
		EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/machine-config",
				   "{\"track_working_set\":true,"
				   "\"working_set_interval_ms\":50}",
				   self->out, sizeof(self->out)));
		expect_get(_metadata, self, "/machine-config",
			   "{\"vcpu_count\":2,\"mem_size_mib\":192,\"smt\":false,"
			   "\"track_dirty_pages\":false,\"huge_pages\":\"None\","
			   "\"track_working_set\":true,\"working_set_interval_ms\":50}");
		EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH", "/machine-config",
				   "{\"track_working_set\":false}", self->out,
				   sizeof(self->out)));
		expect_get(_metadata, self, "/machine-config", MACHINE(2, 192, false));
	}

	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
		 "\"initrd_path\":\"%s\",\"boot_args\":\"console=ttyS0 reboot=k "
		 "panic=1 pci=off quiet\"}", vmm_util__kernel(), TICKER_INITRD);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/boot-source", body,
				     self->out, sizeof(self->out)));
	snprintf(boot, sizeof(boot), "{\"kernel_image_path\":\"%s\","
		 "\"initrd_path\":\"%s\",\"boot_args\":\"console=ttyS0 reboot=k "
		 "panic=1 pci=off quiet\"}", vmm_util__kernel(), TICKER_INITRD);
	vm_config(want, sizeof(want), boot, MACHINE(2, 192, false));
	expect_get(_metadata, self, "/vm/config", want);

	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}", self->out,
			   sizeof(self->out)));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->v, 2, 300)) TH_LOG("guest never ticked");
	/* Started: the VM's own vCPUs and memory, and no more changes. */
	expect_get(_metadata, self, "/machine-config", MACHINE(2, 192, false));
	expect_get(_metadata, self, "/vm/config", want);
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PATCH", "/machine-config",
			   "{\"mem_size_mib\":256}", self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "cannot change after InstanceStart"));
	expect_get(_metadata, self, "/machine-config", MACHINE(2, 192, false));
	EXPECT_TRUE(vmm_proc__expect_tick(&self->v, vmm_proc__last_tick(&self->v), 120))
		TH_LOG("the VM stopped");
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
