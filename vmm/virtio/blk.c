// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (PUT /drives/{drive_id}) as Firecracker v1.10 gives it: one
 * queue of 256 entries, the capacity as the whole configuration space,
 * VIRTIO_BLK_F_RO for a read-only drive and VIRTIO_BLK_F_FLUSH for
 * cache_type Writeback.  Requests are served in the device thread, one at
 * a time, with preadv/pwritev straight between the backing file and the
 * chain's buffers in guest memory (io_engine Sync): a request is done
 * when its used entry is pushed, so a paused device has none in flight.
 *
 * A request the driver got wrong but can still be answered (a sector
 * range beyond the capacity, a length not a whole number of sectors, a
 * write to a read-only drive) gets VIRTIO_BLK_S_IOERR, as Firecracker
 * answers them; a chain with no whole header or no byte for the status
 * cannot be answered, and marks the device as needing a reset; so does
 * one whose buffers add up to 4 GiB or more.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmstate.h"
#include "virtio/virtio.h"

#define BLK_QUEUE_SIZE		256
#define BLK_SECTOR_SHIFT	9
#define BLK_SECTOR_SIZE		(1U << BLK_SECTOR_SHIFT)
#define BLK_STATE_VERSION	1

struct blk {
	struct virtio_drive_config cfg;
	int fd;
	uint64_t size;		/* of the backing file, in bytes */
	uint64_t capacity;	/* whole sectors; under the device's @lock */
	struct virtio_limiter limiter;
};

/*
 * The device's section after the transport's: its configuration, so that
 * a restore needs nothing else, and the size the guest saw.
 */
struct blk_state {
	char drive_id[VIRTIO_BLK_ID_LEN];
	char path[VIRTIO_BLK_PATH_LEN];
	char partuuid[VIRTIO_BLK_PARTUUID_LEN];
	uint8_t root;
	uint8_t read_only;
	uint8_t writeback;
	uint8_t reserved[5];
	uint64_t size;
	struct rate_limit_config limit;
};

