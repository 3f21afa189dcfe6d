// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock's packet protocol (vmm/virtio/vsock.c) against a driver
 * played by the test: split queues in a buffer standing for guest memory,
 * the real virtq.c, and the host's Unix sockets.  What a Linux guest never
 * does is checked here: malformed packets mark the device as needing a
 * reset, a guest that overruns its credit is reset, the device keeps to
 * the guest's credit and asks for more, bad CONNECT lines are closed.
 * The rest of the VMM is stubbed below.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_vsock.h>

#include "vmstate.h"
#include "virtio/virtio.h"

#define MEM_SIZE	(8 << 20)
#define QSIZE		16
#define RXBUF		4096
#define HDR		sizeof(struct virtio_vsock_hdr)
#define GUEST_CID	3
#define RXQ		0
#define TXQ		1
#define EVQ		2
/* A buffer's room: a 64 KiB packet and its header. */
#define SLOT		(80 * 1024)
#define FIRST_PORT	(1U << 30)

/* --- the VMM around the device, stubbed ----------------------------- */

static uint8_t *mem;
static struct vm the_vm;
static struct virtio_dev the_dev;
static virtio_fd_fn mux_fn;
static int mux_fd = -1;
static unsigned int needs_reset;

void *vm__gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	(void)vm;
	if (gpa > MEM_SIZE || len > MEM_SIZE - gpa)
		return NULL;
	return mem + gpa;
}

void vm__mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
	(void)vm;
	(void)gpa;
	(void)len;
}

/* vmm__log() and its kin (logger.h) all end here. */
void log__write(enum log_level level, const char *file, int line,
		const char *fmt, ...)
{
	(void)level;
	(void)file;
	(void)line;
	(void)fmt;
}

void virtio_dev__needs_reset(struct virtio_dev *vdev, const char *why)
{
	(void)why;
	vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	needs_reset++;
}

void virtio_dev__signal_used(struct virtio_dev *vdev, struct virtq *q)
{
	(void)vdev;
	(void)q;
}

struct virtio_dev *virtio_dev__new(struct vm *vm,
				   const struct virtio_dev_ops *ops,
				   const char *id, void *priv, char *err,
				   size_t errlen)
{
	unsigned int i;

	(void)err;
	(void)errlen;
	memset(&the_dev, 0, sizeof(the_dev));
	the_dev.vm = vm;
	the_dev.ops = ops;
	the_dev.priv = priv;
	snprintf(the_dev.id, sizeof(the_dev.id), "%s", id);
	pthread_mutex_init(&the_dev.lock, NULL);
	for (i = 0; i < ops->nr_queues; i++)
		the_dev.vqs[i].max_size = ops->queue_max;
	return &the_dev;
}

int virtio_dev__watch(struct virtio_dev *vdev, int fd, uint32_t events,
		      virtio_fd_fn fn, void *arg)
{
	(void)vdev;
	(void)events;
	(void)arg;
	mux_fn = fn;
	mux_fd = fd;
	return 0;
}

int vsbuf__append(struct vsbuf *b, const void *data, size_t len)
{
	(void)b;
	(void)data;
	(void)len;
	return 0;
}

/* --- the driver ------------------------------------------------------ */

/* Queue q's rings at q MiB; buffers from 3 MiB, SLOT bytes each. */
static uint64_t ring_gpa(unsigned int q)
{
	return (uint64_t)q << 20;
}

static uint64_t buf_gpa(unsigned int q, unsigned int slot)
{
	return (3ULL << 20) + (q * QSIZE + slot) * SLOT;
}

static uint16_t avail_idx[3], used_seen[3];
static char uds[64];

static void queue_setup(unsigned int q)
{
	struct virtq *vq = &the_dev.vqs[q];

	vq->size = QSIZE;
	vq->desc_gpa = ring_gpa(q);
	vq->avail_gpa = ring_gpa(q) + 0x1000;
	vq->used_gpa = ring_gpa(q) + 0x2000;
	assert_int_equal(0, virtq__map(&the_dev, vq));
	vq->ready = true;
	avail_idx[q] = used_seen[q] = 0;
}

