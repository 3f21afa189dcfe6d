// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net on a TAP, in a network namespace the test makes: the guest
 * sees the MAC and MTU it was given, pings the host, echoes over TCP and
 * serves a 1 MiB file the host fetches intact; a tx rate limiter PATCHed
 * in slows the same fetch to what its bucket allows; a snapshot restored
 * in a new VMM reopens the TAP by name, answers ping and echo and serves
 * again; bad requests are refused and change nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define NET_INITRD	"build/guest/net.cpio.gz"
#define NETNS		"pagetrack-net-test"
#define TAP		"ptaptest0"
#define GUEST_URL	"http://10.0.2.2/blob"
#define NET_IFACE	"{\"iface_id\":\"eth0\",\"host_dev_name\":\"" TAP "\"," \
			"\"guest_mac\":\"06:00:ac:10:00:02\",\"mtu\":1400}"

/* The first line @cmd prints, in @out. */
static void run_line(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return;
	if (!fgets(out, len, p))
		out[0] = '\0';
	pclose(p);
}

/* md5 of the guest's file as fetched, and of what it must be. */
static void fetch(char *got, char *want, size_t len)
{
	run_line("curl -s -m 120 " GUEST_URL " | md5sum", got, len);
	run_line("yes pagetrack | head -c 1048576 | md5sum", want, len);
}

FIXTURE(net) {
	struct vmm_proc v;
	char out[4096];
	char line[256];
};

/*
 * The test process enters the namespace, so the VMM it starts opens the
 * TAP there and curl, ping and nc reach the guest there.
 */
FIXTURE_SETUP(net)
{
	TEST_REQUIRE(!netns__enter(NETNS, "ip tuntap add dev " TAP " mode tap "
				   "&& ip addr add 10.0.2.1/24 dev " TAP
				   " && ip link set " TAP " up"),
		     "cannot set up TAP device " TAP " in " NETNS);
	vmm_proc__start(&self->v, "/tmp", "vmm-net-test");
}

FIXTURE_TEARDOWN(net)
{
	vmm_proc__kill(&self->v);
	unlink(self->v.sock);
	unlink(self->v.log);
	netns__remove(NETNS);
}

/* What the guest's TCP echo server on port 7 sends back for @word. */
static void echo(const char *word, char *out, size_t len)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "echo %s | busybox nc -w 10 10.0.2.2 7",
		 word);
	run_line(cmd, out, len);
}

static void boot(struct __test_metadata *_metadata, FIXTURE_DATA(net) *self)
{
	vmm_proc__configure(&self->v, NET_INITRD, 1, false);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT",
				     "/network-interfaces/eth0", NET_IFACE,
				     self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(vmm_proc__boot(&self->v, "NET-PING", self->line,
				   sizeof(self->line), 300)) {
		vmm_proc__show_console(&self->v, 20);
	}
}

TEST_F_TIMEOUT(net, transfer_and_limit, 600)
{
	char got[128], want[128];
	double t;

	boot(_metadata, self);
	EXPECT_NE(NULL, strstr(self->line, "3 packets transmitted, 3 packets "
			       "received")) TH_LOG("%s", self->line);
	ASSERT_TRUE(vmm_proc__find_line(&self->v, "NET-UP", self->line,
					sizeof(self->line)));
	EXPECT_NE(NULL, strstr(self->line, "06:00:ac:10:00:02 1400"))
		TH_LOG("%s", self->line);

	fetch(got, want, sizeof(got));
	EXPECT_STREQ(want, got);
	echo("before-limits", got, sizeof(got));
	EXPECT_STREQ("before-limits\n", got);

	/*
	 * 200 kB at first, then 200 kB/s: 1 MiB cannot take less than
	 * (1048576 - 200000) / 200000 s, however fast the machine.
	 */
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PATCH",
				     "/network-interfaces/eth0",
				     "{\"iface_id\":\"eth0\",\"tx_rate_limiter\":"
				     "{\"bandwidth\":{\"size\":200000,"
				     "\"refill_time\":1000}}}",
				     self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	t = test__now_s();
	fetch(got, want, sizeof(got));
	t = test__now_s() - t;
	EXPECT_STREQ(want, got);
	EXPECT_GE(t, 4.0) TH_LOG("1 MiB through a 200 kB/s limiter in %.1f s",
				 t);
	ASSERT_EQ(200, vmm_proc__api(&self->v, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"tx_rate_limiter\":{\"bandwidth\":"
			       "{\"size\":200000,\"one_time_burst\":0,"
			       "\"refill_time\":1000}}"))
		TH_LOG("%s", self->out);
}

