// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-handler - serve a restored VM's page faults from its snapshot's
 * memory file, installing the whole working set at the first fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "layers.h"
#include "readahead.h"
#include "uffd-regions.h"
#include "vmstate.h"

#define PAGE		UFFD_PAGE

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"	uffd-handler - page-fault handler for vmm's Uffd memory backend\n"
"\n"
"SYNOPSIS\n"
"	uffd-handler --socket PATH --mem FILE [--layers FILE]\n"
"	             [--snapshot VMSTATE]\n"
"\n"
"DESCRIPTION\n"
"	Listens on the Unix socket PATH for one VMM, which loads a snapshot\n"
"	with \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\":\n"
"	PATH} and sends, as Firecracker does, a JSON array of its memory\n"
"	regions ({base_host_virt_addr, size, offset, page_size_kib,\n"
"	page_size}) with the userfaultfd attached.  The page size is\n"
"	page_size, or without it page_size_kib, which Firecracker 1.10\n"
"	fills in bytes too: 4096, or 2097152 for a guest in 2 MiB huge\n"
"	pages (huge_pages \"2M\").  Every missing page the guest touches\n"
"	is then copied in from FILE, the snapshot's memory file, at the\n"
"	region's offset.\n"
"\n"
"	With --layers, the first fault starts installing the snapshot's\n"
"	whole working set from the layer file, in file order (read-only\n"
"	pages, then dirty ones, each in the order the guest first touched\n"
"	them when the recording sampled it): REAP's approach.  The layer\n"
"	file is read ahead from the start.  Faults are served at once, from\n"
"	the memory file, while the working set goes in.  In 2 MiB pages\n"
"	the working set goes in as the huge pages that hold it, from\n"
"	FILE.\n"
"\n"
"	It serves until the VMM's memory goes away or SIGTERM/SIGINT, then\n"
"	prints what it did on standard error: faults served, pages\n"
"	installed from the layers and how long that took.\n"
"\n"
"OPTIONS\n"
"	-s, --socket PATH\n"
"		Unix socket to listen on; must not exist.\n"
"	-m, --mem FILE\n"
"		The snapshot's memory file (Full).\n"
"	-l, --layers FILE\n"
"		Its working-set layer file (see Documentation/layers.rst).\n"
"	-S, --snapshot VMSTATE\n"
"		Refuse a memory file and layers that do not belong to this\n"
"		snapshot.  After a snapshot/create interrupted before its\n"
"		commit, FILE.prev (the previous memory file, which a create\n"
"		keeps until then) belongs to it: that is served instead,\n"
"		and likewise for the layers.\n"
"	-h, --help\n"
"		This text.\n"
"\n"
"EXIT STATUS\n"
"	0 after serving; 1 on an error, with the reason; 2 on a usage\n"
"	error.\n"
"\n"
"EXAMPLE\n"
"	uffd-handler --socket /tmp/fn.uffd --mem fn.mem --layers fn.layers &\n"
"	curl --unix-socket /tmp/vmm.sock -X PUT http://localhost/snapshot/load \\\n"
"	  -d '{\"snapshot_path\": \"fn.vmstate\", \"mem_backend\":\n"
"	       {\"backend_type\": \"Uffd\", \"backend_path\": \"/tmp/fn.uffd\"},\n"
"	       \"resume_vm\": true}'\n", f);
}