/* Offer one chain: @n descriptors of @lens, device-writable if @write. */
static void offer(unsigned int q, const uint32_t *lens, unsigned int n,
		  bool write)
{
	struct virtq *vq = &the_dev.vqs[q];
	unsigned int slot = avail_idx[q] % QSIZE, i, d;
	uint64_t gpa = buf_gpa(q, slot);

	for (i = 0; i < n; i++) {
		d = (slot + i) % QSIZE;
		vq->desc[d].addr = gpa;
		vq->desc[d].len = lens[i];
		vq->desc[d].flags = (write ? VRING_DESC_F_WRITE : 0) |
				    (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		vq->desc[d].next = (d + 1) % QSIZE;
		gpa += lens[i];
	}
	vq->avail->ring[slot] = slot;
	vq->avail->idx = ++avail_idx[q];
}

/* Receive buffers, so that @n are available. */
static void rx_offer(unsigned int n)
{
	uint32_t len = HDR + RXBUF;

	while ((uint16_t)(avail_idx[RXQ] - the_dev.vqs[RXQ].last_avail) < n)
		offer(RXQ, &len, 1, true);
}

static void notify(unsigned int q)
{
	the_dev.ops->queue_notify(&the_dev, q);
}

/* Serve the device's sockets until they are quiet for @ms. */
static void pump(int ms)
{
	struct pollfd p = { .fd = mux_fd, .events = POLLIN };

	while (poll(&p, 1, ms) == 1)
		mux_fn(&the_dev, mux_fd, EPOLLIN, NULL);
}

static void hdr_init(struct virtio_vsock_hdr *h, uint16_t op,
		     uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(GUEST_CID);
	h->dst_cid = htole64(2);
	h->src_port = htole32(src_port);
	h->dst_port = htole32(dst_port);
	h->len = htole32(len);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->buf_alloc = htole32(256 * 1024);
}

/* The guest sends @h and @len bytes of @data in one buffer. */
static void tx(const struct virtio_vsock_hdr *h, const void *data,
	       uint32_t len)
{
	unsigned int slot = avail_idx[TXQ] % QSIZE;
	uint8_t *p = mem + buf_gpa(TXQ, slot);
	uint32_t all = HDR + len;

	memcpy(p, h, HDR);
	if (len)
		memcpy(p + HDR, data, len);
	offer(TXQ, &all, 1, false);
	notify(TXQ);
}

/* The next packet the device used on the receive queue, or false. */
static bool rx(struct virtio_vsock_hdr *h, void *data, uint32_t *len)
{
	struct virtq *vq = &the_dev.vqs[RXQ];
	struct vring_used_elem *e;
	uint8_t *p;

	if (vq->used->idx == used_seen[RXQ])
		return false;
	e = &vq->used->ring[used_seen[RXQ]++ % QSIZE];
	p = mem + vq->desc[e->id].addr;
	assert_true(e->len >= HDR);
	memcpy(h, p, HDR);
	assert_int_equal(e->len, HDR + le32toh(h->len));
	if (data)
		memcpy(data, p + HDR, le32toh(h->len));
	if (len)
		*len = le32toh(h->len);
	return true;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 1 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	/* A read the VMM never answers fails the test, not hangs it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int setup(void **state)
{
	struct virtio_vsock_params cfg = { .present = true,
					   .guest_cid = GUEST_CID };
	char err[256];
	unsigned int q;

	(void)state;
	mem = calloc(1, MEM_SIZE);
	snprintf(uds, sizeof(uds), "/tmp/vsock-proto-%d.sock", getpid());
	unlink(uds);
	strcpy(cfg.uds_path, uds);
	needs_reset = 0;
	if (virtio_vsock__create(&the_vm, &cfg, err, sizeof(err)))
		return -1;
	the_dev.status = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			 VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK |
			 VIRTIO_CONFIG_S_DRIVER_OK;
	for (q = 0; q < 3; q++)
		queue_setup(q);
	return the_dev.ops->activate(&the_dev);
}

static int teardown(void **state)
{
	(void)state;
	the_dev.ops->free(&the_dev);
	free(mem);
	return access(uds, F_OK) ? 0 : -1;	/* removed at exit */
}

/* CONNECT, OK and data both ways: the host's client, the guest's port 52. */
static int host_connect(unsigned int *local_port)
{
	struct virtio_vsock_hdr h;
	char line[64] = "";
	int fd = unix_connect(uds);

	assert_int_equal(11, write(fd, "CONNECT 52\n", 11));
	rx_offer(4);
	pump(50);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_REQUEST, le16toh(h.op));
	assert_int_equal(2, le64toh(h.src_cid));
	assert_int_equal(GUEST_CID, le64toh(h.dst_cid));
	assert_int_equal(52, le32toh(h.dst_port));
	*local_port = le32toh(h.src_port);
	hdr_init(&h, VIRTIO_VSOCK_OP_RESPONSE, 52, *local_port, 0);
	tx(&h, NULL, 0);
	assert_true(read(fd, line, sizeof(line) - 1) > 0);
	assert_int_equal(*local_port, strtoul(line + 3, NULL, 10));
	assert_memory_equal("OK ", line, 3);
	return fd;
}

