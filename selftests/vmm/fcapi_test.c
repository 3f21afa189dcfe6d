// SPDX-License-Identifier: GPL-2.0
/*
 * Firecracker v1.10's contract beyond devices: PUT /logger (its line
 * format, levels, FIFO or file, before a load, refused after the start),
 * PUT /metrics with FlushMetrics (JSON lines of counters that reset per
 * flush; a last line at exit), SendCtrlAltDel through the i8042 to a
 * guest's init, an ELF vmlinux booted as Firecracker boots it, and a
 * kernel that cannot boot refused without spoiling the VMM.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define TICKER_INITRD	"build/guest/ticker.cpio.gz"
#define BOOT_INITRD	"build/guest/boot.cpio.gz"
#define CAD_INITRD	"build/guest/ctrlaltdel.cpio.gz"
#define LOG_FILE	"/tmp/fcapi-test.log"
#define LOG_FIFO	"/tmp/fcapi-test.fifo"
#define METRICS_FILE	"/tmp/fcapi-test.metrics"
#define BOOT_S		300

FIXTURE(vmm) {
	struct vmm_proc v;
	char out[4096];
	char text[1 << 16];
};

FIXTURE_SETUP(vmm)
{
	unlink(LOG_FILE);
	unlink(LOG_FIFO);
	unlink(METRICS_FILE);
	vmm_proc__start(&self->v, "/tmp", "vmm-fcapi-test");
}

FIXTURE_TEARDOWN(vmm)
{
	vmm_proc__kill(&self->v);
	unlink(self->v.sock);
	unlink(self->v.log);
	unlink(LOG_FILE);
	unlink(LOG_FIFO);
	unlink(METRICS_FILE);
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	TEST_REQUIRE(fd >= 0, "create %s", path);
	close(fd);
}

/* The whole of @path, NUL-terminated, in @buf. */
static size_t slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return n;
}

/* Line @nr (0 first, -1 last) of @text, copied to @line. */
static bool nth_line(const char *text, int nr, char *line, size_t len)
{
	const char *p = text, *end;
	int count = 0;

	for (end = text; *end; end++)
		count += *end == '\n';
	if (nr < 0)
		nr += count;
	if (nr < 0 || nr >= count)
		return false;
	while (nr--)
		p = strchr(p, '\n') + 1;
	end = strchr(p, '\n');
	snprintf(line, len, "%.*s", (int)(end - p), p);
	return true;
}

static int nr_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* @group's member @name in a metrics line, or -1. */
static long long metric(const char *line, const char *group,
			const char *name)
{
	char key[128];
	const char *g, *end, *f;

	snprintf(key, sizeof(key), "\"%s\":{", group);
	g = strstr(line, key);
	if (!g)
		return -1;
	end = strchr(g, '}');
	snprintf(key, sizeof(key), "\"%s\":", name);
	f = strstr(g, key);
	if (!f || f > end)
		return -1;
	return strtoll(f + strlen(key), NULL, 10);
}

/* A counter over every line of @text: what it counted in all. */
static long long metric_sum(const char *text, const char *group,
			    const char *name)
{
	static char line[16384];
	long long sum = 0;
	int i;

	for (i = 0; nth_line(text, i, line, sizeof(line)); i++)
		sum += metric(line, group, name);
	return sum;
}

static int api(FIXTURE_DATA(vmm) *self, const char *method,
	       const char *path, const char *body)
{
	return vmm_proc__api(&self->v, method, path, body, self->out,
			     sizeof(self->out));
}

static void boot_source(FIXTURE_DATA(vmm) *self, const char *kernel,
			const char *initrd, const char *args)
{
	char body[1024];

	if (args)
		snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
			 "\"initrd_path\":\"%s\",\"boot_args\":\"%s\"}",
			 kernel, initrd, args);
	else
		snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
			 "\"initrd_path\":\"%s\"}", kernel, initrd);
	TEST_REQUIRE(api(self, "PUT", "/boot-source", body) == 204,
		     "boot-source %s", kernel);
}

/* Wait up to @seconds for the VMM to exit; its status, or -1. */
static int wait_exit(struct vmm_proc *v, int seconds)
{
	time_t deadline = time(NULL) + seconds;
	int status;

	while (time(NULL) < deadline) {
		if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
			v->pid = 0;
			close(v->console_in);
			return status;
		}
		usleep(100 * 1000);
	}
	return -1;
}

