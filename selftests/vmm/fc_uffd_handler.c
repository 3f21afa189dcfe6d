// SPDX-License-Identifier: GPL-2.0
/*
 * fc_uffd_handler SOCKET MEMFILE - a page-fault handler written to
 * Firecracker's documented Uffd protocol only, not to pagetrack's:
 * docs/snapshotting/handling-page-faults-on-snapshot-resume.md, and the
 * behaviour of its example handler (src/firecracker/examples/uffd/,
 * valid_handler.rs and uffd_utils.rs, v1.10), which is what handlers in
 * the field are modelled on.  snapshot_test restores through it.
 *
 * The protocol: the handler listens on SOCKET; the VMM connects and
 * sends one message, a JSON array of GuestRegionUffdMapping
 * {base_host_virt_addr, size, offset, page_size_kib} with the
 * userfaultfd as SCM_RIGHTS.  The handler maps MEMFILE privately and
 * serves each fault by copying the faulting page from MEMFILE at the
 * region's offset with UFFDIO_COPY.
 *
 * As the v1.10 example does, the page size is the first region's
 * page_size_kib taken as a number of BYTES (that is how Firecracker
 * fills it), it must be a power of two, fields it does not know (v1.12's
 * page_size) are ignored, the message is read into 1024 bytes, and a
 * page that UFFD_EVENT_REMOVE took away faults in as zeroes.  A VMM that
 * sends page_size_kib 4 makes it copy 4-byte "pages": UFFDIO_COPY
 * refuses them and the handler dies, as the example's panic does, and
 * the guest hangs.  Where this differs from the v1.10 example:
 *  - EEXIST from UFFDIO_COPY (two vCPUs faulting one page) is not an
 *    error, as in Firecracker v1.12's example; the range is woken;
 *  - none other: like the example, it insists that MEMFILE is exactly
 *    as long as the regions add up to (a pagetrack memory file is guest
 *    memory and nothing after it, as Firecracker's is).
 * It serves until SIGTERM (or the userfaultfd reports an error or hang-up),
 * then prints the faults it served and exits 0; any error exits 1 with
 * the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REGIONS	16

struct region {
	uint64_t base, size, offset;
	uint8_t *removed;	/* one byte per page: UFFD_EVENT_REMOVE'd */
};

static struct region regions[MAX_REGIONS];
static unsigned int nr_regions;
static uint64_t page_size, faults;
static const uint8_t *backing;
static int uffd = -1;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						     noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("fc-uffd-handler: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t get_u64(json_t *obj, const char *key, size_t i)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		die("region %zu: missing or bad %s", i, key);
	return json_integer_value(v);
}

/* GuestRegionUffdMapping, as serde reads it: unknown fields ignored. */
static void parse_regions(const char *msg, uint64_t file_size)
{
	uint64_t total = 0;
	json_error_t jerr;
	json_t *arr, *v;
	size_t i;

	arr = json_loads(msg, 0, &jerr);
	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > MAX_REGIONS)
		die("cannot deserialize memory mappings: %s",
		    arr ? "not an array of 1 to 16 regions" : jerr.text);
	json_array_foreach(arr, i, v) {
		struct region *r = &regions[i];

		r->base = get_u64(v, "base_host_virt_addr", i);
		r->size = get_u64(v, "size", i);
		r->offset = get_u64(v, "offset", i);
		/* "Page size is the same for all memory regions". */
		if (!i)
			page_size = get_u64(v, "page_size_kib", i);
		else
			get_u64(v, "page_size_kib", i);
		total += r->size;
		nr_regions++;
	}
	json_decref(arr);
	if (!page_size || page_size & (page_size - 1))
		die("page size %llu is not a power of two",
		    (unsigned long long)page_size);
	for (i = 0; i < nr_regions; i++) {
		struct region *r = &regions[i];

		if (r->offset + r->size > file_size)
			die("region %zu lies outside the memory file", i);
		r->removed = calloc(r->size / page_size + 1, 1);
		if (!r->removed)
			die("out of memory");
	}
	/* uffd_utils.rs: "Make sure memory size matches backing data size." */
	if (total != file_size)
		die("the regions add up to %llu bytes, the memory file has %llu",
		    (unsigned long long)total, (unsigned long long)file_size);
}

