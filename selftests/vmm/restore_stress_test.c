// SPDX-License-Identifier: GPL-2.0
/*
 * Restores of one snapshot, many times over, in the test VM: the function
 * guest (guest/fn.c) is booted and snapshotted, one invocation's working
 * set is recorded into layers, and then the snapshot is restored
 * RESTORE_STRESS_N times (default 5) with each backend, File, layers,
 * huge (the layers read into transparent huge pages: layers_prefetch
 * HugePages) and Uffd, each time in a new VMM, and the function invoked
 * once: it must
 * report the checksum the original VM computed.  A failed restore is
 * recorded with its cause and the run goes on; at the end a table per
 * backend says how many went well and why the others did not.
 *
 * make check runs the default; make stress-restore N=... runs it alone.
 *
 * For the rare restored guest that triple-faults (Documentation/testing.rst,
 * "The guests' triple faults"), also: RESTORE_STRESS_VCPUS (the
 * guest's vCPUs, default 2), RESTORE_STRESS_BACKENDS (a list such as
 * "File", default the four; "QEMU" adds QEMU's own restores of the same
 * guest as a control) and RESTORE_TRACE_DIR: KVM's events are
 * traced into a ring buffer of their own, emptied before each restore and
 * stopped by the shutdown exit itself, so the events that led to it are
 * the newest kept; a failed restore leaves its trace and console there,
 * with the snapshot's snapinfo (RIPs, LSTAR) and this kernel's symbols,
 * for scripts/trace-syms.sh.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/fn.cpio.gz"
/* One invocation reads 64 MiB: generous for nested emulation. */
#define INVOKE_SECONDS	120
#define MAX_FAILURES	20	/* causes kept per backend */

/*
 * BACKEND_QEMU is the control, run only when RESTORE_STRESS_BACKENDS names
 * it: the same guest booted by QEMU in this test VM, saved by a migration
 * to a file and restored from it with -incoming, each time in a new QEMU.
 * What fails for QEMU's restores too is the test VM's, not this VMM's.
 */
enum backend {
	BACKEND_FILE, BACKEND_LAYERS, BACKEND_HUGE, BACKEND_UFFD, BACKEND_QEMU,
	NR_BACKENDS
};

/* "huge": the layers with layers_prefetch HugePages. */
static const char *const backend_names[NR_BACKENDS] = {
	"File", "layers", "huge", "Uffd", "QEMU",
};

#define QEMU_BIN	"qemu-system-x86_64"

/*
 * The KVM events kept: every exit and entry with its RIP, the exceptions
 * and interrupts KVM injected, nested page faults, IPIs, MSR accesses,
 * the exits to the VMM.  kvm_nested_vmexit is there only on kernels
 * that have it.
 */
static const char *const trace_events[] = {
	"kvm_exit", "kvm_entry", "kvm_inj_exception", "kvm_page_fault",
	"kvm_nested_vmexit", "kvm_inj_virq", "kvm_apic_ipi",
	"kvm_apic_accept_irq", "kvm_msr", "kvm_userspace_exit",
};

/* SVM_EXIT_SHUTDOWN: the intercept of a triple fault on AMD. */
#define SVM_EXIT_SHUTDOWN	0x7f

struct trace {
	char dir[256];		/* the instance in tracefs, or "" */
	const char *out;	/* RESTORE_TRACE_DIR */
};

static bool write_file(const char *dir, const char *name, const char *val)
{
	char path[512];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* @cmd run by the shell, its output into @out/@name. */
static void save_output(const char *cmd, const char *out, const char *name)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s > %s/%s 2>&1", cmd, out, name);
	if (system(line))
		fprintf(stderr, "# %s failed\n", line);
}