/*
 * Firecracker's format, "<time> [anonymous-instance:<thread>:LEVEL:
 * file:line] message", filtered by level; a later PUT changes it.
 */
TEST_F(vmm, logger_file_format_and_levels)
{
	char line[1024];

	EXPECT_EQ(400, api(self, "PUT", "/logger",
			   "{\"log_path\":\"" LOG_FILE "\"}"));
	EXPECT_NE(NULL, strstr(self->out, "Failed to open target file"));
	touch(LOG_FILE);
	EXPECT_EQ(400, api(self, "PUT", "/logger",
			   "{\"log_path\":\"" LOG_FILE "\",\"level\":\"Loud\"}"));
	EXPECT_EQ(400, api(self, "PUT", "/logger",
			   "{\"log_path\":\"" LOG_FILE "\",\"colour\":true}"));
	EXPECT_EQ(400, api(self, "PUT", "/logger",
			   "{\"log_path\":\"" LOG_FILE "\",\"show_level\":1}"));
	/* Any case, and Firecracker's old "Warning" beside "warn". */
	ASSERT_EQ(204, api(self, "PUT", "/logger",
			   "{\"log_path\":\"" LOG_FILE "\",\"level\":\"WARNING\","
			   "\"show_level\":true}"));
	EXPECT_EQ(200, api(self, "GET", "/", NULL));
	EXPECT_EQ(400, api(self, "PUT", "/nowhere", "{}"));
	slurp(LOG_FILE, self->text, sizeof(self->text));
	/* The info lines of each request stay out at Warning... */
	EXPECT_EQ(NULL, strstr(self->text, "The API server received"));
	/* ...the error of the bad one is in, with its level. */
	ASSERT_TRUE(nth_line(self->text, -1, line, sizeof(line)));
	TH_LOG("%s", line);
	EXPECT_EQ('-', line[4]);
	EXPECT_EQ('T', line[10]);
	EXPECT_NE(NULL, strstr(line, " [anonymous-instance:"));
	EXPECT_NE(NULL, strstr(line, ":ERROR] Received Error. Status code: "
			       "400 Bad Request. Message: unknown resource "
			       "/nowhere"));

	ASSERT_EQ(204, api(self, "PUT", "/logger",
			   "{\"level\":\"info\",\"show_level\":false,"
			   "\"show_log_origin\":true}"));
	EXPECT_EQ(200, api(self, "GET", "/", NULL));
	slurp(LOG_FILE, self->text, sizeof(self->text));
	EXPECT_NE(NULL, strstr(self->text, ":vmm/api.c:"));
	EXPECT_NE(NULL, strstr(self->text, "] The API server received a Get "
			       "request on \"/\"."));
	EXPECT_NE(NULL, strstr(self->text, "] The request was executed "
			       "successfully. Status code: 200 OK."));
	EXPECT_EQ(NULL, strstr(self->text, ":INFO"));

	/* A module filter that matches no source file: nothing more. */
	ASSERT_EQ(204, api(self, "PUT", "/logger",
			   "{\"level\":\"Trace\",\"module\":\"vmm/virtio\"}"));
	{
		size_t before = slurp(LOG_FILE, self->text,
				      sizeof(self->text));

		EXPECT_EQ(400, api(self, "PUT", "/nowhere", "{}"));
		EXPECT_EQ(before, slurp(LOG_FILE, self->text,
					sizeof(self->text)));
	}
	/* Off is off. */
	ASSERT_EQ(204, api(self, "PUT", "/logger", "{\"level\":\"Off\"}"));

	/* Logger (and metrics) are no configuration: a load may follow. */
	EXPECT_EQ(400, api(self, "PUT", "/snapshot/load",
			   "{\"snapshot_path\":\"/nonexistent.vmstate\","
			   "\"mem_backend\":{\"backend_type\":\"File\","
			   "\"backend_path\":\"/nonexistent.mem\"}}"));
	EXPECT_EQ(NULL, strstr(self->out, "after boot-source"));
}

