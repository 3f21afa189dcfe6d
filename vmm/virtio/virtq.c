// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues (virtio 1.2, section 2.7), device side.  The rings
 * live in guest memory, which the guest may change under us at any time:
 * every index and descriptor is read once into a local copy and checked
 * before it is used, so a hostile driver can get its device marked as
 * needing a reset but never a host access outside guest RAM.
 */
#include <errno.h>
#include <string.h>

#include "virtio/virtio.h"

static bool is_power_of_2(unsigned int n)
{
	return n && !(n & (n - 1));
}

int virtq__map(struct virtio_dev *vdev, struct virtq *q)
{
	struct vm *vm = vdev->vm;
	uint64_t n = q->size;

	if (!is_power_of_2(n) || n > q->max_size ||
	    q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return -EINVAL;
	q->desc = vm__gpa(vm, q->desc_gpa, 16 * n);
	q->avail = vm__gpa(vm, q->avail_gpa, 6 + 2 * n);
	q->used = vm__gpa(vm, q->used_gpa, 6 + 8 * n);
	if (!q->desc || !q->avail || !q->used)
		return -EINVAL;
	return 0;
}

void virtq__reset(struct virtq *q)
{
	q->size = 0;
	q->ready = false;
	q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->last_avail = 0;
	q->used_idx = 0;
}

void virtq__unpop(struct virtq *q)
{
	q->last_avail--;
}

static int virtq__bad(struct virtio_dev *vdev, const char *why)
{
	virtio_dev__needs_reset(vdev, why);
	return -EINVAL;
}

int virtq__pop(struct virtio_dev *vdev, struct virtq *q,
	       struct virtq_chain *c)
{
	uint16_t avail_idx, head, i;
	struct vring_desc d;
	unsigned int n;
	void *p;

	avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return virtq__bad(vdev, "available index ran ahead of the ring");
	head = __atomic_load_n(&q->avail->ring[q->last_avail % q->size],
			       __ATOMIC_RELAXED);
	if (head >= q->size)
		return virtq__bad(vdev, "available entry out of range");

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (i = head, n = 0;; n++) {
		/* A chain longer than the table must loop. */
		if (n == q->size || n == VIRTQ_MAX_SEGS)
			return virtq__bad(vdev, "descriptor chain loops or is "
					  "too long");
		memcpy(&d, &q->desc[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return virtq__bad(vdev, "indirect descriptor, not "
					  "negotiated");
		p = vm__gpa(vdev->vm, d.addr, d.len);
		if (!p)
			return virtq__bad(vdev, "buffer outside guest memory");
		if (d.flags & VRING_DESC_F_WRITE) {
			c->in[c->nr_in] = (struct iovec) { p, d.len };
			c->in_gpa[c->nr_in++] = d.addr;
			c->in_len += d.len;
		} else {
			if (c->nr_in)
				return virtq__bad(vdev, "readable buffer after "
						  "a writable one");
			c->out[c->nr_out++] = (struct iovec) { p, d.len };
			c->out_len += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= q->size)
			return virtq__bad(vdev, "next descriptor out of range");
	}
	q->last_avail++;
	return 1;
}

/* What the device wrote is not in KVM's dirty log: tell snapshots. */
static void virtq__mark_written(struct virtio_dev *vdev,
				const struct virtq_chain *c, uint32_t written)
{
	unsigned int i;
	uint64_t n;

	for (i = 0; i < c->nr_in && written; i++) {
		n = c->in[i].iov_len < written ? c->in[i].iov_len : written;
		vm__mark_dirty(vdev->vm, c->in_gpa[i], n);
		written -= n;
	}
}

void virtq__push(struct virtio_dev *vdev, struct virtq *q,
		 const struct virtq_chain *c, uint32_t written)
{
	uint16_t slot = q->used_idx % q->size;

	if (written > c->in_len)
		written = c->in_len;
	virtq__mark_written(vdev, c, written);
	q->used->ring[slot].id = c->head;
	q->used->ring[slot].len = written;
	vm__mark_dirty(vdev->vm, q->used_gpa + 4 + 8ULL * slot, 8);
	/* The entry is visible before the index that publishes it. */
	__atomic_store_n(&q->used->idx, ++q->used_idx, __ATOMIC_RELEASE);
	vm__mark_dirty(vdev->vm, q->used_gpa, 4);
}

size_t virtq__read(const struct virtq_chain *c, size_t offset, void *buf,
		   size_t len)
{
	size_t done = 0, n;
	unsigned int i;

	for (i = 0; i < c->nr_out && done < len; i++) {
		if (offset >= c->out[i].iov_len) {
			offset -= c->out[i].iov_len;
			continue;
		}
		n = c->out[i].iov_len - offset;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done,
		       (uint8_t *)c->out[i].iov_base + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq__write(const struct virtq_chain *c, size_t offset,
		    const void *buf, size_t len)
{
	size_t done = 0, n;
	unsigned int i;

	for (i = 0; i < c->nr_in && done < len; i++) {
		if (offset >= c->in[i].iov_len) {
			offset -= c->in[i].iov_len;
			continue;
		}
		n = c->in[i].iov_len - offset;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)c->in[i].iov_base + offset,
		       (const uint8_t *)buf + done, n);
		done += n;
		offset = 0;
	}
	return done;
}