/* A tracefs instance of its own, so nothing else's events crowd it. */
static bool trace__setup(struct trace *t, const char *out)
{
	static const char *const roots[] = { "/sys/kernel/tracing",
						"/sys/kernel/debug/tracing" };
	char path[512], inst[64], trigger[64];
	unsigned int i, on = 0;

	t->out = out;
	/*
	 * The guests boot this kernel's image: its symbols name their
	 * code (scripts/trace-syms.sh).  Modules' are of no use there.
	 */
	save_output("grep ' [tTwW] ' /proc/kallsyms | grep -v '\\['", out,
		    "kallsyms.txt");
	for (i = 0; i < 2; i++) {
		snprintf(inst, sizeof(inst), "%s/instances", roots[i]);
		if (!access(inst, W_OK))
			break;
	}
	if (i == 2) {
		fprintf(stderr, "# no tracefs instances: not tracing\n");
		return false;
	}
	snprintf(t->dir, sizeof(t->dir), "%s/pt_restore", inst);
	rmdir(t->dir);
	if (mkdir(t->dir, 0755)) {
		fprintf(stderr, "# cannot make %s: not tracing\n", t->dir);
		*t->dir = '\0';
		return false;
	}
	/* Per CPU: one restore's events up to the fault fit. */
	write_file(t->dir, "buffer_size_kb", "16384");
	for (i = 0; i < ARRAY_SIZE(trace_events); i++) {
		snprintf(path, sizeof(path), "events/kvm/%s/enable",
			 trace_events[i]);
		if (write_file(t->dir, path, "1"))
			on++;
		else
			fprintf(stderr, "# no event kvm:%s\n", trace_events[i]);
	}
	snprintf(trigger, sizeof(trigger), "traceoff if exit_reason == %d",
		 SVM_EXIT_SHUTDOWN);
	if (!write_file(t->dir, "events/kvm/kvm_exit/trigger", trigger))
		fprintf(stderr, "# kvm_exit takes no traceoff trigger\n");
	fprintf(stderr, "# tracing %u KVM events in %s\n", on, t->dir);
	return on > 0;
}

/* Before each restore: an empty buffer, tracing on. */
static void trace__start(struct trace *t)
{
	if (!*t->dir)
		return;
	write_file(t->dir, "tracing_on", "0");
	write_file(t->dir, "trace", "");
	write_file(t->dir, "tracing_on", "1");
}

/*
 * A failed restore's trace and console into RESTORE_TRACE_DIR, and its
 * last events on stderr.
 */
static void trace__keep(struct trace *t, const char *name, const char *log)
{
	char cmd[512], file[64];

	if (!*t->dir)
		return;
	write_file(t->dir, "tracing_on", "0");
	snprintf(cmd, sizeof(cmd), "cat %s/trace", t->dir);
	snprintf(file, sizeof(file), "%s.trace", name);
	save_output(cmd, t->out, file);
	snprintf(cmd, sizeof(cmd), "cat %s", log);
	snprintf(file, sizeof(file), "%s.console", name);
	save_output(cmd, t->out, file);
	snprintf(cmd, sizeof(cmd), "grep -v '^#' %s/%s.trace | tail -n 40 | "
		 "sed 's/^/# trace: /' >&2", t->out, name);
	if (system(cmd))
		fprintf(stderr, "# no trace of %s\n", name);
}

static void trace__teardown(struct trace *t)
{
	if (!*t->dir)
		return;
	write_file(t->dir, "tracing_on", "0");
	write_file(t->dir, "events/kvm/enable", "0");
	rmdir(t->dir);
}

struct tally {
	unsigned int ok, failed;
	char causes[MAX_FAILURES][256];
};

FIXTURE(stress) {
	char dir[64];
	char vmstate[128], mem[128], layers[128], sock[128], hlog[128];
	char qemu_mig[128], qemu_want[17];
	char out[4096];
	struct vmm_proc v;
	pid_t handler;
	struct trace trace;
};

FIXTURE_SETUP(stress)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/stresstest-%d",
		 getpid());
	mkdir(self->dir, 0700);
	snprintf(self->vmstate, sizeof(self->vmstate), "%s/fn.vmstate",
		 self->dir);
	snprintf(self->mem, sizeof(self->mem), "%s/fn.mem", self->dir);
	snprintf(self->layers, sizeof(self->layers), "%s/fn.layers",
		 self->dir);
	snprintf(self->sock, sizeof(self->sock), "%s/fn.uffd", self->dir);
	snprintf(self->hlog, sizeof(self->hlog), "%s/handler.log", self->dir);
}

static void stop_handler(FIXTURE_DATA(stress) *self)
{
	if (self->handler > 0) {
		kill(self->handler, SIGKILL);
		waitpid(self->handler, NULL, 0);
		self->handler = 0;
	}
}

