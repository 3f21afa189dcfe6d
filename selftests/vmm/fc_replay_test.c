// SPDX-License-Identifier: GPL-2.0
/*
 * Firecracker's documented API requests, replayed: each sequence of
 * selftests/vmm/fc_replay.txt (its header says where the requests come
 * from and what is substituted in them) runs in a fresh VMM, and every
 * request must get the status Firecracker's docs or swagger give it, and
 * for a 400 the reason the file names.  The data file is the record of
 * what is compatible; this file only drives it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define REPLAY_FILE	"selftests/vmm/fc_replay.txt"
#define NETNS		"pagetrack-fc-replay"
#define TAP		"ptapreplay0"
#define TAP1		"ptapreplay1"
#define BODY_MAX	4096

/* The sequences the file holds, each run by the test of its name. */
static const char *const sequences[] = {
	"getting_started", "network", "block", "devices", "actions",
	"snapshot", "malformed",
};

#define NR_SEQUENCES	(sizeof(sequences) / sizeof(sequences[0]))

FIXTURE(replay) {
	struct vmm_proc v;
	char dir[64];
	char vmlinux[300];
	char out[8192];
};

/* An empty (sparse) file of @mib MiB at @dir/@name. */
static int make_file(const char *dir, const char *name, int mib)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, (off_t)mib << 20) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * The test process enters a namespace of its own with the two TAPs the
 * docs' tap0 and fctap1 become, so the VMM it starts opens them there.
 */
FIXTURE_SETUP(replay)
{
	static const struct {
		const char *name;
		int mib;
	} files[] = {
		{ "rootfs.ext4", 64 }, { "drive.img", 16 }, { "drive2.img", 32 },
		{ "firecracker.log", 0 }, { "logs.fifo", 0 },
		{ "metrics.fifo", 0 },
	};
	struct utsname u;
	char diff[80];
	unsigned int i;

	TEST_REQUIRE(!netns__enter(NETNS, "ip tuntap add dev " TAP " mode tap "
				   "&& ip tuntap add dev " TAP1 " mode tap"),
		     "cannot make TAP devices " TAP " and " TAP1 " in " NETNS);

	snprintf(self->dir, sizeof(self->dir), "/tmp/fc-replay.XXXXXX");
	TEST_REQUIRE(mkdtemp(self->dir), "mkdtemp");
	snprintf(diff, sizeof(diff), "%s/diff", self->dir);
	TEST_REQUIRE(!mkdir(diff, 0755), "mkdir %s", diff);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		TEST_REQUIRE(!make_file(self->dir, files[i].name, files[i].mib),
			     "cannot make %s/%s", self->dir, files[i].name);
	uname(&u);
	snprintf(self->vmlinux, sizeof(self->vmlinux),
		 "build/guest/vmlinux-%s", u.release);
	vmm_proc__start(&self->v, self->dir, "vmm");
}

FIXTURE_TEARDOWN(replay)
{
	char cmd[128];

	vmm_proc__kill(&self->v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
	netns__remove(NETNS);
}

/* The value of ${@name} (its length @len), or NULL if there is none. */
static const char *var_value(FIXTURE_DATA(replay) *self, const char *name,
			     size_t len, char *buf, size_t buflen)
{
	static const struct {
		const char *name;
		const char *file;	/* in the test's directory */
	} files[] = {
		{ "ROOTFS", "rootfs.ext4" }, { "DRIVE", "drive.img" },
		{ "DRIVE2", "drive2.img" },
	};
	unsigned int i;

#define IS(s)	(len == strlen(s) && !strncmp(name, s, len))
	if (IS("DIR"))
		return self->dir;
	if (IS("DIFF")) {
		snprintf(buf, buflen, "%s/diff", self->dir);
		return buf;
	}
	if (IS("VMLINUX"))
		return self->vmlinux;
	if (IS("KERNEL"))
		return vmm_util__kernel();
	if (IS("TAP"))
		return TAP;
	if (IS("TAP1"))
		return TAP1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (IS(files[i].name)) {
			snprintf(buf, buflen, "%s/%s", self->dir, files[i].file);
			return buf;
		}
	}
#undef IS
	return NULL;
}

