/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Virtio 1.x devices over the virtio-mmio transport (virtio spec 1.2,
 * section 4.2.2, the "modern" register layout), as Firecracker gives them
 * to an x86 guest: one 4 KiB register window per device from
 * VIRTIO_MMIO_BASE, one edge-triggered IOAPIC interrupt each, announced
 * both on the kernel command line (virtio_mmio.device=, for kernels built
 * with VIRTIO_MMIO_CMDLINE_DEVICES) and in the DSDT (_HID LNRO0005, for
 * kernels such as Debian's that find them through ACPI only).
 *
 * Threads: the vCPU that touches a register window runs the transport
 * (virtio_mmio.c); each device's queues are served by a thread of its own
 * (core.c), woken by an ioeventfd on QueueNotify and by any descriptor the
 * device watches, and it raises interrupts through an irqfd.  So a slow
 * request never holds a vCPU, and a vCPU never waits for a request except
 * while it resets or activates the device.
 *
 * Locks, always taken in this order: @work is held by the device thread
 * while it serves events, and by whoever must see the device idle (pause,
 * reset, activation, save); @lock guards the transport's registers and
 * the interrupt status.
 */
#ifndef VMM_VIRTIO_H
#define VMM_VIRTIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ratelimit.h"
#include "vmm.h"

struct vsbuf;
struct vstate;

/* Firecracker's x86 layout: windows from 0xd0000000, legacy IRQs from 5. */
#define VIRTIO_MMIO_BASE	0xd0000000ULL
#define VIRTIO_MMIO_SIZE	0x1000ULL
#define VIRTIO_MAX_DEVS		VMM_MAX_VIRTIO
#define VIRTIO_MAX_QUEUES	8
#define VIRTIO_VENDOR_ID	0x4b545450	/* "PTTK" */

/* A descriptor chain: at most this many buffers, else it is malformed. */
#define VIRTQ_MAX_SEGS		260

/* One split virtqueue, as the driver set it up (guest-physical rings). */
struct virtq {
	uint16_t max_size;	/* QueueNumMax */
	uint16_t size;		/* QueueNum */
	bool ready;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint16_t last_avail;	/* next available entry the device takes */
	uint16_t used_idx;	/* the device's copy of used->idx */
	/* Host addresses of the rings, checked at QueueReady. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int kick_fd;		/* ioeventfd on QueueNotify, this index */
};

/*
 * A request taken from a queue: the driver's device-readable buffers in
 * @out, then its device-writable ones in @in (host addresses, checked to
 * lie in guest RAM), with the guest-physical address of each writable one
 * so that what the device writes is marked dirty.
 */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out;
	unsigned int nr_in;
	size_t out_len;		/* bytes in @out */
	size_t in_len;		/* room in @in */
	struct iovec out[VIRTQ_MAX_SEGS];
	struct iovec in[VIRTQ_MAX_SEGS];
	uint64_t in_gpa[VIRTQ_MAX_SEGS];
};

struct virtio_dev;

/* Called in the device thread, @work held, when @fd reports @events. */
typedef void (*virtio_fd_fn)(struct virtio_dev *vdev, int fd,
			     uint32_t events, void *arg);

struct virtio_dev_ops {
	const char *name;	/* "block": for logs and errors */
	uint32_t device_id;	/* VIRTIO_ID_* */
	unsigned int nr_queues;
	uint16_t queue_max;
	/* Device-type features; the transport adds VIRTIO_F_VERSION_1. */
	uint64_t features;
	/* The device-specific configuration space, @len bytes at @offset. */
	void (*config_read)(struct virtio_dev *vdev, uint32_t offset,
			    void *data, uint32_t len);
	void (*config_write)(struct virtio_dev *vdev, uint32_t offset,
			     const void *data, uint32_t len);
	/*
	 * The driver set DRIVER_OK with every queue it uses ready; @work
	 * held.  Non-zero refuses: the device then needs a reset.
	 */
	int (*activate)(struct virtio_dev *vdev);
	/* The driver reset the device; @work held; queues already cleared. */
	void (*reset)(struct virtio_dev *vdev);
	/* Queue @q was kicked (or may have work after a restore); @work held. */
	void (*queue_notify)(struct virtio_dev *vdev, unsigned int q);
	/*
	 * The device's own state, appended to @b after the transport's
	 * (configuration such as a drive's path included: a restore has
	 * nothing else), as raw bytes: vsbuf__append().  @version names
	 * its layout.
	 */
	uint32_t version;
	int (*save)(struct virtio_dev *vdev, struct vsbuf *b);
	/* The VM was restored and is about to run; @work held. */
	void (*restored)(struct virtio_dev *vdev);
	/* Words for the kernel command line (root=...), appended to @buf. */
	int (*cmdline)(struct virtio_dev *vdev, char *buf, size_t size);
	/* Release everything the device holds; the thread has stopped. */
	void (*free)(struct virtio_dev *vdev);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct vm *vm;
	void *priv;		/* the device type's own structure */
	char id[64];		/* the API's id (drive_id, "vsock", ...) */
	unsigned int index;	/* register window and IRQ slot */
	/* Offered: ops->features and what this instance adds (a MAC). */
	uint64_t features;
	uint64_t mmio_base;
	unsigned int irq;
	int irq_fd;		/* irqfd: a write raises the interrupt */

