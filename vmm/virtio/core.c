// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio devices of a VM: slots, each device's thread, pausing them
 * for a snapshot, and their sections in the vmstate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm.h"
#include "vmstate.h"
#include "virtio/virtio.h"

/* IRQs no legacy device of this VMM uses (COM1 4, SCI 9, i8042 1/12). */
static const unsigned int slot_irqs[VIRTIO_MAX_DEVS] = {
	5, 6, 7, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
};

static const struct {
	uint32_t device_id;
	virtio_restore_fn restore;
} virtio_types[] = {
	{ VIRTIO_ID_BLOCK, virtio_blk__restore },
	{ VIRTIO_ID_NET, virtio_net__restore },
	{ VIRTIO_ID_VSOCK, virtio_vsock__restore },
	{ VIRTIO_ID_RNG, virtio_rng__restore },
};

struct virtio_dev *virtio_dev__new(struct vm *vm,
				   const struct virtio_dev_ops *ops,
				   const char *id, void *priv, char *err,
				   size_t errlen)
{
	struct virtio_dev *vdev;
	unsigned int i;

	if (vm->nr_virtio == VIRTIO_MAX_DEVS) {
		snprintf(err, errlen, "at most %u virtio devices",
			 VIRTIO_MAX_DEVS);
		return NULL;
	}
	if (strlen(id) >= sizeof(vdev->id)) {
		snprintf(err, errlen, "device id '%s' is too long", id);
		return NULL;
	}
	vdev = calloc(1, sizeof(*vdev));
	if (!vdev) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	vdev->ops = ops;
	vdev->features = ops->features;
	vdev->vm = vm;
	vdev->priv = priv;
	strcpy(vdev->id, id);
	vdev->index = vm->nr_virtio;
	vdev->mmio_base = VIRTIO_MMIO_BASE + vdev->index * VIRTIO_MMIO_SIZE;
	vdev->irq = slot_irqs[vdev->index];
	vdev->irq_fd = -1;
	vdev->epoll_fd = -1;
	vdev->stop_fd = -1;
	pthread_mutex_init(&vdev->work, NULL);
	pthread_mutex_init(&vdev->lock, NULL);
	pthread_cond_init(&vdev->unpaused, NULL);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vdev->vqs[i].kick_fd = -1;
		vdev->vqs[i].max_size = i < ops->nr_queues ? ops->queue_max : 0;
	}

	vdev->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	vdev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->epoll_fd < 0 || vdev->stop_fd < 0) {
		snprintf(err, errlen, "%s: %s", ops->name, strerror(errno));
		goto fail;
	}
	if (virtio_dev__watch(vdev, vdev->stop_fd, EPOLLIN, NULL, NULL) ||
	    virtio_mmio__init(vdev, err, errlen))
		goto fail;
	vm->virtio[vm->nr_virtio++] = vdev;
	return vdev;
fail:
	virtio_mmio__exit(vdev);
	if (vdev->epoll_fd >= 0)
		close(vdev->epoll_fd);
	if (vdev->stop_fd >= 0)
		close(vdev->stop_fd);
	free(vdev);
	return NULL;
}

int virtio_dev__watch(struct virtio_dev *vdev, int fd, uint32_t events,
		      virtio_fd_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events };
	unsigned int i;

	if (vdev->nr_watches == ARRAY_SIZE(vdev->watches))
		return -ENOSPC;
	i = vdev->nr_watches++;
	vdev->watches[i] = (struct virtio_watch) {
		.fd = fd, .fn = fn, .arg = arg,
	};
	ev.data.fd = fd;
	if (epoll_ctl(vdev->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		vdev->nr_watches--;
		return -errno;
	}
	return 0;
}