TEST_F_TIMEOUT(net, snapshot_reopens_tap, 600)
{
	const char *vmstate = "/tmp/net-test.vmstate", *mem = "/tmp/net-test.mem";
	char got[128], want[128];

	boot(_metadata, self);
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__create(&self->v, vmstate, mem, NULL,
					self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	vmm_proc__kill(&self->v);

	vmm_proc__start(&self->v, "/tmp", "vmm-net-test");
	ASSERT_EQ(204, vmm_proc__load(&self->v, vmstate, "File", mem, NULL,
				      self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	run_line("busybox ping -c 3 -W 10 10.0.2.2 | grep 'packets transmitted'",
		 got, sizeof(got));
	EXPECT_NE(NULL, strstr(got, "3 packets transmitted, 3 packets received"))
		TH_LOG("after restore: %s", got);
	echo("after-restore", got, sizeof(got));
	EXPECT_STREQ("after-restore\n", got);
	fetch(got, want, sizeof(got));
	EXPECT_STREQ(want, got) {
		vmm_proc__show_console(&self->v, 20);
	}
	ASSERT_EQ(200, vmm_proc__api(&self->v, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	unlink(vmstate);
	unlink(mem);
}

TEST_F_TIMEOUT(net, bad_requests_change_nothing, 300)
{
	static const struct {
		const char *method, *path, *body, *why;
	} bad[] = {
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}",
		  "host_dev_name" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		  "\"host_dev_name\":\"" TAP "\",\"colour\":1}", "colour" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth1\","
		  "\"host_dev_name\":\"" TAP "\"}", "differs" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		  "\"host_dev_name\":\"" TAP "\",\"guest_mac\":\"06:00\"}",
		  "MAC" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		  "\"host_dev_name\":\"" TAP "\",\"mtu\":20}", "mtu" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		  "\"host_dev_name\":\"nosuchtap9\"}", "no TAP device" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		  "\"host_dev_name\":\"tap-name-of-20-bytes\"}", "1 to 15 bytes" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		  "\"host_dev_name\":\"" TAP "\",\"rx_rate_limiter\":"
		  "{\"ops\":{\"size\":5}}}", "refill_time" },
		{ "PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		  "\"host_dev_name\":\"" TAP "\",\"tx_rate_limiter\":"
		  "{\"bandwidth\":{\"size\":-5,\"refill_time\":10}}}",
		  "must not be negative" },
		{ "PUT", "/network-interfaces/eth1", "{\"iface_id\":\"eth1\","
		  "\"host_dev_name\":\"" TAP "\"}", "in use" },
		{ "PATCH", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}",
		  "after starting" },
	};
	char before[4096];
	unsigned int i;

	vmm_proc__configure(&self->v, NET_INITRD, 1, false);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT",
				     "/network-interfaces/eth0", NET_IFACE,
				     self->out, sizeof(self->out)));
	ASSERT_EQ(200, vmm_proc__api(&self->v, "GET", "/vm/config", NULL,
				     before, sizeof(before)));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(400, vmm_proc__api(&self->v, bad[i].method,
					     bad[i].path, bad[i].body,
					     self->out, sizeof(self->out)))
			TH_LOG("%s %s %s", bad[i].method, bad[i].path,
			       bad[i].body);
		EXPECT_NE(NULL, strstr(self->out, "fault_message"));
		EXPECT_NE(NULL, strstr(self->out, bad[i].why))
			TH_LOG("%s: %s", bad[i].body, self->out);
	}
	ASSERT_EQ(200, vmm_proc__api(&self->v, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_STREQ(before, self->out);

	/* After the start: no new interface, PATCH of an unknown one. */
	ASSERT_TRUE(vmm_proc__boot(&self->v, "NET-UP", self->line,
				   sizeof(self->line), 300));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PUT", "/network-interfaces/eth1",
				     "{\"iface_id\":\"eth1\",\"host_dev_name\":"
				     "\"x\"}", self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "after starting"));
	EXPECT_EQ(400, vmm_proc__api(&self->v, "PATCH",
				     "/network-interfaces/eth9",
				     "{\"iface_id\":\"eth9\"}", self->out,
				     sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "no interface"));
	EXPECT_EQ(204, vmm_proc__api(&self->v, "PATCH",
				     "/network-interfaces/eth0",
				     "{\"iface_id\":\"eth0\"}", self->out,
				     sizeof(self->out)));
}

TEST_HARNESS_MAIN
