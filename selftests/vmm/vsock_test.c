// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock with Firecracker's host side, end to end, in the test VM.
 * The guest (vsock_init.sh) serves fnd on port 5000 and an echo server on
 * 5001, and its echo client connects to the host's port 5002, which the
 * test serves on <uds_path>_5002 (guest/vsock_echo.c).  Both directions,
 * transfers larger than either side's buffer (credit flow control), the
 * reset of every connection on a snapshot restore and new ones after it,
 * and PUT /vsock's refusals.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/vsock.cpio.gz"
#define FND_PORT	5000
#define ECHO_PORT	5001
#define HOST_PORT	5002
/* Firecracker's first host-side port of a host-initiated connection. */
#define FIRST_LOCAL_PORT	1073741824U
#define BOOT_S		240

FIXTURE(vsock) {
	char dir[64];
	char uds[96];
	char out[4096];
	int host_lfd;		/* <uds>_5002 */
	struct vmm_proc a, b;
};

FIXTURE_SETUP(vsock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(self->dir, sizeof(self->dir), "/tmp/vsocktest-%d", getpid());
	mkdir(self->dir, 0700);
	snprintf(self->uds, sizeof(self->uds), "%s/v.sock", self->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%d", self->uds,
		 HOST_PORT);
	self->host_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->host_lfd);
	ASSERT_EQ(0, bind(self->host_lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(self->host_lfd, 8));
}