static void test_connect_ok_and_data(void **state)
{
	struct virtio_vsock_hdr h;
	unsigned int lp, lp2;
	char buf[64] = "";
	uint32_t len;
	int fd, fd2;

	(void)state;
	fd = host_connect(&lp);
	assert_int_equal(FIRST_PORT, lp);
	assert_int_equal(5, write(fd, "hello", 5));
	pump(50);
	assert_true(rx(&h, buf, &len));
	assert_int_equal(VIRTIO_VSOCK_OP_RW, le16toh(h.op));
	assert_int_equal(5, len);
	assert_memory_equal("hello", buf, 5);
	hdr_init(&h, VIRTIO_VSOCK_OP_RW, 52, lp, 5);
	tx(&h, "world", 5);
	assert_int_equal(5, read(fd, buf, sizeof(buf)));
	assert_memory_equal("world", buf, 5);
	/* The next connection gets the next port. */
	fd2 = host_connect(&lp2);
	assert_int_equal(FIRST_PORT + 1, lp2);
	/* The guest shuts both ways: RST, and the client sees EOF. */
	hdr_init(&h, VIRTIO_VSOCK_OP_SHUTDOWN, 52, lp, 0);
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV |
			  VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx(&h, NULL, 0);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_RST, le16toh(h.op));
	assert_int_equal(0, read(fd, buf, sizeof(buf)));
	assert_int_equal(0, needs_reset);
	close(fd);
	close(fd2);
}

static void test_bad_connect_lines_close(void **state)
{
	static const char *const bad[] = {
		"CONNECT\n", "CONNECT x\n", "CONNECT -1\n", "CONNECT 1 2\n",
		"CONNECT 4294967296\n", "HELLO 5\n", "CONNECTX 5\n",
		"CONNECT 0123456789012345678901234567890123\n",
	};
	struct virtio_vsock_hdr h;
	unsigned int i;
	ssize_t n;
	char c;
	int fd;

	(void)state;
	rx_offer(4);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fd = unix_connect(uds);
		assert_true(write(fd, bad[i], strlen(bad[i])) > 0);
		pump(50);
		/* EOF, or a reset when the VMM left some of it unread. */
		n = read(fd, &c, 1);
		assert_true(!n || (n < 0 && errno == ECONNRESET));
		close(fd);
	}
	/* Nothing went to the guest; "connect" in any case works. */
	assert_false(rx(&h, NULL, NULL));
	fd = unix_connect(uds);
	assert_int_equal(12, write(fd, "connect 77\r\n", 12));
	pump(50);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_REQUEST, le16toh(h.op));
	assert_int_equal(77, le32toh(h.dst_port));
	close(fd);
}