/* A FIFO opens without a reader, as in Firecracker, and gets the lines. */
TEST_F(vmm, logger_fifo)
{
	char buf[4096];
	ssize_t n;
	int fd;

	ASSERT_EQ(0, mkfifo(LOG_FIFO, 0600));
	ASSERT_EQ(204, api(self, "PUT", "/logger",
			   "{\"log_path\":\"" LOG_FIFO "\",\"level\":\"Debug\"}"));
	fd = open(LOG_FIFO, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(200, api(self, "GET", "/version", NULL));
	usleep(200 * 1000);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	EXPECT_NE(NULL, strstr(buf, "request on \"/version\"."));
}

/*
 * Metrics: once only; FlushMetrics after the start; counters in each
 * line count since the last; a last line when the VMM exits.  Logger and
 * metrics are refused after the start.
 */
TEST_F_TIMEOUT(vmm, metrics_flush_and_counters, 500)
{
	char line[16384];
	int status, lines, i;
	size_t flushed;

	touch(METRICS_FILE);
	EXPECT_EQ(400, api(self, "PUT", "/metrics", "{}"));
	ASSERT_EQ(204, api(self, "PUT", "/metrics",
			   "{\"metrics_path\":\"" METRICS_FILE "\"}"));
	EXPECT_EQ(400, api(self, "PUT", "/metrics",
			   "{\"metrics_path\":\"" METRICS_FILE "\"}"));
	EXPECT_NE(NULL, strstr(self->out, "Reinitialization of metrics"));
	EXPECT_EQ(400, api(self, "PUT", "/actions",
			   "{\"action_type\":\"FlushMetrics\"}"));
	EXPECT_NE(NULL, strstr(self->out, "not supported before starting"));
	vmm_proc__configure(&self->v, TICKER_INITRD, 1, false);
	/* A device's own group (the guest has no virtio-rng driver built in). */
	ASSERT_EQ(204, api(self, "PUT", "/entropy", "{}"));
	ASSERT_EQ(204, api(self, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}"));
	ASSERT_TRUE(vmm_proc__expect_tick(&self->v, 1, BOOT_S));
	touch(LOG_FILE);
	EXPECT_EQ(400, api(self, "PUT", "/logger",
			   "{\"log_path\":\"" LOG_FILE "\"}"));
	EXPECT_NE(NULL, strstr(self->out, "not supported after starting"));
	EXPECT_EQ(400, api(self, "PUT", "/metrics",
			   "{\"metrics_path\":\"" METRICS_FILE "\"}"));

	/*
	 * The 60-second timer may have flushed already during the boot:
	 * cumulative checks sum the lines, per-flush ones take the last.
	 */
	ASSERT_EQ(204, api(self, "PUT", "/actions",
			   "{\"action_type\":\"FlushMetrics\"}"));
	slurp(METRICS_FILE, self->text, sizeof(self->text));
	ASSERT_TRUE(nth_line(self->text, -1, line, sizeof(line)));
	TH_LOG("%d lines, the last: %.300s...", nr_lines(self->text), line);
	EXPECT_EQ(0, strncmp(line, "{\"utc_timestamp_ms\":", 20));
#define SUM(g, f)	metric_sum(self->text, g, f)
	EXPECT_EQ(1, SUM("put_api_requests", "boot_source_count"));
	EXPECT_EQ(1, SUM("put_api_requests", "machine_cfg_count"));
	/* Three PUT /metrics before the start, one after; three refused. */
	EXPECT_EQ(4, SUM("put_api_requests", "metrics_count"));
	EXPECT_EQ(3, SUM("put_api_requests", "metrics_fails"));
	/* FlushMetrics refused, InstanceStart; this flush counts later. */
	EXPECT_EQ(2, SUM("put_api_requests", "actions_count"));
	EXPECT_EQ(1, SUM("put_api_requests", "actions_fails"));
	EXPECT_EQ(1, SUM("put_api_requests", "logger_fails"));
	/* The console is a UART at I/O ports; Linux probes the i8042. */
	EXPECT_LT(100, SUM("vcpu", "exit_io_out"));
	EXPECT_LT(0, SUM("vcpu", "exit_io_in"));
	EXPECT_LT(0, SUM("i8042", "read_count"));
	EXPECT_EQ(0, metric(line, "latencies_us", "pause_vm"));
	EXPECT_LE(0, metric(line, "entropy", "entropy_bytes"));

	flushed = strlen(self->text);
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Resumed", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, api(self, "PUT", "/actions",
			   "{\"action_type\":\"FlushMetrics\"}"));
	slurp(METRICS_FILE, self->text, sizeof(self->text));
	lines = nr_lines(self->text);
	/*
	 * What the last flush counted is not counted again.  The timer may
	 * have written a line between the two flushes: the lines since the
	 * first, summed, are what happened since.
	 */
#define NEW(g, f)	metric_sum(self->text + flushed, g, f)
	EXPECT_EQ(0, NEW("put_api_requests", "boot_source_count"));
	EXPECT_EQ(1, NEW("put_api_requests", "actions_count"));
	EXPECT_LT(0, NEW("latencies_us", "pause_vm"));
	EXPECT_LT(0, NEW("latencies_us", "resume_vm"));
#undef NEW

	/* Unasked, the timer writes a line within 60 seconds. */
	for (i = 0; i < 70 && nr_lines(self->text) == lines; i++) {
		sleep(1);
		slurp(METRICS_FILE, self->text, sizeof(self->text));
	}
	EXPECT_EQ(lines + 1, nr_lines(self->text));
	lines = nr_lines(self->text);

	kill(self->v.pid, SIGTERM);
	status = wait_exit(&self->v, 30);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	slurp(METRICS_FILE, self->text, sizeof(self->text));
	EXPECT_EQ(lines + 1, nr_lines(self->text));
#undef SUM
}