FIXTURE_TEARDOWN(stress)
{
	char cmd[128];

	vmm_proc__kill(&self->v);
	stop_handler(self);
	trace__teardown(&self->trace);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/* The first invocation since the snapshot, as every restore's is. */
static bool invoke(struct vmm_proc *v, char *sum, char *why, size_t len)
{
	return vmm_proc__invoke(v, 1, INVOKE_SECONDS, sum, why, len);
}

/*
 * QEMU as a struct vmm_proc, so that the console helpers serve it too: its
 * serial console goes to @name.log and reads @name.in, a FIFO; its HMP
 * monitor listens on @name.mon (in v->sock).  @incoming: "exec:..." to
 * restore from, or NULL to boot @vcpus vCPUs of the fn guest.
 */
static bool qemu__start(struct vmm_proc *v, const char *dir, const char *name,
			long vcpus, const char *incoming)
{
	char fifo[160], smp[16], chardev[400], mon[200], trace[200];
	/* The buffers above are filled in below. */
	const char *argv[] = {
		QEMU_BIN,
		"-accel", "kvm",
		"-cpu", "host",
		"-smp", smp,
		"-m", "256",
		"-nodefaults",
		"-display", "none",
		"-no-reboot",
		"-kernel", vmm_util__kernel(),
		"-initrd", INITRD,
		"-append", VMM_UTIL_BOOT_ARGS,
		"-chardev", chardev,
		"-serial", "chardev:con",
		"-monitor", mon,
		"-d", "trace:kvm_run_exit",
		"-D", trace,
		NULL, NULL,	/* -incoming @incoming */
		NULL,
	};

	snprintf(v->log, sizeof(v->log), "%s/%s.log", dir, name);
	snprintf(v->sock, sizeof(v->sock), "%s/%s.mon", dir, name);
	snprintf(fifo, sizeof(fifo), "%s/%s.in", dir, name);
	unlink(v->log);
	unlink(v->sock);
	unlink(fifo);
	if (mkfifo(fifo, 0600))
		return false;
	/* Read-write: neither this open nor QEMU's waits for the other. */
	v->console_in = open(fifo, O_RDWR | O_CLOEXEC);
	if (v->console_in < 0)
		return false;
	snprintf(smp, sizeof(smp), "%ld", vcpus);
	snprintf(chardev, sizeof(chardev),
		 "file,id=con,path=%s,input-path=%s", v->log, fifo);
	snprintf(mon, sizeof(mon), "unix:%s,server=on,wait=off", v->sock);
	/* KVM's exit reasons: 8, KVM_EXIT_SHUTDOWN, is a triple fault. */
	snprintf(trace, sizeof(trace), "%s/%s.qemu", dir, name);
	if (incoming) {
		argv[ARRAY_SIZE(argv) - 3] = "-incoming";
		argv[ARRAY_SIZE(argv) - 2] = incoming;
	}
	v->pid = fork();
	if (!v->pid) {
		/* QEMU's messages to @name.err, not into the TAP stream. */
		snprintf(fifo, sizeof(fifo), "%s/%s.err", dir, name);
		if (!freopen(fifo, "w", stderr) || dup2(2, 1) < 0)
			_exit(126);
		execvp(QEMU_BIN, (char **)argv);
		_exit(127);
	}
	if (v->pid < 0) {
		v->pid = 0;
		close(v->console_in);
		return false;
	}
	return true;
}

/* @cmd to QEMU's HMP monitor; its answer in @out.  False if unreachable. */
static bool qemu__hmp(struct vmm_proc *v, const char *cmd, char *out,
		      size_t len)
{
	char line[512];
	size_t got = 0;
	int i;
	FILE *p;

	if (out && len)
		*out = '\0';
	/* The monitor socket appears as QEMU starts, unless it dies. */
	for (i = 0; i < 600 && access(v->sock, F_OK); i++) {
		if (vmm_proc__exited(v))
			return false;
		usleep(100000);
	}
	snprintf(line, sizeof(line),
		 "printf '%%s\\n' '%s' | socat - UNIX-CONNECT:%s 2>&1", cmd,
		 v->sock);
	p = popen(line, "r");
	if (!p)
		return false;
	if (out && len) {
		got = fread(out, 1, len - 1, p);
		out[got] = '\0';
	} else {
		while (fread(line, 1, sizeof(line), p) > 0)
			;
	}
	return !pclose(p);
}

/*
 * Poll "info @what" until it shows @want and not @unless (NULL: no such
 * condition), for up to @seconds.
 */
static bool qemu__wait_info(struct vmm_proc *v, const char *what,
			    const char *want, const char *unless, int seconds,
			    char *why, size_t len)
{
	char cmd[64], out[4096];
	time_t end = time(NULL) + seconds;

	snprintf(cmd, sizeof(cmd), "info %s", what);
	while (time(NULL) < end && !vmm_proc__exited(v)) {
		if (qemu__hmp(v, cmd, out, sizeof(out)) && strstr(out, want) &&
		    !(unless && strstr(out, unless)))
			return true;
		if (strstr(out, "failed") || strstr(out, "cancelled"))
			break;
		usleep(200000);
	}
	snprintf(why, len, "QEMU's 'info %s' never showed '%s'%s%s%s", what,
		 want, unless ? " without " : "", unless ? unless : "",
		 vmm_proc__exited(v) ? ": QEMU exited" : "");
	return false;
}

/*
 * A triple fault, if KVM told QEMU @name of a shutdown, replaces the reason
 * in @why, which is otherwise kept.
 */
static void qemu__why(const char *dir, const char *name, char *why,
		      size_t len)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "grep -q 'kvm_run_exit.*reason 8$' %s/%s.qemu", dir, name);
	if (!system(cmd))
		snprintf(why, len,
			 "QEMU: KVM_EXIT_SHUTDOWN, the guest triple-faulted");
}

