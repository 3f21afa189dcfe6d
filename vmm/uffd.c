// SPDX-License-Identifier: GPL-2.0
/*
 * The Uffd memory backend, as Firecracker defines it: guest memory is
 * anonymous and registered with a userfaultfd; the VMM connects to the
 * page-fault handler's Unix socket and sends it one message holding a
 * JSON array describing each memory region and, as SCM_RIGHTS, the
 * userfaultfd.  The handler fills pages in as the guest touches them.
 * Each region's page size goes in both page_size_kib and page_size, in
 * bytes, as Firecracker sends them (see uffd__attach()).
 *
 * The userfaultfd comes from /dev/userfaultfd, whose file mode is the
 * access control: the VMM has dropped every capability by now, and the
 * userfaultfd() system call wants CAP_SYS_PTRACE to let it see faults
 * that KVM takes on the guest's behalf.  The VMM keeps its own reference:
 * were the handler to die, faults must wait rather than see zero pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm.h"

static int uffd__create(void)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC), fd;

	if (dev < 0)
		return syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	close(dev);
	return fd;
}

/* Connect before the VM is built: a missing handler changes nothing. */
int uffd__connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int sock, ret;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "Uffd socket path too long");
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		snprintf(err, errlen, "cannot connect to the page-fault "
			 "handler at %s: %s", path, strerror(errno));
		close(sock);
		return ret;
	}
	return sock;
}

static int uffd__send(int sock, int uffd, const char *json, char *err,
		      size_t errlen)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)json, .iov_len = strlen(json) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &uffd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
		snprintf(err, errlen, "sending to the page-fault handler: %s",
			 strerror(errno));
		return -EIO;
	}
	return 0;
}

/*
 * One region per memory slot, as Firecracker sends its guest memory
 * regions: each region's offset in the memory file is the sum of the
 * sizes before it.  The host mapping is one piece, so a handler that
 * takes it as one region would serve it right too.
 */
static void uffd__regions_json(const struct vm *vm, char *json, size_t len)
{
	unsigned long long page = vm__page_size(vm);
	uint64_t low = vm__low_mem(vm), off = 0, size;
	size_t n = 0;
	int i;

	n += snprintf(json + n, len - n, "[");
	for (i = 0; i < 2 && off < vm->mem_size; i++, off += size) {
		size = i ? vm->mem_size - low : low;
		n += snprintf(json + n, len - n,
			      "%s{\"base_host_virt_addr\":%llu,\"size\":%llu,"
			      "\"offset\":%llu,\"page_size_kib\":%llu,"
			      "\"page_size\":%llu}", i ? "," : "",
			      (unsigned long long)(uintptr_t)(vm->mem + off),
			      (unsigned long long)size,
			      (unsigned long long)off, page, page);
	}
	snprintf(json + n, len - n, "]");
}

/* Register guest memory and hand the userfaultfd over on @sock. */
int uffd__attach(struct vm *vm, int sock, char *err, size_t errlen)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)vm->mem, .len = vm->mem_size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	char json[512];
	int fd, ret;

	fd = uffd__create();
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "userfaultfd: %s", strerror(errno));
		return ret;
	}
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		ret = -errno;
		snprintf(err, errlen, "registering guest memory with "
			 "userfaultfd: %s", strerror(errno));
		close(fd);
		return ret;
	}
	/*
	 * Firecracker v1.10's GuestRegionUffdMapping (src/vmm/src/persist.rs)
	 * is { base_host_virt_addr, size, offset, page_size_kib }, and it
	 * fills page_size_kib from HugePageConfig::page_size_kib(), which
	 * returns the page size in bytes despite the name: 4096 for 4 KiB
	 * pages, 2097152 for huge_pages 2M.  Handlers written to it (its
	 * examples/uffd/) take the field as bytes.  v1.12 adds page_size,
	 * also in bytes, and keeps page_size_kib as a deprecated alias.
	 * Both, as Firecracker fills them, serve handlers for either
	 * version.
	 */
	uffd__regions_json(vm, json, sizeof(json));
	ret = uffd__send(sock, fd, json, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	vm->uffd = fd;
	return 0;
}
