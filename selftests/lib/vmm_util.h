/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for tests that drive build/vmm through its API socket. */
#ifndef PAGETRACK_VMM_UTIL_H
#define PAGETRACK_VMM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VMM_BIN		"build/vmm"

struct vmm_proc {
	pid_t pid;
	int console_in;		/* writes reach the guest's serial console */
	char sock[128];
	char log[128];
};

/*
 * The VMM vmm_proc__start() runs: VMM_BIN, or $PT_VMM_BIN, so that a test
 * can be shown to fail against a deliberately broken build.
 */
const char *vmm_util__bin(void);
/* The running kernel's image, which the test guests boot. */
const char *vmm_util__kernel(void);
/* Start vmm --api-sock in @dir (console to @name.log), wait for the socket. */
void vmm_proc__start(struct vmm_proc *v, const char *dir, const char *name);
/*
 * The same, with @flags: VMM_PROC_NO_FILE_CAPS runs it as root that file
 * permissions bind (no CAP_DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER), as an
 * unprivileged user's VMM is bound.
 */
#define VMM_PROC_NO_FILE_CAPS	(1u << 0)
void vmm_proc__start_as(struct vmm_proc *v, const char *dir,
			const char *name, unsigned int flags);
/* SIGKILL and reap; safe to call twice. */
void vmm_proc__kill(struct vmm_proc *v);
/* One request through curl: HTTP status, response body in @out. */
int vmm_proc__api(struct vmm_proc *v, const char *method, const char *path,
		  const char *body, char *out, size_t len);
/* The test guests' kernel command line, as Firecracker's docs give it. */
#define VMM_UTIL_BOOT_ARGS	"console=ttyS0 reboot=k panic=1 pci=off quiet"
/* PUT /boot-source and /machine-config for @initrd. */
void vmm_proc__configure(struct vmm_proc *v, const char *initrd,
			 unsigned int vcpus, bool track_dirty);
/*
 * The rootfs guest (Documentation/testing.rst): PUT /boot-source with its
 * initramfs, /machine-config (256 MiB), /drives/rootfs for @rootfs as the
 * root device, read-only unless @writable, and /vsock on @uds_path.  Its
 * init serves fnd on vsock port 5000 and prints FND-LISTENING.
 */
void vmm_proc__configure_rootfs(struct vmm_proc *v, const char *rootfs,
				bool writable, const char *uds_path,
				unsigned int vcpus, bool track_dirty);
/*
 * fnd's @request over @uds_path (lib/vsock_call.c): true if a reply came,
 * then in @reply (truncated to @len), and the request-to-reply time in
 * @ms unless NULL; the failure's reason is printed.
 */
bool vmm_util__fn_call(const char *uds_path, const char *request,
		       char *reply, size_t len, double *ms);
/*
 * Whether the VMM has exited, without reaping it: the test may wait for it
 * itself.  A VMM whose guest triple-faulted exits, and waiting longer for
 * its console would only spend the test's time.
 */
bool vmm_proc__exited(struct vmm_proc *v);
/* Highest "TICK n" on the console so far, or -1. */
long vmm_proc__last_tick(struct vmm_proc *v);
/* Wait up to @seconds for a tick above @above; false once the VMM exits. */
bool vmm_proc__wait_tick(struct vmm_proc *v, long above, int seconds);
/* The same; when it fails, why on stderr with the console's end. */
bool vmm_proc__expect_tick(struct vmm_proc *v, long above, int seconds);
/* Type @text on the guest's console. */
void vmm_proc__type(struct vmm_proc *v, const char *text);
/*
 * Wait up to @seconds for a console line that starts with @prefix; false
 * at once if the VMM exits without it.
 */
bool vmm_proc__wait_line(struct vmm_proc *v, const char *prefix, char *line,
			 size_t len, int seconds);
/* Print the last @lines lines of the console, for a failure's report. */
void vmm_proc__show_console(struct vmm_proc *v, int lines);
/* The console line that starts with @prefix, or false. */
bool vmm_proc__find_line(struct vmm_proc *v, const char *prefix, char *line,
			 size_t len);

/* PATCH /vm {"state": @state}: "Paused" or "Resumed". */
int vmm_proc__set_state(struct vmm_proc *v, const char *state, char *out,
			size_t len);