/*
 * The QEMU control's original: booted, migrated to a file while stopped,
 * then continued and invoked for its own checksum (its dataset is its
 * own boot's, not the VMM original's).
 */
static bool qemu__prepare(FIXTURE_DATA(stress) *self, long vcpus, char *why,
			  size_t len)
{
	char line[256], cmd[300];
	bool ok = false;

	snprintf(self->qemu_mig, sizeof(self->qemu_mig), "%s/fn.qemu-mig",
		 self->dir);
	if (!qemu__start(&self->v, self->dir, "qemu-original", vcpus, NULL)) {
		snprintf(why, len, "cannot start " QEMU_BIN);
		return false;
	}
	snprintf(why, len, "QEMU's monitor did not answer");
	if (!vmm_proc__wait_line(&self->v, "FN-READY", line, sizeof(line),
				 600)) {
		vmm_proc__why_stuck(&self->v, why, len);
		qemu__why(self->dir, "qemu-original", why, len);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "migrate \"exec:cat > %s\"",
		 self->qemu_mig);
	if (!qemu__hmp(&self->v, "stop", NULL, 0) ||
	    !qemu__hmp(&self->v, cmd, NULL, 0) ||
	    !qemu__wait_info(&self->v, "migrate", "completed", NULL, 600, why,
			     len) ||
	    !qemu__hmp(&self->v, "cont", NULL, 0))
		goto out;
	ok = invoke(&self->v, self->qemu_want, why, len);
	if (!ok)
		qemu__why(self->dir, "qemu-original", why, len);
out:
	vmm_proc__kill(&self->v);
	return ok;
}

/* One restore of the QEMU control; false with the cause in @why. */
static bool qemu__restore_once(FIXTURE_DATA(stress) *self, long vcpus,
			       const char *name, char *why, size_t len)
{
	char incoming[200], sum[17];
	bool ok = false;

	if (!*self->qemu_want) {
		snprintf(why, len, "QEMU's original failed: no control");
		return false;
	}
	snprintf(incoming, sizeof(incoming), "exec:cat %s", self->qemu_mig);
	if (!qemu__start(&self->v, self->dir, name, vcpus, incoming)) {
		snprintf(why, len, "cannot start " QEMU_BIN);
		return false;
	}
	/*
	 * Saved stopped, the guest comes back paused once loaded; typed
	 * before that, "go" would be lost with the UART's loaded state.
	 */
	snprintf(why, len, "QEMU's monitor did not answer 'cont'");
	if (!qemu__wait_info(&self->v, "status", "VM status: paused",
			     "inmigrate", 300, why, len) ||
	    !qemu__hmp(&self->v, "cont", NULL, 0)) {
		qemu__why(self->dir, name, why, len);
		goto out;
	}
	if (!invoke(&self->v, sum, why, len)) {
		qemu__why(self->dir, name, why, len);
		goto out;
	}
	ok = !strcmp(sum, self->qemu_want);
	if (!ok)
		snprintf(why, len, "checksum %s, QEMU's original computed %s",
			 sum, self->qemu_want);
out:
	if (!ok)
		vmm_proc__show_console(&self->v, 10);
	vmm_proc__kill(&self->v);
	if (ok)
		unlink(self->v.log);
	return ok;
}

