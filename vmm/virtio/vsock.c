// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock (PUT /vsock) with Firecracker's host side: the guest's
 * AF_VSOCK streams become AF_UNIX streams on the host.
 *
 *  - Host to guest: a client connects to uds_path and writes
 *    "CONNECT <port>\n"; the device sends the guest OP_REQUEST from a
 *    host port of its own, [1 << 30, 1 << 31) round robin as Firecracker
 *    numbers them, and on the guest's OP_RESPONSE answers the client
 *    "OK <host port>\n".  From then on the stream is the connection.
 *  - Guest to host: the guest's OP_REQUEST for CID 2 port P connects to
 *    "<uds_path>_P"; OP_RESPONSE if that socket accepts, OP_RST if not.
 *
 * Flow control is virtio's credit scheme both ways: the guest may have at
 * most VSOCK_BUF_ALLOC bytes of a connection sent and not yet written to
 * the host socket (what the host socket does not take waits in the
 * connection's buffer of that size), and the device reads from a host
 * socket no more than the guest's buf_alloc and fwd_cnt leave room for.
 *
 * All of it runs in the device thread: the listener and the connections
 * are in an epoll set of the device's own, itself watched by the core
 * (virtio_dev__watch), as Firecracker's muxer nests its epoll in the
 * event loop.  So connections are not bounded by the core's watch table,
 * and a connection's interest (read, write, none) changes without the
 * core.  Packets waiting for room in the receive queue are kept as bits
 * on their connection, so a guest that stops taking them costs a bounded
 * amount of memory.
 *
 * Connections are not saved in a snapshot: the device's state is its
 * configuration, and a restored device sends the guest
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, which makes it drop the connections
 * it had, as Firecracker does.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_vsock.h>

#include "vmstate.h"
#include "virtio/virtio.h"

#define VSOCK_QUEUE_SIZE	256
#define VSOCK_RXQ		0
#define VSOCK_TXQ		1
#define VSOCK_EVQ		2
#define VSOCK_HOST_CID		2
/* Firecracker's limit of connections per device. */
#define VSOCK_MAX_CONNS		1023
/* What the guest may have in flight to one host socket. */
#define VSOCK_BUF_ALLOC		(256 * 1024)
/* A fwd_cnt this far ahead of what the guest saw is sent unasked. */
#define VSOCK_CREDIT_THRESHOLD	(VSOCK_BUF_ALLOC / 4)
/* The largest payload of one packet, either way (Linux's too). */
#define VSOCK_MAX_PKT		(64 * 1024)
#define VSOCK_LOCAL_PORT_BIT	(1U << 30)
/* "CONNECT 4294967295\n" and some slack for spaces. */
#define VSOCK_LINE_MAX		32
/* RSTs for packets of no connection, waiting for the receive queue. */
#define VSOCK_MAX_STRAYS	64

#define HDR_LEN			sizeof(struct virtio_vsock_hdr)

enum conn_state {
	CONN_LINE,		/* host client, its CONNECT line not read yet */
	CONN_REQUESTING,	/* OP_REQUEST sent or due, no answer yet */
	CONN_ESTABLISHED,
	CONN_CLOSING,		/* the host end closed; waiting for the RST */
};

/* Control packets due to the guest, one bit each, sent in this order. */
#define PEND_RST		(1U << 0)
#define PEND_RESPONSE		(1U << 1)
#define PEND_REQUEST		(1U << 2)
#define PEND_SHUTDOWN		(1U << 3)
#define PEND_CREDIT_UPDATE	(1U << 4)
#define PEND_CREDIT_REQUEST	(1U << 5)

struct vsock_conn {
	struct vsock_conn *next;
	int fd;
	enum conn_state state;
	bool host_initiated;
	uint32_t local_port;	/* the host end's port */
	uint32_t peer_port;	/* the guest's */
	unsigned int pending;	/* PEND_* */
	uint32_t events;	/* what the device's epoll waits for on @fd */
	bool rx_ready;		/* @fd may have data the device has not read */
	bool peer_shut_send;	/* the guest sends nothing more */
	bool peer_shut_rcv;	/* the guest takes nothing more */
	bool credit_asked;	/* OP_CREDIT_REQUEST sent, no credit since */
	/* Host to guest: bytes sent, and the guest's buffer as it said. */
	uint32_t rx_cnt;
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	/* Guest to host: bytes written to @fd, and the count the guest saw. */
	uint32_t fwd_cnt;
	uint32_t fwd_cnt_told;
	/* Guest data @fd did not take yet (VSOCK_BUF_ALLOC bytes). */
	uint8_t *txbuf;
	size_t tx_len;
	char line[VSOCK_LINE_MAX];
	size_t line_len;
};

struct vsock_stray {
	uint32_t local_port;
	uint32_t peer_port;
};

struct vsock {
	struct virtio_dev *vdev;
	uint64_t guest_cid;
	char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int mux_fd;
	struct vsock_conn *conns;
	unsigned int nr_conns;
	uint32_t local_port_last;
	struct vsock_stray strays[VSOCK_MAX_STRAYS];
	unsigned int nr_strays;
	bool reset_event;	/* TRANSPORT_RESET due on the event queue */
	/*
	 * TRANSPORT_RESET given, and the driver's kick of the event queue,
	 * which Linux sends once it has handled the event and refilled
	 * the queue, not seen yet.  Until then a host client's OP_REQUEST
	 * waits: the guest's reset of its connections, running late, would
	 * take the new one with the old (a restored guest's first request
	 * through uds_path, reset after its "OK").
	 */
	bool reset_unacked;
	/*
	 * The event queue's available index as the TRANSPORT_RESET went:
	 * the driver's acknowledgement is a buffer given back after it,
	 * not any notification.  virtio__restored_all() kicks every queue
	 * itself, the event queue too, and that kick acknowledges nothing.
	 */
	uint16_t reset_avail;
	struct virtq_chain chain;
};

/* The device's state in its VS_VIRTIO section: its configuration. */
struct vs_vsock {
	uint64_t guest_cid;
	char uds_path[108];
};

static bool vsock__live(struct virtio_dev *vdev)
{
	bool live;
	unsigned int q;

	pthread_mutex_lock(&vdev->lock);
	live = (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	for (q = 0; q < vdev->ops->nr_queues; q++)
		live = live && vdev->vqs[q].ready;
	pthread_mutex_unlock(&vdev->lock);
	return live;
}

static uint32_t conn__credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 :
	       c->peer_buf_alloc - in_flight;
}

/* Wait on @c->fd for what its state needs, nothing at all if nothing. */
static void conn__arm(struct vsock *vs, struct vsock_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	uint32_t want = 0;
	int op;

	switch (c->state) {
	case CONN_LINE:
		want = EPOLLIN;
		break;
	case CONN_ESTABLISHED:
		if (!c->rx_ready && !c->peer_shut_rcv)
			want |= EPOLLIN;
		if (c->tx_len)
			want |= EPOLLOUT;
		break;
	case CONN_REQUESTING:
	case CONN_CLOSING:
		break;
	}
	if (want == c->events)
		return;
	/* Out of the set, not at 0: epoll would still report a hangup. */
	op = !want ? EPOLL_CTL_DEL : c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	ev.events = want;
	if (epoll_ctl(vs->mux_fd, op, c->fd, &ev) < 0)
		vmm__log("vsock: epoll on port %u: %s", c->local_port,
			 strerror(errno));
	c->events = want;
}

static struct vsock_conn *conn__new(struct vsock *vs, int fd)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->next = vs->conns;
	vs->conns = c;
	vs->nr_conns++;
	return c;
}