	pthread_mutex_t work;
	pthread_mutex_t lock;
	/* Registers, under @lock. */
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq vqs[VIRTIO_MAX_QUEUES];

	/* The device thread. */
	pthread_t thread;
	bool thread_running;
	int epoll_fd;
	int stop_fd;		/* eventfd: ends the thread */
	bool paused;		/* under @work */
	bool stopping;		/* under @work */
	pthread_cond_t unpaused;
	unsigned int nr_watches;
	struct virtio_watch {
		int fd;
		virtio_fd_fn fn;
		void *arg;
	} watches[16];
};

/* core.c: devices of a VM, their threads, snapshots. */
/*
 * A new device of @ops in the next free slot, with its register window
 * and interrupt wired to KVM; the thread starts with the VM
 * (virtio__start_all).  @id names it to the API.
 */
struct virtio_dev *virtio_dev__new(struct vm *vm,
				   const struct virtio_dev_ops *ops,
				   const char *id, void *priv, char *err,
				   size_t errlen);
/* Serve @fd in the device thread: @fn runs when it reports @events. */
int virtio_dev__watch(struct virtio_dev *vdev, int fd, uint32_t events,
		      virtio_fd_fn fn, void *arg);
void virtio_dev__unwatch(struct virtio_dev *vdev, int fd);
struct virtio_dev *virtio__find(struct vm *vm, const char *id);
int virtio__start_all(struct vm *vm);
/* Every device idle and held so, before a snapshot; then let go. */
void virtio__pause_all(struct vm *vm);
void virtio__resume_all(struct vm *vm);
void virtio__destroy_all(struct vm *vm);
/*
 * " virtio_mmio.device=4K@0x...:IRQ" for each device, and what the device
 * itself adds, appended to the string in @buf; -E2BIG if it does not fit.
 */
int virtio__cmdline(struct vm *vm, char *buf, size_t size);
/* One VS_VIRTIO section per device (devices paused). */
int virtio__save_all(struct vm *vm, struct vsbuf *b);
/*
 * Recreate the devices of @vs's VS_VIRTIO sections, in their slots, with
 * their state; refuse an unknown device type, version or malformed
 * section with a reason.
 */
int virtio__restore_all(struct vm *vm, const struct vstate *vs, char *err,
			size_t errlen);
/* Restored devices look at their queues and re-raise pending interrupts. */
void virtio__restored_all(struct vm *vm);

/* virtio_mmio.c: the transport. */
int virtio_mmio__init(struct virtio_dev *vdev, char *err, size_t errlen);
void virtio_mmio__exit(struct virtio_dev *vdev);
/* Raise a used-buffer interrupt (unless the driver suppressed it). */
void virtio_dev__signal_used(struct virtio_dev *vdev, struct virtq *q);
void virtio_dev__signal_config(struct virtio_dev *vdev);
/*
 * The driver broke the protocol (a descriptor outside RAM, a loop): log
 * @why, set DEVICE_NEEDS_RESET and tell the driver; the device serves
 * nothing until it is reset.
 */
void virtio_dev__needs_reset(struct virtio_dev *vdev, const char *why);
bool virtio_dev__broken(struct virtio_dev *vdev);
bool virtio_dev__has_feature(struct virtio_dev *vdev, unsigned int bit);

/* virtq.c: split virtqueues. */
/*
 * Take the next available chain of @q into @c: 1, 0 when there is none,
 * or -EINVAL when it is malformed (the device then needs a reset).
 */
int virtq__pop(struct virtio_dev *vdev, struct virtq *q,
	       struct virtq_chain *c);
/*
 * Give @c back as used with @written bytes written into its @in buffers,
 * which are marked dirty for snapshots and working sets.
 */
void virtq__push(struct virtio_dev *vdev, struct virtq *q,
		 const struct virtq_chain *c, uint32_t written);
/* Copy helpers over a chain's buffers: bytes copied. */
size_t virtq__read(const struct virtq_chain *c, size_t offset, void *buf,
		   size_t len);
size_t virtq__write(const struct virtq_chain *c, size_t offset,
		    const void *buf, size_t len);
/* Validate and map @q's rings (QueueReady=1): 0 or -EINVAL. */
int virtq__map(struct virtio_dev *vdev, struct virtq *q);
void virtq__reset(struct virtq *q);
/* Put the chain just popped back, to take again later (rate limits). */
void virtq__unpop(struct virtq *q);

/* limiter.c: a device's rate limiter and its timer. */
struct virtio_limiter {
	struct rate_limit_config cfg;
	struct rate_limiter rl;
	int timer_fd;
	void (*wake)(struct virtio_dev *vdev, void *arg);
	void *arg;
};

