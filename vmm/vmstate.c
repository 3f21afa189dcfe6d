// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitmap.h"
#include "crc32.h"
#include "layers.h"
#include "vmm.h"
#include "vmstate.h"

void vsbuf__init(struct vsbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void vsbuf__free(struct vsbuf *b)
{
	free(b->data);
	vsbuf__init(b);
}

/* @len more bytes at the end of @b, zeroed; NULL on failure. */
static void *vsbuf__grow(struct vsbuf *b, size_t len)
{
	size_t need = b->len + len;
	uint8_t *p;

	if (b->error)
		return NULL;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		uint8_t *d;

		while (cap < need)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->error = -ENOMEM;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	p = b->data + b->len;
	memset(p, 0, len);
	b->len = need;
	return p;
}

/* Append a section header and return @len zeroed bytes to fill in. */
void *vsbuf__section(struct vsbuf *b, uint32_t type, size_t len)
{
	struct vmstate_section s = { .type = type, .len = len };
	uint8_t *p = vsbuf__grow(b, sizeof(s) + len);

	/* After a section of odd length, the header is not aligned. */
	if (!p)
		return NULL;
	memcpy(p, &s, sizeof(s));
	return p + sizeof(s);
}

int vsbuf__append(struct vsbuf *b, const void *data, size_t len)
{
	void *d = vsbuf__grow(b, len);

	if (d)
		memcpy(d, data, len);
	return b->error;
}

int vsbuf__add(struct vsbuf *b, uint32_t type, const void *data, size_t len)
{
	void *d = vsbuf__section(b, type, len);

	if (d)
		memcpy(d, data, len);
	return b->error;
}

int vsbuf__add_layout(struct vsbuf *b, const struct vs_vm *vm,
		      const uint64_t *dirty)
{
	size_t bitmap_bytes = dirty ?
			      bitmap__bytes(vm->mem_size / VMSTATE_PAGE_SIZE) :
			      0;
	struct vs_memory *mem;

	if (vsbuf__add(b, VS_VM, vm, sizeof(*vm)))
		return b->error;
	/* A large bitmap moves the buffer: fill in before anything else. */
	mem = vsbuf__section(b, VS_MEMORY, sizeof(*mem) + bitmap_bytes);
	if (!mem)
		return b->error;
	mem->type = dirty ? VS_MEM_DIFF : VS_MEM_FULL;
	mem->mem_size = vm->mem_size;
	mem->bitmap_bytes = bitmap_bytes;
	if (bitmap_bytes)
		memcpy(mem + 1, dirty, bitmap_bytes);
	return 0;
}

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

/* A temporary file next to @path, its name in @tmp (4200 bytes). */
int file__create_temp(const char *path, char *tmp, char *err, size_t errlen)
{
	int fd;

	snprintf(tmp, 4200, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		char *dir = strdup(path);

		/* Named whole: the directory is what is missing or locked. */
		snprintf(err, errlen, "cannot write %s: cannot create a file "
			 "in %s: %s", path,
			 dir ? dirname(dir) : "its directory", strerror(e));
		free(dir);
		return -e;
	}
	return fd;
}

/*
 * mkstemp() names: "<path>.tmp." and six characters.  Only one writer
 * per target is supported, so any such file is a killed writer's.
 */
void file__remove_stale_temps(const char *path)
{
	char *dcopy = strdup(path), *bcopy = strdup(path), *base, prefix[4200];
	struct dirent *e;
	size_t plen;
	DIR *d;

	if (!dcopy || !bcopy)
		goto out;
	base = basename(bcopy);
	plen = snprintf(prefix, sizeof(prefix), "%s.tmp.", base);
	d = opendir(dirname(dcopy));
	if (!d)
		goto out;
	while ((e = readdir(d))) {
		if (!strncmp(e->d_name, prefix, plen) &&
		    strlen(e->d_name) == plen + 6 &&
		    e->d_type != DT_DIR)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
out:
	free(dcopy);
	free(bcopy);
}

int file__sync_temp(int fd, const char *tmp, char *err, size_t errlen)
{
	if (fsync(fd) || close(fd)) {
		snprintf(err, errlen, "syncing %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

int file__rename_temp(const char *tmp, const char *path, char *err,
		      size_t errlen)
{
	if (rename(tmp, path)) {
		snprintf(err, errlen, "renaming %s to %s: %s", tmp, path,
			 strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	if (fsync_dir(path)) {
		snprintf(err, errlen, "syncing the directory of %s: %s", path,
			 strerror(errno));
		return -EIO;
	}
	return 0;
}

/*
 * Sync the temporary file @fd and rename it over @path; on failure it is
 * removed.  Either way @fd is closed.
 */
int file__commit_temp(int fd, const char *tmp, const char *path, char *err,
		      size_t errlen)
{
	int ret = file__sync_temp(fd, tmp, err, errlen);

	return ret ? ret : file__rename_temp(tmp, path, err, errlen);
}

static void prev_name(const char *path, char *prev)
{
	snprintf(prev, 4200, "%s.prev", path);
}

/*
 * A hard link, not a copy: the file is as large as guest memory, and the
 * rename that follows only moves the name @path to the new file.  A stale
 * .prev is unlinked first, which is safe: until the rename, @path itself
 * is still the file the vmstate on disk needs.
 */
int file__keep_previous(const char *path, bool superseded, char *err,
			size_t errlen)
{
	char prev[4200];

	if (superseded)
		return 0;
	prev_name(path, prev);
	if ((unlink(prev) && errno != ENOENT) ||
	    (link(path, prev) && errno != ENOENT)) {
		snprintf(err, errlen, "keeping %s as %s: %s", path, prev,
			 strerror(errno));
		return -EIO;
	}
	if (fsync_dir(prev)) {
		snprintf(err, errlen, "syncing the directory of %s: %s", prev,
			 strerror(errno));
		return -EIO;
	}
	return 0;
}

/*
 * Not synced: a .prev that outlives a crash is a stale one, which no load
 * picks over a @path that belongs to the vmstate and the next create
 * replaces or removes.
 */
void file__drop_previous(const char *path)
{
	char prev[4200];

	prev_name(path, prev);
	unlink(prev);
}

int file__open_current(const char *path,
		       int (*open_one)(const char *path, void *arg, char *err,
				       size_t errlen),
		       void *arg, char *used, char *err, size_t errlen)
{
	char why[512];
	int ret, prev_ret;

	snprintf(used, 4200, "%s", path);
	ret = open_one(path, arg, err, errlen);
	if (ret != -ESTALE)
		return ret;
	/* Neither belongs: the reason given is the one about @path. */
	prev_name(path, used);
	prev_ret = open_one(used, arg, why, sizeof(why));
	if (prev_ret < 0) {
		snprintf(used, 4200, "%s", path);
		return ret;
	}
	/* Once per file, on every load that finds it. */
	fprintf(stderr, "%s: a snapshot/create was interrupted before its "
		"commit: %s is not of the snapshot its vmstate names, the "
		"previous %s is; using that\n", program_invocation_short_name,
		path, used);
	return prev_ret;
}

struct memfile_want {
	uint64_t mem_size;
	const uint8_t *id;
};

static int memfile__open_one(const char *path, void *arg, char *err,
			     size_t errlen)
{
	const struct memfile_want *w = arg;
	struct stat st;
	int ret, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open memory file %s: %s", path,
			 strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) || (uint64_t)st.st_size != w->mem_size) {
		snprintf(err, errlen, "memory file %s has %llu bytes, the "
			 "snapshot needs %llu", path,
			 (unsigned long long)st.st_size,
			 (unsigned long long)w->mem_size);
		close(fd);
		return -EINVAL;
	}
	ret = memfile__check(fd, path, w->mem_size, w->id, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int memfile__open(const char *path, uint64_t mem_size,
		  const uint8_t id[VS_ID_BYTES], char *used, char *err,
		  size_t errlen)
{
	struct memfile_want w = { .mem_size = mem_size, .id = id };

	return file__open_current(path, memfile__open_one, &w, used, err,
				  errlen);
}

struct layers_want {
	struct layers *l;
	uint64_t mem_size;
	uint32_t crc;
};

static int layers__open_one(const char *path, void *arg, char *err,
			    size_t errlen)
{
	const struct layers_want *w = arg;
	int ret = layers__open(path, w->mem_size, w->l, err, errlen);

	if (ret)
		return ret;
	if (!layers__belongs(w->l, w->crc, w->mem_size)) {
		snprintf(err, errlen, "%s holds the layers of snapshot %08x, "
			 "not of this one (%08x)", path, w->l->h.snapshot_crc,
			 w->crc);
		layers__close(w->l);
		return -ESTALE;
	}
	return 0;
}

int vstate__open_layers(const char *path, uint64_t mem_size, uint32_t crc,
			struct layers *l, char *used, char *err, size_t errlen)
{
	struct layers_want w = { .l = l, .mem_size = mem_size, .crc = crc };

	return file__open_current(path, layers__open_one, &w, used, err,
				  errlen);
}

/* Write @len bytes to a new synced temporary file next to @path. */
static int file__write_temp(const char *path, const void *data, size_t len,
			    char *tmp, char *err, size_t errlen)
{
	size_t done = 0;
	int fd;

	fd = file__create_temp(path, tmp, err, errlen);
	if (fd < 0)
		return fd;
	while (done < len) {
		ssize_t n = write(fd, (const uint8_t *)data + done,
				  len - done);

		if (n < 0) {
			snprintf(err, errlen, "writing %s: %s", tmp,
				 strerror(errno));
			close(fd);
			unlink(tmp);
			return -EIO;
		}
		done += n;
	}
	return file__sync_temp(fd, tmp, err, errlen);
}

/* Pages [@start, @end) of @mem at their own offsets in @fd; 0 or errno. */
static int write_run(int fd, const uint8_t *mem, uint64_t start,
		     uint64_t end)
{
	uint64_t off = start * VMSTATE_PAGE_SIZE;
	uint64_t len = (end - start) * VMSTATE_PAGE_SIZE;

	while (len) {
		ssize_t n = pwrite(fd, mem + off, len, off);

		if (n <= 0)
			return n < 0 ? errno : EIO;
		off += n;
		len -= n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *page)
{
	static const uint8_t zero[VMSTATE_PAGE_SIZE];

	return !memcmp(page, zero, VMSTATE_PAGE_SIZE);
}

/*
 * Pages [@first, @end) of @mem, leaving holes where a page is all zero: a
 * guest of 3 GiB touches a fraction of its memory, and a memory file as
 * large as the guest does not fit on a tmpfs beside it.  Holes read as
 * zero, so the file's content is the same as a dense one's.
 */
static int write_nonzero(int fd, const uint8_t *mem, uint64_t first,
			 uint64_t end)
{
	uint64_t start = first, i;
	int ret;

	for (i = first; i <= end; i++) {
		if (i < end && !page_is_zero(mem + i * VMSTATE_PAGE_SIZE))
			continue;
		if (i > start) {
			ret = write_run(fd, mem, start, i);
			if (ret)
				return ret;
		}
		start = i + 1;
	}
	return 0;
}

/*
 * Guest memory @mem into a synced temporary file next to @path, then the
 * identity page naming snapshot @id.  With @bitmap (a Diff, or a Full
 * whose other pages are known to be zero) only the pages set in it are
 * written, each at its own offset in a sparse file; without, every page.
 * Either way an all-zero page stays a hole: a
 * Linux guest zeroes every page it allocates (init_on_alloc, and each
 * transparent huge page whole), so a booted guest's first Diff is mostly
 * zeros, hundreds of MiB of them; the vmstate's bitmap, not the file's
 * extents, says which pages a Diff holds.
 */
int memfile__write_temp(const char *path, const uint8_t *mem,
			uint64_t mem_size, const uint64_t *bitmap,
			const uint8_t id[VS_ID_BYTES], char *tmp, char *err,
			size_t errlen)
{
	uint64_t npages = mem_size / VMSTATE_PAGE_SIZE, start, end, from = 0;
	int fd, ret;

	fd = file__create_temp(path, tmp, err, errlen);
	if (fd < 0)
		return fd;
	ret = ftruncate(fd, mem_size) ? errno : 0;
	if (!ret && !bitmap)
		ret = write_nonzero(fd, mem, 0, npages);
	while (!ret && bitmap &&
	       bitmap__next_run(bitmap, npages, from, &start, &end)) {
		ret = write_nonzero(fd, mem, start, end);
		from = end;
	}
	if (!ret)
		ret = -memfile__write_id(fd, mem_size, id);
	if (ret) {
		snprintf(err, errlen, "writing %s: %s", tmp, strerror(ret));
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	return file__sync_temp(fd, tmp, err, errlen);
}

int vstate__write_temp(const char *path, const struct vsbuf *payload,
		       char *tmp, char *err, size_t errlen)
{
	struct vmstate_header *h;
	uint8_t *file;
	int ret;

	if (payload->error) {
		snprintf(err, errlen, "building the vmstate: %s",
			 strerror(-payload->error));
		return payload->error;
	}
	file = malloc(sizeof(*h) + payload->len);
	if (!file)
		return -ENOMEM;
	h = (struct vmstate_header *)file;
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, VMSTATE_MAGIC, sizeof(h->magic));
	h->version = VMSTATE_VERSION;
	h->header_size = sizeof(*h);
	h->payload_len = payload->len;
	h->payload_crc = crc32__update(0, payload->data, payload->len);
	h->header_crc = crc32__update(0, h, offsetof(struct vmstate_header,
						     header_crc));
	memcpy(file + sizeof(*h), payload->data, payload->len);
	ret = file__write_temp(path, file, sizeof(*h) + payload->len, tmp,
			       err, errlen);
	free(file);
	return ret;
}

int vstate__write_file(const char *path, const struct vsbuf *payload,
		       char *err, size_t errlen)
{
	char tmp[4200];
	int ret;

	ret = vstate__write_temp(path, payload, tmp, err, errlen);
	return ret ? ret : file__rename_temp(tmp, path, err, errlen);
}

int vstate__new_id(uint8_t id[VS_ID_BYTES])
{
	size_t done = 0;

	while (done < VS_ID_BYTES) {
		ssize_t n = getrandom(id + done, VS_ID_BYTES - done, 0);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			done += n;
	}
	return 0;
}

bool vstate__id_is_zero(const uint8_t id[VS_ID_BYTES])
{
	static const uint8_t zero[VS_ID_BYTES];

	return !memcmp(id, zero, VS_ID_BYTES);
}

void vstate__format_id(const uint8_t id[VS_ID_BYTES], char *out)
{
	unsigned int i;

	for (i = 0; i < VS_ID_BYTES; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

_Static_assert(sizeof(struct memfile_id) == 48,
	       "the identity layout vmm.rst documents");

uint64_t memfile__offset(uint64_t gpa)
{
	if (gpa < VMM_HIGH_MEM_START)
		return gpa;
	return gpa - (VMM_HIGH_MEM_START - VMM_LOW_MEM_END);
}

int memfile__write_id(int fd, uint64_t mem_size,
		      const uint8_t id[VS_ID_BYTES])
{
	static uint8_t page[VMSTATE_PAGE_SIZE];
	struct memfile_id *t = (struct memfile_id *)page;
	size_t done = 0;

	if (mem_size < MEMFILE_ID_OFFSET + VMSTATE_PAGE_SIZE)
		return -EINVAL;
	memset(page, 0, sizeof(page));
	memcpy(t->magic, MEMFILE_MAGIC, sizeof(t->magic));
	t->version = 1;
	t->size = sizeof(*t);
	t->mem_size = mem_size;
	memcpy(t->id, id, VS_ID_BYTES);
	t->crc = crc32__update(0, t, offsetof(struct memfile_id, crc));
	while (done < sizeof(page)) {
		ssize_t n = pwrite(fd, page + done, sizeof(page) - done,
				   MEMFILE_ID_OFFSET + done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

int memfile__read_id(int fd, struct memfile_id *t)
{
	struct stat st;

	if (fstat(fd, &st) ||
	    (uint64_t)st.st_size < MEMFILE_ID_OFFSET + VMSTATE_PAGE_SIZE ||
	    pread(fd, t, sizeof(*t), MEMFILE_ID_OFFSET) != sizeof(*t))
		return -ENODATA;
	if (memcmp(t->magic, MEMFILE_MAGIC, sizeof(t->magic)) ||
	    t->version != 1 || t->size != sizeof(*t) ||
	    t->crc != crc32__update(0, t, offsetof(struct memfile_id, crc)) ||
	    t->mem_size != (uint64_t)st.st_size)
		return -ENODATA;
	return 0;
}

int memfile__check(int fd, const char *path, uint64_t mem_size,
		   const uint8_t id[VS_ID_BYTES], char *err, size_t errlen)
{
	char want[2 * VS_ID_BYTES + 1], got[2 * VS_ID_BYTES + 1];
	struct memfile_id t;

	if (memfile__read_id(fd, &t)) {
		snprintf(err, errlen, "%s is not a pagetrack memory file, or "
			 "its size was changed: it has no valid snapshot "
			 "identity at offset %#llx", path, MEMFILE_ID_OFFSET);
		return -EINVAL;
	}
	vstate__format_id(id, want);
	vstate__format_id(t.id, got);
	if (memcmp(t.id, id, VS_ID_BYTES)) {
		snprintf(err, errlen, "memory file %s belongs to another "
			 "snapshot (%s, this one is %s)", path, got, want);
		return -ESTALE;
	}
	if (t.mem_size != mem_size) {
		snprintf(err, errlen, "memory file %s holds %llu bytes, the "
			 "snapshot has %llu", path,
			 (unsigned long long)t.mem_size,
			 (unsigned long long)mem_size);
		return -EINVAL;
	}
	return 0;
}

/*
 * A section's length is any number of bytes (vs_serial's is 76), so in
 * the file the next one may start unaligned.  Sections are read in place
 * as the structures they hold: in memory each starts 8-byte aligned,
 * padded after the one before.
 */
#define VS_ALIGN(len)	(((len) + 7) & ~(size_t)7)

/* Check @file; the size it takes with its sections aligned, in @aligned_len. */
static int vstate__check(const uint8_t *file, size_t size,
			 size_t *aligned_len, char *err, size_t errlen)
{
	const struct vmstate_header *h = (const void *)file;
	const uint8_t *p, *end;

	if (size < sizeof(*h) || memcmp(h->magic, VMSTATE_MAGIC, 8)) {
		snprintf(err, errlen, "not a pagetrack vmstate file");
		return -EINVAL;
	}
	if (h->header_crc != crc32__update(0, h, offsetof(struct
		vmstate_header, header_crc))) {
		snprintf(err, errlen, "vmstate header is corrupted");
		return -EINVAL;
	}
	if (h->version != VMSTATE_VERSION ||
	    h->header_size != sizeof(*h)) {
		snprintf(err, errlen, "vmstate format version %u, this VMM "
			 "reads version %u", h->version, VMSTATE_VERSION);
		return -EINVAL;
	}
	if (h->payload_len != size - sizeof(*h)) {
		snprintf(err, errlen, "vmstate is truncated or has trailing "
			 "data (%zu payload bytes, header says %llu)",
			 size - sizeof(*h),
			 (unsigned long long)h->payload_len);
		return -EINVAL;
	}
	if (h->payload_crc != crc32__update(0, file + sizeof(*h),
					    h->payload_len)) {
		snprintf(err, errlen, "vmstate checksum mismatch: the file "
			 "is corrupted");
		return -EINVAL;
	}
	/* Sections must tile the payload exactly. */
	*aligned_len = sizeof(*h);
	p = file + sizeof(*h);
	end = p + h->payload_len;
	while (p < end) {
		struct vmstate_section s;

		if ((size_t)(end - p) < sizeof(s)) {
			snprintf(err, errlen, "vmstate section overruns the "
				 "file");
			return -EINVAL;
		}
		/* In the file a section may start anywhere: copy it out. */
		memcpy(&s, p, sizeof(s));
		if (s.len > (size_t)(end - p) - sizeof(s)) {
			snprintf(err, errlen, "vmstate section overruns the "
				 "file");
			return -EINVAL;
		}
		p += sizeof(s) + s.len;
		*aligned_len += sizeof(s) + VS_ALIGN(s.len);
	}
	return 0;
}

int vstate__read_file(const char *path, struct vstate *vs, char *err,
		      size_t errlen)
{
	struct vstate parsed;
	struct stat st;
	size_t done = 0;
	int fd, ret;

	memset(vs, 0, sizeof(*vs));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || st.st_size > (off_t)VMSTATE_MAX_SIZE) {
		snprintf(err, errlen, "%s is not a vmstate file (size)", path);
		close(fd);
		return -EINVAL;
	}
	vs->len = st.st_size;
	vs->data = malloc(vs->len ? vs->len : 1);
	if (!vs->data) {
		close(fd);
		return -ENOMEM;
	}
	while (done < vs->len) {
		ssize_t n = read(fd, vs->data + done, vs->len - done);

		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	ret = vstate__parse(vs->data, done, &parsed, err, errlen);
	vstate__free(vs);
	*vs = parsed;
	return ret;
}

int vstate__parse(const void *file, size_t size, struct vstate *vs,
		  char *err, size_t errlen)
{
	const uint8_t *end = (const uint8_t *)file + size;
	const uint8_t *p = (const uint8_t *)file +
			   sizeof(struct vmstate_header);
	size_t aligned_len, at = sizeof(struct vmstate_header);
	int ret;

	memset(vs, 0, sizeof(*vs));
	ret = vstate__check(file, size, &aligned_len, err, errlen);
	if (ret)
		return ret;
	vs->data = calloc(1, aligned_len);
	if (!vs->data) {
		snprintf(err, errlen, "out of memory reading the vmstate");
		return -ENOMEM;
	}
	vs->len = aligned_len;
	memcpy(vs->data, file, sizeof(struct vmstate_header));
	while (p < end) {
		struct vmstate_section s;

		memcpy(&s, p, sizeof(s));
		memcpy(vs->data + at, p, sizeof(s) + s.len);
		p += sizeof(s) + s.len;
		at += sizeof(s) + VS_ALIGN(s.len);
	}
	return 0;
}

void vstate__free(struct vstate *vs)
{
	free(vs->data);
	memset(vs, 0, sizeof(*vs));
}

const void *vstate__find(const struct vstate *vs, uint32_t type,
			 unsigned int nth, size_t *len)
{
	const uint8_t *p = vs->data + sizeof(struct vmstate_header);
	const uint8_t *end = vs->data + vs->len;

	while (p < end) {
		const struct vmstate_section *s = (const void *)p;

		if (s->type == type && !nth--) {
			*len = s->len;
			return s + 1;
		}
		p += sizeof(*s) + VS_ALIGN(s->len);
	}
	return NULL;
}

int vstate__layout(const struct vstate *vs, const struct vs_vm **vmp,
		   const struct vs_memory **memp, char *err, size_t errlen)
{
	const struct vs_memory *mem;
	const struct vs_vm *vm;
	size_t len, want;

	vm = vstate__find(vs, VS_VM, 0, &len);
	if (!vm || len != sizeof(*vm)) {
		snprintf(err, errlen, "vmstate has no VM section, or one of "
			 "the wrong size");
		return -EINVAL;
	}
	if (!vm->mem_size || vm->mem_size % VMSTATE_PAGE_SIZE ||
	    ((vm->flags & VS_VM_HUGETLB_2M) &&
	     vm->mem_size % VMSTATE_HUGE_PAGE_SIZE)) {
		snprintf(err, errlen, "vmstate gives an impossible memory size "
			 "(%llu bytes)", (unsigned long long)vm->mem_size);
		return -EINVAL;
	}
	if (vm->flags & ~VS_VM_FLAGS) {
		snprintf(err, errlen, "vmstate VM section has flags %#x this "
			 "VMM does not know", vm->flags & ~VS_VM_FLAGS);
		return -EINVAL;
	}
	mem = vstate__find(vs, VS_MEMORY, 0, &len);
	if (!mem) {
		snprintf(err, errlen, "vmstate has no memory section");
		return -EINVAL;
	}
	/* What each reader takes is the first: there must be no other. */
	if (vstate__find(vs, VS_VM, 1, &want) ||
	    vstate__find(vs, VS_MEMORY, 1, &want)) {
		snprintf(err, errlen, "vmstate has two %s sections",
			 vstate__find(vs, VS_VM, 1, &want) ? "VM" : "memory");
		return -EINVAL;
	}
	if (len < sizeof(*mem)) {
		snprintf(err, errlen, "vmstate memory section has %zu bytes, "
			 "its header alone needs %zu", len, sizeof(*mem));
		return -EINVAL;
	}
	if (mem->mem_size != vm->mem_size) {
		snprintf(err, errlen, "vmstate memory section describes %llu "
			 "bytes of memory, the VM has %llu",
			 (unsigned long long)mem->mem_size,
			 (unsigned long long)vm->mem_size);
		return -EINVAL;
	}
	if (mem->type == VS_MEM_FULL)
		want = 0;
	else if (mem->type == VS_MEM_DIFF)
		want = bitmap__bytes(vm->mem_size / VMSTATE_PAGE_SIZE);
	else {
		snprintf(err, errlen, "vmstate memory section has unknown "
			 "type %u", mem->type);
		return -EINVAL;
	}
	if (mem->bitmap_bytes != want || len != sizeof(*mem) + want) {
		snprintf(err, errlen, "vmstate memory section: a %s snapshot "
			 "of %llu MiB needs a %zu-byte bitmap, it gives %llu "
			 "in a %zu-byte section",
			 mem->type == VS_MEM_DIFF ? "Diff" : "Full",
			 (unsigned long long)(vm->mem_size >> 20), want,
			 (unsigned long long)mem->bitmap_bytes, len);
		return -EINVAL;
	}
	*vmp = vm;
	*memp = mem;
	return 0;
}

int vstate__check_vcpu(const void *data, size_t len, unsigned int id,
		       char *err, size_t errlen)
{
	const struct vs_vcpu *vs = data;

	if (len < sizeof(*vs) || vs->nr_cpuid > VS_MAX_CPUID ||
	    len != sizeof(*vs) +
		   (size_t)vs->nr_msrs * sizeof(struct kvm_msr_entry) +
		   (size_t)vs->nr_cpuid * sizeof(struct kvm_cpuid_entry2) ||
	    vs->id != id || !vs->tsc_khz) {
		snprintf(err, errlen, "vCPU %u state is malformed", id);
		return -EINVAL;
	}
	return 0;
}

/* The section of @type, which must be exactly @size bytes. */
static const void *vstate__section(const struct vstate *vs, uint32_t type,
				   size_t size, const char *what, char *err,
				   size_t errlen)
{
	size_t len;
	const void *p = vstate__find(vs, type, 0, &len);

	if (!p)
		snprintf(err, errlen, "vmstate has no %s", what);
	else if (len != size)
		snprintf(err, errlen, "vmstate %s has %zu bytes, expected %zu",
			 what, len, size);
	else
		return p;
	return NULL;
}

int vstate__check_sections(const struct vstate *vs, const struct vs_vm *vm,
			   char *err, size_t errlen)
{
	const struct vs_serial *serial;
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		size_t len;
		const void *data = vstate__find(vs, VS_VCPU, i, &len);

		if (!data) {
			snprintf(err, errlen, "vmstate lacks vCPU %u", i);
			return -EINVAL;
		}
		if (vstate__check_vcpu(data, len, i, err, errlen))
			return -EINVAL;
	}
	if (!vstate__section(vs, VS_IRQCHIP, sizeof(struct vs_irqchip),
			     "irqchip state", err, errlen) ||
	    !vstate__section(vs, VS_PIT, sizeof(struct kvm_pit_state2),
			     "PIT state", err, errlen) ||
	    !vstate__section(vs, VS_CLOCK, sizeof(struct kvm_clock_data),
			     "clock", err, errlen))
		return -EINVAL;
	serial = vstate__section(vs, VS_SERIAL, sizeof(*serial),
				 "serial state", err, errlen);
	if (!serial)
		return -EINVAL;
	if (serial->rx_len > sizeof(serial->rx)) {
		snprintf(err, errlen, "serial state is malformed");
		return -EINVAL;
	}
	return 0;
}

int vstate__as_full(const struct vstate *vs, struct vsbuf *out)
{
	const uint8_t *p = vs->data + sizeof(struct vmstate_header);
	const uint8_t *end = vs->data + vs->len;

	vsbuf__init(out);
	while (p < end) {
		const struct vmstate_section *s = (const void *)p;

		if (s->type == VS_VM && s->len == sizeof(struct vs_vm)) {
			struct vs_vm vm;

			memcpy(&vm, s + 1, sizeof(vm));
			memset(vm.parent_id, 0, sizeof(vm.parent_id));
			vsbuf__add(out, VS_VM, &vm, sizeof(vm));
		} else if (s->type == VS_MEMORY &&
			   s->len >= sizeof(struct vs_memory)) {
			const struct vs_memory *old = (const void *)(s + 1);
			struct vs_memory *mem;

			mem = vsbuf__section(out, VS_MEMORY, sizeof(*mem));
			if (mem) {
				mem->type = VS_MEM_FULL;
				mem->mem_size = old->mem_size;
			}
		} else {
			void *d = vsbuf__section(out, s->type, s->len);

			if (d)
				memcpy(d, s + 1, s->len);
		}
		p += sizeof(*s) + VS_ALIGN(s->len);
	}
	return out->error;
}