static void conn__free(struct vsock *vs, struct vsock_conn *c)
{
	struct vsock_conn **p;

	for (p = &vs->conns; *p; p = &(*p)->next) {
		if (*p != c)
			continue;
		*p = c->next;
		break;
	}
	if (c->events)
		epoll_ctl(vs->mux_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->txbuf);
	free(c);
	vs->nr_conns--;
}

static struct vsock_conn *conn__find(struct vsock *vs, uint32_t local_port,
				     uint32_t peer_port)
{
	struct vsock_conn *c;

	for (c = vs->conns; c; c = c->next)
		if (c->state != CONN_LINE && c->local_port == local_port &&
		    c->peer_port == peer_port)
			return c;
	return NULL;
}

/*
 * Reset a connection: the host end is closed now, the guest told with an
 * RST when the receive queue has room; only then is @c freed.
 */
static void conn__reset(struct vsock *vs, struct vsock_conn *c)
{
	if (c->events) {
		epoll_ctl(vs->mux_fd, EPOLL_CTL_DEL, c->fd, NULL);
		c->events = 0;
	}
	c->state = CONN_CLOSING;
	c->tx_len = 0;
	c->rx_ready = false;
	c->pending = PEND_RST;
}

static void vsock__stray_rst(struct vsock *vs, uint32_t local_port,
			     uint32_t peer_port)
{
	if (vs->nr_strays == VSOCK_MAX_STRAYS)
		return;		/* the guest's own timeout ends it */
	vs->strays[vs->nr_strays++] = (struct vsock_stray) {
		.local_port = local_port, .peer_port = peer_port,
	};
}