void virtio_dev__unwatch(struct virtio_dev *vdev, int fd)
{
	unsigned int i;

	for (i = 0; i < vdev->nr_watches; i++) {
		if (vdev->watches[i].fd != fd)
			continue;
		epoll_ctl(vdev->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		vdev->watches[i] = vdev->watches[--vdev->nr_watches];
		return;
	}
}

static struct virtio_watch *virtio_dev__watch_of(struct virtio_dev *vdev,
						 int fd)
{
	unsigned int i;

	for (i = 0; i < vdev->nr_watches; i++)
		if (vdev->watches[i].fd == fd)
			return &vdev->watches[i];
	return NULL;
}

/* A kick: drain the ioeventfd, then let the device serve the queue. */
static void virtio_dev__kicked(struct virtio_dev *vdev, int fd,
			       uint32_t events, void *arg)
{
	unsigned int q = (uintptr_t)arg;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    virtio_dev__broken(vdev) || !vdev->vqs[q].ready)
		return;
	vdev->ops->queue_notify(vdev, q);
}

static void *virtio_dev__thread(void *arg)
{
	struct virtio_dev *vdev = arg;
	struct epoll_event evs[8];
	int i, n;

	for (;;) {
		n = epoll_wait(vdev->epoll_fd, evs, ARRAY_SIZE(evs), -1);
		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&vdev->work);
		while (vdev->paused && !vdev->stopping)
			pthread_cond_wait(&vdev->unpaused, &vdev->work);
		if (vdev->stopping) {
			pthread_mutex_unlock(&vdev->work);
			break;
		}
		for (i = 0; i < n; i++) {
			struct virtio_watch *w =
				virtio_dev__watch_of(vdev, evs[i].data.fd);

			/* A callback may have dropped a later fd's watch. */
			if (w && w->fn)
				w->fn(vdev, w->fd, evs[i].events, w->arg);
		}
		pthread_mutex_unlock(&vdev->work);
	}
	return NULL;
}

struct virtio_dev *virtio__find(struct vm *vm, const char *id)
{
	unsigned int i;

	for (i = 0; i < vm->nr_virtio; i++)
		if (!strcmp(vm->virtio[i]->id, id))
			return vm->virtio[i];
	return NULL;
}

int virtio__start_all(struct vm *vm)
{
	struct virtio_dev *vdev;
	unsigned int i, q;
	int ret;

	for (i = 0; i < vm->nr_virtio; i++) {
		vdev = vm->virtio[i];
		for (q = 0; q < vdev->ops->nr_queues; q++) {
			ret = virtio_dev__watch(vdev, vdev->vqs[q].kick_fd,
						EPOLLIN, virtio_dev__kicked,
						(void *)(uintptr_t)q);
			if (ret)
				return ret;
		}
		ret = -pthread_create(&vdev->thread, NULL, virtio_dev__thread,
				      vdev);
		if (ret)
			return ret;
		vdev->thread_running = true;
	}
	return 0;
}

void virtio__pause_all(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_virtio; i++) {
		pthread_mutex_lock(&vm->virtio[i]->work);
		vm->virtio[i]->paused = true;
		pthread_mutex_unlock(&vm->virtio[i]->work);
	}
}

void virtio__resume_all(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_virtio; i++) {
		pthread_mutex_lock(&vm->virtio[i]->work);
		vm->virtio[i]->paused = false;
		pthread_cond_signal(&vm->virtio[i]->unpaused);
		pthread_mutex_unlock(&vm->virtio[i]->work);
	}
}

void virtio__destroy_all(struct vm *vm)
{
	struct virtio_dev *vdev;
	uint64_t one = 1;
	unsigned int i;

	for (i = 0; i < vm->nr_virtio; i++) {
		vdev = vm->virtio[i];
		if (vdev->thread_running) {
			pthread_mutex_lock(&vdev->work);
			vdev->stopping = true;
			pthread_cond_signal(&vdev->unpaused);
			pthread_mutex_unlock(&vdev->work);
			if (write(vdev->stop_fd, &one, sizeof(one)) < 0)
				vmm__log("%s: cannot stop its thread",
					 vdev->ops->name);
			pthread_join(vdev->thread, NULL);
		}
		if (vdev->ops->free)
			vdev->ops->free(vdev);
		virtio_mmio__exit(vdev);
		close(vdev->epoll_fd);
		close(vdev->stop_fd);
		free(vdev);
	}
	vm->nr_virtio = 0;
}

