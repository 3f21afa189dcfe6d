// SPDX-License-Identifier: GPL-2.0
/*
 * tools/ptctl end to end: scan, watch and list (generic netlink) against
 * processes with known memory, and the errors users see.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "pt_util.h"

#define PTCTL	"build/ptctl"

/* Run a shell command line; return its exit status and stdout. */
static int run(char *out, size_t len, const char *fmt, ...)
{
	char cmd[512];
	size_t used = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	TEST_REQUIRE(p, "popen %s", cmd);
	out[0] = '\0';
	while (used + 1 < len && fgets(out + used, len - used, p))
		used += strlen(out + used);
	st = pclose(p);
	fprintf(stderr, "# $ %s -> %d\n%s", cmd, WEXITSTATUS(st), out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A child that writes pages 0, 2, 3 of a 8-page region and waits. */
static pid_t start_target(uint8_t **region)
{
	uint8_t *mem = pt_map_anon(8, false);
	int go[2];
	pid_t pid;
	char c = 0;

	TEST_REQUIRE(!pipe(go), "pipe");
	pid = fork();
	TEST_REQUIRE(pid >= 0, "fork");
	if (!pid) {
		pt_write_page(mem, 0);
		pt_write_page(mem, 2);
		pt_write_page(mem, 3);
		if (write(go[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	TEST_REQUIRE(read(go[0], &c, 1) == 1, "target did not start");
	close(go[0]);
	close(go[1]);
	*region = mem;
	return pid;
}

TEST(scan_json)
{
	char out[4096], want[128];
	uint8_t *mem;
	pid_t pid = start_target(&mem);

	ASSERT_EQ(0, run(out, sizeof(out), PTCTL " scan --pid %d --range "
			 "%p+32k --json", pid, mem));
	EXPECT_NE(NULL, strstr(out, "\"present\":{\"pages\":3,"));
	EXPECT_NE(NULL, strstr(out, "\"dirty\":{\"pages\":3,"));
	snprintf(want, sizeof(want), "[\"%p\",\"%p\"],[\"%p\",\"%p\"]",
		 mem, mem + PT_PAGE, mem + 2 * PT_PAGE, mem + 4 * PT_PAGE);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("want ranges %s", want);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(scan_whole_process_text)
{
	char out[1 << 16];
	uint8_t *mem;
	pid_t pid = start_target(&mem);

	ASSERT_EQ(0, run(out, sizeof(out), PTCTL " scan --pid %d --clear | "
			 "head -n 5", pid));
	EXPECT_NE(NULL, strstr(out, "accessed bits cleared"));
	EXPECT_NE(NULL, strstr(out, "  present "));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(watch_counts)
{
	char out[4096];
	uint8_t *mem;
	pid_t pid = start_target(&mem);

	ASSERT_EQ(0, run(out, sizeof(out), PTCTL " watch --pid %d --range "
			 "%p+32k --interval 50 --count 3 --json | wc -l", pid,
			 mem));
	EXPECT_EQ(3, atoi(out));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(watch_target_exit)
{
	char cmd[256], line[256], last[256] = "";
	uint8_t *mem;
	pid_t pid = start_target(&mem);
	int st;
	FILE *p;

	/*
	 * The target dies during the watch: ptctl says so and exits 0.  It
	 * is killed once the header is out, i.e. once ptctl has attached,
	 * so however slowly ptctl starts the death falls inside the watch.
	 */
	snprintf(cmd, sizeof(cmd), PTCTL " watch --pid %d --range %p+32k "
		 "--interval 100 --count 50 2>&1", pid, mem);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, fgets(line, sizeof(line), p));
	fprintf(stderr, "# $ %s\n# %s", cmd, line);
	ASSERT_NE(NULL, strstr(line, "time_s"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	while (fgets(line, sizeof(line), p)) {
		fprintf(stderr, "# %s", line);
		strcpy(last, line);
	}
	st = pclose(p);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_NE(NULL, strstr(last, "exited"));
}

TEST(list_shows_sessions)
{
	const uint64_t n = 4;
	uint8_t *mem = pt_map_anon(n, false);
	struct pt_result *r = pt_result_alloc(n);
	char out[8192], want[128];
	int fd = pt_open_attached(mem, n * PT_PAGE);
	int idle = pt_open();

	pt_write_page(mem, 1);
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));
	ASSERT_EQ(0, pt_scan(fd, mem, 0, r));

	ASSERT_EQ(0, run(out, sizeof(out), PTCTL " list --json"));
	snprintf(want, sizeof(want), "\"owner_pid\":%d,\"target_pid\":%d,"
		 "\"start\":\"%p\"", getpid(), getpid(), mem);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("want %s", want);
	EXPECT_NE(NULL, strstr(out, "\"pages\":4,\"kvm\":false,\"scans\":2,"));
	EXPECT_NE(NULL, strstr(out, "\"present\":1,\"accessed\":1,\"dirty\":1"));
	/* The unattached session is listed too, with no target. */
	snprintf(want, sizeof(want), "\"owner_pid\":%d,\"target_pid\":0,",
		 getpid());
	EXPECT_NE(NULL, strstr(out, want));

	/* Other users do not see root's sessions. */
	ASSERT_EQ(0, run(out, sizeof(out), "setpriv --reuid=65534 "
			 "--regid=65534 --clear-groups " PTCTL " list --json"));
	EXPECT_STREQ("[]\n", out);
	close(idle);
	close(fd);
	pt_result_free(r);
}

TEST(missing_capability_is_named)
{
	char out[4096];

	EXPECT_EQ(1, run(out, sizeof(out), "setpriv --reuid=65534 "
			 "--regid=65534 --clear-groups " PTCTL " scan --pid 1 "
			 "2>&1"));
	EXPECT_NE(NULL, strstr(out, "lacks CAP_SYS_ADMIN and CAP_SYS_PTRACE"));
	/* Root without CAP_SYS_PTRACE is told which one it lacks. */
	EXPECT_EQ(1, run(out, sizeof(out), "setpriv --inh-caps=-sys_ptrace "
			 "--bounding-set=-sys_ptrace " PTCTL " scan --pid 1 "
			 "2>&1"));
	EXPECT_NE(NULL, strstr(out, "lacks CAP_SYS_PTRACE\n"));
}

TEST(usage_errors)
{
	char out[4096];

	EXPECT_EQ(2, run(out, sizeof(out), PTCTL " scan 2>&1"));
	EXPECT_EQ(2, run(out, sizeof(out), PTCTL " frob 2>&1"));
	EXPECT_EQ(2, run(out, sizeof(out), PTCTL " scan --pid 1 --range "
			 "0x1001-0x2000 2>&1"));
	EXPECT_EQ(0, run(out, sizeof(out), PTCTL " --help | head -n 1"));
	EXPECT_NE(NULL, strstr(out, "NAME"));
}

TEST_HARNESS_MAIN