static bool vsock__port_used(struct vsock *vs, uint32_t port)
{
	struct vsock_conn *c;

	for (c = vs->conns; c; c = c->next)
		if (c->host_initiated && c->state != CONN_LINE &&
		    c->local_port == port)
			return true;
	return false;
}

/* Firecracker's numbering: round robin over [1 << 30, 1 << 31). */
static uint32_t vsock__alloc_port(struct vsock *vs)
{
	do {
		vs->local_port_last = ((vs->local_port_last + 1) &
				       ~(1U << 31)) | VSOCK_LOCAL_PORT_BIT;
	} while (vsock__port_used(vs, vs->local_port_last));
	return vs->local_port_last;
}

static void vsock__hdr(struct vsock *vs, struct vsock_conn *c,
		       struct virtio_vsock_hdr *h, uint16_t op,
		       uint32_t flags, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(VSOCK_HOST_CID);
	h->dst_cid = htole64(vs->guest_cid);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->flags = htole32(flags);
	h->len = htole32(len);
	if (!c)
		return;
	h->src_port = htole32(c->local_port);
	h->dst_port = htole32(c->peer_port);
	h->buf_alloc = htole32(VSOCK_BUF_ALLOC);
	h->fwd_cnt = htole32(c->fwd_cnt);
	c->fwd_cnt_told = c->fwd_cnt;
}

/* @ch's writable buffers from @offset on, at most @len bytes, as iovecs. */
static unsigned int chain__iov(const struct virtq_chain *ch, size_t offset,
			       size_t len, struct iovec *iov)
{
	unsigned int i, n = 0;

	for (i = 0; i < ch->nr_in && len; i++) {
		size_t l = ch->in[i].iov_len;

		if (offset >= l) {
			offset -= l;
			continue;
		}
		l -= offset;
		if (l > len)
			l = len;
		iov[n].iov_base = (uint8_t *)ch->in[i].iov_base + offset;
		iov[n++].iov_len = l;
		len -= l;
		offset = 0;
	}
	return n;
}

static bool conn__wants_data(const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED && c->rx_ready &&
	       !c->peer_shut_rcv;
}

/* A host client's OP_REQUEST, held until the guest handled a reset. */
static bool conn__held(const struct vsock *vs, const struct vsock_conn *c)
{
	return vs->reset_unacked && c->host_initiated &&
	       c->state == CONN_REQUESTING;
}

static bool vsock__rx_wanted(struct vsock *vs)
{
	struct vsock_conn *c;

	if (vs->nr_strays)
		return true;
	for (c = vs->conns; c; c = c->next)
		if ((c->pending && !conn__held(vs, c)) ||
		    (conn__wants_data(c) &&
				   (conn__credit(c) || !c->credit_asked)))
			return true;
	return false;
}

/* The control packet of @c's lowest pending bit; false if none. */
static bool conn__control(struct vsock *vs, struct vsock_conn *c,
			  struct virtio_vsock_hdr *h)
{
	static const uint16_t ops[] = {
		VIRTIO_VSOCK_OP_RST, VIRTIO_VSOCK_OP_RESPONSE,
		VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_SHUTDOWN,
		VIRTIO_VSOCK_OP_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_REQUEST,
	};
	const uint32_t both = VIRTIO_VSOCK_SHUTDOWN_RCV |
			      VIRTIO_VSOCK_SHUTDOWN_SEND;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		if (!(c->pending & (1U << i)))
			continue;
		c->pending &= ~(1U << i);
		vsock__hdr(vs, c, h, ops[i],
			   ops[i] == VIRTIO_VSOCK_OP_SHUTDOWN ? both : 0, 0);
		return true;
	}
	return false;
}

/*
 * Read what @c's host socket has into @ch after the header, within the
 * guest's credit: bytes written into @ch, 0 if there was nothing.
 */
