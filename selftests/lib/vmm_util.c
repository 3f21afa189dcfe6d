// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crc32.h"
#include "test_util.h"
#include "vmstate.h"
#include "vmm_util.h"
#include "vsock_call.h"

#define ROOTFS_INITRD	"build/guest/rootfs-initrd.cpio.gz"

const char *vmm_util__bin(void)
{
	const char *bin = getenv("PT_VMM_BIN");

	return bin && *bin ? bin : VMM_BIN;
}

const char *vmm_util__kernel(void)
{
	static char path[300];
	struct utsname u;

	if (!path[0]) {
		uname(&u);
		snprintf(path, sizeof(path), "/boot/vmlinuz-%s", u.release);
	}
	return path;
}

/*
 * Root without the capabilities that override file permissions: file
 * modes and owners then bind it as they bind an unprivileged VMM, while
 * /dev/kvm, root's own, stays open to it.  The bounding set is what exec
 * gives root its capabilities from.
 */
static void drop_file_caps(void)
{
	static const int caps[] = {
		CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
	};
	unsigned int i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (prctl(PR_CAPBSET_DROP, caps[i], 0, 0, 0))
			_exit(126);
}

void vmm_proc__start_as(struct vmm_proc *v, const char *dir,
			const char *name, unsigned int flags)
{
	int i, in[2];

	snprintf(v->sock, sizeof(v->sock), "%s/%s.sock", dir, name);
	snprintf(v->log, sizeof(v->log), "%s/%s.log", dir, name);
	unlink(v->sock);
	TEST_REQUIRE(!pipe2(in, O_CLOEXEC), "pipe2");
	v->pid = fork();
	TEST_REQUIRE(v->pid >= 0, "fork");
	if (!v->pid) {
		int fd = open(v->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(in[0], 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (flags & VMM_PROC_NO_FILE_CAPS)
			drop_file_caps();
		execl(vmm_util__bin(), vmm_util__bin(), "--api-sock", v->sock,
		      NULL);
		_exit(127);
	}
	close(in[0]);
	v->console_in = in[1];
	for (i = 0; i < 100 && access(v->sock, F_OK); i++)
		usleep(50000);
	TEST_REQUIRE(!access(v->sock, F_OK), "vmm did not create %s",
		     v->sock);
}

void vmm_proc__start(struct vmm_proc *v, const char *dir, const char *name)
{
	vmm_proc__start_as(v, dir, name, 0);
}

void vmm_proc__kill(struct vmm_proc *v)
{
	if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
		v->pid = 0;
		close(v->console_in);
	}
}

int vmm_proc__api(struct vmm_proc *v, const char *method, const char *path,
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

void vmm_proc__configure(struct vmm_proc *v, const char *initrd,
			 unsigned int vcpus, bool track_dirty)
{
	char body[1024], out[1024];

	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
		 "\"initrd_path\":\"%s\",\"boot_args\":"
		 "\"" VMM_UTIL_BOOT_ARGS "\"}",
		 vmm_util__kernel(), initrd);
	TEST_REQUIRE(vmm_proc__api(v, "PUT", "/boot-source", body, out,
				   sizeof(out)) == 204, "boot-source");
	snprintf(body, sizeof(body), "{\"vcpu_count\":%u,\"mem_size_mib\":256,"
		 "\"track_dirty_pages\":%s}", vcpus,
		 track_dirty ? "true" : "false");
	TEST_REQUIRE(vmm_proc__api(v, "PUT", "/machine-config", body, out,
				   sizeof(out)) == 204, "machine-config");
}

void vmm_proc__configure_rootfs(struct vmm_proc *v, const char *rootfs,
				bool writable, const char *uds_path,
				unsigned int vcpus, bool track_dirty)
{
	char body[1024], out[1024];

	/*
	 * vmm_proc__configure's boot_args, not the VMM's default, whose
	 * nomodule would stop the initramfs loading virtio_mmio and the
	 * rest.  The VMM appends root=/dev/vda and ro or rw.
	 */
	vmm_proc__configure(v, ROOTFS_INITRD, vcpus, track_dirty);
	snprintf(body, sizeof(body), "{\"drive_id\":\"rootfs\","
		 "\"path_on_host\":\"%s\",\"is_root_device\":true,"
		 "\"is_read_only\":%s}", rootfs, writable ? "false" : "true");
	TEST_REQUIRE(vmm_proc__api(v, "PUT", "/drives/rootfs", body, out,
				   sizeof(out)) == 204, "drives/rootfs");
	snprintf(body, sizeof(body), "{\"guest_cid\":3,\"uds_path\":\"%s\"}",
		 uds_path);
	TEST_REQUIRE(vmm_proc__api(v, "PUT", "/vsock", body, out,
				   sizeof(out)) == 204, "vsock");
}

bool vmm_util__fn_call(const char *uds_path, const char *request,
		       char *reply, size_t len, double *ms)
{
	struct vsock_call c = {
		.port = VSOCK_CALL_FND_PORT,
		.timeout_ms = 300 * 1000,
	};
	char err[512];
	int ret;

	ret = vsock_call__run(uds_path, request, &c, err, sizeof(err));
	snprintf(reply, len, "%s", c.reply ? c.reply : "");
	free(c.reply);
	if (ret) {
		fprintf(stderr, "# fnd '%s' on %s: %s\n", request, uds_path,
			err);
		return false;
	}
	fprintf(stderr, "# fnd '%s': %zu bytes in %.1f ms (handshake %.1f "
		"ms, host port %u)\n", request, c.reply_len,
		c.total_us / 1000.0, c.handshake_us / 1000.0, c.host_port);
	if (ms)
		*ms = c.total_us / 1000.0;
	return true;
}

long vmm_proc__last_tick(struct vmm_proc *v)
{
	char line[256];
	long n = -1;
	FILE *f = fopen(v->log, "r");

	if (!f)
		return -1;
	/*
	 * A line still being printed has no newline yet: not a tick.  Nor
	 * is one the VMM's own log lines cut into: the UART goes out a byte
	 * at a time, so "TICK " may be followed by "vmm: ...", which read
	 * as a number is tick 0.  A tick is "TICK <digits>" and its end
	 * (or a space: memcheck's ticks say more).
	 */
	while (fgets(line, sizeof(line), f)) {
		char *end;
		long t;

		if (strncmp(line, "TICK ", 5) || !isdigit((unsigned char)line[5]))
			continue;
		t = strtol(line + 5, &end, 10);
		/* The guest's tty ends its lines with CRLF. */
		if ((*end == '\r' || *end == '\n' || *end == ' ') &&
		    strchr(end, '\n'))
			n = t;
	}
	fclose(f);
	return n;
}

bool vmm_proc__exited(struct vmm_proc *v)
{
	siginfo_t si = { 0 };

	return v->pid > 0 &&
	       !waitid(P_PID, v->pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
	       si.si_pid == v->pid;
}

bool vmm_proc__wait_tick(struct vmm_proc *v, long above, int seconds)
{
	time_t end = time(NULL) + seconds;
	bool exited;

	for (;;) {
		exited = vmm_proc__exited(v);
		if (vmm_proc__last_tick(v) > above)
			return true;
		if (exited || time(NULL) >= end)
			return false;
		usleep(100000);
	}
}

bool vmm_proc__expect_tick(struct vmm_proc *v, long above, int seconds)
{
	if (vmm_proc__wait_tick(v, above, seconds))
		return true;
	if (vmm_proc__exited(v))
		fprintf(stderr, "# the VMM exited before a tick above %ld\n",
			above);
	else
		fprintf(stderr, "# no tick above %ld in %d s\n", above,
			seconds);
	vmm_proc__show_console(v, 40);
	return false;
}

bool vmm_proc__find_line(struct vmm_proc *v, const char *prefix, char *line,
			 size_t len)
{
	bool found = false;
	FILE *f = fopen(v->log, "r");

	if (!f)
		return false;
	while (!found && fgets(line, len, f))
		found = !strncmp(line, prefix, strlen(prefix)) &&
			strchr(line, '\n');
	fclose(f);
	return found;
}

void vmm_proc__type(struct vmm_proc *v, const char *text)
{
	size_t len = strlen(text);

	TEST_REQUIRE(write(v->console_in, text, len) == (ssize_t)len,
		     "writing to the console of %s", v->sock);
}

bool vmm_proc__wait_line(struct vmm_proc *v, const char *prefix, char *line,
			 size_t len, int seconds)
{
	time_t end = time(NULL) + seconds;
	bool exited;

	for (;;) {
		exited = vmm_proc__exited(v);
		if (vmm_proc__find_line(v, prefix, line, len))
			return true;
		if (exited || time(NULL) >= end)
			return false;
		usleep(100000);
	}
}

void vmm_proc__show_console(struct vmm_proc *v, int lines)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "tail -n %d %s | sed 's/^/# console: /' >&2",
		 lines, v->log);
	if (system(cmd))
		fprintf(stderr, "# (no console log %s)\n", v->log);
}