struct handler {
	int uffd;
	const uint8_t *mem;	/* the memory file, mapped */
	uint64_t mem_size;
	struct uffd_region regions[UFFD_MAX_REGIONS];
	unsigned int nr_regions;
	struct layers l;
	bool have_layers;
	const uint8_t *layer_data;	/* the layer file, mapped */
	pthread_t installer;	/* installs the working set */
	bool installing;
	int install_error;
	uint64_t faults, installed, install_ns;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int die(const char *what, const char *why)
{
	fprintf(stderr, "uffd-handler: %s%s%s\n", what, why ? ": " : "",
		why ? why : "");
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The region that holds memory-file offset @off, or NULL. */
static const struct uffd_region *region_of(const struct handler *h,
					   uint64_t off)
{
	unsigned int i;

	for (i = 0; i < h->nr_regions; i++) {
		const struct uffd_region *r = &h->regions[i];

		if (off >= r->offset && off - r->offset < r->size)
			return r;
	}
	return NULL;
}

/*
 * Copy [src, src + len) to @dst, both aligned to @page, the region's page
 * size; pages already there (another fault got them in first) are
 * skipped.  Returns 0 or -errno.
 */
static int copy_in(struct handler *h, uint64_t dst, const uint8_t *src,
		   uint64_t len, uint64_t page)
{
	/*
	 * Map the source first, in one call: UFFDIO_COPY reads it with page
	 * faults disabled and, for every page not mapped, falls back to a
	 * second, faulting copy.  (This was once thought to cure the test
	 * VM's triple faults; it does not, see Documentation/layers.rst.)
	 */
	madvise((void *)src, len, MADV_POPULATE_READ);
	while (len) {
		struct uffdio_copy c = {
			.dst = dst, .src = (uintptr_t)src, .len = len,
		};

		if (!ioctl(h->uffd, UFFDIO_COPY, &c))
			return 0;
		if (errno == EAGAIN && c.copy > 0) {
			/* Partly done; go on from there. */
		} else if (errno == EEXIST) {
			c.copy = (c.copy > 0 ? c.copy : 0) + page;
		} else if (errno != EAGAIN) {
			return -errno;
		} else {
			continue;
		}
		if ((uint64_t)c.copy > len)
			c.copy = len;
		dst += c.copy;
		src += c.copy;
		len -= c.copy;
	}
	return 0;
}

static int install_working_set(struct handler *h)
{
	uint64_t t0 = now_ns(), last = 0, last_end = 0;
	uint32_t i;
	int ret;

	for (i = 0; i < h->l.h.nr_ranges && !stop; i++) {
		const struct layers_range *r = &h->l.ranges[i];
		uint64_t off = r->first_page * PAGE, len = r->nr_pages * PAGE;
		const struct uffd_region *reg = region_of(h, off);
		const uint8_t *src = h->layer_data + r->file_offset;
		uint64_t ps, end;

		if (!reg)
			continue;
		/*
		 * A huge page goes in whole or not at all: the range's, from
		 * the memory file (regions are aligned to their page size,
		 * so the huge pages lie inside the region).  Ranges often
		 * share one with the range before: that part is in already.
		 */
		ps = reg->page_size;
		if (ps != PAGE) {
			end = (off + len + ps - 1) & ~(ps - 1);
			off &= ~(ps - 1);
			if (off >= last && end <= last_end)
				len = 0;
			else if (off >= last && off < last_end)
				off = last_end;
			if (len) {
				last = off;
				last_end = end;
				len = end - off;
			}
			src = h->mem + off;
		}
		ret = len ? copy_in(h, reg->base + off - reg->offset, src, len,
				    ps) : 0;
		/* The VMM went away before the working set was in. */
		if (ret == -ESRCH)
			break;
		if (ret)
			return ret;
		h->installed += r->nr_pages;
	}
	h->install_ns = now_ns() - t0;
	return 0;
}

static void *installer__run(void *arg)
{
	struct handler *h = arg;

	h->install_error = install_working_set(h);
	return NULL;
}

static int serve_fault(struct handler *h, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < h->nr_regions; i++) {
		const struct uffd_region *r = &h->regions[i];

		if (addr < r->base || addr - r->base >= r->size)
			continue;
		addr &= ~(r->page_size - 1);
		return copy_in(h, addr, h->mem + r->offset + (addr - r->base),
			       r->page_size, r->page_size);
	}
	fprintf(stderr, "uffd-handler: fault at %#llx outside every region\n",
		(unsigned long long)addr);
	return -EFAULT;
}

static int serve(struct handler *h)
{
	struct pollfd p = { .fd = h->uffd, .events = POLLIN };
	struct uffd_msg msg;
	int ret;

	while (!stop) {
		ret = poll(&p, 1, 200);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret <= 0)
			continue;
		if (p.revents & (POLLERR | POLLHUP))
			return 0;
		ret = read(h->uffd, &msg, sizeof(msg));
		if (ret < 0 && errno == EAGAIN)
			continue;
		if (ret != sizeof(msg))
			return ret < 0 ? -errno : 0;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		/*
		 * The working set goes in from the first fault on, in file
		 * order, which is the order the guest first touched it; faults
		 * meanwhile are served at once, and a page installed twice is
		 * skipped by whichever copy comes second.
		 */
		if (!h->faults++ && h->have_layers) {
			ret = pthread_create(&h->installer, NULL,
					     installer__run, h);
			if (ret)
				return -ret;
			h->installing = true;
		}
		ret = serve_fault(h, msg.arg.pagefault.address);
		if (ret)
			return ret;
	}
	return 0;
}