FIXTURE_TEARDOWN(vsock)
{
	char cmd[128];

	vmm_proc__kill(&self->a);
	vmm_proc__kill(&self->b);
	close(self->host_lfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/* PUT /vsock with @body: the HTTP status. */
static int put_vsock(FIXTURE_DATA(vsock) *self, struct vmm_proc *v,
		     const char *body)
{
	return vmm_proc__api(v, "PUT", "/vsock", body, self->out,
			     sizeof(self->out));
}

/* Start a VMM with the vsock guest and the device on @uds; boot it. */
static bool boot(FIXTURE_DATA(vsock) *self, struct vmm_proc *v,
		 const char *name)
{
	char body[256], line[256];

	vmm_proc__start(v, self->dir, name);
	vmm_proc__configure(v, INITRD, 1, false);
	snprintf(body, sizeof(body), "{\"guest_cid\":3,\"uds_path\":\"%s\"}",
		 self->uds);
	if (put_vsock(self, v, body) != 204)
		return false;
	if (!vmm_proc__boot(v, "FND-LISTENING", line, sizeof(line), BOOT_S))
		return false;
	if (!vmm_proc__find_line(v, "VSOCK-GUEST virtio", line,
				 sizeof(line))) {
		fprintf(stderr, "# the guest found no vsock device\n");
		vmm_proc__show_console(v, 40);
		return false;
	}
	return true;
}

/* One line from @fd, up to its '\n' (kept), within @seconds; or -1. */
static int read_line(int fd, char *buf, size_t len, int seconds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double end = test__now_s() + seconds;
	size_t n = 0;

	while (n < len - 1) {
		if (poll(&p, 1, 200) < 0 || test__now_s() > end)
			return -1;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		if (read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return n;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Connect through uds_path to guest port @port: the stream after "OK",
 * the host port the VMM gave in @local_port; -1 if the VMM closed it.
 */
static int host_connect(FIXTURE_DATA(vsock) *self, unsigned int port,
			unsigned int *local_port)
{
	char line[64];
	int fd = unix_connect(self->uds);

	if (fd < 0)
		return -1;
	dprintf(fd, "CONNECT %u\n", port);
	if (read_line(fd, line, sizeof(line), 30) < 0 ||
	    sscanf(line, "OK %u\n", local_port) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Everything @fd gives until EOF (or @seconds), into @buf. */
static ssize_t read_all(int fd, char *buf, size_t len, int seconds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double end = test__now_s() + seconds;
	size_t n = 0;
	ssize_t r;

	while (n < len - 1) {
		if (poll(&p, 1, 200) < 0 || test__now_s() > end)
			return -1;
		if (!p.revents)
			continue;
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0)
			return -1;
		if (!r)
			break;
		n += r;
	}
	buf[n] = '\0';
	return n;
}

/* One invocation of fnd's function: its FN-DONE line, or false. */
static bool fn_call(FIXTURE_DATA(vsock) *self, unsigned int *local_port,
		    char *reply, size_t len)
{
	int fd = host_connect(self, FND_PORT, local_port);
	ssize_t n;

	if (fd < 0)
		return false;
	if (write(fd, "go\n", 3) != 3) {
		close(fd);
		return false;
	}
	n = read_all(fd, reply, len, 120);
	close(fd);
	fprintf(stderr, "# fnd via host port %u: %s", *local_port,
		n > 0 ? reply : "(nothing)\n");
	return n > 0 && !strncmp(reply, "FN-DONE n=", 10);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 12));
}

/*
 * Send @len bytes on @fd while reading as many back (an echo at the far
 * end); true when they all came back, the same, within @seconds.
 */
static bool echo_roundtrip(int fd, size_t len, int seconds)
{
	uint8_t *out = malloc(len), *in = malloc(len);
	struct pollfd p = { .fd = fd };
	double t0 = test__now_s(), end = t0 + seconds;
	size_t sent = 0, got = 0, i;
	bool ok = false;
	ssize_t n;

	if (!out || !in)
		goto done;
	for (i = 0; i < len; i++)
		out[i] = pattern(i);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (got < len) {
		if (test__now_s() > end) {
			fprintf(stderr, "# echo: %zu sent, %zu back at the "
				"timeout\n", sent, got);
			goto done;
		}
		p.events = POLLIN | (sent < len ? POLLOUT : 0);
		if (poll(&p, 1, 500) <= 0)
			continue;
		if ((p.revents & POLLOUT) && sent < len) {
			n = send(fd, out + sent, len - sent > 65536 ?
				 65536 : len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
			else if (n < 0 && errno != EAGAIN)
				goto done;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, in + got, len - got, 0);
			if (n > 0)
				got += n;
			else if (!n || errno != EAGAIN) {
				fprintf(stderr, "# echo: stream ended after "
					"%zu bytes back\n", got);
				goto done;
			}
		}
	}
	ok = !memcmp(in, out, len);
	fprintf(stderr, "# echo: %zu bytes %s in %.1f s\n", len,
		ok ? "back intact" : "back DIFFERENT", test__now_s() - t0);
done:
	free(out);
	free(in);
	return ok;
}

/* The guest's echo client, connected to <uds>_5002: the stream or -1. */
static int accept_guest(FIXTURE_DATA(vsock) *self, int seconds)
{
	struct pollfd p = { .fd = self->host_lfd, .events = POLLIN };

	if (poll(&p, 1, seconds * 1000) != 1)
		return -1;
	return accept4(self->host_lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* fnd through CONNECT, Firecracker's port numbers, refusals. */
static void host_to_guest(struct __test_metadata *_metadata,
			  FIXTURE_DATA(vsock) *self)
{
	unsigned int lp1 = 0, lp2 = 0, lp;
	char reply[512], line[256];
	int fd;

	/* The socket exists once the instance started. */
	ASSERT_EQ(0, access(self->uds, F_OK));
	ASSERT_TRUE(fn_call(self, &lp1, reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "n=1 "));
	EXPECT_EQ(FIRST_LOCAL_PORT, lp1);
	ASSERT_TRUE(fn_call(self, &lp2, reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "n=2 "));
	EXPECT_EQ(FIRST_LOCAL_PORT + 1, lp2);

	/* No listener on the port: the guest's RST closes the client. */
	EXPECT_EQ(-1, host_connect(self, 4999, &lp));
	/* Not a CONNECT line: closed without an answer. */
	fd = unix_connect(self->uds);
	ASSERT_LE(0, fd);
	ASSERT_EQ(6, write(fd, "HELLO\n", 6));
	EXPECT_EQ(0, read_all(fd, line, sizeof(line), 10));
	close(fd);
	/* And the device still serves. */
	ASSERT_TRUE(fn_call(self, &lp, reply, sizeof(reply)));

	/* After InstanceStart the configuration stays as it is. */
	EXPECT_EQ(400, put_vsock(self, &self->a, "{\"guest_cid\":4,"
				 "\"uds_path\":\"/tmp/other.sock\"}"));
	EXPECT_NE(NULL, strstr(self->out, "fault_message"));
	EXPECT_NE(NULL, strstr(self->out, "after starting"));
	vmm_proc__api(&self->a, "GET", "/vm/config", NULL, self->out,
		      sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"vsock\":{\"guest_cid\":3,"));
	EXPECT_NE(0, access("/tmp/other.sock", F_OK));
}

/* The guest's client, connected to <uds_path>_5002, echoing 1 MiB. */
static void guest_to_host(struct __test_metadata *_metadata,
			  FIXTURE_DATA(vsock) *self)
{
	char line[256];
	int fd;

	fd = accept_guest(self, 60);
	ASSERT_LE(0, fd) TH_LOG("the guest's client never reached %s_%d",
				self->uds, HOST_PORT);
	/* 1 MiB: four times the buffer of either side. */
	EXPECT_TRUE(echo_roundtrip(fd, 1 << 20, 180));
	close(fd);
	/* The host's close reaches the guest as the end of its stream. */
	ASSERT_TRUE(vmm_proc__wait_line(&self->a, "ECHO-END 5002", line,
					sizeof(line), 60));
	EXPECT_NE(NULL, strstr(line, "eof bytes=1048576")) TH_LOG("%s", line);
}

static void flow_control(struct __test_metadata *_metadata,
			 FIXTURE_DATA(vsock) *self)
{
	unsigned int lp;
	char line[256];
	int fd;

	fd = host_connect(self, ECHO_PORT, &lp);
	ASSERT_LE(0, fd);
	/*
	 * 8 MiB each way at once, the guest echoing in 64 KiB reads: the
	 * guest's 256 KiB receive buffer and the device's 256 KiB per
	 * connection fill many times over, so each side waits for credit.
	 */
	EXPECT_TRUE(echo_roundtrip(fd, 8 << 20, 400));
	close(fd);
	ASSERT_TRUE(vmm_proc__wait_line(&self->a, "ECHO-END 5001", line,
					sizeof(line), 60));
	EXPECT_NE(NULL, strstr(line, "eof bytes=8388608")) TH_LOG("%s", line);
}

/*
 * One boot for the three, as the test VM is slow to boot guests in (a
 * part's EXPECT failing lets the next part run; an ASSERT ends the test).
 */
TEST_F_TIMEOUT(vsock, connections, 900)
{
	int status;

	ASSERT_TRUE(boot(self, &self->a, "a"));
	host_to_guest(_metadata, self);
	guest_to_host(_metadata, self);
	flow_control(_metadata, self);

	/* An orderly exit removes the socket. */
	kill(self->a.pid, SIGTERM);
	ASSERT_EQ(self->a.pid, waitpid(self->a.pid, &status, 0));
	self->a.pid = 0;
	close(self->a.console_in);
	EXPECT_NE(0, access(self->uds, F_OK));
}

TEST_F_TIMEOUT(vsock, restore_resets_connections, 900)
{
	char vmstate[160], mem[160], reply[512], line[256];
	unsigned int lp;
	int gfd, hfd;

	ASSERT_TRUE(boot(self, &self->a, "a"));
	/* One connection each way, open across the snapshot. */
	gfd = accept_guest(self, 60);
	ASSERT_LE(0, gfd);
	ASSERT_TRUE(echo_roundtrip(gfd, 4096, 60));
	hfd = host_connect(self, ECHO_PORT, &lp);
	ASSERT_LE(0, hfd);
	ASSERT_TRUE(echo_roundtrip(hfd, 4096, 60));

	snprintf(vmstate, sizeof(vmstate), "%s/vmstate", self->dir);
	snprintf(mem, sizeof(mem), "%s/mem", self->dir);
	ASSERT_EQ(204, vmm_proc__set_state(&self->a, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__create(&self->a, vmstate, mem, NULL,
					self->out, sizeof(self->out)));
	vmm_proc__kill(&self->a);
	close(gfd);
	close(hfd);
	/* SIGKILL left the socket behind; Firecracker's bind would fail too. */
	unlink(self->uds);

	vmm_proc__start(&self->b, self->dir, "b");
	ASSERT_EQ(204, vmm_proc__load(&self->b, vmstate, "File", mem, NULL,
				      self->out, sizeof(self->out)));
	/* The restored device made the guest drop both connections... */
	ASSERT_TRUE(vmm_proc__wait_line(&self->b, "ECHO-END 5001", line,
					sizeof(line), 120));
	EXPECT_NE(NULL, strstr(line, "reset")) TH_LOG("%s", line);
	ASSERT_TRUE(vmm_proc__wait_line(&self->b, "ECHO-END 5002", line,
					sizeof(line), 120));
	EXPECT_NE(NULL, strstr(line, "reset")) TH_LOG("%s", line);
	/* ...and new ones work: host to guest from the first port again. */
	ASSERT_TRUE(fn_call(self, &lp, reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "n=1 "));
	EXPECT_EQ(FIRST_LOCAL_PORT, lp);
	/* And guest to host: its client reconnects. */
	gfd = accept_guest(self, 60);
	ASSERT_LE(0, gfd);
	EXPECT_TRUE(echo_roundtrip(gfd, 65536, 60));
	close(gfd);
}

/* GET /vm/config's vsock member, as the VMM prints it. */
static void vm_config_vsock(FIXTURE_DATA(vsock) *self, char *buf,
			    size_t len)
{
	const char *p;

	vmm_proc__api(&self->a, "GET", "/vm/config", NULL, self->out,
		      sizeof(self->out));
	int n = 0;

	p = strstr(self->out, "\"vsock\":");
	if (p && p[8] == '{')
		n = strcspn(p, "}") + 1;
	else if (p)
		n = strcspn(p, ",}");
	snprintf(buf, len, "%.*s", n, p ? p : "");
}

TEST_F_TIMEOUT(vsock, bad_input, 300)
{
	static const char *const bad[] = {
		"{\"uds_path\":\"%s\"}",
		"{\"guest_cid\":3}",
		"{\"guest_cid\":3,\"uds_path\":\"%s\",\"cid\":3}",
		"{\"guest_cid\":\"3\",\"uds_path\":\"%s\"}",
		"{\"guest_cid\":3,\"uds_path\":7}",
		"{\"guest_cid\":3.5,\"uds_path\":\"%s\"}",
		"{\"guest_cid\":3,\"uds_path\":\"%s\",\"vsock_id\":1}",
		"{\"guest_cid\":2,\"uds_path\":\"%s\"}",
		"{\"guest_cid\":0,\"uds_path\":\"%s\"}",
		"{\"guest_cid\":-1,\"uds_path\":\"%s\"}",
		"{\"guest_cid\":4294967295,\"uds_path\":\"%s\"}",
		"{\"guest_cid\":4294967299,\"uds_path\":\"%s\"}",
		"{\"guest_cid\":3,\"uds_path\":\"\"}",
		"{\"guest_cid\":3,\"uds_path\":\"/nonexistent/dir/v.sock\"}",
		/* The test's own listener: bound already. */
		"{\"guest_cid\":3,\"uds_path\":\"%s_5002\"}",
		"[3]",
	};
	char body[512], before[512], after[512];
	unsigned int i;

	vmm_proc__start(&self->a, self->dir, "a");
	vm_config_vsock(self, before, sizeof(before));
	EXPECT_STREQ("\"vsock\":null", before);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(body, sizeof(body), bad[i], self->uds);
		EXPECT_EQ(400, put_vsock(self, &self->a, body)) TH_LOG("%s",
								      body);
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\""));
		vm_config_vsock(self, after, sizeof(after));
		EXPECT_STREQ(before, after);
		/* A refusal leaves no socket behind. */
		EXPECT_NE(0, access(self->uds, F_OK));
	}

	/* Firecracker's documented request, the deprecated id taken too. */
	snprintf(body, sizeof(body), "{\"vsock_id\":\"vsock0\","
		 "\"guest_cid\":3,\"uds_path\":\"%s\"}", self->uds);
	ASSERT_EQ(204, put_vsock(self, &self->a, body));
	vm_config_vsock(self, before, sizeof(before));
	snprintf(body, sizeof(body), "\"vsock\":{\"guest_cid\":3,"
		 "\"uds_path\":\"%s\"}", self->uds);
	EXPECT_STREQ(body, before);
	/* Bound only at InstanceStart. */
	EXPECT_NE(0, access(self->uds, F_OK));
	/* A bad one now keeps the good one. */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(body, sizeof(body), bad[i], self->uds);
		EXPECT_EQ(400, put_vsock(self, &self->a, body));
		vm_config_vsock(self, after, sizeof(after));
		EXPECT_STREQ(before, after);
	}
	/* A second good one replaces it, as in Firecracker. */
	snprintf(body, sizeof(body), "{\"guest_cid\":7,\"uds_path\":"
		 "\"%s.2\"}", self->uds);
	ASSERT_EQ(204, put_vsock(self, &self->a, body));
	vm_config_vsock(self, after, sizeof(after));
	EXPECT_NE(NULL, strstr(after, "\"guest_cid\":7"));
}

TEST_HARNESS_MAIN
