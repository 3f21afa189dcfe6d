// SPDX-License-Identifier: GPL-2.0
/*
 * A device's rate limiter (lib/ratelimit.c) with its timer: when a
 * request must wait, the timer is armed for when it may go and, served in
 * the device thread like a kick, calls the device back to try again.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio/virtio.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void virtio_limiter__expired(struct virtio_dev *vdev, int fd,
				    uint32_t events, void *arg)
{
	struct virtio_limiter *l = arg;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    virtio_dev__broken(vdev))
		return;
	l->wake(vdev, l->arg);
}

int virtio_limiter__init(struct virtio_dev *vdev, struct virtio_limiter *l,
			 const struct rate_limit_config *cfg,
			 void (*wake)(struct virtio_dev *vdev, void *arg),
			 void *arg)
{
	int ret;

	l->cfg = *cfg;
	l->wake = wake;
	l->arg = arg;
	rate_limiter__init(&l->rl, cfg, now_ns());
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC |
				     TFD_NONBLOCK);
	if (l->timer_fd < 0)
		return -errno;
	ret = virtio_dev__watch(vdev, l->timer_fd, EPOLLIN,
				virtio_limiter__expired, l);
	if (ret) {
		close(l->timer_fd);
		l->timer_fd = -1;
	}
	return ret;
}

void virtio_limiter__exit(struct virtio_limiter *l)
{
	if (l->timer_fd >= 0)
		close(l->timer_fd);
	l->timer_fd = -1;
}

bool virtio_limiter__consume(struct virtio_limiter *l, uint64_t bytes)
{
	struct itimerspec when = { 0 };
	uint64_t wake;

	if (!rate_limit_config__active(&l->cfg))
		return true;
	if (rate_limiter__consume(&l->rl, bytes, now_ns()))
		return true;
	wake = rate_limiter__wake_ns(&l->rl);
	when.it_value.tv_sec = wake / 1000000000ULL;
	when.it_value.tv_nsec = wake % 1000000000ULL;
	timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &when, NULL);
	return false;
}

/* PATCH: the buckets named in @given are replaced; @work held. */
void virtio_limiter__update(struct virtio_limiter *l,
			    const struct rate_limit_config *cfg,
			    const bool given[2])
{
	uint64_t now = now_ns();

	if (given[0]) {
		l->cfg.bandwidth = cfg->bandwidth;
		rate_limiter__set_bandwidth(&l->rl, &cfg->bandwidth, now);
	}
	if (given[1]) {
		l->cfg.ops = cfg->ops;
		rate_limiter__set_ops(&l->rl, &cfg->ops, now);
	}
}
