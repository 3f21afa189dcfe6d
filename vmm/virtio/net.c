// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net on a TAP device (PUT /network-interfaces/{iface_id}), as
 * Firecracker gives it: one receive and one transmit queue, the MAC (and
 * MTU) in the configuration space, rate limiters on each direction.
 *
 * The TAP carries the 12-byte virtio-net header itself (IFF_VNET_HDR),
 * so transmitted chains go to it as they are.  No offloads are offered
 * or set on the TAP, so every frame carries full checksums and fits one
 * receive buffer of the size Linux gives without MRG_RXBUF.  A received
 * frame waits in the device while no receive buffer is free or its rate
 * limiter says wait: the receive kick or the limiter's timer resumes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio/virtio.h"
#include "vmstate.h"

#define NET_QUEUE_SIZE		256
#define NET_RX			0
#define NET_TX			1
#define NET_HDR_LEN		sizeof(struct virtio_net_hdr_v1)
/* The largest frame without offloads, with its header: as Firecracker. */
#define NET_MAX_FRAME		(NET_HDR_LEN + 65550)
#define NET_STATE_VERSION	1

struct net {
	struct net_iface_config cfg;
	int tap_fd;
	struct virtio_limiter rx_limit;
	struct virtio_limiter tx_limit;
	size_t rx_len;		/* a received frame waiting, or 0 */
	uint8_t rx_frame[NET_MAX_FRAME];
	uint8_t tx_frame[NET_MAX_FRAME];
};