/* Listen, take one VMM, receive its regions and userfaultfd. */
static void handshake(const char *path, uint64_t file_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[1024 + 1], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int lsock, conn;
	ssize_t n;

	if (strlen(path) >= sizeof(addr.sun_path))
		die("socket path too long");
	strcpy(addr.sun_path, path);
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lsock, 1))
		die("%s: %s", path, strerror(errno));
	conn = accept(lsock, NULL, NULL);
	if (conn < 0)
		die("accept: %s", strerror(errno));
	n = recvmsg(conn, &msg, 0);
	if (n <= 0)
		die("recvmsg: %s", n ? strerror(errno) : "connection closed");
	buf[n] = '\0';
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET ||
	    cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		die("Uffd not passed through UDS");
	memcpy(&uffd, CMSG_DATA(cmsg), sizeof(int));
	close(conn);
	close(lsock);
	unlink(path);
	fprintf(stderr, "fc-uffd-handler: regions %s\n", buf);
	parse_regions(buf, file_size);
}

static struct region *find_region(uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < nr_regions; i++)
		if (addr >= regions[i].base &&
		    addr - regions[i].base < regions[i].size)
			return &regions[i];
	return NULL;
}

static void wake(uint64_t dst)
{
	struct uffdio_range range = { .start = dst, .len = page_size };

	if (ioctl(uffd, UFFDIO_WAKE, &range))
		die("UFFDIO_WAKE at %#llx: %s", (unsigned long long)dst,
		    strerror(errno));
}

/* One page, page_size bytes, at the fault: from the file or zeroes. */
static void serve_pf(uint64_t addr)
{
	uint64_t dst = addr & ~(page_size - 1);
	struct region *r = find_region(dst);
	uint64_t page;

	if (!r)
		die("could not find addr %#llx within guest region mappings",
		    (unsigned long long)addr);
	page = (dst - r->base) / page_size;
	for (;;) {
		int ret;

		if (r->removed[page]) {
			struct uffdio_zeropage z = {
				.range = { .start = dst, .len = page_size },
			};

			ret = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		} else {
			struct uffdio_copy c = {
				.dst = dst, .len = page_size,
				.src = (uintptr_t)(backing + r->offset +
						   (dst - r->base)),
			};

			ret = ioctl(uffd, UFFDIO_COPY, &c);
		}
		if (!ret)
			return;
		if (errno == EEXIST) {
			wake(dst);
			return;
		}
		if (errno != EAGAIN)
			die("UFFDIO_COPY of %llu bytes at %#llx failed: %s",
			    (unsigned long long)page_size,
			    (unsigned long long)dst, strerror(errno));
	}
}

static void mark_removed(uint64_t start, uint64_t end)
{
	uint64_t a;

	for (a = start & ~(page_size - 1); a < end; a += page_size) {
		struct region *r = find_region(a);

		if (r)
			r->removed[(a - r->base) / page_size] = 1;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg m;
	struct stat st;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: fc_uffd_handler SOCKET MEMFILE\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !st.st_size)
		die("%s: %s", argv[2], fd < 0 ? strerror(errno) : "empty");
	backing = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (backing == MAP_FAILED)
		die("mmap on backing file failed: %s", strerror(errno));
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	handshake(argv[1], st.st_size);

	p.fd = uffd;
	while (!stop) {
		int ret = poll(&p, 1, 200);

		if (ret < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (ret <= 0)
			continue;
		/* The VMM's memory is gone: nothing more to serve. */
		if (p.revents & (POLLERR | POLLHUP))
			break;
		ret = read(uffd, &m, sizeof(m));
		if (ret < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (ret != sizeof(m))
			die("reading the userfaultfd: %s",
			    ret < 0 ? strerror(errno) : "short read");
		switch (m.event) {
		case UFFD_EVENT_PAGEFAULT:
			serve_pf(m.arg.pagefault.address);
			faults++;
			break;
		case UFFD_EVENT_REMOVE:
			mark_removed(m.arg.remove.start, m.arg.remove.end);
			break;
		default:
			die("unexpected event %u on the userfaultfd", m.event);
		}
	}
	fprintf(stderr, "fc-uffd-handler: %llu faults served, page size "
		"%llu\n", (unsigned long long)faults,
		(unsigned long long)page_size);
	return 0;
}