static size_t conn__read(struct vsock *vs, struct vsock_conn *c,
			 const struct virtq_chain *ch)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	struct virtio_vsock_hdr h;
	size_t max = ch->in_len - HDR_LEN;
	uint32_t credit = conn__credit(c);
	unsigned int n;
	ssize_t got;

	if (!credit) {
		/* Ask once; the guest's answer brings the credit back. */
		c->credit_asked = true;
		vsock__hdr(vs, c, &h, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0);
		return virtq__write(ch, 0, &h, HDR_LEN);
	}
	if (max > credit)
		max = credit;
	if (max > VSOCK_MAX_PKT)
		max = VSOCK_MAX_PKT;
	/* A buffer with room for the header only: a read of 0 is no EOF. */
	if (!max)
		return 0;
	n = chain__iov(ch, HDR_LEN, max, iov);
	got = readv(c->fd, iov, n);
	if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->rx_ready = false;
		conn__arm(vs, c);
		return 0;
	}
	if (got <= 0) {
		/* EOF (or an error): the host end is gone, both ways. */
		if (c->events)
			epoll_ctl(vs->mux_fd, EPOLL_CTL_DEL, c->fd, NULL);
		c->events = 0;
		c->rx_ready = false;
		c->tx_len = 0;
		c->state = CONN_CLOSING;
		vsock__hdr(vs, c, &h, VIRTIO_VSOCK_OP_SHUTDOWN,
			   VIRTIO_VSOCK_SHUTDOWN_RCV |
			   VIRTIO_VSOCK_SHUTDOWN_SEND, 0);
		return virtq__write(ch, 0, &h, HDR_LEN);
	}
	c->rx_cnt += got;
	vsock__hdr(vs, c, &h, VIRTIO_VSOCK_OP_RW, 0, got);
	virtq__write(ch, 0, &h, HDR_LEN);
	return HDR_LEN + got;
}

/* One packet for the guest into @ch: bytes written, 0 if none is due. */
static size_t vsock__rx_packet(struct vsock *vs, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct vsock_conn *c, *next;
	size_t n;

	if (vs->nr_strays) {
		struct vsock_stray *s = &vs->strays[--vs->nr_strays];

		vsock__hdr(vs, NULL, &h, VIRTIO_VSOCK_OP_RST, 0, 0);
		h.src_port = htole32(s->local_port);
		h.dst_port = htole32(s->peer_port);
		return virtq__write(ch, 0, &h, HDR_LEN);
	}
	for (c = vs->conns; c; c = next) {
		next = c->next;
		if (conn__held(vs, c))
			continue;
		if (c->pending) {
			bool rst = c->pending & PEND_RST;

			conn__control(vs, c, &h);
			n = virtq__write(ch, 0, &h, HDR_LEN);
			if (rst)
				conn__free(vs, c);
			return n;
		}
		if (!conn__wants_data(c) ||
		    (!conn__credit(c) && c->credit_asked))
			continue;
		n = conn__read(vs, c, ch);
		if (n)
			return n;
	}
	return 0;
}

static void vsock__rx_fill(struct virtio_dev *vdev)
{
	struct vsock *vs = vdev->priv;
	struct virtq *vq = &vdev->vqs[VSOCK_RXQ];
	bool pushed = false;
	size_t n;

	if (!vsock__live(vdev))
		return;
	while (vsock__rx_wanted(vs) && virtq__pop(vdev, vq, &vs->chain) > 0) {
		if (vs->chain.in_len < HDR_LEN || vs->chain.nr_out) {
			virtio_dev__needs_reset(vdev, "receive buffer shorter "
						"than a packet header");
			return;
		}
		n = vsock__rx_packet(vs, &vs->chain);
		if (!n) {
			virtq__unpop(vq);
			break;
		}
		virtq__push(vdev, vq, &vs->chain, n);
		pushed = true;
	}
	if (pushed)
		virtio_dev__signal_used(vdev, vq);
}

