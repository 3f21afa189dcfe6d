/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pagetrack - which pages of a memory range are present, accessed and
 * dirty, from page-table A/D bits, including the accessed bits KVM keeps in
 * its own NPT/EPT tables.
 *
 * This is the one definition of the interface: the module, the VMM, the
 * tools and the selftests all include it.
 *
 * Every ioctl argument starts with a @size field holding sizeof() of the
 * structure as the caller knows it, so a structure can grow (the
 * clone3()/openat2() convention): the kernel accepts any size from the
 * first published one up to a page (%EINVAL otherwise), requires bytes it
 * does not know to be zero (%E2BIG otherwise), and copies back only as
 * many bytes as the caller declared.  The size encoded in the ioctl
 * command number is therefore ignored.
 */
#ifndef _UAPI_LINUX_PAGETRACK_H
#define _UAPI_LINUX_PAGETRACK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PAGETRACK_DEVICE_NAME	"pagetrack"
#define PAGETRACK_IOC_MAGIC	0xB8

/* Target the process named by @pid (a PID in the caller's namespace). */
#define PAGETRACK_ATTACH_PID	(1U << 0)
/* Target the process named by @pid, which holds a pidfd. */
#define PAGETRACK_ATTACH_PIDFD	(1U << 1)
/* Also ask the KVM VM @kvm_fd for the accessed bits of its guest. */
#define PAGETRACK_ATTACH_KVM	(1U << 2)
#define PAGETRACK_ATTACH_FLAGS	(PAGETRACK_ATTACH_PID | PAGETRACK_ATTACH_PIDFD | \
				 PAGETRACK_ATTACH_KVM)

/**
 * struct pagetrack_attach - argument of %PAGETRACK_IOC_ATTACH
 * @size: sizeof(struct pagetrack_attach) as the caller knows it; at least
 *	%PAGETRACK_ATTACH_SIZE_VER0.
 * @flags: %PAGETRACK_ATTACH_PID or %PAGETRACK_ATTACH_PIDFD (not both) to
 *	name the target; neither tracks the caller.  Tracking a process
 *	whose address space is not the caller's needs %CAP_SYS_ADMIN and
 *	%CAP_SYS_PTRACE in the initial user namespace, held both by the
 *	credentials the file was opened with and by the caller, else
 *	%EPERM; tracking the caller needs nothing beyond opening the device.
 *	%PAGETRACK_ATTACH_KVM adds a KVM VM.
 * @start: first byte of the range to track, page aligned, a user virtual
 *	address of the target process.
 * @length: length of the range in bytes, page aligned, non-zero; the range
 *	must not wrap and must lie below the top of the user address space.
 *	It need not be mapped, now or ever: holes scan as not present.
 * @pid: PID or pidfd of the target, per @flags; must be 0 otherwise.
 * @kvm_fd: with %PAGETRACK_ATTACH_KVM, a KVM VM file descriptor whose VM
 *	belongs to the target process (its memory is the target's); must be
 *	0 otherwise.
 *
 * Attaches the open file (a tracker session) to the range.  A session
 * attaches once; open the device again for another range.  The session
 * keeps no pages pinned and does not keep the target's memory alive after
 * the target exits: scans then fail with %ESRCH.
 */
struct pagetrack_attach {
	__u32 size;
	__u32 flags;
	__u64 start;
	__u64 length;
	__s32 pid;
	__s32 kvm_fd;
};

#define PAGETRACK_ATTACH_SIZE_VER0	32

/* Test-and-clear the accessed bits of the scanned pages (host and KVM). */
#define PAGETRACK_SCAN_CLEAR_ACCESSED	(1U << 0)
/* Report host page-table bits only, even with a KVM VM attached. */
#define PAGETRACK_SCAN_HOST_ONLY	(1U << 1)
/*
 * Report (and with %PAGETRACK_SCAN_CLEAR_ACCESSED clear) only the accessed
 * bits in KVM's tables: the guest's own accesses.  Host accessed bits also
 * come from the host's accesses and from fault-around, which maps the
 * neighbours of a faulting file page young on x86.  Needs a KVM VM.
 */
#define PAGETRACK_SCAN_GUEST_ONLY	(1U << 2)
#define PAGETRACK_SCAN_FLAGS	(PAGETRACK_SCAN_CLEAR_ACCESSED | \
				 PAGETRACK_SCAN_HOST_ONLY | \
				 PAGETRACK_SCAN_GUEST_ONLY)

