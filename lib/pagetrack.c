// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pagetrack.h"

int pagetrack__open(void)
{
	int fd = open(PAGETRACK_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int pagetrack__attach(int fd, uint64_t start, uint64_t length,
		      uint32_t flags, int pid, int kvm_fd)
{
	struct pagetrack_attach a = {
		.size = sizeof(a),
		.flags = flags,
		.start = start,
		.length = length,
		.pid = pid,
		.kvm_fd = kvm_fd,
	};

	return ioctl(fd, PAGETRACK_IOC_ATTACH, &a) ? -errno : 0;
}

int pagetrack__scan(int fd, struct pagetrack_scan *scan)
{
	scan->size = sizeof(*scan);
	return ioctl(fd, PAGETRACK_IOC_SCAN, scan) ? -errno : 0;
}