/* The event queue: a TRANSPORT_RESET when one is due. */
static void vsock__ev_fill(struct virtio_dev *vdev)
{
	struct vsock *vs = vdev->priv;
	struct virtq *vq = &vdev->vqs[VSOCK_EVQ];
	struct virtio_vsock_event ev = {
		.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET),
	};

	if (!vs->reset_event || !vsock__live(vdev) ||
	    virtq__pop(vdev, vq, &vs->chain) <= 0)
		return;
	if (vs->chain.in_len < sizeof(ev)) {
		virtio_dev__needs_reset(vdev, "event buffer too short");
		return;
	}
	virtq__write(&vs->chain, 0, &ev, sizeof(ev));
	virtq__push(vdev, vq, &vs->chain, sizeof(ev));
	vs->reset_event = false;
	vs->reset_unacked = true;
	vs->reset_avail = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	virtio_dev__signal_used(vdev, vq);
}

/* Write @c's buffered guest data to the host socket: -1 if it is gone. */
static int conn__flush(struct vsock *vs, struct vsock_conn *c)
{
	ssize_t n;

	while (c->tx_len) {
		n = send(c->fd, c->txbuf, c->tx_len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		memmove(c->txbuf, c->txbuf + n, c->tx_len - n);
		c->tx_len -= n;
		c->fwd_cnt += n;
	}
	if (!c->tx_len && c->peer_shut_send && c->peer_shut_rcv) {
		/* Both ways shut and everything delivered: done. */
		conn__reset(vs, c);
		return 0;
	}
	if (!c->tx_len && c->peer_shut_send)
		shutdown(c->fd, SHUT_WR);
	if (c->fwd_cnt - c->fwd_cnt_told >= VSOCK_CREDIT_THRESHOLD)
		c->pending |= PEND_CREDIT_UPDATE;
	conn__arm(vs, c);
	return 0;
}

/* The payload of an OP_RW, @len bytes after the header of @ch. */
static void conn__forward(struct vsock *vs, struct vsock_conn *c,
			  const struct virtq_chain *ch, uint32_t len)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	struct msghdr msg = { .msg_iov = iov };
	size_t off = HDR_LEN, done = 0;
	unsigned int i;
	ssize_t n = 0;

	if (c->peer_shut_send)
		goto bad;
	/* Nothing queued: straight from guest memory to the socket. */
	if (!c->tx_len) {
		for (i = 0; i < ch->nr_out && done < len; i++) {
			size_t l = ch->out[i].iov_len;

			if (off >= l) {
				off -= l;
				continue;
			}
			l -= off;
			if (l > len - done)
				l = len - done;
			iov[msg.msg_iovlen].iov_base =
				(uint8_t *)ch->out[i].iov_base + off;
			iov[msg.msg_iovlen++].iov_len = l;
			done += l;
			off = 0;
		}
		do {
			n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN)
			goto bad;
		if (n < 0)
			n = 0;
		c->fwd_cnt += n;
	}
	if ((size_t)n == len)
		goto out;
	/* The guest kept to its credit, so the rest fits. */
	if (c->tx_len + (len - n) > VSOCK_BUF_ALLOC)
		goto bad;
	if (!c->txbuf) {
		c->txbuf = malloc(VSOCK_BUF_ALLOC);
		if (!c->txbuf)
			goto bad;
	}
	virtq__read(ch, HDR_LEN + n, c->txbuf + c->tx_len, len - n);
	c->tx_len += len - n;
out:
	if (conn__flush(vs, c))
		goto bad;
	return;
bad:
	conn__reset(vs, c);
}

/* A guest's OP_REQUEST for host port @port: connect to <uds_path>_port. */
static void vsock__guest_connect(struct vsock *vs, uint32_t port,
				 uint32_t peer_port,
				 const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vs->uds_path,
		     port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path) ||
	    vs->nr_conns >= VSOCK_MAX_CONNS)
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		goto refuse;
	}
	c = conn__new(vs, fd);
	if (!c) {
		close(fd);
		goto refuse;
	}
	c->state = CONN_ESTABLISHED;
	c->local_port = port;
	c->peer_port = peer_port;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->pending = PEND_RESPONSE;
	conn__arm(vs, c);
	return;
refuse:
	vsock__stray_rst(vs, port, peer_port);
}