int vmm_proc__set_state(struct vmm_proc *v, const char *state, char *out,
			size_t len)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
	return vmm_proc__api(v, "PATCH", "/vm", body, out, len);
}

bool vmm_proc__boot(struct vmm_proc *v, const char *ready, char *line,
		    size_t len, int seconds)
{
	if (vmm_proc__api(v, "PUT", "/actions",
			  "{\"action_type\":\"InstanceStart\"}", line,
			  len) != 204)
		return false;
	if (vmm_proc__wait_line(v, ready, line, len, seconds))
		return true;
	if (vmm_proc__exited(v))
		fprintf(stderr, "# the VMM exited before '%s'\n", ready);
	else
		fprintf(stderr, "# no '%s' on the console in %d s\n", ready,
			seconds);
	vmm_proc__show_console(v, 40);
	return false;
}

int vmm_proc__create(struct vmm_proc *v, const char *vmstate,
		     const char *mem, const char *layers, char *out,
		     size_t len)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"snapshot_type\":\"Full\","
		 "\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"%s%s%s}",
		 vmstate, mem, layers ? ",\"layers_path\":\"" : "",
		 layers ? layers : "", layers ? "\"" : "");
	return vmm_proc__api(v, "PUT", "/snapshot/create", body, out, len);
}

int vmm_proc__load(struct vmm_proc *v, const char *vmstate,
		   const char *backend, const char *backend_path,
		   const char *extra, char *out, size_t len)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\","
		 "\"mem_backend\":{\"backend_type\":\"%s\","
		 "\"backend_path\":\"%s\"},\"resume_vm\":true%s%s}",
		 vmstate, backend, backend_path, extra ? "," : "",
		 extra ? extra : "");
	return vmm_proc__api(v, "PUT", "/snapshot/load", body, out, len);
}