int virtio__cmdline(struct vm *vm, char *buf, size_t size)
{
	size_t len = strlen(buf);
	unsigned int i;
	int n;

	for (i = 0; i < vm->nr_virtio; i++) {
		n = snprintf(buf + len, size - len,
			     " virtio_mmio.device=4K@%#llx:%u",
			     (unsigned long long)vm->virtio[i]->mmio_base,
			     vm->virtio[i]->irq);
		if (n < 0 || (size_t)n >= size - len)
			return -E2BIG;
		len += n;
		if (vm->virtio[i]->ops->cmdline &&
		    vm->virtio[i]->ops->cmdline(vm->virtio[i], buf, size))
			return -E2BIG;
		len = strlen(buf);
	}
	return 0;
}

static void virtio_dev__save_transport(struct virtio_dev *vdev,
				       struct vs_virtio *s)
{
	unsigned int q;

	s->device_id = vdev->ops->device_id;
	s->version = vdev->ops->version;
	s->index = vdev->index;
	s->status = vdev->status;
	memcpy(s->id, vdev->id, sizeof(s->id));
	s->driver_features = vdev->driver_features;
	s->device_features_sel = vdev->device_features_sel;
	s->driver_features_sel = vdev->driver_features_sel;
	s->queue_sel = vdev->queue_sel;
	s->interrupt_status = vdev->interrupt_status;
	s->config_generation = vdev->config_generation;
	s->nr_queues = vdev->ops->nr_queues;
	for (q = 0; q < vdev->ops->nr_queues; q++) {
		const struct virtq *vq = &vdev->vqs[q];

		s->vqs[q] = (struct vs_virtq) {
			.max_size = vq->max_size, .size = vq->size,
			.last_avail = vq->last_avail, .used_idx = vq->used_idx,
			.ready = vq->ready, .desc_gpa = vq->desc_gpa,
			.avail_gpa = vq->avail_gpa, .used_gpa = vq->used_gpa,
		};
	}
}

/*
 * Section layout: struct vs_virtio, then the device's state.  The device
 * appends its part after the header is filled in: vsbuf__section()'s
 * pointer would not survive that append, so the header is copied in.
 */
int virtio__save_all(struct vm *vm, struct vsbuf *b)
{
	struct vs_virtio hdr;
	struct virtio_dev *vdev;
	struct vsbuf dev;
	unsigned int i;
	uint8_t *p;
	int ret;

	for (i = 0; i < vm->nr_virtio; i++) {
		vdev = vm->virtio[i];
		memset(&hdr, 0, sizeof(hdr));
		vsbuf__init(&dev);
		ret = vdev->ops->save ? vdev->ops->save(vdev, &dev) : 0;
		if (!ret)
			ret = dev.error;
		if (ret) {
			vsbuf__free(&dev);
			return ret;
		}
		pthread_mutex_lock(&vdev->lock);
		virtio_dev__save_transport(vdev, &hdr);
		pthread_mutex_unlock(&vdev->lock);
		hdr.state_len = dev.len;
		p = vsbuf__section(b, VS_VIRTIO, sizeof(hdr) + dev.len);
		if (p) {
			memcpy(p, &hdr, sizeof(hdr));
			memcpy(p + sizeof(hdr), dev.data, dev.len);
		}
		vsbuf__free(&dev);
		if (b->error)
			return b->error;
	}
	return 0;
}