/* The guest accepted a host client's CONNECT: tell the client. */
static void conn__accepted(struct vsock *vs, struct vsock_conn *c)
{
	char ok[32];
	int n;

	n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	c->state = CONN_ESTABLISHED;
	if (send(c->fd, ok, n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		conn__reset(vs, c);
		return;
	}
	conn__arm(vs, c);
}

static void conn__shutdown(struct vsock *vs, struct vsock_conn *c,
			   uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->peer_shut_send = true;
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
		c->peer_shut_rcv = true;
	if (conn__flush(vs, c))
		conn__reset(vs, c);
}

/* One packet from the guest: -1 if malformed (the device needs a reset). */
static int vsock__tx_packet(struct virtio_dev *vdev,
			    const struct virtq_chain *ch)
{
	struct vsock *vs = vdev->priv;
	struct virtio_vsock_hdr h;
	uint32_t len, lport, pport;
	struct vsock_conn *c;
	uint16_t op;

	if (ch->out_len < HDR_LEN) {
		virtio_dev__needs_reset(vdev, "packet shorter than its header");
		return -1;
	}
	virtq__read(ch, 0, &h, HDR_LEN);
	len = le32toh(h.len);
	if (len > ch->out_len - HDR_LEN || len > VSOCK_MAX_PKT) {
		virtio_dev__needs_reset(vdev, "packet longer than its buffers "
					"or than 64 KiB");
		return -1;
	}
	op = le16toh(h.op);
	lport = le32toh(h.dst_port);
	pport = le32toh(h.src_port);
	/* Not from this guest or not for the host: dropped, as Firecracker. */
	if (le64toh(h.src_cid) != vs->guest_cid ||
	    le64toh(h.dst_cid) != VSOCK_HOST_CID)
		return 0;
	c = conn__find(vs, lport, pport);
	if (le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM) {
		if (op != VIRTIO_VSOCK_OP_RST)
			vsock__stray_rst(vs, lport, pport);
		return 0;
	}
	if (c && c->state != CONN_CLOSING) {
		c->peer_buf_alloc = le32toh(h.buf_alloc);
		c->peer_fwd_cnt = le32toh(h.fwd_cnt);
		if (conn__credit(c))
			c->credit_asked = false;
	}
	if (op == VIRTIO_VSOCK_OP_RST) {
		if (c)
			conn__free(vs, c);
		return 0;
	}
	if (c && c->state == CONN_CLOSING)
		return 0;	/* our RST is on its way */
	if (!c && op != VIRTIO_VSOCK_OP_REQUEST) {
		vsock__stray_rst(vs, lport, pport);
		return 0;
	}
	switch (op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			conn__reset(vs, c);
		else
			vsock__guest_connect(vs, lport, pport, &h);
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == CONN_REQUESTING)
			conn__accepted(vs, c);
		else
			conn__reset(vs, c);
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state == CONN_ESTABLISHED)
			conn__forward(vs, c, ch, len);
		else
			conn__reset(vs, c);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;		/* taken above */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pending |= PEND_CREDIT_UPDATE;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		conn__shutdown(vs, c, le32toh(h.flags));
		break;
	default:
		conn__reset(vs, c);
		break;
	}
	return 0;
}

static void vsock__tx(struct virtio_dev *vdev)
{
	struct vsock *vs = vdev->priv;
	struct virtq *vq = &vdev->vqs[VSOCK_TXQ];
	bool pushed = false;

	while (virtq__pop(vdev, vq, &vs->chain) > 0) {
		if (vsock__tx_packet(vdev, &vs->chain))
			return;
		virtq__push(vdev, vq, &vs->chain, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev__signal_used(vdev, vq);
}

static void vsock__queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	if (q == VSOCK_TXQ)
		vsock__tx(vdev);
	else if (q == VSOCK_EVQ) {
		struct vsock *vs = vdev->priv;
		struct virtq *vq = &vdev->vqs[VSOCK_EVQ];

		/* The driver handled the reset: held requests may go. */
		if (__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) !=
		    vs->reset_avail)
			vs->reset_unacked = false;
		vsock__ev_fill(vdev);
	}
	/* Anything may have made packets due, or brought receive buffers. */
	vsock__rx_fill(vdev);
}

/*
 * A host client's "CONNECT <port>\n", read a byte at a time so that what
 * follows the line stays in the stream.  Firecracker takes the word in
 * any case; anything else closes the client.
 */
