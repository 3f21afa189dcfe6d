// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (PUT /entropy): each writable buffer the driver gives is
 * filled from the host's getrandom().  It has no configuration and no
 * state of its own beyond the transport's.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "virtio/virtio.h"

#define RNG_QUEUE_SIZE		256
/* A buffer is filled up to this much per request, as the driver asks. */
#define RNG_MAX_REQUEST		(64 * 1024)

static int rng__fill(const struct virtq_chain *c)
{
	size_t done = 0, want = c->in_len, i;
	ssize_t n;

	if (want > RNG_MAX_REQUEST)
		want = RNG_MAX_REQUEST;
	for (i = 0; i < c->nr_in && done < want; i++) {
		size_t len = c->in[i].iov_len;

		if (len > want - done)
			len = want - done;
		n = getrandom(c->in[i].iov_base, len, 0);
		if (n < 0)
			return done;
		done += n;
		if ((size_t)n < len)
			break;
	}
	return done;
}

static void rng__queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtq *vq = &vdev->vqs[q];
	struct virtq_chain c;
	bool pushed = false;

	while (virtq__pop(vdev, vq, &c) > 0) {
		virtq__push(vdev, vq, &c, rng__fill(&c));
		pushed = true;
	}
	if (pushed)
		virtio_dev__signal_used(vdev, vq);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "entropy",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max = RNG_QUEUE_SIZE,
	.queue_notify = rng__queue_notify,
	.version = 1,
};

int virtio_rng__create(struct vm *vm, const struct virtio_rng_config *cfg,
		       char *err, size_t errlen)
{
	if (!cfg->present)
		return 0;
	return virtio_dev__new(vm, &rng_ops, "entropy", NULL, err, errlen) ?
	       0 : -EINVAL;
}

int virtio_rng__restore(struct vm *vm, const char *id, uint32_t version,
			const void *state, size_t len, char *err,
			size_t errlen)
{
	(void)state;
	if (version != rng_ops.version || len) {
		snprintf(err, errlen, "entropy device state version %u "
			 "(%zu bytes) is not this VMM's version %u", version,
			 len, rng_ops.version);
		return -EINVAL;
	}
	return virtio_dev__new(vm, &rng_ops, id, NULL, err, errlen) ?
	       0 : -EINVAL;
}