/* @in with its ${NAME}s replaced, in @out; false naming an unknown one. */
static bool substitute(FIXTURE_DATA(replay) *self, const char *in, char *out,
		       size_t len, char *bad, size_t badlen)
{
	char buf[300];
	size_t n = 0;

	while (*in && n + 1 < len) {
		const char *end, *val;

		if (in[0] != '$' || in[1] != '{') {
			out[n++] = *in++;
			continue;
		}
		end = strchr(in, '}');
		val = end ? var_value(self, in + 2, end - in - 2, buf,
				      sizeof(buf)) : NULL;
		if (!val) {
			snprintf(bad, badlen, "%.*s", (int)strcspn(in, "}\n") + 1,
				 in);
			return false;
		}
		n += snprintf(out + n, len - n, "%s", val);
		in = end + 1;
	}
	out[n < len ? n : len - 1] = '\0';
	return !*in;
}

struct entry {
	int line;		/* of its "doc" line */
	char doc[256];
	char method[16];
	char path[256];
	char body[BODY_MAX];
	bool has_body;
	int status;
	char fault[256];
};

static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/* "[name]", name in lower case and '_': a sequence's first line. */
static bool is_header(const char *s)
{
	size_t n = strlen(s);

	return n > 2 && s[0] == '[' && s[n - 1] == ']' &&
	       strspn(s + 1, "abcdefghijklmnopqrstuvwxyz_") == n - 2;
}

/* Send @e, check its status and fault; false if it failed. */
static bool replay_entry(struct __test_metadata *_metadata,
			 FIXTURE_DATA(replay) *self, const struct entry *e)
{
	char path[512], body[BODY_MAX + 1024], bad[64];
	int status;

	if (!substitute(self, e->path, path, sizeof(path), bad, sizeof(bad)) ||
	    !substitute(self, e->body, body, sizeof(body), bad, sizeof(bad))) {
		TH_LOG(REPLAY_FILE ":%d: unknown variable %s", e->line, bad);
		return false;
	}
	fprintf(stderr, "# %s:%d: %s\n", REPLAY_FILE, e->line, e->doc);
	status = vmm_proc__api(&self->v, e->method, path,
			       e->has_body ? body : NULL, self->out,
			       sizeof(self->out));
	if (status != e->status) {
		TH_LOG(REPLAY_FILE ":%d (%s): %s %s answered %d, not %d: %s",
		       e->line, e->doc, e->method, e->path, status, e->status,
		       self->out);
		return false;
	}
	if (e->fault[0] && !strstr(self->out, e->fault)) {
		TH_LOG(REPLAY_FILE ":%d (%s): %s %s: fault '%s' lacks '%s'",
		       e->line, e->doc, e->method, e->path, self->out,
		       e->fault);
		return false;
	}
	return true;
}