int net_tap__open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int fd, hdr = NET_HDR_LEN;

	if (strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "host_dev_name '%s' is longer than %d "
			 "bytes", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s",
			 strerror(errno));
		return -errno;
	}
	strcpy(ifr.ifr_name, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		char path[64];

		/* A missing TAP is one the VMM, without capabilities, may
		 * not create: say so rather than "not permitted". */
		snprintf(path, sizeof(path), "/sys/class/net/%s", name);
		if (errno == EPERM && access(path, F_OK))
			snprintf(err, errlen, "no TAP device %s: create it "
				 "first (ip tuntap add %s mode tap)", name,
				 name);
		else
			snprintf(err, errlen, "cannot open TAP device %s: %s",
				 name, strerror(errno));
		goto fail;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		snprintf(err, errlen, "TAP device %s: cannot set its virtio "
			 "header: %s", name, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return errno ? -errno : -EINVAL;
}

/* Receive: frames from the TAP into the guest's buffers. */
static void net__rx(struct virtio_dev *vdev)
{
	struct net *net = vdev->priv;
	struct virtq *vq = &vdev->vqs[NET_RX];
	struct virtio_net_hdr_v1 *hdr;
	struct virtq_chain c;
	bool pushed = false;
	ssize_t n;
	int got;

	if (!vq->ready)
		return;
	for (;;) {
		if (!net->rx_len) {
			n = read(net->tap_fd, net->rx_frame,
				 sizeof(net->rx_frame));
			if (n <= 0)
				break;
			if ((size_t)n < NET_HDR_LEN)
				continue;
			net->rx_len = n;
		}
		got = virtq__pop(vdev, vq, &c);
		if (got <= 0)
			break;
		if (!virtio_limiter__consume(&net->rx_limit, net->rx_len)) {
			virtq__unpop(vq);
			break;
		}
		/* Without MRG_RXBUF a frame is always one buffer. */
		hdr = (struct virtio_net_hdr_v1 *)net->rx_frame;
		hdr->num_buffers = 1;
		virtq__push(vdev, vq, &c, virtq__write(&c, 0, net->rx_frame,
						       net->rx_len));
		net->rx_len = 0;
		pushed = true;
	}
	if (pushed)
		virtio_dev__signal_used(vdev, vq);
}

/* Transmit: each chain, header first, is one frame for the TAP. */
static void net__tx(struct virtio_dev *vdev)
{
	struct net *net = vdev->priv;
	struct virtq *vq = &vdev->vqs[NET_TX];
	struct virtq_chain c;
	bool pushed = false;
	size_t len;

	if (!vq->ready)
		return;
	while (virtq__pop(vdev, vq, &c) > 0) {
		if (!virtio_limiter__consume(&net->tx_limit, c.out_len)) {
			virtq__unpop(vq);
			break;
		}
		/* A frame the TAP cannot take is dropped, as on a wire. */
		if (c.out_len >= NET_HDR_LEN && c.out_len <= NET_MAX_FRAME) {
			len = virtq__read(&c, 0, net->tx_frame, c.out_len);
			if (write(net->tap_fd, net->tx_frame, len) < 0 &&
			    errno != EAGAIN)
				vmm__log("net %s: TAP write: %s", vdev->id,
					 strerror(errno));
		}
		virtq__push(vdev, vq, &c, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev__signal_used(vdev, vq);
}

static void net__queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	if (q == NET_RX)
		net__rx(vdev);
	else
		net__tx(vdev);
}

static void net__tap_ready(struct virtio_dev *vdev, int fd, uint32_t events,
			   void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK &&
	    !virtio_dev__broken(vdev))
		net__rx(vdev);
}

static void net__rx_limit_wake(struct virtio_dev *vdev, void *arg)
{
	(void)arg;
	net__rx(vdev);
}

static void net__tx_limit_wake(struct virtio_dev *vdev, void *arg)
{
	(void)arg;
	net__tx(vdev);
}

static void net__config_read(struct virtio_dev *vdev, uint32_t offset,
			     void *data, uint32_t len)
{
	struct net *net = vdev->priv;
	struct virtio_net_config cfg = { .max_virtqueue_pairs = 1 };

	memcpy(cfg.mac, net->cfg.mac, sizeof(cfg.mac));
	cfg.mtu = net->cfg.mtu;
	memset(data, 0, len);
	if (offset < sizeof(cfg))
		memcpy(data, (uint8_t *)&cfg + offset,
		       len < sizeof(cfg) - offset ? len : sizeof(cfg) - offset);
}

/* A reset drops the frame that waited for the old rings. */
static void net__reset(struct virtio_dev *vdev)
{
	struct net *net = vdev->priv;

	net->rx_len = 0;
}

static int net__save(struct virtio_dev *vdev, struct vsbuf *b)
{
	struct net *net = vdev->priv;
	struct net_iface_config cfg = net->cfg;

	cfg.rx_limit = net->rx_limit.cfg;
	cfg.tx_limit = net->tx_limit.cfg;
	return vsbuf__append(b, &cfg, sizeof(cfg));
}

static void net__free(struct virtio_dev *vdev)
{
	struct net *net = vdev->priv;

	virtio_limiter__exit(&net->rx_limit);
	virtio_limiter__exit(&net->tx_limit);
	if (net->tap_fd >= 0)
		close(net->tap_fd);
	free(net);
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max = NET_QUEUE_SIZE,
	.config_read = net__config_read,
	.reset = net__reset,
	.queue_notify = net__queue_notify,
	.version = NET_STATE_VERSION,
	.save = net__save,
	.free = net__free,
};

static int net__new(struct vm *vm, const struct net_iface_config *cfg,
		    char *err, size_t errlen)
{
	struct virtio_dev *vdev;
	struct net *net;
	int ret;

	net = calloc(1, sizeof(*net));
	if (!net) {
		snprintf(err, errlen, "net: out of memory");
		return -ENOMEM;
	}
	net->cfg = *cfg;
	net->rx_limit.timer_fd = net->tx_limit.timer_fd = -1;
	net->tap_fd = net_tap__open(cfg->host_dev_name, err, errlen);
	if (net->tap_fd < 0) {
		ret = net->tap_fd;
		free(net);
		return ret;
	}
	vdev = virtio_dev__new(vm, &net_ops, cfg->iface_id, net, err, errlen);
	if (!vdev) {
		close(net->tap_fd);
		free(net);
		return -EINVAL;
	}
	if (cfg->have_mac)
		vdev->features |= 1ULL << VIRTIO_NET_F_MAC;
	if (cfg->mtu)
		vdev->features |= 1ULL << VIRTIO_NET_F_MTU;
	/* From here on the device owns net: net__free releases it. */
	ret = virtio_limiter__init(vdev, &net->rx_limit, &cfg->rx_limit,
				   net__rx_limit_wake, NULL);
	if (!ret)
		ret = virtio_limiter__init(vdev, &net->tx_limit,
					   &cfg->tx_limit, net__tx_limit_wake,
					   NULL);
	if (!ret)
		ret = virtio_dev__watch(vdev, net->tap_fd, EPOLLIN | EPOLLET,
					net__tap_ready, NULL);
	if (ret)
		snprintf(err, errlen, "net %s: %s", cfg->iface_id,
			 strerror(-ret));
	return ret;
}

int virtio_net__create(struct vm *vm, const struct net_iface_config *cfg,
		       char *err, size_t errlen)
{
	return net__new(vm, cfg, err, errlen);
}

int virtio_net__update(struct vm *vm, const char *iface_id,
		       const struct rate_limit_config *rx,
		       const bool rx_given[2],
		       const struct rate_limit_config *tx,
		       const bool tx_given[2], char *err, size_t errlen)
{
	struct virtio_dev *vdev = virtio__find(vm, iface_id);
	struct net *net;

	if (!vdev || vdev->ops->device_id != VIRTIO_ID_NET) {
		snprintf(err, errlen, "no network interface '%s'", iface_id);
		return -ENOENT;
	}
	net = vdev->priv;
	pthread_mutex_lock(&vdev->work);
	virtio_limiter__update(&net->rx_limit, rx, rx_given);
	virtio_limiter__update(&net->tx_limit, tx, tx_given);
	pthread_mutex_unlock(&vdev->work);
	return 0;
}

int virtio_net__restore(struct vm *vm, const char *id, uint32_t version,
			const void *state, size_t len, char *err,
			size_t errlen)
{
	struct net_iface_config cfg;

	if (version != NET_STATE_VERSION || len != sizeof(cfg)) {
		snprintf(err, errlen, "net device state version %u (%zu "
			 "bytes) is not this VMM's version %u (%zu)", version,
			 len, NET_STATE_VERSION, sizeof(cfg));
		return -EINVAL;
	}
	memcpy(&cfg, state, sizeof(cfg));
	cfg.iface_id[sizeof(cfg.iface_id) - 1] = '\0';
	cfg.host_dev_name[sizeof(cfg.host_dev_name) - 1] = '\0';
	if (strcmp(cfg.iface_id, id) ||
	    !rate_limit_config__valid(&cfg.rx_limit) ||
	    !rate_limit_config__valid(&cfg.tx_limit)) {
		snprintf(err, errlen, "net device %s: state is malformed", id);
		return -EINVAL;
	}
	/* The TAP is reopened by name, as Firecracker does. */
	return net__new(vm, &cfg, err, errlen);
}