/* The device sends no more than the guest's credit, then asks for more. */
static void test_device_keeps_to_guest_credit(void **state)
{
	static char big[5000], got[5000];
	struct virtio_vsock_hdr h;
	size_t n = 0;
	unsigned int lp;
	uint32_t len;
	int fd;

	(void)state;
	memset(big, 'x', sizeof(big));
	fd = host_connect(&lp);
	/* The guest has 1000 bytes of buffer. */
	hdr_init(&h, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 52, lp, 0);
	h.buf_alloc = htole32(1000);
	tx(&h, NULL, 0);
	assert_int_equal(sizeof(big), write(fd, big, sizeof(big)));
	rx_offer(8);
	pump(50);
	while (rx(&h, got + n, &len) &&
	       le16toh(h.op) == VIRTIO_VSOCK_OP_RW)
		n += len;
	assert_int_equal(1000, n);
	assert_int_equal(VIRTIO_VSOCK_OP_CREDIT_REQUEST, le16toh(h.op));
	/* Asked once, not again for every kick. */
	notify(RXQ);
	pump(20);
	assert_false(rx(&h, NULL, NULL));
	/* The guest read 1000: 1000 more. */
	hdr_init(&h, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 52, lp, 0);
	h.buf_alloc = htole32(1000);
	h.fwd_cnt = htole32(1000);
	tx(&h, NULL, 0);
	pump(20);
	while (rx(&h, got + n, &len) &&
	       le16toh(h.op) == VIRTIO_VSOCK_OP_RW)
		n += len;
	assert_int_equal(2000, n);
	close(fd);
}

/* A guest that sends past its credit, to a host that does not read. */
static void test_credit_overrun_resets(void **state)
{
	static char chunk[64 * 1024];
	struct virtio_vsock_hdr h;
	unsigned int lp, i;
	bool rst = false;
	int fd;

	(void)state;
	fd = host_connect(&lp);
	rx_offer(8);
	for (i = 0; i < 12 && !rst; i++) {
		hdr_init(&h, VIRTIO_VSOCK_OP_RW, 52, lp, sizeof(chunk));
		tx(&h, chunk, sizeof(chunk));
		while (rx(&h, NULL, NULL))
			rst = rst || le16toh(h.op) == VIRTIO_VSOCK_OP_RST;
		rx_offer(8);
		notify(RXQ);
	}
	assert_true(rst);
	/* Past 256 KiB of credit, not before. */
	assert_true(i > 4);
	assert_int_equal(0, needs_reset);
	close(fd);
}

static void test_guest_connect(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct virtio_vsock_hdr h;
	char buf[16];
	int lfd, fd;

	(void)state;
	rx_offer(4);
	/* Nothing listens on <uds>_600: RST. */
	hdr_init(&h, VIRTIO_VSOCK_OP_REQUEST, 1234, 600, 0);
	tx(&h, NULL, 0);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_RST, le16toh(h.op));
	assert_int_equal(1234, le32toh(h.dst_port));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_600", uds);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(0, bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	assert_int_equal(0, listen(lfd, 1));
	hdr_init(&h, VIRTIO_VSOCK_OP_REQUEST, 1234, 600, 0);
	tx(&h, NULL, 0);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_RESPONSE, le16toh(h.op));
	assert_int_equal(600, le32toh(h.src_port));
	fd = accept(lfd, NULL, NULL);
	hdr_init(&h, VIRTIO_VSOCK_OP_RW, 1234, 600, 3);
	tx(&h, "abc", 3);
	assert_int_equal(3, read(fd, buf, sizeof(buf)));
	/* A packet of no connection: RST. */
	hdr_init(&h, VIRTIO_VSOCK_OP_RW, 999, 600, 3);
	tx(&h, "abc", 3);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_RST, le16toh(h.op));
	assert_int_equal(999, le32toh(h.dst_port));
	/* The host closes: SHUTDOWN both ways to the guest. */
	close(fd);
	pump(50);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_SHUTDOWN, le16toh(h.op));
	assert_int_equal(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND,
			 le32toh(h.flags));
	close(lfd);
	unlink(sa.sun_path);
}

static void test_short_packet_needs_reset(void **state)
{
	uint32_t len = HDR - 1;

	(void)state;
	offer(TXQ, &len, 1, false);
	notify(TXQ);
	assert_int_equal(1, needs_reset);
}