/* This VMM names its vCPU threads "fc_vcpu N", QEMU "CPU N/KVM". */
static bool is_vcpu_thread(const char *comm)
{
	size_t n = strlen(comm);

	return !strncmp(comm, "fc_vcpu", 7) ||
	       (n > 4 && !strcmp(comm + n - 4, "/KVM"));
}

/* CPU time in ms of thread @tid of @pid if it is a vCPU, else 0. */
static unsigned long long vcpu_thread_ms(pid_t pid, const char *tid)
{
	unsigned long long ut, st, ms = 0;
	char path[320], comm[32] = "", buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		p = strchr(buf, '(');
		if (p)
			sscanf(p + 1, "%31[^)]", comm);
		/* After ")": state is field 3, utime 14, stime 15. */
		p = strrchr(buf, ')');
		if (p && is_vcpu_thread(comm) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
			   "%*u %*u %llu %llu", &ut, &st) == 2)
			ms = (ut + st) * 1000 / sysconf(_SC_CLK_TCK);
	}
	fclose(f);
	return ms;
}

#define KVM_DEBUGFS	"/sys/kernel/debug/kvm"

/* Add KVM's statistics of the VM in debugfs directory @vm_dir to @a. */
static bool kvm_vm_stats_add(const char *vm_dir, struct vmm_activity *a)
{
	const struct {
		const char *name;
		unsigned long long *sum;
	} stats[] = {
		{ "exits", &a->exits },
		{ "halt_exits", &a->halt_exits },
		{ "irq_injections", &a->irq_injections },
		{ "io_exits", &a->io_exits },
		{ "mmio_exits", &a->mmio_exits },
	};
	unsigned long long val;
	bool found = false;
	char path[320];
	unsigned int i;
	FILE *f;

	for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", KVM_DEBUGFS, vm_dir,
			 stats[i].name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &val) == 1) {
			*stats[i].sum += val;
			found = true;
		}
		fclose(f);
	}
	return found;
}

/*
 * @pid's vCPU threads' CPU time and KVM's statistics summed over its VMs,
 * in one walk of its threads: KVM names a VM's debugfs directory after
 * the thread that created it ("<tid>-<vm fd>").  False if no VM's
 * statistics could be read.
 */
static bool vmm_activity__read(pid_t pid, struct vmm_activity *a)
{
	struct dirent *d, *t;
	bool found = false;
	DIR *tasks, *kvm;
	char path[96];

	memset(a, 0, sizeof(*a));
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	tasks = opendir(path);
	kvm = opendir(KVM_DEBUGFS);
	while (tasks && (t = readdir(tasks))) {
		size_t n = strlen(t->d_name);

		if (t->d_name[0] == '.')
			continue;
		a->vcpu_cpu_ms += vcpu_thread_ms(pid, t->d_name);
		if (!kvm)
			continue;
		rewinddir(kvm);
		while ((d = readdir(kvm)))
			if (!strncmp(d->d_name, t->d_name, n) &&
			    d->d_name[n] == '-')
				found |= kvm_vm_stats_add(d->d_name, a);
	}
	if (tasks)
		closedir(tasks);
	if (kvm)
		closedir(kvm);
	return found;
}