static int handshake(struct handler *h, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[8192], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int lsock, conn;
	ssize_t n;

	if (strlen(path) >= sizeof(addr.sun_path))
		return die(path, "socket path too long");
	strcpy(addr.sun_path, path);
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lsock, 1))
		return die(path, strerror(errno));
	conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	close(lsock);
	unlink(path);
	if (conn < 0)
		return die("accept", strerror(errno));
	n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	close(conn);
	cmsg = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return die("handshake", "no userfaultfd received");
	memcpy(&h->uffd, CMSG_DATA(cmsg), sizeof(int));
	return uffd_regions__parse(buf, n, h->mem_size, h->regions,
				   &h->nr_regions) ? 1 : 0;
}

static const void *map_file(const char *path, uint64_t *size)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	*size = st.st_size;
	return p == MAP_FAILED ? NULL : p;
}

/*
 * With @snapshot, @mem must be that snapshot's memory file; after an
 * interrupted snapshot/create it is "@mem.prev", whose name goes in @used.
 */
static int check_memory(const char *mem, const char *snapshot, char *used)
{
	const struct vs_memory *vmem;
	const struct vs_vm *vm;
	struct vstate vs;
	char err[512];
	int fd = -1;

	if (vstate__read_file(snapshot, &vs, err, sizeof(err)))
		return die(err, NULL);
	if (!vstate__layout(&vs, &vm, &vmem, err, sizeof(err)))
		fd = memfile__open(mem, vm->mem_size, vm->id, used, err,
				   sizeof(err));
	vstate__free(&vs);
	if (fd < 0)
		return die(err, NULL);
	close(fd);
	return 0;
}

/* With @snapshot, its layers: @path or, as for memory, "@path.prev". */
static int open_layers(struct handler *h, const char *path,
		       const char *snapshot)
{
	char err[512], used[4200];
	struct vstate vs;
	uint64_t size;
	int ret;

	if (!snapshot) {
		ret = layers__open(path, h->mem_size, &h->l, err, sizeof(err));
	} else {
		ret = vstate__read_file(snapshot, &vs, err, sizeof(err));
		if (!ret)
			ret = vstate__open_layers(path, h->mem_size,
						  vstate__id(&vs), &h->l, used,
						  err, sizeof(err));
		if (!ret)
			path = used;
		vstate__free(&vs);
	}
	if (ret)
		return die(err, NULL);
	h->layer_data = map_file(path, &size);
	if (!h->layer_data)
		return die(path, strerror(errno));
	/* Start reading now: the VMM has a VM to build before it faults. */
	file__readahead(h->l.fd, 0, size);
	h->have_layers = true;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "mem", required_argument, NULL, 'm' },
		{ "layers", required_argument, NULL, 'l' },
		{ "snapshot", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *sock = NULL, *mem = NULL, *layers = NULL, *snap = NULL;
	char mem_used[4200];
	struct sigaction sa = { .sa_handler = on_signal };
	struct handler h = { .uffd = -1 };
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:m:l:S:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'm':
			mem = optarg;
			break;
		case 'l':
			layers = optarg;
			break;
		case 'S':
			snap = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'uffd-handler --help'.\n");
			return 2;
		}
	}
	if (!sock || !mem || optind < argc) {
		fprintf(stderr, "uffd-handler: --socket and --mem are required\n"
			"Try 'uffd-handler --help'.\n");
		return 2;
	}
	if (snap) {
		if (check_memory(mem, snap, mem_used))
			return 1;
		mem = mem_used;
	}
	h.mem = map_file(mem, &h.mem_size);
	if (!h.mem)
		return die(mem, errno ? strerror(errno) : "empty");
	if (layers && open_layers(&h, layers, snap))
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (handshake(&h, sock))
		return 1;
	ret = serve(&h);
	stop = 1;
	if (h.installing) {
		pthread_join(h.installer, NULL);
		if (!ret)
			ret = h.install_error;
	}
	fprintf(stderr, "uffd-handler: %llu faults served, %llu pages "
		"installed from layers in %.1f ms\n",
		(unsigned long long)h.faults,
		(unsigned long long)h.installed, h.install_ns / 1e6);
	if (ret)
		return die("serving faults", strerror(-ret));
	return 0;
}
