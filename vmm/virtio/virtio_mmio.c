// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport, version 2 ("modern") registers: feature
 * negotiation, queue setup, status and interrupts.  Runs in the vCPU
 * thread that touched the window.  QueueNotify is normally caught by KVM
 * through an ioeventfd and never exits to here; the interrupt goes into
 * KVM through an irqfd, so neither path takes a lock the device thread
 * holds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/virtio.h"

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION_2	2

static uint64_t virtio_dev__offered(const struct virtio_dev *vdev)
{
	return vdev->features | (1ULL << VIRTIO_F_VERSION_1);
}

bool virtio_dev__has_feature(struct virtio_dev *vdev, unsigned int bit)
{
	return vdev->driver_features & (1ULL << bit);
}

bool virtio_dev__broken(struct virtio_dev *vdev)
{
	bool broken;

	pthread_mutex_lock(&vdev->lock);
	broken = vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET;
	pthread_mutex_unlock(&vdev->lock);
	return broken;
}

static void virtio_dev__raise(struct virtio_dev *vdev, uint32_t why)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vdev->lock);
	vdev->interrupt_status |= why;
	pthread_mutex_unlock(&vdev->lock);
	if (write(vdev->irq_fd, &one, sizeof(one)) < 0)
		vmm__log("virtio %s: cannot raise IRQ %u: %s", vdev->id,
			 vdev->irq, strerror(errno));
}

void virtio_dev__signal_used(struct virtio_dev *vdev, struct virtq *q)
{
	/* The used index is out before the driver's flag is looked at. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED) &
	    VRING_AVAIL_F_NO_INTERRUPT)
		return;
	virtio_dev__raise(vdev, VIRTIO_MMIO_INT_VRING);
}

void virtio_dev__signal_config(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	vdev->config_generation++;
	pthread_mutex_unlock(&vdev->lock);
	virtio_dev__raise(vdev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_dev__needs_reset(struct virtio_dev *vdev, const char *why)
{
	bool live;

	vmm__log("virtio %s (%s): %s; the device needs a reset", vdev->id,
		 vdev->ops->name, why);
	pthread_mutex_lock(&vdev->lock);
	vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	live = vdev->status & VIRTIO_CONFIG_S_DRIVER_OK;
	pthread_mutex_unlock(&vdev->lock);
	if (live)
		virtio_dev__raise(vdev, VIRTIO_MMIO_INT_CONFIG);
}

/* Reset (status 0): @work and @lock held. */
static void virtio_dev__reset(struct virtio_dev *vdev)
{
	unsigned int q;

	for (q = 0; q < vdev->ops->nr_queues; q++)
		virtq__reset(&vdev->vqs[q]);
	vdev->status = 0;
	vdev->driver_features = 0;
	vdev->device_features_sel = 0;
	vdev->driver_features_sel = 0;
	vdev->queue_sel = 0;
	vdev->interrupt_status = 0;
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
}

/*
 * A status write: FEATURES_OK only for a subset of what was offered that
 * includes VERSION_1 (the driver reads the bit back to learn the verdict);
 * DRIVER_OK activates the device.  @work and @lock held.
 */
static void virtio_dev__set_status(struct virtio_dev *vdev, uint32_t status)
{
	uint32_t added = status & ~vdev->status;

	if (!status) {
		virtio_dev__reset(vdev);
		return;
	}
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((vdev->driver_features & ~virtio_dev__offered(vdev)) ||
	     !(vdev->driver_features & (1ULL << VIRTIO_F_VERSION_1))))
		status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	/* The device owns NEEDS_RESET; the driver cannot clear it. */
	status |= vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET;
	vdev->status = status;
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		if (!(status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
			vmm__log("virtio %s: DRIVER_OK before FEATURES_OK",
				 vdev->id);
			return;
		}
		pthread_mutex_unlock(&vdev->lock);
		if (vdev->ops->activate && vdev->ops->activate(vdev))
			virtio_dev__needs_reset(vdev, "activation failed");
		pthread_mutex_lock(&vdev->lock);
	}
}

static struct virtq *virtio_dev__selected(struct virtio_dev *vdev)
{
	if (vdev->queue_sel >= vdev->ops->nr_queues)
		return NULL;
	return &vdev->vqs[vdev->queue_sel];
}