bool vmm_proc__activity(struct vmm_proc *v, int ms, struct vmm_activity *a)
{
	struct vmm_activity b;

	if (v->pid <= 0 || !vmm_activity__read(v->pid, a))
		return false;
	usleep(ms * 1000);
	if (!vmm_activity__read(v->pid, &b))
		return false;
	a->vcpu_cpu_ms = b.vcpu_cpu_ms - a->vcpu_cpu_ms;
	a->exits = b.exits - a->exits;
	a->halt_exits = b.halt_exits - a->halt_exits;
	a->irq_injections = b.irq_injections - a->irq_injections;
	a->io_exits = b.io_exits - a->io_exits;
	a->mmio_exits = b.mmio_exits - a->mmio_exits;
	return true;
}

void vmm_proc__why_stuck(struct vmm_proc *v, char *why, size_t len)
{
	static const char *const reports[] = {
		"vmm: guest triple-faulted", "Kernel panic", "vmm: ",
	};
	char line[256], exited[64] = "", last[256] = "(empty console)";
	char doing[200] = "";
	struct vmm_activity act;
	unsigned int i;
	int status;
	FILE *f;

	if (v->pid > 0 && waitpid(v->pid, &status, WNOHANG) == v->pid) {
		v->pid = 0;
		close(v->console_in);
		snprintf(exited, sizeof(exited), "the VMM exited (%s %d)",
			 WIFEXITED(status) ? "status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) :
			 WTERMSIG(status));
	}
	/* The first report that is there names the cause best. */
	for (i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
		if (vmm_proc__find_line(v, reports[i], line, sizeof(line))) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(why, len, "%s%s%s", line, *exited ? "; " : "",
				 exited);
			return;
		}
	}
	if (*exited) {
		snprintf(why, len, "%s", exited);
		return;
	}
	f = fopen(v->log, "r");
	while (f && fgets(line, sizeof(line), f))
		if (line[strspn(line, " \r\n")])
			snprintf(last, sizeof(last), "%s", line);
	if (f)
		fclose(f);
	last[strcspn(last, "\r\n")] = '\0';
	if (vmm_proc__activity(v, 1000, &act))
		snprintf(doing, sizeof(doing),
			 "; in 1 s the vCPUs ran %llu ms, KVM counted %llu "
			 "exits (%llu halts, %llu port I/O, %llu MMIO) and "
			 "%llu injected interrupts",
			 act.vcpu_cpu_ms, act.exits, act.halt_exits,
			 act.io_exits, act.mmio_exits, act.irq_injections);
	snprintf(why, len, "no answer; last console line: %s%s", last, doing);
}

/* Fork @argv[0] with standard error to @log; wait for it to listen. */
static pid_t handler__start(const char *sock, const char *log,
			    char *const argv[])
{
	pid_t pid;
	int i;

	unlink(sock);
	pid = fork();
	TEST_REQUIRE(pid >= 0, "fork");
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (i = 0; i < 200 && access(sock, F_OK); i++)
		usleep(50000);
	return pid;
}

pid_t uffd_handler__start(const char *sock, const char *mem,
			  const char *layers, const char *vmstate,
			  const char *log)
{
	char *with[] = {
		"build/uffd-handler", "--socket", (char *)sock, "--mem",
		(char *)mem, "--layers", (char *)layers, "--snapshot",
		(char *)vmstate, NULL,
	};
	char *without[] = {
		"build/uffd-handler", "--socket", (char *)sock, "--mem",
		(char *)mem, "--snapshot", (char *)vmstate, NULL,
	};

	return handler__start(sock, log, layers ? with : without);
}

pid_t fc_uffd_handler__start(const char *sock, const char *mem,
			     const char *log)
{
	char *argv[] = {
		"build/selftests/vmm/fc_uffd_handler", (char *)sock,
		(char *)mem, NULL,
	};

	return handler__start(sock, log, argv);
}

static bool memfile_byte_counts(uint64_t off, uint64_t skip,
				uint64_t skip_len)
{
	if (off >= MEMFILE_ID_OFFSET &&
	    off < MEMFILE_ID_OFFSET + VMSTATE_PAGE_SIZE)
		return false;
	return off < skip || off >= skip + skip_len;
}