/* InstanceStart, then wait up to @seconds for a line starting @ready. */
bool vmm_proc__boot(struct vmm_proc *v, const char *ready, char *line,
		    size_t len, int seconds);
/* PUT /snapshot/create: Full, with layers unless @layers is NULL. */
int vmm_proc__create(struct vmm_proc *v, const char *vmstate,
		     const char *mem, const char *layers, char *out,
		     size_t len);
/*
 * PUT /snapshot/load, resumed: @backend "File" or "Uffd" at @backend_path,
 * and @extra members of the request unless NULL ("\"a\":1,\"b\":2").
 */
int vmm_proc__load(struct vmm_proc *v, const char *vmstate,
		   const char *backend, const char *backend_path,
		   const char *extra, char *out, size_t len);
/*
 * The fn guest's function: type "go" and wait up to @seconds for its
 * report of the @nth invocation in the guest's life (an earlier report
 * must not answer): its checksum in @sum (17 bytes), or false with the
 * reason in @why.
 */
bool vmm_proc__invoke(struct vmm_proc *v, long nth, int seconds, char *sum,
		      char *why, size_t len);
/*
 * build/snapinfo --verify of layer file @layers against @vmstate, its
 * output on stderr: its exit status, and the page counts it printed.
 */
int vmm_util__layer_pages(const char *vmstate, const char *layers, long *ro,
			  long *dirty);
/*
 * Why @v's guest stopped answering, in @why: the VMM's exit, its own
 * report (a triple fault), a guest panic, or the console's last line
 * and what the guest did meanwhile (vmm_proc__activity()).
 */
void vmm_proc__why_stuck(struct vmm_proc *v, char *why, size_t len);

/*
 * What @v's guest does over @ms: its vCPU threads' CPU time and KVM's
 * exit counters for the VMM's VMs (debugfs, summed over their vCPUs).
 * A guest halted for an interrupt that never comes exits only for its
 * timer; one spinning with interrupts off burns CPU without exits.
 * Counters KVM does not have read as 0; false if none could be read.
 */
struct vmm_activity {
	unsigned long long vcpu_cpu_ms, exits, halt_exits, irq_injections;
	unsigned long long io_exits, mmio_exits;
};

bool vmm_proc__activity(struct vmm_proc *v, int ms, struct vmm_activity *a);

/*
 * Start build/uffd-handler serving @mem (and @layers unless NULL) of
 * snapshot @vmstate on @sock, its standard error to @log; wait for the
 * socket.
 */
pid_t uffd_handler__start(const char *sock, const char *mem,
			  const char *layers, const char *vmstate,
			  const char *log);
/*
 * The same with build/selftests/vmm/fc_uffd_handler, which knows only
 * Firecracker's documented protocol.
 */
pid_t fc_uffd_handler__start(const char *sock, const char *mem,
			     const char *log);

/*
 * Bytes that differ between memory files @a and @b over their first
 * @size bytes, leaving out the identity page (MEMFILE_ID_OFFSET: every
 * create writes its own snapshot's id there) and [@skip, @skip +
 * @skip_len); -1 if either cannot be read.  The first difference is
 * reported on stderr.
 */
long memfile_diff_bytes(const char *a, const char *b, uint64_t size,
			uint64_t skip, uint64_t skip_len);

/*
 * Editing a vmstate file as a test's premise: vmstate_file__read() reads
 * all of @path into a malloc'd buffer (NULL if it cannot), whose @nth
 * section of @type vmstate_file__section() finds (NULL if none; its
 * length in *@len; unaligned, as sections are packed);
 * vmstate_file__write() seals the buffer's checksums again, writes it to
 * @path and frees it (false, and why on stderr, if it cannot).
 */
void *vmstate_file__read(const char *path);
void *vmstate_file__section(void *file, uint32_t type, unsigned int nth,
			    uint64_t *len);
bool vmstate_file__write(const char *path, void *file);

/*
 * Make network namespace @name afresh (removing what an interrupted run
 * left), enter it with this thread, bring lo up and run the shell
 * command @setup there (making TAP devices, say): 0, or -1 with the step
 * that failed on stderr.  The VMM a test then starts opens its TAPs in
 * it.  netns__remove() deletes the namespace.
 */
int netns__enter(const char *name, const char *setup);
void netns__remove(const char *name);

#endif
