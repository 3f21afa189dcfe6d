// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk's request handling on fake chains: blk.c and the real
 * virtq.c over a buffer standing in for guest memory, with the rest of
 * the VMM stubbed.  Every request type, the status each error gets, and
 * the chains that mark the device as needing a reset.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "virtio/blk.c"

#define MEM_SIZE	(1 << 20)
#define QSIZE		16
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define HDR_GPA		0x4000
#define DATA_GPA	0x10000
#define STATUS_GPA	0x8000
#define FILE_SIZE	(64 * 1024)	/* 128 sectors */

static uint8_t mem[MEM_SIZE];
static struct virtio_dev vdev;
static bool needs_reset;
static unsigned int signals;
static uint64_t dirty_lo = ~0ULL, dirty_hi;

/* The VMM's side, stubbed. */
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
	if (gpa < dirty_lo)
		dirty_lo = gpa;
	if (gpa + len > dirty_hi)
		dirty_hi = gpa + len;
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

void virtio_dev__needs_reset(struct virtio_dev *d, const char *why)
{
	(void)d;
	(void)why;
	needs_reset = true;
}

void virtio_dev__signal_used(struct virtio_dev *d, struct virtq *q)
{
	(void)d;
	(void)q;
	signals++;
}

void virtio_dev__signal_config(struct virtio_dev *d)
{
	(void)d;
}

struct virtio_dev *virtio_dev__new(struct vm *vm,
				   const struct virtio_dev_ops *ops,
				   const char *id, void *priv, char *err,
				   size_t errlen)
{
	(void)err;
	(void)errlen;
	memset(&vdev, 0, sizeof(vdev));
	vdev.vm = vm;
	vdev.ops = ops;
	vdev.features = ops->features;
	vdev.priv = priv;
	strcpy(vdev.id, id);
	pthread_mutex_init(&vdev.lock, NULL);
	pthread_mutex_init(&vdev.work, NULL);
	vdev.vqs[0] = (struct virtq) {
		.max_size = QSIZE, .size = QSIZE, .ready = true,
		.desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA,
		.used_gpa = USED_GPA,
	};
	return virtq__map(&vdev, &vdev.vqs[0]) ? NULL : &vdev;
}

struct fixture {
	char path[64];
	uint8_t data[FILE_SIZE];
};

static void read_file(struct fixture *f, void *buf)
{
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(FILE_SIZE, pread(fd, buf, FILE_SIZE, 0));
	close(fd);
}