/* Whether @pid has exited (a zombie not yet reaped), without reaping it. */
static bool vmm_exited(pid_t pid)
{
	char path[64], stat[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	p = fgets(stat, sizeof(stat), f) ? strrchr(stat, ')') : NULL;
	fclose(f);
	return !p || p[1] != ' ' || p[2] == 'Z';
}

/* "! wait PREFIX" and "! restart": false if it failed. */
static bool replay_directive(struct __test_metadata *_metadata,
			     FIXTURE_DATA(replay) *self, const char *d,
			     int line)
{
	char console[256], why[512];
	int i;

	if (!strcmp(d, "restart")) {
		vmm_proc__kill(&self->v);
		vmm_proc__start(&self->v, self->dir, "vmm");
		return true;
	}
	if (!strncmp(d, "wait ", 5)) {
		for (i = 0; i < 300 && !vmm_exited(self->v.pid); i++)
			if (vmm_proc__wait_line(&self->v, d + 5, console,
						sizeof(console), 1))
				return true;
		/* It may have printed its line and then powered off. */
		if (vmm_proc__find_line(&self->v, d + 5, console,
					sizeof(console)))
			return true;
		vmm_proc__why_stuck(&self->v, why, sizeof(why));
		TH_LOG(REPLAY_FILE ":%d: no console line '%s': %s",
		       line, d + 5, why);
		vmm_proc__show_console(&self->v, 30);
		return false;
	}
	TH_LOG(REPLAY_FILE ":%d: unknown directive '! %s'", line, d);
	return false;
}

/* "=> STATUS [fault]" into @e. */
static bool parse_expect(const char *s, struct entry *e)
{
	char *end;

	e->status = strtol(s + 2, &end, 10);
	if (end == s + 2 || (*end && *end != ' '))
		return false;
	snprintf(e->fault, sizeof(e->fault), "%.200s", *end ? end + 1 : "");
	return e->status >= 100;
}

/*
 * Replay sequence @name; return how many entries ran (all must pass for
 * the test to).  A failed wait or restart ends the sequence, since what
 * follows depends on it.
 */
static int replay(struct __test_metadata *_metadata,
		  FIXTURE_DATA(replay) *self, const char *name)
{
	char line[1024], header[64];
	bool in_seq = false, ok = true;
	int lineno = 0, ran = 0, stage = 0;
	static struct entry e;
	FILE *f;

	f = fopen(REPLAY_FILE, "r");
	TEST_REQUIRE(f, "cannot open " REPLAY_FILE);
	snprintf(header, sizeof(header), "[%s]", name);
	/* stage: 0 between entries, 1 after "doc", 2 in the body. */
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		chomp(line);
		if (is_header(line)) {
			if (in_seq)
				break;
			in_seq = !strcmp(line, header);
			continue;
		}
		if (!in_seq || line[0] == '#')
			continue;
		if (stage == 0) {
			if (!line[0])
				continue;
			if (!strncmp(line, "! ", 2)) {
				if (!replay_directive(_metadata, self,
						      line + 2, lineno)) {
					ok = false;
					break;
				}
				continue;
			}
			if (strncmp(line, "doc ", 4)) {
				TH_LOG(REPLAY_FILE ":%d: expected 'doc': %s",
				       lineno, line);
				ok = false;
				break;
			}
			memset(&e, 0, sizeof(e));
			e.line = lineno;
			snprintf(e.doc, sizeof(e.doc), "%.200s", line + 4);
			stage = 1;
		} else if (stage == 1) {
			if (sscanf(line, "%15s %255s", e.method, e.path) != 2) {
				TH_LOG(REPLAY_FILE ":%d: expected METHOD "
				       "PATH: %s", lineno, line);
				ok = false;
				break;
			}
			stage = 2;
		} else if (!strncmp(line, "=> ", 3)) {
			if (!parse_expect(line, &e)) {
				TH_LOG(REPLAY_FILE ":%d: bad '=>' line: %s",
				       lineno, line);
				ok = false;
				break;
			}
			ok &= replay_entry(_metadata, self, &e);
			ran++;
			stage = 0;
		} else {
			size_t n = strlen(e.body);

			if (!line[0] || n + strlen(line) + 2 > sizeof(e.body)) {
				TH_LOG(REPLAY_FILE ":%d: entry of line %d has "
				       "no '=>' line, or too long a body",
				       lineno, e.line);
				ok = false;
				break;
			}
			snprintf(e.body + n, sizeof(e.body) - n, "%s%s",
				 n ? "\n" : "", line);
			e.has_body = true;
		}
	}
	fclose(f);
	EXPECT_TRUE(ok);
	EXPECT_EQ(0, stage) TH_LOG("sequence %s ends inside an entry", name);
	return ran;
}

#define REPLAY_TEST(name, seconds)					\
TEST_F_TIMEOUT(replay, name, seconds)					\
{									\
	int ran = replay(_metadata, self, #name);			\
									\
	ASSERT_LT(0, ran) TH_LOG("no sequence [" #name "] in "		\
				 REPLAY_FILE);				\
	fprintf(stderr, "# [" #name "]: %d requests\n", ran);		\
}

REPLAY_TEST(getting_started, 120)
REPLAY_TEST(network, 400)
REPLAY_TEST(block, 400)
REPLAY_TEST(devices, 120)
REPLAY_TEST(actions, 400)
REPLAY_TEST(snapshot, 600)
REPLAY_TEST(malformed, 120)

/* Every sequence in the file has its test above, and each test its part. */
TEST(every_sequence_replayed)
{
	bool seen[NR_SEQUENCES] = { false };
	char line[1024];
	unsigned int i;
	FILE *f;

	f = fopen(REPLAY_FILE, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		chomp(line);
		if (!is_header(line))
			continue;
		for (i = 0; i < NR_SEQUENCES; i++) {
			char header[64];

			snprintf(header, sizeof(header), "[%s]", sequences[i]);
			if (!strcmp(line, header))
				break;
		}
		EXPECT_LT(i, NR_SEQUENCES) TH_LOG("%s has no test", line);
		if (i < NR_SEQUENCES) {
			EXPECT_FALSE(seen[i]) TH_LOG("%s twice", line);
			seen[i] = true;
		}
	}
	fclose(f);
	for (i = 0; i < NR_SEQUENCES; i++)
		EXPECT_TRUE(seen[i]) TH_LOG("no [%s] in " REPLAY_FILE,
					    sequences[i]);
}

TEST_HARNESS_MAIN