/*
 * SendCtrlAltDel: refused before the start; then, with Firecracker's
 * default boot arguments, Linux's atkbd binds to the i8042, gets the
 * keys on IRQ 1, and busybox init runs its ctrlaltdel action, which
 * powers off: the VMM exits 0.
 */
TEST_F_TIMEOUT(vmm, send_ctrl_alt_del, 400)
{
	char line[256];
	int status;

	EXPECT_EQ(400, api(self, "PUT", "/actions",
			   "{\"action_type\":\"SendCtrlAltDel\"}"));
	EXPECT_NE(NULL, strstr(self->out, "not supported before starting"));
	boot_source(self, vmm_util__kernel(), CAD_INITRD, NULL);
	ASSERT_TRUE(vmm_proc__boot(&self->v, "GUEST-KBD", line, sizeof(line),
				   BOOT_S));
	TH_LOG("%s", line);
	ASSERT_EQ(204, api(self, "PUT", "/actions",
			   "{\"action_type\":\"SendCtrlAltDel\"}"));
	ASSERT_TRUE(vmm_proc__wait_line(&self->v, "GUEST-CTRLALTDEL", line,
					sizeof(line), 60)) {
		vmm_proc__show_console(&self->v, 30);
	}
	status = wait_exit(&self->v, 60);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static const char *vmlinux(void)
{
	static char path[300];
	struct utsname u;

	uname(&u);
	snprintf(path, sizeof(path), "build/guest/vmlinux-%s", u.release);
	return path;
}

/* The same kernel, uncompressed: an ELF entered at startup_64. */
TEST_F_TIMEOUT(vmm, elf_vmlinux_boots, 400)
{
	char line[256];
	int status;

	ASSERT_EQ(0, access(vmlinux(), R_OK)) {
		TH_LOG("%s missing: make tests extracts it", vmlinux());
	}
	boot_source(self, vmlinux(), BOOT_INITRD, "console=ttyS0 reboot=k "
		    "panic=1 pci=off quiet guest.poweroff");
	ASSERT_TRUE(vmm_proc__boot(&self->v, "GUEST-BOOTED", line,
				   sizeof(line), BOOT_S));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "cpus=1"));
	status = wait_exit(&self->v, 60);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * A kernel the VMM cannot boot fails InstanceStart with the reason and
 * leaves the VMM as it was: a good boot source then starts.
 */
TEST_F_TIMEOUT(vmm, bad_kernel_leaves_vmm_usable, 400)
{
	char line[256];

	boot_source(self, BOOT_INITRD, BOOT_INITRD, "console=ttyS0");
	EXPECT_EQ(400, api(self, "PUT", "/actions",
			   "{\"action_type\":\"InstanceStart\"}"));
	EXPECT_NE(NULL, strstr(self->out, "neither a bzImage nor an ELF "
			       "vmlinux"));
	EXPECT_EQ(200, api(self, "GET", "/", NULL));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"Not started\""));
	boot_source(self, vmm_util__kernel(), BOOT_INITRD, "console=ttyS0 "
		    "reboot=k panic=1 pci=off quiet guest.poweroff");
	ASSERT_TRUE(vmm_proc__boot(&self->v, "GUEST-BOOTED", line,
				   sizeof(line), BOOT_S));
}

TEST_HARNESS_MAIN