static int setup_drive(void **state, bool read_only)
{
	struct virtio_drive_config cfg = { .read_only = read_only };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	size_t i;
	int fd;

	if (!f)
		return -1;
	strcpy(f->path, "/tmp/virtio_blk_test.XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	for (i = 0; i < FILE_SIZE; i++)
		f->data[i] = i * 7 + (i >> 9);
	if (write(fd, f->data, FILE_SIZE) != FILE_SIZE)
		return -1;
	close(fd);
	strcpy(cfg.drive_id, "data");
	strcpy(cfg.path, f->path);
	memset(mem, 0, sizeof(mem));
	needs_reset = false;
	signals = 0;
	if (virtio_blk__create(NULL, &cfg, err, sizeof(err)))
		return -1;
	*state = f;
	return 0;
}

static int setup_rw(void **state)
{
	return setup_drive(state, false);
}

static int setup_ro(void **state)
{
	return setup_drive(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	blk_ops.free(&vdev);
	unlink(f->path);
	free(f);
	return 0;
}

/* One buffer of a chain: guest address, length, device-writable. */
struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Offer the chain @segs as the next request and let the device serve it. */
static void submit(const struct seg *segs, unsigned int n)
{
	struct vring_desc *desc = (void *)(mem + DESC_GPA);
	struct vring_avail *avail = (void *)(mem + AVAIL_GPA);
	unsigned int i;

	for (i = 0; i < n; i++)
		desc[i] = (struct vring_desc) {
			.addr = segs[i].gpa, .len = segs[i].len,
			.flags = (segs[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			.next = i + 1,
		};
	avail->ring[avail->idx % QSIZE] = 0;
	avail->idx++;
	blk__queue_notify(&vdev, 0);
}

static void set_header(uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr hdr = {
		.type = htole32(type), .sector = htole64(sector),
	};

	memcpy(mem + HDR_GPA, &hdr, sizeof(hdr));
	mem[STATUS_GPA] = 0xff;
}

/* Request header, @len bytes of data at DATA_GPA, status byte. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t len,
		       bool data_writable)
{
	struct seg segs[] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, len, data_writable },
		{ STATUS_GPA, 1, true },
	};

	set_header(type, sector);
	if (len)
		submit(segs, 3);
	else
		submit((struct seg[]) { segs[0], segs[2] }, 2);
	return mem[STATUS_GPA];
}

static struct vring_used_elem *last_used(void)
{
	struct vring_used *used = (void *)(mem + USED_GPA);

	return &used->ring[(uint16_t)(used->idx - 1) % QSIZE];
}

static void test_read(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(VIRTIO_BLK_S_OK,
			 request(VIRTIO_BLK_T_IN, 2, 1024, true));
	assert_memory_equal(f->data + 1024, mem + DATA_GPA, 1024);
	assert_int_equal(1, ((struct vring_used *)(mem + USED_GPA))->idx);
	assert_int_equal(1025, last_used()->len);
	assert_int_equal(1, signals);
	assert_false(needs_reset);
	/* The data and the status byte are marked dirty. */
	assert_true(dirty_lo <= STATUS_GPA);
	assert_true(dirty_hi >= DATA_GPA + 1024);
}

/* A header, data and status split over buffers anywhere. */
static void test_read_split(void **state)
{
	struct fixture *f = *state;
	struct seg segs[] = {
		{ HDR_GPA, 5, false }, { HDR_GPA + 5, 11, false },
		{ DATA_GPA, 100, true }, { DATA_GPA + 100, 412, true },
		/* the last data byte and the status in one buffer */
		{ DATA_GPA + 512, 513, true },
	};

	set_header(VIRTIO_BLK_T_IN, 10);
	submit(segs, ARRAY_SIZE(segs));
	assert_false(needs_reset);
	assert_memory_equal(f->data + 10 * 512, mem + DATA_GPA, 1024);
	assert_int_equal(VIRTIO_BLK_S_OK, mem[DATA_GPA + 1024]);
}

static void test_write(void **state)
{
	struct fixture *f = *state;
	uint8_t now[FILE_SIZE];

	memset(mem + DATA_GPA, 0xab, 2048);
	assert_int_equal(VIRTIO_BLK_S_OK,
			 request(VIRTIO_BLK_T_OUT, 4, 2048, false));
	read_file(f, now);
	memset(f->data + 4 * 512, 0xab, 2048);
	assert_memory_equal(f->data, now, FILE_SIZE);
	assert_int_equal(1, last_used()->len);
}

/* Firecracker's answer to a write on a read-only drive: IOERR. */
static void test_write_read_only(void **state)
{
	struct fixture *f = *state;
	uint8_t now[FILE_SIZE];

	memset(mem + DATA_GPA, 0xab, 512);
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_OUT, 0, 512, false));
	read_file(f, now);
	assert_memory_equal(f->data, now, FILE_SIZE);
	assert_false(needs_reset);
	/* Reads still work, and the feature tells the driver. */
	assert_int_equal(VIRTIO_BLK_S_OK,
			 request(VIRTIO_BLK_T_IN, 0, 512, true));
	assert_true(vdev.features & (1ULL << VIRTIO_BLK_F_RO));
}

static void test_bounds(void **state)
{
	struct fixture *f = *state;
	uint8_t now[FILE_SIZE];

	(void)f;
	/* The last sector reads; one past it, or across the end, does not. */
	assert_int_equal(VIRTIO_BLK_S_OK,
			 request(VIRTIO_BLK_T_IN, 127, 512, true));
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_IN, 128, 512, true));
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_IN, 127, 1024, true));
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_OUT, ~0ULL, 512, false));
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_OUT, 1ULL << 55, 512, false));
	/* Not whole sectors. */
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_IN, 0, 100, true));
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_OUT, 0, 513, false));
	read_file(f, now);
	assert_memory_equal(f->data, now, FILE_SIZE);
	assert_false(needs_reset);
}