static int virtio_dev__restore_transport(struct virtio_dev *vdev,
					 const struct vs_virtio *s, char *err,
					 size_t errlen)
{
	unsigned int q;

	if (s->nr_queues != vdev->ops->nr_queues) {
		snprintf(err, errlen, "%s %s: %u queues saved, device has %u",
			 vdev->ops->name, vdev->id, s->nr_queues,
			 vdev->ops->nr_queues);
		return -EINVAL;
	}
	vdev->status = s->status;
	vdev->driver_features = s->driver_features;
	vdev->device_features_sel = s->device_features_sel;
	vdev->driver_features_sel = s->driver_features_sel;
	vdev->queue_sel = s->queue_sel;
	vdev->interrupt_status = s->interrupt_status;
	vdev->config_generation = s->config_generation;
	for (q = 0; q < s->nr_queues; q++) {
		const struct vs_virtq *sq = &s->vqs[q];
		struct virtq *vq = &vdev->vqs[q];

		if (sq->max_size != vq->max_size || sq->size > vq->max_size) {
			snprintf(err, errlen, "%s %s: queue %u is malformed",
				 vdev->ops->name, vdev->id, q);
			return -EINVAL;
		}
		vq->size = sq->size;
		vq->last_avail = sq->last_avail;
		vq->used_idx = sq->used_idx;
		vq->desc_gpa = sq->desc_gpa;
		vq->avail_gpa = sq->avail_gpa;
		vq->used_gpa = sq->used_gpa;
		if (sq->ready && virtq__map(vdev, vq)) {
			snprintf(err, errlen,
				 "%s %s: queue %u lies outside guest memory",
				 vdev->ops->name, vdev->id, q);
			return -EINVAL;
		}
		vq->ready = sq->ready;
	}
	return 0;
}

static virtio_restore_fn virtio__restore_fn(uint32_t device_id)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(virtio_types); i++)
		if (virtio_types[i].device_id == device_id)
			return virtio_types[i].restore;
	return NULL;
}

int virtio__restore_all(struct vm *vm, const struct vstate *vs, char *err,
			size_t errlen)
{
	const struct vs_virtio *s;
	struct virtio_dev *vdev;
	virtio_restore_fn fn;
	char id[sizeof(s->id) + 1];
	unsigned int i;
	size_t len;
	int ret;

	for (i = 0; (s = vstate__find(vs, VS_VIRTIO, i, &len)); i++) {
		if (len < sizeof(*s) || len - sizeof(*s) != s->state_len ||
		    s->nr_queues > VS_VIRTIO_QUEUES) {
			snprintf(err, errlen, "virtio section %u is malformed",
				 i);
			return -EINVAL;
		}
		if (s->index != i) {
			snprintf(err, errlen, "virtio section %u is for slot %u",
				 i, s->index);
			return -EINVAL;
		}
		fn = virtio__restore_fn(s->device_id);
		if (!fn) {
			snprintf(err, errlen,
				 "virtio section %u: unknown device type %u",
				 i, s->device_id);
			return -EINVAL;
		}
		memcpy(id, s->id, sizeof(s->id));
		id[sizeof(s->id)] = '\0';
		ret = fn(vm, id, s->version, s + 1, s->state_len, err, errlen);
		if (ret)
			return ret;
		vdev = vm->virtio[vm->nr_virtio - 1];
		ret = virtio_dev__restore_transport(vdev, s, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * After a restore, the last kicks before the pause may not have been
 * served (the thread was held) and pending interrupts were not delivered:
 * let every device look at its queues once, and raise what was pending.
 */
void virtio__restored_all(struct vm *vm)
{
	struct virtio_dev *vdev;
	uint64_t one = 1;
	unsigned int i, q;

	for (i = 0; i < vm->nr_virtio; i++) {
		vdev = vm->virtio[i];
		pthread_mutex_lock(&vdev->work);
		if (vdev->ops->restored)
			vdev->ops->restored(vdev);
		pthread_mutex_unlock(&vdev->work);
		for (q = 0; q < vdev->ops->nr_queues; q++)
			if (vdev->vqs[q].ready &&
			    write(vdev->vqs[q].kick_fd, &one, sizeof(one)) < 0)
				vmm__log("%s: cannot kick queue %u",
					 vdev->ops->name, q);
		if (vdev->interrupt_status &&
		    write(vdev->irq_fd, &one, sizeof(one)) < 0)
			vmm__log("%s: cannot raise its interrupt",
				 vdev->ops->name);
	}
}