/* The process's anonymous memory in transparent huge pages, or -1. */
static long anon_huge_kb(pid_t pid)
{
	char path[64], line[128];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* One restore with @b in a new VMM; false with the cause in @why. */
static bool restore_once(FIXTURE_DATA(stress) *self, enum backend b,
			 const char *name, const char *want, char *why,
			 size_t len)
{
	const char *backend = b == BACKEND_UFFD ? "Uffd" : "File";
	const char *path = b == BACKEND_UFFD ? self->sock : self->mem;
	char sum[17], extra[200];
	bool ok = false, started = false;
	long thp;

	snprintf(extra, sizeof(extra), "\"layers_path\":\"%s\"%s",
		 self->layers, b == BACKEND_HUGE ?
		 ",\"layers_prefetch\":\"HugePages\"" : "");

	if (b == BACKEND_UFFD) {
		self->handler = uffd_handler__start(self->sock, self->mem,
						    self->layers,
						    self->vmstate, self->hlog);
		if (access(self->sock, F_OK)) {
			snprintf(why, len, "uffd-handler did not listen");
			goto out;
		}
	}
	trace__start(&self->trace);
	vmm_proc__start(&self->v, self->dir, name);
	started = true;
	if (vmm_proc__load(&self->v, self->vmstate, backend, path,
			   b == BACKEND_LAYERS || b == BACKEND_HUGE ? extra :
			   NULL, self->out, sizeof(self->out)) != 204) {
		snprintf(why, len, "load refused: %.200s", self->out);
		goto out;
	}
	/* The working set's memory is in transparent huge pages. */
	if (b == BACKEND_HUGE && (thp = anon_huge_kb(self->v.pid)) < 2048) {
		snprintf(why, len, "AnonHugePages %ld kB after the load", thp);
		goto out;
	}
	if (!invoke(&self->v, sum, why, len))
		goto out;
	ok = !strcmp(sum, want);
	if (!ok)
		snprintf(why, len, "checksum %s, the original computed %s",
			 sum, want);
out:
	if (started && !ok) {
		vmm_proc__show_console(&self->v, 10);
		trace__keep(&self->trace, name, self->v.log);
	}
	vmm_proc__kill(&self->v);
	stop_handler(self);
	/* A passing restore's console is not worth the disk. */
	if (ok)
		unlink(self->v.log);
	return ok;
}

TEST_F_TIMEOUT(stress, restore_n_times, 6 * 3600)
{
	const char *env = getenv("RESTORE_STRESS_N");
	const char *vcpus_env = getenv("RESTORE_STRESS_VCPUS");
	const char *backends = getenv("RESTORE_STRESS_BACKENDS");
	const char *trace_dir = getenv("RESTORE_TRACE_DIR");
	long n = env ? strtol(env, NULL, 10) : 5, i;
	const char *secs_env = getenv("RESTORE_STRESS_SECONDS");
	long vcpus = vcpus_env ? strtol(vcpus_env, NULL, 10) : 2;
	time_t end = secs_env ? time(NULL) + strtol(secs_env, NULL, 10) : 0;
	unsigned int tried = 0;
	struct tally *t = calloc(NR_BACKENDS, sizeof(*t));
	char want[17], why[512], name[32], line[256];
	unsigned int b, failed = 0;

	ASSERT_NE(NULL, t);
	if (!n) {
		free(t);
		SKIP(return, "RESTORE_STRESS_N=0");
	}
	ASSERT_GT(n, 0) TH_LOG("RESTORE_STRESS_N=%s", env);
	ASSERT_TRUE(vcpus >= 1 && vcpus <= 8)
		TH_LOG("RESTORE_STRESS_VCPUS=%s", vcpus_env);
	TH_LOG("%ld restores per backend (%s), %ld vCPUs%s", n,
	       backends ? backends : "all", vcpus,
	       trace_dir ? ", KVM events traced" : "");

	/* The original: booted, snapshotted, then invoked for the sum. */
	vmm_proc__start(&self->v, self->dir, "original");
	vmm_proc__configure(&self->v, INITRD, vcpus, false);
	ASSERT_TRUE(vmm_proc__boot(&self->v, "FN-READY", line, sizeof(line),
				   600));
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__create(&self->v, self->vmstate, self->mem,
					NULL, self->out, sizeof(self->out)));
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Resumed", self->out,
					   sizeof(self->out)));
	ASSERT_TRUE(invoke(&self->v, want, why, sizeof(why)))
		TH_LOG("the original: %s", why);
	vmm_proc__kill(&self->v);
	TH_LOG("the original computed %s", want);
	if (trace_dir) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "build/snapinfo %s", self->vmstate);
		save_output(cmd, trace_dir, "snapinfo.txt");
		trace__setup(&self->trace, trace_dir);
	}

	/*
	 * One invocation's working set, recorded in a restored VM: the
	 * layers the layers and Uffd restores install.
	 */
	vmm_proc__start(&self->v, self->dir, "record");
	ASSERT_EQ(204, vmm_proc__load(&self->v, self->vmstate, "File",
				      self->mem, "\"track_working_set\":true",
				      self->out, sizeof(self->out)));
	ASSERT_TRUE(invoke(&self->v, line, why, sizeof(why)))
		TH_LOG("recording: %s", why);
	EXPECT_STREQ(want, line);
	ASSERT_EQ(204, vmm_proc__set_state(&self->v, "Paused", self->out,
					   sizeof(self->out)));
	snprintf(line, sizeof(line), "{\"layers_path\":\"%s\"}",
		 self->layers);
	ASSERT_EQ(204, vmm_proc__api(&self->v, "PUT", "/snapshot/layers",
				     line, self->out, sizeof(self->out)));
	vmm_proc__kill(&self->v);

	/*
	 * A control that cannot start is no reason to stop measuring this
	 * VMM: QEMU's restores are then each reported as failed with it.
	 */
	*self->qemu_want = '\0';
	if (backends && strstr(backends, backend_names[BACKEND_QEMU])) {
		if (qemu__prepare(self, vcpus, why, sizeof(why)))
			TH_LOG("QEMU's original computed %s", self->qemu_want);
		else
			TH_LOG("QEMU's original failed: %s", why);
	}

	for (i = 0; i < n; i++) {
		/* RESTORE_STRESS_SECONDS: the table before the VM's timeout. */
		if (end && time(NULL) >= end) {
			TH_LOG("time is up after %ld rounds", i);
			break;
		}
		for (b = 0; b < NR_BACKENDS; b++) {
			struct tally *bt = &t[b];
			struct timespec t0, t1;

			if (backends ? !strstr(backends, backend_names[b]) :
				       b == BACKEND_QEMU)
				continue;
			tried++;
			snprintf(name, sizeof(name), "%s-%ld",
				 backend_names[b], i + 1);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			if (b == BACKEND_QEMU ?
			    qemu__restore_once(self, vcpus, name, why,
					       sizeof(why)) :
			    restore_once(self, b, name, want, why,
					 sizeof(why))) {
				bt->ok++;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				fprintf(stderr, "# restore %s ok, %.1f s\n",
					name, t1.tv_sec - t0.tv_sec +
					(t1.tv_nsec - t0.tv_nsec) / 1e9);
				continue;
			}
			if (bt->failed < MAX_FAILURES)
				snprintf(bt->causes[bt->failed],
					 sizeof(bt->causes[0]), "%.31s: %.200s",
					 name, why);
			bt->failed++;
			/* At once: a run that dies later still shows it. */
			fprintf(stderr, "# restore %s failed: %s\n", name,
				why);
		}
	}

	fprintf(stderr, "# %-8s %6s %6s\n", "backend", "ok", "failed");
	for (b = 0; b < NR_BACKENDS; b++)
		fprintf(stderr, "# %-8s %6u %6u\n", backend_names[b], t[b].ok,
			t[b].failed);
	for (b = 0; b < NR_BACKENDS; b++) {
		for (i = 0; i < t[b].failed && i < MAX_FAILURES; i++)
			fprintf(stderr, "#   %s\n", t[b].causes[i]);
		if (t[b].failed > MAX_FAILURES)
			fprintf(stderr, "#   ... and %u more %s failures\n",
				t[b].failed - MAX_FAILURES, backend_names[b]);
		failed += t[b].failed;
	}
	free(t);
	ASSERT_NE(0, tried) TH_LOG("no backend in RESTORE_STRESS_BACKENDS=%s",
				   backends);
	EXPECT_EQ(0, failed) TH_LOG("%u of %u restores failed", failed,
				    tried);
}

