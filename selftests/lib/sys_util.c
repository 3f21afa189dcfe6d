// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <unistd.h>

#include "sys_util.h"

int cpus__online(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

void cpu__pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_REQUIRE(!sched_setaffinity(0, sizeof(set), &set),
		     "pinning to CPU %d: %s", cpu, strerror(errno));
}

uint64_t irqs__count(const char *name, int cpu)
{
	FILE *f = fopen("/proc/interrupts", "r");
	size_t cap = 0, len = strlen(name);
	int col = -1, i, n;
	char *line = NULL, *p, *end;
	uint64_t count = 0;
	bool found = false;

	TEST_REQUIRE(f, "/proc/interrupts: %s", strerror(errno));
	/* The header names the column of each online CPU: "CPU0 CPU1 ...". */
	TEST_REQUIRE(getline(&line, &cap, f) > 0, "empty /proc/interrupts");
	for (i = 0, p = line; (p = strstr(p, "CPU")); i++, p += 3) {
		if (sscanf(p, "CPU%d", &n) == 1 && n == cpu)
			col = i;
	}
	TEST_REQUIRE(col >= 0, "CPU %d is not online", cpu);
	while (!found && getline(&line, &cap, f) > 0) {
		p = line + strspn(line, " ");
		if (strncmp(p, name, len) || p[len] != ':')
			continue;
		p += len + 1;
		for (i = 0; i <= col; i++, p = end) {
			count = strtoull(p, &end, 10);
			TEST_REQUIRE(end != p, "short %s row in /proc/interrupts",
				     name);
		}
		found = true;
	}
	free(line);
	fclose(f);
	TEST_REQUIRE(found, "no %s row in /proc/interrupts", name);
	return count;
}

long file__read_long(const char *path)
{
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

int module__refcount(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	return file__read_long(path);
}

const char *kvm__vendor_module(void)
{
	if (module__refcount("kvm_amd") >= 0)
		return "kvm_amd";
	TEST_REQUIRE(module__refcount("kvm_intel") >= 0,
		     "neither kvm_amd nor kvm_intel is loaded");
	return "kvm_intel";
}

int kmsg__open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	TEST_REQUIRE(fd >= 0, "/dev/kmsg: %s", strerror(errno));
	TEST_REQUIRE(lseek(fd, 0, SEEK_END) >= 0, "seek /dev/kmsg: %s",
		     strerror(errno));
	return fd;
}

/* What selftests/run_vm_tests.sh looks for, and bad page tables/pages. */
static const char *const kmsg_bad[] = {
	"WARNING:", "BUG:", "Oops", "general protection", "Call Trace:",
	"UBSAN", "KASAN", "bad pmd", "bad pud", "Bad page", "Bad rss-counter",
	"page table check", "blocked for more than", "detected stall",
	"soft lockup", "possible circular locking", "inconsistent lock state",
};

int kmsg__check(int fd)
{
	char rec[8192];
	unsigned int i;
	ssize_t n;
	int bad = 0;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; i < sizeof(kmsg_bad) / sizeof(kmsg_bad[0]); i++) {
			if (strstr(rec, kmsg_bad[i])) {
				fprintf(stderr, "# kernel: %s", rec);
				bad++;
				break;
			}
		}
	}
	TEST_REQUIRE(n == 0 || errno == EAGAIN, "reading /dev/kmsg: %s",
		     strerror(errno));
	return bad;
}