static void test_oversized_packet_needs_reset(void **state)
{
	struct virtio_vsock_hdr h;

	(void)state;
	/* len says more than the buffer holds. */
	hdr_init(&h, VIRTIO_VSOCK_OP_RW, 1, 2, 100);
	tx(&h, "x", 1);
	assert_int_equal(1, needs_reset);
}

static void test_short_rx_buffer_needs_reset(void **state)
{
	uint32_t len = HDR - 4;
	int fd = unix_connect(uds);

	(void)state;
	assert_int_equal(11, write(fd, "CONNECT 52\n", 11));
	offer(RXQ, &len, 1, true);
	pump(50);
	assert_int_equal(1, needs_reset);
	close(fd);
}

static void test_restored_sends_transport_reset(void **state)
{
	struct virtq *vq = &the_dev.vqs[EVQ];
	uint32_t len = 4;
	uint8_t *p;

	(void)state;
	/* Due before the driver gave a buffer: sent when it does. */
	the_dev.ops->restored(&the_dev);
	assert_int_equal(0, vq->used->idx);
	offer(EVQ, &len, 1, true);
	notify(EVQ);
	assert_int_equal(1, vq->used->idx);
	p = mem + vq->desc[vq->used->ring[0].id].addr;
	assert_int_equal(4, vq->used->ring[0].len);
	assert_int_equal(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET,
			 le32toh(*(uint32_t *)p));
	/* Once. */
	offer(EVQ, &len, 1, true);
	notify(EVQ);
	assert_int_equal(1, vq->used->idx);
}

/*
 * A host client's CONNECT right after a restore waits for the driver's
 * kick of the event queue, which Linux gives once it has handled the
 * TRANSPORT_RESET: else the late reset would take the new connection.
 */
static void test_restored_holds_connect_until_reset_handled(void **state)
{
	struct virtq *vq = &the_dev.vqs[EVQ];
	struct virtio_vsock_hdr h;
	uint32_t len = 4;
	unsigned int lp;
	char line[64] = "";
	int fd;

	(void)state;
	offer(EVQ, &len, 1, true);
	offer(EVQ, &len, 1, true);
	the_dev.ops->restored(&the_dev);
	assert_int_equal(1, vq->used->idx);
	fd = unix_connect(uds);
	assert_int_equal(11, write(fd, "CONNECT 52\n", 11));
	rx_offer(4);
	pump(50);
	/* Receive buffers there, and yet no OP_REQUEST. */
	assert_false(rx(&h, NULL, NULL));
	/* The VMM's own kick of every queue after a restore is no ack. */
	notify(EVQ);
	pump(50);
	assert_false(rx(&h, NULL, NULL));
	/* The driver handled the event and gives its buffer back. */
	offer(EVQ, &len, 1, true);
	notify(EVQ);
	assert_true(rx(&h, NULL, NULL));
	assert_int_equal(VIRTIO_VSOCK_OP_REQUEST, le16toh(h.op));
	assert_int_equal(52, le32toh(h.dst_port));
	lp = le32toh(h.src_port);
	hdr_init(&h, VIRTIO_VSOCK_OP_RESPONSE, 52, lp, 0);
	tx(&h, NULL, 0);
	assert_true(read(fd, line, sizeof(line) - 1) > 0);
	assert_memory_equal("OK ", line, 3);
	/* No second reset: a later CONNECT goes at once. */
	assert_int_equal(1, vq->used->idx);
	close(fd);
	fd = host_connect(&lp);
	close(fd);
}

/* Each test on a device of its own. */
#define VSOCK_TEST(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		VSOCK_TEST(test_connect_ok_and_data),
		VSOCK_TEST(test_bad_connect_lines_close),
		VSOCK_TEST(test_device_keeps_to_guest_credit),
		VSOCK_TEST(test_credit_overrun_resets),
		VSOCK_TEST(test_guest_connect),
		VSOCK_TEST(test_short_packet_needs_reset),
		VSOCK_TEST(test_oversized_packet_needs_reset),
		VSOCK_TEST(test_short_rx_buffer_needs_reset),
		VSOCK_TEST(test_restored_sends_transport_reset),
		VSOCK_TEST(test_restored_holds_connect_until_reset_handled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