int virtio_blk__open(const char *path, bool read_only, uint64_t *size,
		     char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s%s: %s", path,
			 read_only ? "" : " for reading and writing",
			 strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "%s is not a file or a block device",
			 path);
		close(fd);
		return -EINVAL;
	} else if (ioctl(fd, BLKGETSIZE64, size) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot get its size: %s", path,
			 strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

/* The buffers of @src that cover [@off, @off + @len), into @dst. */
static unsigned int iov_slice(const struct iovec *src, unsigned int n,
			      size_t off, size_t len, struct iovec *dst)
{
	unsigned int i, k = 0;
	size_t l;

	for (i = 0; i < n && len; i++) {
		l = src[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		dst[k++] = (struct iovec) {
			(uint8_t *)src[i].iov_base + off, l
		};
		len -= l;
		off = 0;
	}
	return k;
}

/* Move all of @iov at @pos: 0, or -errno (-EIO if the file ended). */
static int blk__rw(int fd, bool write, struct iovec *iov, unsigned int n,
		   uint64_t pos)
{
	ssize_t r;

	while (n) {
		r = write ? pwritev(fd, iov, n, pos) : preadv(fd, iov, n, pos);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -EIO;
		pos += r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

/* @len bytes from @sector lie within the drive, in whole sectors. */
static bool blk__in_range(struct blk *blk, uint64_t sector, size_t len)
{
	uint64_t n = len >> BLK_SECTOR_SHIFT;

	return !(len % BLK_SECTOR_SIZE) && sector <= blk->capacity &&
	       n <= blk->capacity - sector;
}

/*
 * Serve the request in @c: its status, or -EINVAL when the chain has no
 * whole header or no byte for the status.  Layout (virtio 1.2, 5.2.6):
 * the header in the readable part, an OUT's data after it; an IN's or
 * GET_ID's data in the writable part, whose last byte is the status.
 * Buffers may split these anywhere.
 */
static int blk__request(struct blk *blk, const struct virtq_chain *c)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	struct virtio_blk_outhdr hdr;
	char serial[VIRTIO_BLK_ID_BYTES];
	uint64_t sector;
	unsigned int n;
	size_t len;

	/*
	 * Buffers may overlap, so a chain can add up to more than the used
	 * ring's 32-bit length can report (or mark dirty): malformed.
	 */
	if (c->out_len < sizeof(hdr) || !c->in_len ||
	    c->in_len > UINT32_MAX || c->out_len > UINT32_MAX)
		return -EINVAL;
	virtq__read(c, 0, &hdr, sizeof(hdr));
	sector = le64toh(hdr.sector);
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		len = c->in_len - 1;
		if (!blk__in_range(blk, sector, len))
			return VIRTIO_BLK_S_IOERR;
		n = iov_slice(c->in, c->nr_in, 0, len, iov);
		if (blk__rw(blk->fd, false, iov, n, sector << BLK_SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		len = c->out_len - sizeof(hdr);
		/* Firecracker's drive is opened read-only: the write fails. */
		if (blk->cfg.read_only || !blk__in_range(blk, sector, len))
			return VIRTIO_BLK_S_IOERR;
		n = iov_slice(c->out, c->nr_out, sizeof(hdr), len, iov);
		if (blk__rw(blk->fd, true, iov, n, sector << BLK_SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		/* Offered for Writeback only, but honoured if asked. */
		return fdatasync(blk->fd) ? VIRTIO_BLK_S_IOERR :
		       VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (c->in_len - 1 < VIRTIO_BLK_ID_BYTES)
			return VIRTIO_BLK_S_IOERR;
		/* The serial is the drive_id, NUL-padded, unterminated if 20. */
		memset(serial, 0, sizeof(serial));
		len = strlen(blk->cfg.drive_id);
		memcpy(serial, blk->cfg.drive_id,
		       len < sizeof(serial) ? len : sizeof(serial));
		virtq__write(c, 0, serial, sizeof(serial));
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk__queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct blk *blk = vdev->priv;
	struct virtq *vq = &vdev->vqs[q];
	struct virtq_chain c;
	bool pushed = false;
	uint8_t status;
	int ret;

	while (virtq__pop(vdev, vq, &c) > 0) {
		/* Data bytes, as Firecracker counts: not header nor status. */
		uint64_t bytes = (c.out_len > sizeof(struct virtio_blk_outhdr) ?
				  c.out_len - sizeof(struct virtio_blk_outhdr) :
				  0) + (c.in_len ? c.in_len - 1 : 0);

		if (!virtio_limiter__consume(&blk->limiter, bytes)) {
			virtq__unpop(vq);
			break;
		}
		ret = blk__request(vdev->priv, &c);
		if (ret < 0) {
			virtio_dev__needs_reset(vdev, "malformed block request "
						"(no whole header, no status "
						"byte, or 4 GiB or more)");
			break;
		}
		status = ret;
		virtq__write(&c, c.in_len - 1, &status, 1);
		/*
		 * The status is the last writable byte: count the whole
		 * writable part as written, so that all of it, status
		 * included, is marked dirty.
		 */
		virtq__push(vdev, vq, &c, c.in_len);
		pushed = true;
	}
	if (pushed)
		virtio_dev__signal_used(vdev, vq);
}

/* struct virtio_blk_config up to its capacity; the rest reads as 0. */
static void blk__config_read(struct virtio_dev *vdev, uint32_t offset,
			     void *data, uint32_t len)
{
	struct blk *blk = vdev->priv;
	uint64_t cap;

	pthread_mutex_lock(&vdev->lock);
	cap = htole64(blk->capacity);
	pthread_mutex_unlock(&vdev->lock);
	memset(data, 0, len);
	if (offset < sizeof(cap))
		memcpy(data, (uint8_t *)&cap + offset,
		       len < sizeof(cap) - offset ? len : sizeof(cap) - offset);
}

/* As Firecracker's prepare_save: the data is on disk before the state. */
static int blk__save(struct virtio_dev *vdev, struct vsbuf *b)
{
	struct blk *blk = vdev->priv;
	struct blk_state s;

	if (fdatasync(blk->fd) < 0) {
		vmm__log("drive %s: cannot flush %s: %s", blk->cfg.drive_id,
			 blk->cfg.path, strerror(errno));
		return -EIO;
	}
	memset(&s, 0, sizeof(s));
	memcpy(s.drive_id, blk->cfg.drive_id, sizeof(s.drive_id));
	memcpy(s.path, blk->cfg.path, sizeof(s.path));
	memcpy(s.partuuid, blk->cfg.partuuid, sizeof(s.partuuid));
	s.root = blk->cfg.root;
	s.read_only = blk->cfg.read_only;
	s.writeback = blk->cfg.writeback;
	s.size = blk->size;
	s.limit = blk->limiter.cfg;
	return vsbuf__append(b, &s, sizeof(s));
}

/* Firecracker's: root=/dev/vda (the root drive is attached first). */
static int blk__cmdline(struct virtio_dev *vdev, char *buf, size_t size)
{
	struct blk *blk = vdev->priv;
	size_t len = strlen(buf);
	int n;

	if (!blk->cfg.root)
		return 0;
	if (len >= size)
		return -E2BIG;
	if (blk->cfg.partuuid[0])
		n = snprintf(buf + len, size - len, " root=PARTUUID=%s %s",
			     blk->cfg.partuuid, blk->cfg.read_only ? "ro" : "rw");
	else
		n = snprintf(buf + len, size - len, " root=/dev/vda %s",
			     blk->cfg.read_only ? "ro" : "rw");
	return n < 0 || (size_t)n >= size - len ? -E2BIG : 0;
}

static void blk__limiter_wake(struct virtio_dev *vdev, void *arg)
{
	(void)arg;
	if (vdev->vqs[0].ready)
		blk__queue_notify(vdev, 0);
}

static void blk__free(struct virtio_dev *vdev)
{
	struct blk *blk = vdev->priv;

	virtio_limiter__exit(&blk->limiter);
	if (blk->cfg.writeback && fdatasync(blk->fd) < 0)
		vmm__log("drive %s: cannot flush %s: %s", blk->cfg.drive_id,
			 blk->cfg.path, strerror(errno));
	close(blk->fd);
	free(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "block",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.config_read = blk__config_read,
	.queue_notify = blk__queue_notify,
	.version = BLK_STATE_VERSION,
	.save = blk__save,
	.cmdline = blk__cmdline,
	.free = blk__free,
};

/* A device for @cfg, backed by @fd of @size bytes, which it then owns. */
static int blk__new(struct vm *vm, const struct virtio_drive_config *cfg,
		    int fd, uint64_t size, char *err, size_t errlen)
{
	struct virtio_dev *vdev;
	struct blk *blk;
	int ret;

	blk = calloc(1, sizeof(*blk));
	if (!blk) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -ENOMEM;
	}
	blk->cfg = *cfg;
	blk->fd = fd;
	blk->size = size;
	blk->limiter.timer_fd = -1;
	/* As in Firecracker, a partial last sector is not shown. */
	blk->capacity = size >> BLK_SECTOR_SHIFT;
	if (size % BLK_SECTOR_SIZE)
		vmm__log("drive %s: %s is not whole sectors; its last %llu "
			 "bytes are not shown", cfg->drive_id, cfg->path,
			 (unsigned long long)(size % BLK_SECTOR_SIZE));
	vdev = virtio_dev__new(vm, &blk_ops, cfg->drive_id, blk, err, errlen);
	if (!vdev) {
		close(fd);
		free(blk);
		return -EINVAL;
	}
	/* Before the thread starts, so before any driver reads them. */
	if (cfg->read_only)
		vdev->features |= 1ULL << VIRTIO_BLK_F_RO;
	if (cfg->writeback)
		vdev->features |= 1ULL << VIRTIO_BLK_F_FLUSH;
	/* From here on the device owns blk: blk__free releases it. */
	ret = virtio_limiter__init(vdev, &blk->limiter, &cfg->limit,
				   blk__limiter_wake, NULL);
	if (ret)
		snprintf(err, errlen, "drive %s: rate limiter: %s",
			 cfg->drive_id, strerror(-ret));
	return ret;
}

int virtio_blk__create(struct vm *vm, const struct virtio_drive_config *cfg,
		       char *err, size_t errlen)
{
	char why[512];
	uint64_t size;
	int fd;

	fd = virtio_blk__open(cfg->path, cfg->read_only, &size, why,
			      sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "drive %s: %s", cfg->drive_id, why);
		return fd;
	}
	return blk__new(vm, cfg, fd, size, err, errlen);
}

static struct virtio_dev *blk__find(struct vm *vm, const char *id)
{
	unsigned int i;

	for (i = 0; i < vm->nr_virtio; i++)
		if (vm->virtio[i]->ops == &blk_ops &&
		    !strcmp(vm->virtio[i]->id, id))
			return vm->virtio[i];
	return NULL;
}

unsigned int virtio_blk__configs(struct vm *vm, struct virtio_drive_config *out,
				 unsigned int max)
{
	struct blk *blk;
	unsigned int i, n = 0;

	for (i = 0; i < vm->nr_virtio && n < max; i++) {
		if (vm->virtio[i]->ops != &blk_ops)
			continue;
		blk = vm->virtio[i]->priv;
		pthread_mutex_lock(&vm->virtio[i]->work);
		out[n++] = blk->cfg;
		pthread_mutex_unlock(&vm->virtio[i]->work);
	}
	return n;
}

/*
 * Firecracker's PATCH: the drive is backed by @path from now on, its
 * capacity is the new file's, and the driver is told through a
 * configuration change.  @path NULL only checks that the drive exists.
 */
int virtio_blk__update(struct vm *vm, const char *id, const char *path,
		       const struct rate_limit_config *limit,
		       const bool given[2], char *err, size_t errlen)
{
	struct virtio_dev *vdev = blk__find(vm, id);
	struct blk *blk;
	uint64_t size;
	bool live;
	int fd, old;

	if (!vdev) {
		snprintf(err, errlen, "no drive '%s' in the VM", id);
		return -ENOENT;
	}
	blk = vdev->priv;
	if (limit) {
		pthread_mutex_lock(&vdev->work);
		virtio_limiter__update(&blk->limiter, limit, given);
		blk->cfg.limit = blk->limiter.cfg;
		pthread_mutex_unlock(&vdev->work);
	}
	if (!path)
		return 0;
	if (strlen(path) >= sizeof(blk->cfg.path)) {
		snprintf(err, errlen, "path_on_host is longer than %zu bytes",
			 sizeof(blk->cfg.path) - 1);
		return -ENAMETOOLONG;
	}
	fd = virtio_blk__open(path, blk->cfg.read_only, &size, err, errlen);
	if (fd < 0)
		return fd;

	/* The device thread is idle while it holds no @work. */
	pthread_mutex_lock(&vdev->work);
	old = blk->fd;
	blk->fd = fd;
	blk->size = size;
	strcpy(blk->cfg.path, path);
	pthread_mutex_lock(&vdev->lock);
	blk->capacity = size >> BLK_SECTOR_SHIFT;
	live = vdev->status & VIRTIO_CONFIG_S_DRIVER_OK;
	pthread_mutex_unlock(&vdev->lock);
	pthread_mutex_unlock(&vdev->work);

	if (blk->cfg.writeback && fdatasync(old) < 0)
		vmm__log("drive %s: cannot flush its old file: %s", id,
			 strerror(errno));
	close(old);
	if (live)
		virtio_dev__signal_config(vdev);
	return 0;
}

int virtio_blk__restore(struct vm *vm, const char *id, uint32_t version,
			const void *state, size_t len, char *err,
			size_t errlen)
{
	struct virtio_drive_config cfg;
	struct blk_state s;
	char why[512];
	uint64_t size;
	int fd;

	if (version != BLK_STATE_VERSION || len != sizeof(s)) {
		snprintf(err, errlen, "drive %s: state version %u (%zu bytes) "
			 "is not this VMM's version %u (%zu bytes)", id,
			 version, len, BLK_STATE_VERSION, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, state, sizeof(s));
	if (memchr(s.drive_id, 0, sizeof(s.drive_id)) == NULL ||
	    memchr(s.path, 0, sizeof(s.path)) == NULL ||
	    memchr(s.partuuid, 0, sizeof(s.partuuid)) == NULL ||
	    strcmp(s.drive_id, id) || !rate_limit_config__valid(&s.limit)) {
		snprintf(err, errlen, "drive %s: its state is malformed", id);
		return -EINVAL;
	}
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.drive_id, s.drive_id);
	strcpy(cfg.path, s.path);
	strcpy(cfg.partuuid, s.partuuid);
	cfg.root = s.root;
	cfg.read_only = s.read_only;
	cfg.writeback = s.writeback;
	cfg.limit = s.limit;

	fd = virtio_blk__open(cfg.path, cfg.read_only, &size, why,
			      sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "drive %s: %s", id, why);
		return fd;
	}
	/* The guest's file system was built on the old size. */
	if (size >> BLK_SECTOR_SHIFT != s.size >> BLK_SECTOR_SHIFT) {
		snprintf(err, errlen, "drive %s: %s is %llu bytes, the "
			 "snapshot's drive was %llu bytes", id, cfg.path,
			 (unsigned long long)size,
			 (unsigned long long)s.size);
		close(fd);
		return -EINVAL;
	}
	return blk__new(vm, &cfg, fd, size, err, errlen);
}