static void conn__read_line(struct vsock *vs, struct vsock_conn *c)
{
	unsigned long port;
	char *end, *p;
	ssize_t n;

	for (;;) {
		n = read(c->fd, &c->line[c->line_len], 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			goto bad;
		if (c->line[c->line_len] == '\n')
			break;
		if (++c->line_len == sizeof(c->line) - 1)
			goto bad;
	}
	c->line[c->line_len] = '\0';
	p = c->line + strspn(c->line, " \t");
	if (strncasecmp(p, "connect", 7) || !strchr(" \t", p[7]) || !p[7])
		goto bad;
	p += 7 + strspn(p + 7, " \t");
	errno = 0;
	port = strtoul(p, &end, 10);
	if (!*p || *p == '-' || errno || port > UINT32_MAX ||
	    end[strspn(end, " \t\r")])
		goto bad;
	c->peer_port = port;
	c->local_port = vsock__alloc_port(vs);
	c->state = CONN_REQUESTING;
	c->pending = PEND_REQUEST;
	/* Until the guest answers, nothing is read from the client. */
	conn__arm(vs, c);
	return;
bad:
	conn__free(vs, c);
}

static void vsock__accept(struct vsock *vs)
{
	struct vsock_conn *c;
	int fd;

	for (;;) {
		fd = accept4(vs->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (vs->nr_conns >= VSOCK_MAX_CONNS) {
			close(fd);
			continue;
		}
		c = conn__new(vs, fd);
		if (!c) {
			close(fd);
			return;
		}
		c->host_initiated = true;
		c->state = CONN_LINE;
		conn__arm(vs, c);
	}
}

/* A connection's socket is ready for what it waited for. */
static void conn__event(struct vsock *vs, struct vsock_conn *c,
			uint32_t events)
{
	if (c->state == CONN_LINE) {
		conn__read_line(vs, c);
		return;
	}
	if (events & EPOLLOUT) {
		if (conn__flush(vs, c)) {
			conn__reset(vs, c);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* Read when the receive queue has room: stop waiting. */
		c->rx_ready = true;
		conn__arm(vs, c);
	}
}

/* The device's epoll set is ready: serve it, one event at a time. */
static void vsock__mux_event(struct virtio_dev *vdev, int fd,
			     uint32_t events, void *arg)
{
	struct vsock *vs = vdev->priv;
	struct epoll_event ev;
	unsigned int i;

	(void)fd;
	(void)events;
	(void)arg;
	/* One at a time: serving one event may free the next one's conn. */
	for (i = 0; i < 64 && epoll_wait(vs->mux_fd, &ev, 1, 0) == 1; i++) {
		if (!ev.data.ptr)
			vsock__accept(vs);
		else
			conn__event(vs, ev.data.ptr, ev.events);
	}
	vsock__rx_fill(vdev);
}

static void vsock__drop_all(struct vsock *vs)
{
	while (vs->conns)
		conn__free(vs, vs->conns);
	vs->nr_strays = 0;
	vs->local_port_last = VSOCK_LOCAL_PORT_BIT - 1;
}

static void vsock__config_read(struct virtio_dev *vdev, uint32_t offset,
			       void *data, uint32_t len)
{
	struct vsock *vs = vdev->priv;
	struct virtio_vsock_config cfg = {
		.guest_cid = htole64(vs->guest_cid),
	};

	memset(data, 0, len);
	if (offset < sizeof(cfg))
		memcpy(data, (uint8_t *)&cfg + offset,
		       len < sizeof(cfg) - offset ? len : sizeof(cfg) - offset);
}

static int vsock__activate(struct virtio_dev *vdev)
{
	/* Host clients may have connected before the driver was ready. */
	vsock__ev_fill(vdev);
	vsock__rx_fill(vdev);
	return 0;
}

/* The driver reset the device: its connections go, the listener stays. */
static void vsock__reset(struct virtio_dev *vdev)
{
	struct vsock *vs = vdev->priv;

	vsock__drop_all(vs);
	vs->reset_event = false;
	vs->reset_unacked = false;
}

static int vsock__save(struct virtio_dev *vdev, struct vsbuf *b)
{
	struct vsock *vs = vdev->priv;
	struct vs_vsock s = { .guest_cid = vs->guest_cid };

	memcpy(s.uds_path, vs->uds_path, sizeof(s.uds_path));
	return vsbuf__append(b, &s, sizeof(s));
}

/*
 * Restored: the connections the guest had are gone with the old process;
 * TRANSPORT_RESET tells its driver so, as Firecracker does.
 */
static void vsock__restored(struct virtio_dev *vdev)
{
	struct vsock *vs = vdev->priv;

	vs->reset_event = true;
	vsock__ev_fill(vdev);
}

static void vsock__free(struct virtio_dev *vdev)
{
	struct vsock *vs = vdev->priv;

	if (!vs)
		return;
	vsock__drop_all(vs);
	if (vs->listen_fd >= 0) {
		close(vs->listen_fd);
		unlink(vs->uds_path);
	}
	if (vs->mux_fd >= 0)
		close(vs->mux_fd);
	free(vs);
	vdev->priv = NULL;
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = 3,
	.queue_max = VSOCK_QUEUE_SIZE,
	.config_read = vsock__config_read,
	.activate = vsock__activate,
	.reset = vsock__reset,
	.queue_notify = vsock__queue_notify,
	.version = 1,
	.save = vsock__save,
	.restored = vsock__restored,
	.free = vsock__free,
};

/* Bind and listen on @path: the socket, or -errno. */
static int vsock__listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (!*path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (listen(fd, 128) < 0) {
		ret = -errno;
		close(fd);
		unlink(path);
		return ret;
	}
	return fd;
}

int virtio_vsock__check_path(const char *path, char *err, size_t errlen)
{
	int fd = vsock__listen(path);

	if (fd < 0) {
		snprintf(err, errlen, "cannot bind uds_path '%s': %s", path,
			 strerror(-fd));
		return fd;
	}
	close(fd);
	unlink(path);
	return 0;
}

static int vsock__new(struct vm *vm, const char *id, uint64_t cid,
		      const char *path, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct virtio_dev *vdev;
	struct vsock *vs;
	int ret;

	vs = calloc(1, sizeof(*vs));
	if (!vs) {
		snprintf(err, errlen, "vsock: out of memory");
		return -ENOMEM;
	}
	vs->guest_cid = cid;
	vs->local_port_last = VSOCK_LOCAL_PORT_BIT - 1;
	snprintf(vs->uds_path, sizeof(vs->uds_path), "%s", path);
	vs->mux_fd = epoll_create1(EPOLL_CLOEXEC);
	vs->listen_fd = vsock__listen(path);
	if (vs->listen_fd < 0) {
		ret = vs->listen_fd;
		snprintf(err, errlen, "vsock: cannot bind uds_path '%s': %s",
			 path, strerror(-ret));
		goto fail;
	}
	if (vs->mux_fd < 0 ||
	    epoll_ctl(vs->mux_fd, EPOLL_CTL_ADD, vs->listen_fd, &ev) < 0) {
		ret = -errno;
		snprintf(err, errlen, "vsock: epoll: %s", strerror(-ret));
		goto fail;
	}
	vdev = virtio_dev__new(vm, &vsock_ops, id, vs, err, errlen);
	if (!vdev) {
		ret = -EINVAL;
		goto fail;
	}
	vs->vdev = vdev;
	/* From here the device owns @vs: ops->free releases it. */
	ret = virtio_dev__watch(vdev, vs->mux_fd, EPOLLIN, vsock__mux_event,
				NULL);
	if (ret)
		snprintf(err, errlen, "vsock: cannot watch its sockets: %s",
			 strerror(-ret));
	return ret;
fail:
	if (vs->listen_fd >= 0) {
		close(vs->listen_fd);
		unlink(path);
	}
	if (vs->mux_fd >= 0)
		close(vs->mux_fd);
	free(vs);
	return ret;
}

int virtio_vsock__create(struct vm *vm, const struct virtio_vsock_params *cfg,
			 char *err, size_t errlen)
{
	if (!cfg->present)
		return 0;
	return vsock__new(vm, "vsock", cfg->guest_cid, cfg->uds_path, err,
			  errlen);
}

int virtio_vsock__restore(struct vm *vm, const char *id, uint32_t version,
			  const void *state, size_t len, char *err,
			  size_t errlen)
{
	struct vs_vsock s;

	if (version != vsock_ops.version || len != sizeof(s)) {
		snprintf(err, errlen, "vsock device state version %u (%zu "
			 "bytes) is not this VMM's version %u", version, len,
			 vsock_ops.version);
		return -EINVAL;
	}
	memcpy(&s, state, sizeof(s));
	if (s.guest_cid < 3 || s.guest_cid >= UINT32_MAX ||
	    !memchr(s.uds_path, '\0', sizeof(s.uds_path)) || !s.uds_path[0]) {
		snprintf(err, errlen, "vsock device state is malformed");
		return -EINVAL;
	}
	return vsock__new(vm, id, s.guest_cid, s.uds_path, err, errlen);
}
