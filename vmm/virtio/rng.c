// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (PUT /entropy): each writable buffer the driver gives is
 * filled from the host's getrandom(), as fast as its rate limiter allows.
 * Its state is that limiter's configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "metrics.h"
#include "virtio/virtio.h"
#include "vmstate.h"

#define RNG_QUEUE_SIZE		256
/* A buffer is filled up to this much per request, as the driver asks. */
#define RNG_MAX_REQUEST		(64 * 1024)
#define RNG_STATE_VERSION	1

/* Firecracker's EntropyDeviceMetrics, those this device can count. */
static struct {
	struct metric activate_fails;
	struct metric entropy_event_fails;
	struct metric entropy_event_count;
	struct metric entropy_bytes;
	struct metric host_rng_fails;
	struct metric entropy_rate_limiter_throttled;
} rng_metrics;

static const struct metric_def rng_metric_defs[] = {
	METRIC_COUNTER(rng_metrics, activate_fails),
	METRIC_COUNTER(rng_metrics, entropy_event_fails),
	METRIC_COUNTER(rng_metrics, entropy_event_count),
	METRIC_COUNTER(rng_metrics, entropy_bytes),
	METRIC_COUNTER(rng_metrics, host_rng_fails),
	METRIC_COUNTER(rng_metrics, entropy_rate_limiter_throttled),
};

static struct metrics_group rng_metrics_group =
	METRICS_GROUP("entropy", rng_metric_defs);

/* One group however often the device is made (boot, restore). */
static void rng__add_metrics(void)
{
	static bool added;

	if (!added)
		metrics__add_group(&rng_metrics_group);
	added = true;
}

struct rng {
	struct virtio_limiter limiter;
};

static size_t rng__request_len(const struct virtq_chain *c)
{
	return c->in_len < RNG_MAX_REQUEST ? c->in_len : RNG_MAX_REQUEST;
}

static size_t rng__fill(const struct virtq_chain *c)
{
	size_t done = 0, want = rng__request_len(c), i;
	ssize_t n;

	for (i = 0; i < c->nr_in && done < want; i++) {
		size_t len = c->in[i].iov_len;

		if (len > want - done)
			len = want - done;
		n = getrandom(c->in[i].iov_base, len, 0);
		if (n < 0) {
			metrics__inc(&rng_metrics.host_rng_fails);
			break;
		}
		done += n;
		if ((size_t)n < len)
			break;
	}
	metrics__add(&rng_metrics.entropy_bytes, done);
	return done;
}

static void rng__serve(struct virtio_dev *vdev)
{
	struct rng *rng = vdev->priv;
	struct virtq *vq = &vdev->vqs[0];
	struct virtq_chain c;
	bool pushed = false;

	metrics__inc(&rng_metrics.entropy_event_count);
	while (virtq__pop(vdev, vq, &c) > 0) {
		if (!virtio_limiter__consume(&rng->limiter,
					     rng__request_len(&c))) {
			metrics__inc(&rng_metrics.entropy_rate_limiter_throttled);
			virtq__unpop(vq);
			break;
		}
		virtq__push(vdev, vq, &c, rng__fill(&c));
		pushed = true;
	}
	if (pushed)
		virtio_dev__signal_used(vdev, vq);
}

static void rng__queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	(void)q;
	rng__serve(vdev);
}

static void rng__limiter_wake(struct virtio_dev *vdev, void *arg)
{
	(void)arg;
	if (vdev->vqs[0].ready)
		rng__serve(vdev);
}

static int rng__save(struct virtio_dev *vdev, struct vsbuf *b)
{
	struct rng *rng = vdev->priv;

	return vsbuf__append(b, &rng->limiter.cfg, sizeof(rng->limiter.cfg));
}

static void rng__free(struct virtio_dev *vdev)
{
	struct rng *rng = vdev->priv;

	virtio_limiter__exit(&rng->limiter);
	free(rng);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "entropy",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max = RNG_QUEUE_SIZE,
	.queue_notify = rng__queue_notify,
	.version = RNG_STATE_VERSION,
	.save = rng__save,
	.free = rng__free,
};

static int rng__new(struct vm *vm, const char *id,
		    const struct rate_limit_config *limit, char *err,
		    size_t errlen)
{
	struct virtio_dev *vdev;
	struct rng *rng;
	int ret;

	rng = calloc(1, sizeof(*rng));
	if (!rng) {
		snprintf(err, errlen, "entropy: out of memory");
		return -ENOMEM;
	}
	rng->limiter.timer_fd = -1;
	rng__add_metrics();
	vdev = virtio_dev__new(vm, &rng_ops, id, rng, err, errlen);
	if (!vdev) {
		free(rng);
		return -EINVAL;
	}
	/* From here on the device owns rng: rng__free releases it. */
	ret = virtio_limiter__init(vdev, &rng->limiter, limit,
				   rng__limiter_wake, NULL);
	if (ret)
		snprintf(err, errlen, "entropy: rate limiter: %s",
			 strerror(-ret));
	return ret;
}

int virtio_rng__create(struct vm *vm, const struct virtio_rng_config *cfg,
		       char *err, size_t errlen)
{
	if (!cfg->present)
		return 0;
	return rng__new(vm, "entropy", &cfg->limit, err, errlen);
}

int virtio_rng__restore(struct vm *vm, const char *id, uint32_t version,
			const void *state, size_t len, char *err,
			size_t errlen)
{
	struct rate_limit_config limit;

	if (version != RNG_STATE_VERSION || len != sizeof(limit)) {
		snprintf(err, errlen, "entropy device state version %u "
			 "(%zu bytes) is not this VMM's version %u (%zu)",
			 version, len, RNG_STATE_VERSION, sizeof(limit));
		return -EINVAL;
	}
	memcpy(&limit, state, sizeof(limit));
	if (!rate_limit_config__valid(&limit)) {
		snprintf(err, errlen, "entropy device: invalid rate limiter");
		return -EINVAL;
	}
	return rng__new(vm, id, &limit, err, errlen);
}