static void test_flush_get_id_unsupp(void **state)
{
	(void)state;
	assert_int_equal(VIRTIO_BLK_S_OK,
			 request(VIRTIO_BLK_T_FLUSH, 0, 0, false));
	memset(mem + DATA_GPA, 'x', 32);
	assert_int_equal(VIRTIO_BLK_S_OK,
			 request(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES,
				 true));
	assert_memory_equal("data\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
			    mem + DATA_GPA, VIRTIO_BLK_ID_BYTES);
	assert_int_equal(VIRTIO_BLK_S_IOERR,
			 request(VIRTIO_BLK_T_GET_ID, 0, 10, true));
	assert_int_equal(VIRTIO_BLK_S_UNSUPP, request(99, 0, 512, true));
	assert_false(needs_reset);
	/* Unsafe: no flush feature offered. */
	assert_false(vdev.features & (1ULL << VIRTIO_BLK_F_FLUSH));
}

/* No status byte, or half a header: nothing to answer with. */
static void test_malformed(void **state)
{
	struct seg no_status[] = {
		{ HDR_GPA, 16, false }, { DATA_GPA, 512, false },
	};
	struct seg short_hdr[] = {
		{ HDR_GPA, 8, false }, { STATUS_GPA, 1, true },
	};
	struct seg outside[] = {
		{ HDR_GPA, 16, false }, { MEM_SIZE - 256, 512, true },
		{ STATUS_GPA, 1, true },
	};

	(void)state;
	set_header(VIRTIO_BLK_T_OUT, 0);
	submit(no_status, 2);
	assert_true(needs_reset);
	needs_reset = false;
	set_header(VIRTIO_BLK_T_IN, 0);
	submit(short_hdr, 2);
	assert_true(needs_reset);
	assert_int_equal(0xff, mem[STATUS_GPA]);
	needs_reset = false;
	set_header(VIRTIO_BLK_T_IN, 0);
	submit(outside, 3);
	assert_true(needs_reset);
	assert_int_equal(0xff, mem[STATUS_GPA]);
}

static void test_config(void **state)
{
	uint32_t lo = 1, hi = 1, past = 1;
	char cmdline[64] = "x";

	(void)state;
	blk__config_read(&vdev, 0, &lo, 4);
	blk__config_read(&vdev, 4, &hi, 4);
	blk__config_read(&vdev, 8, &past, 4);
	assert_int_equal(FILE_SIZE / 512, lo);
	assert_int_equal(0, hi);
	assert_int_equal(0, past);
	/* Not a root drive: nothing for the command line. */
	assert_int_equal(0, blk__cmdline(&vdev, cmdline, sizeof(cmdline)));
	assert_string_equal("x", cmdline);
	((struct blk *)vdev.priv)->cfg.root = true;
	assert_int_equal(0, blk__cmdline(&vdev, cmdline, sizeof(cmdline)));
	assert_string_equal("x root=/dev/vda rw", cmdline);
	strcpy(((struct blk *)vdev.priv)->cfg.partuuid, "0eaa91a0-01");
	((struct blk *)vdev.priv)->cfg.read_only = true;
	cmdline[1] = '\0';
	assert_int_equal(0, blk__cmdline(&vdev, cmdline, sizeof(cmdline)));
	assert_string_equal("x root=PARTUUID=0eaa91a0-01 ro", cmdline);
	/* What does not fit is refused, and the buffer stays a string. */
	cmdline[1] = '\0';
	assert_int_equal(-E2BIG, blk__cmdline(&vdev, cmdline, 20));
	assert_true(strlen(cmdline) < 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_split, setup_rw,
						teardown),
		cmocka_unit_test_setup_teardown(test_write, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_only, setup_ro,
						teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup_rw,
						teardown),
		cmocka_unit_test_setup_teardown(test_flush_get_id_unsupp,
						setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup_rw,
						teardown),
		cmocka_unit_test_setup_teardown(test_config, setup_rw,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
