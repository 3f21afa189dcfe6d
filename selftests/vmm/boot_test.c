// SPDX-License-Identifier: GPL-2.0
/*
 * vmm boots Debian's kernel to a busybox init with SMP, a working console
 * in both directions and working timers, and exits 0 when the guest
 * reboots; bad inputs are refused with a reason.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define GUEST_INITRD	"build/guest/boot.cpio.gz"
#define BOOT_TIMEOUT_S	300

struct run {
	char out[1 << 17];
	size_t len;
	int status;
};

/*
 * Run vmm with @argv, collecting stdout and stderr; when the output
 * shows @prompt, type @input.  Kills it after BOOT_TIMEOUT_S.
 */
static void run_vmm(struct run *r, char *const argv[], const char *prompt,
		    const char *input)
{
	int in[2], out[2];
	time_t deadline = time(NULL) + BOOT_TIMEOUT_S;
	bool typed = false;
	pid_t pid;

	TEST_REQUIRE(!pipe(in) && !pipe(out), "pipe");
	pid = fork();
	TEST_REQUIRE(pid >= 0, "fork");
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execv(VMM_BIN, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	r->len = 0;
	for (;;) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		ssize_t n;

		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = read(out[0], r->out + r->len, sizeof(r->out) - 1 - r->len);
		if (n <= 0)
			break;
		r->len += n;
		r->out[r->len] = '\0';
		if (prompt && !typed && strstr(r->out, prompt)) {
			typed = write(in[1], input, strlen(input)) > 0;
		}
	}
	close(in[1]);
	close(out[0]);
	waitpid(pid, &r->status, 0);
	r->out[r->len] = '\0';
}

static void show_tail(const struct run *r)
{
	const char *tail = r->len > 3000 ? r->out + r->len - 3000 : r->out;

	fprintf(stderr, "# vmm output (tail):\n%s\n", tail);
}

FIXTURE(guest) {
};

FIXTURE_SETUP(guest)
{
}

FIXTURE_TEARDOWN(guest)
{
}

/* A nested boot takes tens of seconds: past the harness's default 30 s. */
TEST_F_TIMEOUT(guest, boot_smp_console_reboot, BOOT_TIMEOUT_S + 60)
{
	static struct run r;
	char *argv[] = {
		VMM_BIN, "--kernel", (char *)vmm_util__kernel(), "--initrd",
		GUEST_INITRD, "--mem", "256M", "--vcpus", "2", NULL,
	};
	unsigned long mem_kb = 0;
	double t1 = 0, t2 = 0;
	const char *p;

	run_vmm(&r, argv, "GUEST-WAITING", "typed-input\n");
	ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)
		show_tail(&r);
	EXPECT_NE(NULL, strstr(r.out, "GUEST-BOOTED cpus=2 ")) show_tail(&r);
	p = strstr(r.out, "mem_kb=");
	ASSERT_NE(NULL, p);
	mem_kb = strtoul(p + 7, NULL, 10);
	EXPECT_GT(mem_kb, 150000);
	EXPECT_LT(mem_kb, 262144);
	EXPECT_NE(NULL, strstr(r.out, "GUEST-READ typed-input")) show_tail(&r);
	/* Timers run: uptime moves on across the guest's waits. */
	p = strstr(r.out, "GUEST-T1 ");
	if (p)
		t1 = strtod(p + 9, NULL);
	p = strstr(r.out, "GUEST-T2 ");
	if (p)
		t2 = strtod(p + 9, NULL);
	/*
	 * /proc/uptime truncates to hundredths: across a sleep of a second
	 * it may read 1.00 apart, which in binary is a hair below 1.0.
	 */
	EXPECT_GE(t2 - t1, 0.995) TH_LOG("uptime %.2f -> %.2f over sleep 1",
					 t1, t2);
	EXPECT_NE(NULL, strstr(r.out, "reboot: Restarting system"));
	/* The kernel took the ACPI tables without a complaint. */
	EXPECT_NE(NULL, strstr(r.out, "ACPI: FACP")) show_tail(&r);
	EXPECT_EQ(NULL, strstr(r.out, "ACPI BIOS")) show_tail(&r);
	EXPECT_EQ(NULL, strstr(r.out, "ACPI Error")) show_tail(&r);
}

/*
 * Boot a guest of @mem that powers off at once, and check that its e820
 * map has @high_ram (RAM from 4 GiB) usable and that it sees more than
 * @min_kb of memory, less than all of it.
 */
static void boot_big(struct __test_metadata *_metadata, char *mem,
		     const char *high_ram, unsigned long min_kb,
		     unsigned long max_kb)
{
	static struct run r;
	char *argv[] = {
		VMM_BIN, "--kernel", (char *)vmm_util__kernel(), "--initrd",
		GUEST_INITRD, "--mem", mem, "--cmdline",
		"console=ttyS0 reboot=k panic=1 pci=off guest.poweroff", NULL,
	};
	unsigned long mem_kb;
	const char *p;

	run_vmm(&r, argv, NULL, NULL);
	ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)
		show_tail(&r);
	EXPECT_NE(NULL, strstr(r.out, high_ram)) show_tail(&r);
	p = strstr(r.out, "mem_kb=");
	ASSERT_NE(NULL, p);
	mem_kb = strtoul(p + 7, NULL, 10);
	EXPECT_GT(mem_kb, min_kb);
	EXPECT_LT(mem_kb, max_kb);
	EXPECT_NE(NULL, strstr(r.out, "GUEST-POWEROFF"));
}