/**
 * struct pagetrack_scan - argument of %PAGETRACK_IOC_SCAN
 * @size: sizeof(struct pagetrack_scan) as the caller knows it; at least
 *	%PAGETRACK_SCAN_SIZE_VER0.
 * @flags: %PAGETRACK_SCAN_CLEAR_ACCESSED, and at most one of
 *	%PAGETRACK_SCAN_HOST_ONLY and %PAGETRACK_SCAN_GUEST_ONLY.
 * @start: first byte to scan, page aligned, inside the attached range.
 * @length: bytes to scan, page aligned, non-zero, inside the attached
 *	range.
 * @bitmap_bytes: size in bytes of each bitmap buffer supplied; at least
 *	8 * DIV_ROUND_UP(@length / page size, 64).
 * @present: user pointer to a bitmap, or 0: pages mapped by a present
 *	page-table entry.  Swapped-out, unpopulated and unmapped pages are
 *	not present.
 * @accessed: user pointer to a bitmap, or 0: pages whose accessed bit is
 *	set in the host page tables or, with a KVM VM attached, in KVM's
 *	(only the host's with %PAGETRACK_SCAN_HOST_ONLY, only KVM's with
 *	%PAGETRACK_SCAN_GUEST_ONLY).
 * @dirty: user pointer to a bitmap, or 0: pages whose host dirty bit is
 *	set (written through this mapping since it was established).  Guest
 *	writes through KVM are seen by KVM_GET_DIRTY_LOG, not here.
 * @written: user pointer to a bitmap, or 0: pages of private file mappings
 *	that now hold an anonymous copy, i.e. were written since mapped.
 * @nr_present: out: pages set in the present bitmap.
 * @nr_accessed: out: pages set in the accessed bitmap.
 * @nr_dirty: out: pages set in the dirty bitmap.
 * @nr_written: out: pages set in the written bitmap.
 * @nr_kvm_queries: out: calls into KVM's MMU notifier made by this scan:
 *	one per page the host maps 4 KiB, one per KVM huge entry.
 * @duration_ns: out: time the scan took.
 *
 * Each bitmap has the layout of KVM's dirty log: bit i of an array of
 * little-endian 64-bit words stands for page @start + i * page size.
 * The counts are filled in even when no bitmap is asked for.
 *
 * Accessed bits are exact at the granularity of the entry that holds them:
 * a host huge page, or a huge KVM entry, has one accessed bit, and each of
 * its base pages is reported with it.  Clearing and non-clearing scans
 * report the same pages for the same state.  A clearing scan hands each
 * bit it consumes to the page (as an access, for reclaim) and flushes the
 * TLBs of the target's CPUs and of the VM once.  A scan that fails after
 * its first chunk (%EFAULT on a bitmap, %EINTR) may have cleared bits of
 * the chunks before.  Documentation/pagetrack.rst gives the details.
 */
struct pagetrack_scan {
	__u32 size;
	__u32 flags;
	__u64 start;
	__u64 length;
	__u64 bitmap_bytes;
	__u64 present;
	__u64 accessed;
	__u64 dirty;
	__u64 written;
	__u64 nr_present;
	__u64 nr_accessed;
	__u64 nr_dirty;
	__u64 nr_written;
	__u64 nr_kvm_queries;
	__u64 duration_ns;
};

#define PAGETRACK_SCAN_SIZE_VER0	112

#define PAGETRACK_IOC_ATTACH	_IOW(PAGETRACK_IOC_MAGIC, 0x01, struct pagetrack_attach)
#define PAGETRACK_IOC_SCAN	_IOWR(PAGETRACK_IOC_MAGIC, 0x02, struct pagetrack_scan)

/*
 * Generic netlink family for introspection: a dump of
 * %PAGETRACK_CMD_GET_SESSION lists the live sessions, one message each.
 */
#define PAGETRACK_GENL_NAME	"pagetrack"
#define PAGETRACK_GENL_VERSION	1

/**
 * enum pagetrack_cmd - generic netlink commands of the pagetrack family
 * @PAGETRACK_CMD_UNSPEC: unused
 * @PAGETRACK_CMD_GET_SESSION: dump the live tracker sessions
 * @__PAGETRACK_CMD_MAX: one past the last command
 */
enum pagetrack_cmd {
	PAGETRACK_CMD_UNSPEC,
	PAGETRACK_CMD_GET_SESSION,
	__PAGETRACK_CMD_MAX,
};

/**
 * enum pagetrack_attr - attributes of a %PAGETRACK_CMD_GET_SESSION message
 * @PAGETRACK_A_UNSPEC: unused
 * @PAGETRACK_A_SESSION_ID: u32, unique while the module is loaded
 * @PAGETRACK_A_OWNER_PID: u32, process that opened the session
 * @PAGETRACK_A_TARGET_PID: u32, process whose memory is tracked; 0 if the
 *	session is not attached
 * @PAGETRACK_A_START: u64, first byte of the range
 * @PAGETRACK_A_LENGTH: u64, bytes in the range
 * @PAGETRACK_A_PAGES: u64, pages in the range
 * @PAGETRACK_A_KVM: flag, a KVM VM is attached
 * @PAGETRACK_A_SCANS: u64, scans done
 * @PAGETRACK_A_LAST_SCAN_NS: u64, duration of the last scan
 * @PAGETRACK_A_LAST_PRESENT: u64, present pages found by the last scan
 * @PAGETRACK_A_LAST_ACCESSED: u64, accessed pages found by the last scan
 * @PAGETRACK_A_LAST_DIRTY: u64, dirty pages found by the last scan
 * @PAGETRACK_A_LAST_WRITTEN: u64, written pages found by the last scan
 * @PAGETRACK_A_PAD: padding for 64-bit attributes
 * @__PAGETRACK_A_MAX: one past the last attribute
 */
enum pagetrack_attr {
	PAGETRACK_A_UNSPEC,
	PAGETRACK_A_SESSION_ID,
	PAGETRACK_A_OWNER_PID,
	PAGETRACK_A_TARGET_PID,
	PAGETRACK_A_START,
	PAGETRACK_A_LENGTH,
	PAGETRACK_A_PAGES,
	PAGETRACK_A_KVM,
	PAGETRACK_A_SCANS,
	PAGETRACK_A_LAST_SCAN_NS,
	PAGETRACK_A_LAST_PRESENT,
	PAGETRACK_A_LAST_ACCESSED,
	PAGETRACK_A_LAST_DIRTY,
	PAGETRACK_A_LAST_WRITTEN,
	PAGETRACK_A_PAD,
	__PAGETRACK_A_MAX,
};

#define PAGETRACK_A_MAX		(__PAGETRACK_A_MAX - 1)

#endif /* _UAPI_LINUX_PAGETRACK_H */