#define NX_HUGE_PAGES	"/sys/module/kvm/parameters/nx_huge_pages"

/*
 * A control for the restored guests' triple faults: a booted guest,
 * never snapshotted, whose nested page tables KVM drops before each
 * invocation, so that the guest's next steps fault on its IDT, stacks
 * and code as a restored guest's first steps do.  Changing
 * kvm.nx_huge_pages zaps every VM's page tables.  Only with
 * RESTORE_STRESS_ZAP_N (invocations); a guest that dies is booted again.
 */
TEST_F_TIMEOUT(stress, zapped_booted_guest, 6 * 3600)
{
	const char *env = getenv("RESTORE_STRESS_ZAP_N");
	const char *vcpus_env = getenv("RESTORE_STRESS_VCPUS");
	const char *secs_env = getenv("RESTORE_STRESS_SECONDS");
	const char *trace_dir = getenv("RESTORE_TRACE_DIR");
	long vcpus = vcpus_env ? strtol(vcpus_env, NULL, 10) : 2;
	time_t end = secs_env ? time(NULL) + strtol(secs_env, NULL, 10) : 0;
	char want[17] = "", sum[17], why[512], line[256], name[32];
	unsigned int ok = 0, failed = 0, boots = 0;
	long n, i, nth = 0;
	bool up = false;

	if (!env)
		SKIP(return, "RESTORE_STRESS_ZAP_N unset");
	n = strtol(env, NULL, 10);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, access(NX_HUGE_PAGES, W_OK));
	if (trace_dir)
		trace__setup(&self->trace, trace_dir);
	for (i = 0; i < n; i++) {
		if (end && time(NULL) >= end) {
			TH_LOG("time is up after %ld invocations", i);
			break;
		}
		if (!up) {
			snprintf(name, sizeof(name), "booted-%u", ++boots);
			vmm_proc__start(&self->v, self->dir, name);
			vmm_proc__configure(&self->v, INITRD, vcpus, false);
			ASSERT_TRUE(vmm_proc__boot(&self->v, "FN-READY", line,
						   sizeof(line), 600));
			up = true;
			nth = 0;
			if (!*want) {
				ASSERT_TRUE(vmm_proc__invoke(&self->v, ++nth, INVOKE_SECONDS, want,
						       why, sizeof(why)))
					TH_LOG("the first invocation: %s", why);
				continue;
			}
		}
		/* Each change of the parameter zaps; "auto" is off on AMD. */
		ASSERT_TRUE(write_file("/sys/module/kvm/parameters",
				       "nx_huge_pages", i % 2 ? "off" :
				       "force"));
		trace__start(&self->trace);
		*why = '\0';
		if (vmm_proc__invoke(&self->v, ++nth, INVOKE_SECONDS, sum, why,
				     sizeof(why)) &&
		    !strcmp(sum, want)) {
			ok++;
			continue;
		}
		if (!strcmp(why, ""))
			snprintf(why, sizeof(why), "checksum %s, not %s", sum,
				 want);
		failed++;
		fprintf(stderr, "# invocation %ld of %s failed: %s\n", i, name,
			why);
		snprintf(line, sizeof(line), "%s-%ld", name, i);
		trace__keep(&self->trace, line, self->v.log);
		vmm_proc__kill(&self->v);
		up = false;
	}
	write_file("/sys/module/kvm/parameters", "nx_huge_pages", "auto");
	TH_LOG("%u invocations after a zap, %u failed, in %u boots of %ld "
	       "vCPUs", ok + failed, failed, boots, vcpus);
	EXPECT_EQ(0, failed);
}

TEST_HARNESS_MAIN