/*
 * More than 3 GiB: the rest of RAM is a second slot from 4 GiB, above the
 * hole, and the guest's e820 map says so.  The guest sees it all.
 */
TEST_F_TIMEOUT(guest, memory_above_4g, BOOT_TIMEOUT_S + 60)
{
	/* 3.5 GiB less what the kernel keeps for itself. */
	boot_big(_metadata, "3584M",
		 "[mem 0x0000000100000000-0x000000011fffffff] usable",
		 3300000UL, 3584UL << 10);
}

/* 16 GiB, nearly all of it never touched: host memory is lazy. */
TEST_F_TIMEOUT(guest, memory_16g, BOOT_TIMEOUT_S + 120)
{
	boot_big(_metadata, "16G",
		 "[mem 0x0000000100000000-0x000000043fffffff] usable",
		 15UL << 20, 16UL << 20);
}

/* poweroff ends the VM through ACPI S5; the console goes to the file. */
TEST_F_TIMEOUT(guest, poweroff_console_to_file, BOOT_TIMEOUT_S + 60)
{
	static struct run r;
	char console[] = "/tmp/vmm-console-XXXXXX";
	char *argv[] = {
		VMM_BIN, "--kernel", (char *)vmm_util__kernel(), "--initrd",
		GUEST_INITRD, "--mem", "128M", "--console", console,
		"--cmdline", "console=ttyS0 panic=1 pci=off guest.poweroff",
		NULL,
	};
	static char log[1 << 17];
	int fd = mkstemp(console);
	ssize_t n;

	ASSERT_GE(fd, 0);
	run_vmm(&r, argv, NULL, NULL);
	n = read(fd, log, sizeof(log) - 1);
	close(fd);
	unlink(console);
	ASSERT_GT(n, 0);
	log[n] = '\0';
	EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)
		show_tail(&r);
	EXPECT_NE(NULL, strstr(log, "GUEST-POWEROFF"));
	EXPECT_NE(NULL, strstr(log, "reboot: Power down"));
	EXPECT_EQ(NULL, strstr(r.out, "GUEST-POWEROFF")) show_tail(&r);
}

TEST(not_a_bzimage)
{
	static struct run r;
	char *argv[] = { VMM_BIN, "--kernel", "/etc/hostname", NULL };

	run_vmm(&r, argv, NULL, NULL);
	EXPECT_EQ(1, WEXITSTATUS(r.status));
	EXPECT_NE(NULL, strstr(r.out, "not a bzImage")) show_tail(&r);
}

TEST(memory_too_small)
{
	static struct run r;
	char *argv[] = {
		VMM_BIN, "--kernel", (char *)vmm_util__kernel(), "--mem", "16M", NULL,
	};

	run_vmm(&r, argv, NULL, NULL);
	EXPECT_EQ(1, WEXITSTATUS(r.status));
	/* 16 MiB cannot hold the kernel's decompression footprint. */
	EXPECT_NE(NULL, strstr(r.out, "MiB of guest memory")) show_tail(&r);
}

TEST(initrd_does_not_fit)
{
	static struct run r;
	char initrd[] = "/tmp/vmm-big-initrd-XXXXXX";
	char *argv[] = {
		VMM_BIN, "--kernel", (char *)vmm_util__kernel(), "--initrd", initrd,
		"--mem", "96M", NULL,
	};
	int fd = mkstemp(initrd);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, 48 << 20));
	close(fd);
	run_vmm(&r, argv, NULL, NULL);
	unlink(initrd);
	EXPECT_EQ(1, WEXITSTATUS(r.status));
	EXPECT_NE(NULL, strstr(r.out, "does not fit in guest memory"))
		show_tail(&r);
}

TEST(usage_errors)
{
	static struct run r;
	char *no_kernel[] = { VMM_BIN, NULL };
	char *bad_mem[] = { VMM_BIN, "--kernel", "x", "--mem", "257G", NULL };
	char *odd_mem[] = { VMM_BIN, "--kernel", "x", "--mem", "4097k", NULL };
	char *bad_cpus[] = { VMM_BIN, "--kernel", "x", "--vcpus", "0", NULL };

	run_vmm(&r, no_kernel, NULL, NULL);
	EXPECT_EQ(2, WEXITSTATUS(r.status));
	EXPECT_NE(NULL, strstr(r.out, "--kernel or --api-sock is required"));
	run_vmm(&r, bad_mem, NULL, NULL);
	EXPECT_EQ(2, WEXITSTATUS(r.status));
	EXPECT_NE(NULL, strstr(r.out, "16M to 256G, page aligned"));
	run_vmm(&r, odd_mem, NULL, NULL);
	EXPECT_EQ(2, WEXITSTATUS(r.status));
	run_vmm(&r, bad_cpus, NULL, NULL);
	EXPECT_EQ(2, WEXITSTATUS(r.status));
}

TEST_HARNESS_MAIN