/* @wake runs in the device thread when a refused request may go. */
int virtio_limiter__init(struct virtio_dev *vdev, struct virtio_limiter *l,
			 const struct rate_limit_config *cfg,
			 void (*wake)(struct virtio_dev *vdev, void *arg),
			 void *arg);
void virtio_limiter__exit(struct virtio_limiter *l);
/* May a request of @bytes go now?  If not, the timer is armed. */
bool virtio_limiter__consume(struct virtio_limiter *l, uint64_t bytes);
/* PATCH: replace the bandwidth ([0]) and ops ([1]) buckets @given. */
void virtio_limiter__update(struct virtio_limiter *l,
			    const struct rate_limit_config *cfg,
			    const bool given[2]);

/* net.c */
struct net_iface_config {
	char iface_id[64];
	char host_dev_name[16];		/* IFNAMSIZ */
	bool have_mac;
	uint8_t mac[6];
	uint16_t mtu;			/* 0: not advertised */
	struct rate_limit_config rx_limit;
	struct rate_limit_config tx_limit;
};

/* The TAP device @name, set up for virtio-net frames; fd or -errno. */
int net_tap__open(const char *name, char *err, size_t errlen);
int virtio_net__create(struct vm *vm, const struct net_iface_config *cfg,
		       char *err, size_t errlen);
/* PATCH /network-interfaces: the rate-limiter buckets given. */
int virtio_net__update(struct vm *vm, const char *iface_id,
		       const struct rate_limit_config *rx,
		       const bool rx_given[2],
		       const struct rate_limit_config *tx,
		       const bool tx_given[2], char *err, size_t errlen);

/*
 * Each device type's restore: create the device @id from the state its
 * ops->save wrote (layout @version), in the next free slot; core.c then
 * puts the transport's state back.  Types are found by VIRTIO_ID_* in
 * core.c's table.
 */
typedef int (*virtio_restore_fn)(struct vm *vm, const char *id,
				 uint32_t version, const void *state,
				 size_t len, char *err, size_t errlen);

/* blk.c */
#define VIRTIO_BLK_MAX_DRIVES	8
#define VIRTIO_BLK_ID_LEN	64	/* drive_id, with its NUL */
#define VIRTIO_BLK_PATH_LEN	4096
#define VIRTIO_BLK_PARTUUID_LEN	64

/* One drive as PUT /drives/{drive_id} configured it. */
struct virtio_drive_config {
	char drive_id[VIRTIO_BLK_ID_LEN];
	char path[VIRTIO_BLK_PATH_LEN];
	char partuuid[VIRTIO_BLK_PARTUUID_LEN];	/* "" when none */
	bool root;
	bool read_only;
	bool writeback;		/* cache_type Writeback, else Unsafe */
	struct rate_limit_config limit;
};

/*
 * Open @path as a drive would (read-only or read-write): the fd, its
 * size in bytes in @size; or -errno with a reason in @err.
 */
int virtio_blk__open(const char *path, bool read_only, uint64_t *size,
		     char *err, size_t errlen);
int virtio_blk__create(struct vm *vm, const struct virtio_drive_config *cfg,
		       char *err, size_t errlen);
/* The configuration of @vm's drives, at most @max, in slot order. */
unsigned int virtio_blk__configs(struct vm *vm, struct virtio_drive_config *out,
				 unsigned int max);
/*
 * PATCH /drives/{drive_id}: back drive @id by @path from now on (unless
 * NULL), and replace the rate-limiter buckets @given (unless NULL).
 */
int virtio_blk__update(struct vm *vm, const char *id, const char *path,
		       const struct rate_limit_config *limit,
		       const bool given[2], char *err, size_t errlen);
int virtio_blk__restore(struct vm *vm, const char *id, uint32_t version,
			const void *state, size_t len, char *err,
			size_t errlen);

int virtio_net__restore(struct vm *vm, const char *id, uint32_t version,
			const void *state, size_t len, char *err,
			size_t errlen);

/* rng.c */
struct virtio_rng_config {
	bool present;
	struct rate_limit_config limit;
};

int virtio_rng__create(struct vm *vm, const struct virtio_rng_config *cfg,
		       char *err, size_t errlen);
int virtio_rng__restore(struct vm *vm, const char *id, uint32_t version,
			const void *state, size_t len, char *err,
			size_t errlen);

/* vsock.c */
struct virtio_vsock_params {
	bool present;
	uint32_t guest_cid;
	char uds_path[108];	/* a sockaddr_un's sun_path */
};

/* Whether a socket can be bound at @path (bound, then removed again). */
int virtio_vsock__check_path(const char *path, char *err, size_t errlen);
/* The device, its listener bound at @cfg->uds_path (removed at exit). */
int virtio_vsock__create(struct vm *vm, const struct virtio_vsock_params *cfg,
			 char *err, size_t errlen);
int virtio_vsock__restore(struct vm *vm, const char *id, uint32_t version,
			  const void *state, size_t len, char *err,
			  size_t errlen);

#endif
