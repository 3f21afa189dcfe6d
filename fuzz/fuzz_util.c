// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc32.h"
#include "fuzz_util.h"
#include "layers.h"
#include "vmstate.h"

int fuzz__memfd(const void *data, size_t len, char *path,
		void (*fix)(uint8_t *buf, size_t len))
{
	size_t done = 0;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	uint8_t *copy = malloc(len ? len : 1);

	if (fd < 0 || !copy)
		goto fail;
	memcpy(copy, data, len);
	if (fix)
		fix(copy, len);
	while (done < len) {
		ssize_t n = write(fd, copy + done, len - done);

		if (n <= 0)
			goto fail;
		done += n;
	}
	free(copy);
	snprintf(path, FUZZ_PATH_MAX, "/proc/self/fd/%d", fd);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	free(copy);
	return -1;
}

static uint32_t crc_of(const void *p, size_t len)
{
	return crc32__update(0, p, len);
}

void fuzz__fix_vmstate(uint8_t *buf, size_t len)
{
	struct vmstate_header *h = (struct vmstate_header *)buf;

	if (len < sizeof(*h))
		return;
	if (!h->payload_crc) {
		h->payload_len = len - sizeof(*h);
		h->payload_crc = crc_of(buf + sizeof(*h), len - sizeof(*h));
	}
	if (!h->header_crc)
		h->header_crc = crc_of(h, offsetof(struct vmstate_header,
						   header_crc));
}

void fuzz__zero_vmstate(uint8_t *buf, size_t len)
{
	struct vmstate_header *h = (struct vmstate_header *)buf;

	if (len >= sizeof(*h))
		h->payload_crc = h->header_crc = 0;
}

void fuzz__fix_layers(uint8_t *buf, size_t len)
{
	struct layers_header *h = (struct layers_header *)buf;
	uint64_t index_len, data_len;

	if (len < sizeof(*h))
		return;
	index_len = (uint64_t)h->nr_ranges * sizeof(struct layers_range);
	if (!h->index_crc && index_len <= len - sizeof(*h))
		h->index_crc = crc_of(h + 1, index_len);
	data_len = (h->ro_pages + h->dirty_pages) * LAYERS_PAGE_SIZE;
	if (!h->data_crc && h->data_offset <= len &&
	    data_len <= len - h->data_offset)
		h->data_crc = crc_of(buf + h->data_offset, data_len);
	if (!h->header_crc)
		h->header_crc = crc_of(h, offsetof(struct layers_header,
						   header_crc));
}

void fuzz__zero_layers(uint8_t *buf, size_t len)
{
	struct layers_header *h = (struct layers_header *)buf;

	if (len >= sizeof(*h))
		h->index_crc = h->data_crc = h->header_crc = 0;
}

/* @buf is at least an identity page (fuzz__memfile pads it). */
void fuzz__fix_memfile_id(uint8_t *buf, size_t len)
{
	struct memfile_id t;

	if (len < sizeof(t))
		return;
	memcpy(&t, buf, sizeof(t));
	if (!t.crc)
		t.crc = crc_of(&t, offsetof(struct memfile_id, crc));
	memcpy(buf, &t, sizeof(t));
}

void fuzz__zero_memfile_id(uint8_t *buf, size_t len)
{
	uint32_t zero = 0;

	if (len >= sizeof(struct memfile_id))
		memcpy(buf + offsetof(struct memfile_id, crc), &zero,
		       sizeof(zero));
}

int fuzz__memfile(const uint8_t *data, size_t len, char *path,
		  uint64_t *file_size)
{
	uint8_t page[VMSTATE_PAGE_SIZE] = { 0 };
	struct memfile_id t;
	uint64_t size;
	int fd;

	memcpy(page, data, len < sizeof(page) ? len : sizeof(page));
	fuzz__fix_memfile_id(page, sizeof(page));
	memcpy(&t, page, sizeof(t));
	size = t.mem_size;
	if (len >= sizeof(page) + sizeof(size))
		memcpy(&size, data + sizeof(page), sizeof(size));
	size %= FUZZ_MEMFILE_MAX;
	fd = memfd_create("fuzz-mem", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) ||
	    (size >= MEMFILE_ID_OFFSET + sizeof(page) &&
	     pwrite(fd, page, sizeof(page), MEMFILE_ID_OFFSET) !=
	     sizeof(page))) {
		close(fd);
		return -1;
	}
	*file_size = size;
	snprintf(path, FUZZ_PATH_MAX, "/proc/self/fd/%d", fd);
	return fd;
}