long memfile_diff_bytes(const char *a, const char *b, uint64_t size,
			uint64_t skip, uint64_t skip_len)
{
	const size_t chunk = 1 << 20;
	uint8_t *pa = malloc(chunk), *pb = malloc(chunk);
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	uint64_t off, i;
	long differ = -1;
	size_t n;

	if (!pa || !pb || fa < 0 || fb < 0)
		goto out;
	differ = 0;
	for (off = 0; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (pread(fa, pa, n, off) != (ssize_t)n ||
		    pread(fb, pb, n, off) != (ssize_t)n) {
			fprintf(stderr, "# %s or %s is shorter than %llu "
				"bytes\n", a, b, (unsigned long long)size);
			differ = -1;
			break;
		}
		if (!memcmp(pa, pb, n))
			continue;
		for (i = 0; i < n; i++) {
			if (pa[i] == pb[i] ||
			    !memfile_byte_counts(off + i, skip, skip_len))
				continue;
			if (!differ)
				fprintf(stderr, "# %s and %s first differ at "
					"%#llx\n", a, b,
					(unsigned long long)(off + i));
			differ++;
		}
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(pa);
	free(pb);
	return differ;
}

int netns__enter(const char *name, const char *setup)
{
	char cmd[512];
	int fd;

	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; "
		 "modprobe tun && ip netns add %s", name, name);
	if (system(cmd)) {
		fprintf(stderr, "# cannot make network namespace %s\n", name);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "/run/netns/%s", name);
	fd = open(cmd, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "# cannot enter network namespace %s: %s\n",
			name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "ip link set lo up && %s", setup);
	if (system(cmd)) {
		fprintf(stderr, "# in namespace %s, failed: %s\n", name, setup);
		return -1;
	}
	return 0;
}

void netns__remove(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ip netns del %s", name);
	if (system(cmd))
		fprintf(stderr, "# cannot remove namespace %s\n", name);
}

void *vmstate_file__read(const char *path)
{
	struct vmstate_header h;
	void *file = NULL;
	size_t size;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h) ||
	    h.header_size != sizeof(h) || h.payload_len > VMSTATE_MAX_SIZE)
		goto out;
	size = sizeof(h) + h.payload_len;
	file = malloc(size);
	if (file && pread(fd, file, size, 0) != (ssize_t)size) {
		free(file);
		file = NULL;
	}
out:
	close(fd);
	return file;
}

void *vmstate_file__section(void *file, uint32_t type, unsigned int nth,
			    uint64_t *len)
{
	struct vmstate_header *h = file;
	uint8_t *p = (uint8_t *)(h + 1), *end = p + h->payload_len;

	/* Sections are packed: a header may be unaligned. */
	while ((size_t)(end - p) >= sizeof(struct vmstate_section)) {
		struct vmstate_section sec;

		memcpy(&sec, p, sizeof(sec));
		p += sizeof(sec);
		if (sec.len > (uint64_t)(end - p))
			break;
		if (sec.type == type && !nth--) {
			*len = sec.len;
			return p;
		}
		p += sec.len;
	}
	return NULL;
}

bool vmstate_file__write(const char *path, void *file)
{
	struct vmstate_header *h = file;
	size_t size = sizeof(*h) + h->payload_len;
	bool ok = false;
	int fd;

	h->payload_crc = crc32__update(0, h + 1, h->payload_len);
	h->header_crc = crc32__update(0, h, offsetof(struct vmstate_header,
						     header_crc));
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd >= 0) {
		ok = write(fd, file, size) == (ssize_t)size;
		ok = !close(fd) && ok;
	}
	if (!ok)
		fprintf(stderr, "# writing %s: %s\n", path, strerror(errno));
	free(file);
	return ok;
}

bool vmm_proc__invoke(struct vmm_proc *v, long nth, int seconds, char *sum,
		      char *why, size_t len)
{
	char line[256], done[32], *s;

	snprintf(done, sizeof(done), "FN-DONE n=%ld ", nth);
	vmm_proc__type(v, "go\n");
	if (!vmm_proc__wait_line(v, done, line, sizeof(line), seconds)) {
		vmm_proc__why_stuck(v, why, len);
		return false;
	}
	s = strstr(line, "sum=");
	if (!s || sscanf(s, "sum=%16[0-9a-f]", sum) != 1) {
		snprintf(why, len, "unreadable report: %s", line);
		return false;
	}
	return true;
}

int vmm_util__layer_pages(const char *vmstate, const char *layers, long *ro,
			  long *dirty)
{
	char cmd[700], line[256];
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "build/snapinfo --verify --snapshot %s %s "
		 "2>&1", vmstate, layers);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		fprintf(stderr, "# %s", line);
		sscanf(line, " read-only %ld pages", ro);
		sscanf(line, " dirty %ld pages", dirty);
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
