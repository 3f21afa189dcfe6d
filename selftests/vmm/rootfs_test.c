// SPDX-License-Identifier: GPL-2.0
/*
 * The rootfs guest's initramfs (build/guest/rootfs-initrd.cpio.gz, see
 * Documentation/testing.rst) under pagetrack's VMM: its virtio_mmio,
 * loaded from Debian's modules, finds the devices the VMM announces in
 * its DSDT, and without a root drive the initramfs says so and reboots,
 * so that vmm exits instead of hanging.
 *
 * Booting into the root filesystem and invoking fnd over vsock need the
 * VMM's block and vsock devices: that test goes here when they exist.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/rootfs-initrd.cpio.gz"
/* Not the VMM's default command line: its nomodule stops insmod. */
#define BOOT_ARGS	"console=ttyS0 reboot=k panic=1 pci=off rootdelay=5"

FIXTURE(rootfs) {
	char dir[64];
	char out[4096];
	struct vmm_proc v;
};

FIXTURE_SETUP(rootfs)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/rootfstest-%d",
		 getpid());
	mkdir(self->dir, 0700);
}

FIXTURE_TEARDOWN(rootfs)
{
	char cmd[128];

	vmm_proc__kill(&self->v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

/* A console line without its line end (the tty's "\r\n") and blanks. */
static void chomp(char *line)
{
	size_t n = strlen(line);

	while (n && strchr(" \r\n", line[n - 1]))
		line[--n] = '\0';
}

/* An entropy device and no drive: the initramfs sees the one, not vda. */
TEST_F_TIMEOUT(rootfs, initrd_finds_acpi_devices, 400)
{
	char body[512], line[256];
	int status, i;

	vmm_proc__start(&self->v, self->dir, "rootfs");
	vmm_proc__configure(&self->v, INITRD, 1, false);
	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
		 "\"initrd_path\":\"%s\",\"boot_args\":\"%s\"}",
		 vmm_util__kernel(), INITRD, BOOT_ARGS);
	ASSERT_EQ(vmm_proc__api(&self->v, "PUT", "/boot-source", body,
				self->out, sizeof(self->out)), 204);
	ASSERT_EQ(vmm_proc__api(&self->v, "PUT", "/entropy", "{}", self->out,
				sizeof(self->out)), 204);

	ASSERT_TRUE(vmm_proc__boot(&self->v, "INITRD-VIRTIO ", line,
				   sizeof(line), 300));
	chomp(line);
	EXPECT_STREQ(line, "INITRD-VIRTIO 0x0004") {
		vmm_proc__show_console(&self->v, 40);
	}
	ASSERT_TRUE(vmm_proc__wait_line(&self->v, "INITRD-FAIL ", line,
					sizeof(line), 60)) {
		vmm_proc__show_console(&self->v, 40);
	}
	chomp(line);
	EXPECT_STREQ(line, "INITRD-FAIL no /dev/vda after 5s");

	/* The initramfs reboots the guest, which ends vmm. */
	for (i = 0; i < 300; i++) {
		if (waitpid(self->v.pid, &status, WNOHANG) == self->v.pid)
			break;
		usleep(100000);
	}
	ASSERT_LT(i, 300) TH_LOG("vmm still running 30 s after INITRD-FAIL");
	self->v.pid = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("vmm status %#x", status);
}

TEST_HARNESS_MAIN