static uint32_t virtio_mmio__read_reg(struct virtio_dev *vdev,
				      uint64_t offset)
{
	struct virtq *q = virtio_dev__selected(vdev);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (vdev->device_features_sel > 1)
			return 0;
		return virtio_dev__offered(vdev) >>
		       (32 * vdev->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return vdev->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return vdev->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return ~0U;	/* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return vdev->config_generation;
	default:
		return 0;
	}
}

static void set_low(uint64_t *v, uint32_t val)
{
	*v = (*v & ~0xffffffffULL) | val;
}

static void set_high(uint64_t *v, uint32_t val)
{
	*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
}

/* Queue registers count only while the queue is not live. */
static void virtio_mmio__write_queue(struct virtio_dev *vdev, uint64_t offset,
				     uint32_t val)
{
	struct virtq *q = virtio_dev__selected(vdev);

	if (!q || q->ready) {
		if (q && offset == VIRTIO_MMIO_QUEUE_READY && !val)
			q->ready = false;
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->size = val;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_low(&q->desc_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_high(&q->desc_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_low(&q->avail_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_high(&q->avail_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_low(&q->used_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_high(&q->used_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!val)
			break;
		if (virtq__map(vdev, q)) {
			vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
			vmm__log("virtio %s: queue %u set up outside guest "
				 "memory or with a bad size", vdev->id,
				 vdev->queue_sel);
			break;
		}
		q->last_avail = 0;
		q->used_idx = 0;
		q->ready = true;
		break;
	}
}

/* @lock held, and @work too for a status or queue-ready write. */
static void virtio_mmio__write_reg(struct virtio_dev *vdev, uint64_t offset,
				   uint32_t val)
{
	uint64_t one = 1;

	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vdev->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vdev->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)
			break;
		if (vdev->driver_features_sel == 0)
			set_low(&vdev->driver_features, val);
		else if (vdev->driver_features_sel == 1)
			set_high(&vdev->driver_features, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		vdev->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Only without an ioeventfd; the device thread does the rest. */
		if (val < vdev->ops->nr_queues &&
		    write(vdev->vqs[val].kick_fd, &one, sizeof(one)) < 0)
			vmm__warn("virtio %s: lost a kick", vdev->id);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		vdev->interrupt_status &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_dev__set_status(vdev, val);
		break;
	default:
		virtio_mmio__write_queue(vdev, offset, val);
		break;
	}
}

static void virtio_mmio__access(void *dev, uint64_t offset, uint8_t *data,
				uint32_t len, bool is_write)
{
	struct virtio_dev *vdev = dev;
	bool quiesce;
	uint32_t val;

	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (is_write && vdev->ops->config_write)
			vdev->ops->config_write(vdev,
						offset - VIRTIO_MMIO_CONFIG,
						data, len);
		else if (!is_write && vdev->ops->config_read)
			vdev->ops->config_read(vdev,
					       offset - VIRTIO_MMIO_CONFIG,
					       data, len);
		else if (!is_write)
			memset(data, 0, len);
		return;
	}
	/* Registers are 32 bits wide and aligned; the rest is ignored. */
	if (len != 4 || offset % 4) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	/*
	 * A status or queue-ready change can reset or activate the device:
	 * the device thread must be idle for that.
	 */
	quiesce = is_write && (offset == VIRTIO_MMIO_STATUS ||
			       offset == VIRTIO_MMIO_QUEUE_READY);
	if (quiesce)
		pthread_mutex_lock(&vdev->work);
	pthread_mutex_lock(&vdev->lock);
	if (is_write) {
		memcpy(&val, data, 4);
		virtio_mmio__write_reg(vdev, offset, val);
	} else {
		val = virtio_mmio__read_reg(vdev, offset);
		memcpy(data, &val, 4);
	}
	pthread_mutex_unlock(&vdev->lock);
	if (quiesce)
		pthread_mutex_unlock(&vdev->work);
}

int virtio_mmio__init(struct virtio_dev *vdev, char *err, size_t errlen)
{
	struct kvm_irqfd irqfd = { 0 };
	struct kvm_ioeventfd kick;
	struct vm *vm = vdev->vm;
	unsigned int q;

	vdev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->irq_fd < 0)
		goto fail;
	irqfd.fd = vdev->irq_fd;
	irqfd.gsi = vdev->irq;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		goto fail;
	for (q = 0; q < vdev->ops->nr_queues; q++) {
		vdev->vqs[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vdev->vqs[q].kick_fd < 0)
			goto fail;
		kick = (struct kvm_ioeventfd) {
			.datamatch = q,
			.addr = vdev->mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = vdev->vqs[q].kick_fd,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &kick) < 0)
			goto fail;
	}
	if (mmio__register(vdev->mmio_base, VIRTIO_MMIO_SIZE,
			   virtio_mmio__access, vdev)) {
		errno = ENOSPC;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "virtio %s: %s", vdev->ops->name,
		 strerror(errno));
	return -errno;
}

/*
 * Closing the irqfd's eventfd ends its binding in KVM; the ioeventfds
 * stay registered until the VM goes, signalling a context nobody reads.
 */
void virtio_mmio__exit(struct virtio_dev *vdev)
{
	unsigned int q;

	mmio__unregister(vdev->mmio_base);
	for (q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (vdev->vqs[q].kick_fd >= 0)
			close(vdev->vqs[q].kick_fd);
		vdev->vqs[q].kick_fd = -1;
	}
	if (vdev->irq_fd >= 0)
		close(vdev->irq_fd);
	vdev->irq_fd = -1;
}
