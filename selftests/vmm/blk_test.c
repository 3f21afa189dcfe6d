// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk end to end, in the test VM.  The guest (blk_init.sh) loads
 * virtio_mmio and virtio_blk from the Debian kernel and runs the
 * commands typed on its console: it reports what it sees of a drive, the
 * checksum of what it reads, writes a pattern.  The host checks the
 * backing file, snapshots, restores, and every request the API must
 * refuse.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "vmm_util.h"

#define INITRD		"build/guest/blk.cpio.gz"
#define ROOTFS		"build/guest/rootfs.ext4"
#define ROOTFS_INITRD	"build/guest/rootfs-initrd.cpio.gz"
#define MEM_MIB		96
#define BOOT_SECONDS	180
#define CMD_SECONDS	60

FIXTURE(blk) {
	char dir[64];
	char out[8192];
	struct vmm_proc a, b;
};

FIXTURE_SETUP(blk)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/blktest-%d", getpid());
	mkdir(self->dir, 0700);
}

FIXTURE_TEARDOWN(blk)
{
	char cmd[128];

	vmm_proc__kill(&self->a);
	vmm_proc__kill(&self->b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

static void path(FIXTURE_DATA(blk) *self, char *buf, const char *name)
{
	snprintf(buf, 256, "%s/%s", self->dir, name);
}

/* @size bytes of a pattern that differs with @seed and every sector. */
static void make_file(const char *file, size_t size, uint32_t seed)
{
	uint32_t buf[1024], x = seed * 2654435761u + 1;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done, i;

	TEST_REQUIRE(fd >= 0, "creating %s", file);
	for (done = 0; done < size; done += sizeof(buf)) {
		for (i = 0; i < 1024; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = x;
		}
		TEST_REQUIRE(write(fd, buf, sizeof(buf)) == sizeof(buf),
			     "writing %s", file);
	}
	close(fd);
}

/* MD5 of @count 4 KiB blocks of @file from block @skip (count 0: all). */
static void file_md5(const char *file, long skip, long count, char *md5)
{
	char cmd[512];
	FILE *p;

	if (count)
		snprintf(cmd, sizeof(cmd), "dd if=%s bs=4096 skip=%ld "
			 "count=%ld 2>/dev/null | md5sum", file, skip, count);
	else
		snprintf(cmd, sizeof(cmd), "md5sum <%s", file);
	p = popen(cmd, "r");
	TEST_REQUIRE(p && fscanf(p, "%32s", md5) == 1, "%s", cmd);
	pclose(p);
}

/* Boot @initrd with VMM_UTIL_BOOT_ARGS and @args (NULL: none). */
static void configure_args(struct vmm_proc *v, const char *initrd,
			   bool track_dirty, const char *args)
{
	char body[1024], out[1024];

	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
		 "\"initrd_path\":\"%s\",\"boot_args\":"
		 "\"" VMM_UTIL_BOOT_ARGS "%s%s\"}", vmm_util__kernel(), initrd,
		 args ? " " : "", args ? args : "");
	TEST_REQUIRE(vmm_proc__api(v, "PUT", "/boot-source", body, out,
				   sizeof(out)) == 204, "boot-source: %s", out);
	snprintf(body, sizeof(body), "{\"vcpu_count\":1,\"mem_size_mib\":%d,"
		 "\"track_dirty_pages\":%s}", MEM_MIB,
		 track_dirty ? "true" : "false");
	TEST_REQUIRE(vmm_proc__api(v, "PUT", "/machine-config", body, out,
				   sizeof(out)) == 204, "machine-config: %s",
		     out);
}

static void configure(struct vmm_proc *v, const char *initrd,
		      bool track_dirty)
{
	configure_args(v, initrd, track_dirty, NULL);
}

/* PUT /drives/@id with @file and @extra members ("" or ",\"a\":1"). */
static int put_drive(FIXTURE_DATA(blk) *self, struct vmm_proc *v,
		     const char *id, const char *file, bool root,
		     const char *extra)
{
	char url[128], body[1024];

	snprintf(url, sizeof(url), "/drives/%s", id);
	snprintf(body, sizeof(body), "{\"drive_id\":\"%s\",\"path_on_host\":"
		 "\"%s\",\"is_root_device\":%s%s}", id, file,
		 root ? "true" : "false", extra);
	return vmm_proc__api(v, "PUT", url, body, self->out,
			     sizeof(self->out));
}

static int patch_drive(FIXTURE_DATA(blk) *self, struct vmm_proc *v,
		       const char *id, const char *file)
{
	char url[128], body[1024];

	snprintf(url, sizeof(url), "/drives/%s", id);
	snprintf(body, sizeof(body), "{\"drive_id\":\"%s\",\"path_on_host\":"
		 "\"%s\"}", id, file);
	return vmm_proc__api(v, "PATCH", url, body, self->out,
			     sizeof(self->out));
}

/*
 * Type "@cmd @tag @args" on @v's console and wait for its answer, the
 * line "BLK @tag ...": what follows the tag into @reply.
 */
static bool guest_cmd(struct vmm_proc *v, const char *cmd, const char *tag,
		      const char *args, char *reply, size_t len)
{
	char text[256], prefix[64], line[512];
	size_t n;

	snprintf(text, sizeof(text), "%s %s %s\n", cmd, tag, args);
	snprintf(prefix, sizeof(prefix), "BLK %s ", tag);
	vmm_proc__type(v, text);
	if (!vmm_proc__wait_line(v, prefix, line, sizeof(line),
				 CMD_SECONDS)) {
		fprintf(stderr, "# no answer to '%s %s %s'\n", cmd, tag, args);
		vmm_proc__show_console(v, 30);
		return false;
	}
	snprintf(reply, len, "%s", line + strlen(prefix));
	/* The guest's tty ends its lines with "\r\n". */
	n = strlen(reply);
	while (n && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		reply[--n] = '\0';
	return true;
}

static int set_state(FIXTURE_DATA(blk) *self, struct vmm_proc *v,
		     const char *state)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
	return vmm_proc__api(v, "PATCH", "/vm", body, self->out,
			     sizeof(self->out));
}

static int snapshot(FIXTURE_DATA(blk) *self, struct vmm_proc *v,
		    const char *type, const char *name)
{
	char body[1024], base[256];

	path(self, base, name);
	snprintf(body, sizeof(body), "{\"snapshot_type\":\"%s\",\"snapshot_path\":"
		 "\"%s.vmstate\",\"mem_file_path\":\"%s.mem\"}", type, base,
		 base);
	return vmm_proc__api(v, "PUT", "/snapshot/create", body, self->out,
			     sizeof(self->out));
}

static int load(FIXTURE_DATA(blk) *self, struct vmm_proc *v,
		const char *name)
{
	char body[1024], base[256];

	path(self, base, name);
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s.vmstate\","
		 "\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":"
		 "\"%s.mem\"},\"resume_vm\":true}", base, base);
	return vmm_proc__api(v, "PUT", "/snapshot/load", body, self->out,
			     sizeof(self->out));
}

#define EXPECT_FAULT(status)						\
	do {								\
		EXPECT_EQ(400, (status));				\
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\":"));\
	} while (0)

/*
 * A guest reads the drive and gets the file's bytes; the drive's serial
 * is its drive_id, its size the file's.  After a PATCH to a file twice as
 * big, it sees that file and its size.  Requests the started VM refuses
 * change nothing.
 */
TEST_F_TIMEOUT(blk, read_and_patch, 600)
{
	char file[256], file2[256], md5[40], want[40], reply[512], line[512];
	char config[8192];
	int i;

	path(self, file, "data.img");
	path(self, file2, "data2.img");
	make_file(file, 1 << 20, 1);
	make_file(file2, 2 << 20, 2);
	vmm_proc__start(&self->a, self->dir, "a");
	configure(&self->a, INITRD, false);
	ASSERT_EQ(204, put_drive(self, &self->a, "data", file, false, ""));
	ASSERT_TRUE(vmm_proc__boot(&self->a, "BLK-READY", line, sizeof(line),
				   BOOT_SECONDS));
	/* Not a root drive: no root= appended. */
	EXPECT_EQ(NULL, strstr(line, "root=")) TH_LOG("%s", line);

	ASSERT_TRUE(guest_cmd(&self->a, "info", "i1", "vda", reply,
			      sizeof(reply)));
	EXPECT_STREQ("size=2048 ro=0 serial=data cache=write_through", reply);
	ASSERT_TRUE(guest_cmd(&self->a, "sum", "s1", "vda direct", reply,
			      sizeof(reply)));
	file_md5(file, 0, 0, want);
	EXPECT_STREQ(want, reply);

	/* Refused once started, and nothing changes. */
	ASSERT_EQ(200, vmm_proc__api(&self->a, "GET", "/vm/config", NULL,
				     config, sizeof(config)));
	EXPECT_FAULT(put_drive(self, &self->a, "data", file2, false, ""));
	EXPECT_NE(NULL, strstr(self->out, "after starting"));
	EXPECT_FAULT(put_drive(self, &self->a, "other", file2, false, ""));
	EXPECT_FAULT(patch_drive(self, &self->a, "nosuch", file2));
	EXPECT_FAULT(patch_drive(self, &self->a, "data", "/nonexistent/x"));
	EXPECT_FAULT(vmm_proc__api(&self->a, "PATCH", "/drives/data",
				   "{\"drive_id\":\"data\",\"path_on_host\":"
				   "\"/x\",\"is_read_only\":true}", self->out,
				   sizeof(self->out)));
	EXPECT_FAULT(vmm_proc__api(&self->a, "PATCH", "/drives/data",
				   "{\"drive_id\":\"other\"}", self->out,
				   sizeof(self->out)));
	EXPECT_EQ(200, vmm_proc__api(&self->a, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_STREQ(config, self->out);
	ASSERT_TRUE(guest_cmd(&self->a, "info", "i2", "vda", reply,
			      sizeof(reply)));
	EXPECT_STREQ("size=2048 ro=0 serial=data cache=write_through", reply);

	/* The swap: the guest learns the new size from a config change. */
	ASSERT_EQ(204, patch_drive(self, &self->a, "data", file2));
	for (i = 0; i < 30; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "p%d", i);
		ASSERT_TRUE(guest_cmd(&self->a, "info", tag, "vda", reply,
				      sizeof(reply)));
		if (!strncmp(reply, "size=4096 ", 10))
			break;
		sleep(1);
	}
	EXPECT_STREQ("size=4096 ro=0 serial=data cache=write_through", reply);
	ASSERT_TRUE(guest_cmd(&self->a, "sum", "s2", "vda direct", reply,
			      sizeof(reply)));
	file_md5(file2, 0, 0, md5);
	EXPECT_STREQ(md5, reply);
	EXPECT_STRNE(want, md5);
	EXPECT_EQ(200, vmm_proc__api(&self->a, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, file2));
}

/*
 * Writes reach the file: after pause and snapshot the host file holds
 * them, a Writeback drive offers flushes, the snapshot carries the drive
 * and restores with it, and refuses a file whose size changed.
 */
TEST_F_TIMEOUT(blk, write_snapshot_restore, 600)
{
	char file[256], md5[40], reply[512], line[512], cmd[512];

	path(self, file, "rw.img");
	make_file(file, 1 << 20, 3);
	vmm_proc__start(&self->a, self->dir, "a");
	configure(&self->a, INITRD, false);
	ASSERT_EQ(204, put_drive(self, &self->a, "rw", file, false,
				 ",\"cache_type\":\"Writeback\","
				 "\"is_read_only\":false,\"io_engine\":\"Sync\""));
	ASSERT_TRUE(vmm_proc__boot(&self->a, "BLK-READY", line, sizeof(line),
				   BOOT_SECONDS));
	ASSERT_TRUE(guest_cmd(&self->a, "info", "i1", "vda", reply,
			      sizeof(reply)));
	EXPECT_STREQ("size=2048 ro=0 serial=rw cache=write_back", reply);

	/* 64 blocks from block 16: the guest's checksum of them. */
	ASSERT_TRUE(guest_cmd(&self->a, "write", "w1", "vda 16 64", reply,
			      sizeof(reply)));
	ASSERT_EQ(0, strncmp(reply, "rc=0 ", 5)) TH_LOG("%s", reply);
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	ASSERT_EQ(204, snapshot(self, &self->a, "Full", "snap"));
	file_md5(file, 16, 64, md5);
	EXPECT_STREQ(reply + 5, md5);
	/* The vmstate names the drive's file: a restore needs no more. */
	snprintf(cmd, sizeof(cmd), "grep -qF %s %s/snap.vmstate", file,
		 self->dir);
	EXPECT_EQ(0, system(cmd));
	vmm_proc__kill(&self->a);

	/* Restored, the guest reads what it wrote, through the device. */
	vmm_proc__start(&self->b, self->dir, "b");
	ASSERT_EQ(204, load(self, &self->b, "snap")) TH_LOG("%s", self->out);
	/* GET /vm/config shows the restored drive, as Firecracker does. */
	EXPECT_EQ(200, vmm_proc__api(&self->b, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "\"drive_id\":\"rw\""));
	EXPECT_NE(NULL, strstr(self->out, "\"cache_type\":\"Writeback\""));
	ASSERT_TRUE(guest_cmd(&self->b, "sum", "s1", "vda direct", reply,
			      sizeof(reply)));
	file_md5(file, 0, 0, md5);
	EXPECT_STREQ(md5, reply);
	ASSERT_TRUE(guest_cmd(&self->b, "write", "w2", "vda 100 8", reply,
			      sizeof(reply)));
	ASSERT_EQ(0, strncmp(reply, "rc=0 ", 5)) TH_LOG("%s", reply);
	file_md5(file, 100, 8, md5);
	EXPECT_STREQ(reply + 5, md5);
	vmm_proc__kill(&self->b);

	/* A file whose size changed is refused, with the reason. */
	ASSERT_EQ(0, truncate(file, 2 << 20));
	vmm_proc__start(&self->b, self->dir, "c");
	EXPECT_FAULT(load(self, &self->b, "snap"));
	EXPECT_NE(NULL, strstr(self->out, "bytes")) TH_LOG("%s", self->out);
}

/* A read-only drive: the guest sees it read-only and cannot write it. */
TEST_F_TIMEOUT(blk, read_only, 600)
{
	char file[256], md5[40], want[40], reply[512], line[512];

	path(self, file, "ro.img");
	make_file(file, 1 << 20, 4);
	file_md5(file, 0, 0, want);
	vmm_proc__start(&self->a, self->dir, "a");
	configure(&self->a, INITRD, false);
	ASSERT_EQ(204, put_drive(self, &self->a, "ro", file, false,
				 ",\"is_read_only\":true"));
	ASSERT_TRUE(vmm_proc__boot(&self->a, "BLK-READY", line, sizeof(line),
				   BOOT_SECONDS));
	ASSERT_TRUE(guest_cmd(&self->a, "info", "i1", "vda", reply,
			      sizeof(reply)));
	EXPECT_STREQ("size=2048 ro=1 serial=ro cache=write_through", reply);
	ASSERT_TRUE(guest_cmd(&self->a, "rowrite", "r1", "vda", reply,
			      sizeof(reply)));
	EXPECT_STRNE("rc=0", reply);
	ASSERT_TRUE(guest_cmd(&self->a, "sum", "s1", "vda direct", reply,
			      sizeof(reply)));
	EXPECT_STREQ(want, reply);
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	file_md5(file, 0, 0, md5);
	EXPECT_STREQ(want, md5);
}

/*
 * The rootfs guest boots from its root drive: the VMM appends
 * root=/dev/vda rw, which the initramfs (whose default is ro) obeys.
 */
TEST_F_TIMEOUT(blk, root_drive_boot, 600)
{
	char file[256], cmd[512], line[512], body[1024];

	path(self, file, "rootfs.ext4");
	snprintf(cmd, sizeof(cmd), "cp %s %s", ROOTFS, file);
	ASSERT_EQ(0, system(cmd));
	vmm_proc__start(&self->a, self->dir, "a");
	configure(&self->a, ROOTFS_INITRD, false);
	ASSERT_EQ(204, put_drive(self, &self->a, "rootfs", file, true,
				 ",\"is_read_only\":false"));
	ASSERT_EQ(200, vmm_proc__api(&self->a, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	snprintf(body, sizeof(body), "\"drives\":[{\"drive_id\":\"rootfs\","
		 "\"partuuid\":null,\"is_root_device\":true,\"cache_type\":"
		 "\"Unsafe\",\"is_read_only\":false,\"path_on_host\":\"%s\","
		 "\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null}]",
		 file);
	EXPECT_NE(NULL, strstr(self->out, body)) TH_LOG("%s", self->out);
	ASSERT_TRUE(vmm_proc__boot(&self->a, "ROOTFS-BOOTED", line,
				   sizeof(line), BOOT_SECONDS));
	EXPECT_NE(NULL, strstr(line, "root=/dev/vda rw")) TH_LOG("%s", line);
	ASSERT_TRUE(vmm_proc__find_line(&self->a, "INITRD-ROOT", line,
					sizeof(line)));
	EXPECT_EQ(0, strncmp(line, "INITRD-ROOT /dev/vda ext4 rw\r", 29))
		TH_LOG("%s", line);
}

/*
 * Every byte the device writes into guest memory is in the next Diff: a
 * Diff taken right after the guest read the drive (into its page cache,
 * written by the device, not by a vCPU: the guest does not zero pages it
 * allocates), merged onto its base, gives the memory of a Full snapshot
 * taken at the same point.
 */
TEST_F_TIMEOUT(blk, diff_snapshot_device_writes, 900)
{
	char file[256], cmd[1024], reply[512], line[512], want[40];
	char path2[256];
	const char *d = self->dir;

	path(self, file, "diff.img");
	make_file(file, 8 << 20, 5);
	file_md5(file, 0, 0, want);
	vmm_proc__start(&self->a, self->dir, "a");
	/*
	 * Debian's kernels zero each page they allocate (init_on_alloc),
	 * so a vCPU would dirty the page cache before the device fills it
	 * and hide a device write missing from the Diff.
	 */
	configure_args(&self->a, INITRD, true, "init_on_alloc=0");
	ASSERT_EQ(204, put_drive(self, &self->a, "data", file, false, ""));
	ASSERT_TRUE(vmm_proc__boot(&self->a, "BLK-READY", line, sizeof(line),
				   BOOT_SECONDS));
	ASSERT_TRUE(guest_cmd(&self->a, "info", "i1", "vda", reply,
			      sizeof(reply)));
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	ASSERT_EQ(204, snapshot(self, &self->a, "Full", "base"));
	ASSERT_EQ(204, set_state(self, &self->a, "Resumed"));
	ASSERT_TRUE(guest_cmd(&self->a, "sum", "s1", "vda", reply,
			      sizeof(reply)));
	EXPECT_STREQ(want, reply);
	ASSERT_EQ(204, set_state(self, &self->a, "Paused"));
	ASSERT_EQ(204, snapshot(self, &self->a, "Diff", "diff"));
	ASSERT_EQ(204, snapshot(self, &self->a, "Full", "full"));
	vmm_proc__kill(&self->a);

	snprintf(cmd, sizeof(cmd), "build/snapmerge -o %s/merged.vmstate "
		 "%s/merged.mem %s/base.mem %s/diff.vmstate %s/diff.mem",
		 d, d, d, d, d);
	ASSERT_EQ(0, system(cmd));
	/* The identity pages aside: each names its own snapshot. */
	snprintf(cmd, sizeof(cmd), "%s/merged.mem", d);
	snprintf(path2, sizeof(path2), "%s/full.mem", d);
	EXPECT_EQ(0, memfile_diff_bytes(cmd, path2, (uint64_t)MEM_MIB << 20,
					0, 0))
		TH_LOG("merged Diff differs from Full");
	/* And the merged snapshot restores a guest that still reads. */
	snprintf(cmd, sizeof(cmd), "rm -f %s/base.mem %s/full.mem", d, d);
	ASSERT_EQ(0, system(cmd));
	vmm_proc__start(&self->b, self->dir, "b");
	ASSERT_EQ(204, load(self, &self->b, "merged")) TH_LOG("%s", self->out);
	ASSERT_TRUE(guest_cmd(&self->b, "sum", "s2", "vda direct", reply,
			      sizeof(reply)));
	EXPECT_STREQ(want, reply);
}

/*
 * Every bad PUT or PATCH /drives answers 400 with a fault_message and
 * leaves the configuration as it was.
 */
TEST_F(blk, bad_input)
{
	static const char *const bad[][2] = {
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false,\"colour\":1}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\"}" },
		{ "/drives/d", "{\"path_on_host\":\"@\","
		  "\"is_root_device\":false}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"is_root_device\":false}" },
		{ "/drives/d", "{\"drive_id\":\"e\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":"
		  "\"/nonexistent/d.img\",\"is_root_device\":false}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":\"no\"}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false,\"is_read_only\":1}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":7,"
		  "\"is_root_device\":false}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false,\"cache_type\":\"Fast\"}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false,\"io_engine\":\"Async\"}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false,\"io_engine\":\"Fancy\"}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false,\"rate_limiter\":{\"bandwidth\":"
		  "{\"size\":-1,\"refill_time\":10}}}" },
		{ "/drives/d", "{\"drive_id\":\"d\",\"socket\":\"/tmp/s\","
		  "\"is_root_device\":false}" },
		{ "/drives/d-1", "{\"drive_id\":\"d-1\",\"path_on_host\":\"@\","
		  "\"is_root_device\":false}" },
		/* A second root drive. */
		{ "/drives/d", "{\"drive_id\":\"d\",\"path_on_host\":\"@\","
		  "\"is_root_device\":true}" },
		/* The existing drive, changed and wrong. */
		{ "/drives/root", "{\"drive_id\":\"root\",\"path_on_host\":"
		  "\"/nonexistent\",\"is_root_device\":true}" },
		{ "/drives/d", "[1]" },
		{ "/drives/d", "{\"drive_id\":\"d\"" },
	};
	char file[256], body[1024], before[8192], *at;
	size_t i;

	path(self, file, "ok.img");
	make_file(file, 1 << 20, 6);
	vmm_proc__start(&self->a, self->dir, "a");
	configure(&self->a, INITRD, false);
	ASSERT_EQ(204, put_drive(self, &self->a, "root", file, true,
				 ",\"partuuid\":null,\"cache_type\":"
				 "\"Unsafe\",\"rate_limiter\":null"));
	ASSERT_EQ(200, vmm_proc__api(&self->a, "GET", "/vm/config", NULL,
				     before, sizeof(before)));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(body, sizeof(body), "%s", bad[i][1]);
		at = strchr(body, '@');
		if (at) {
			memmove(at + strlen(file), at + 1, strlen(at + 1) + 1);
			memcpy(at, file, strlen(file));
		}
		EXPECT_EQ(400, vmm_proc__api(&self->a, "PUT", bad[i][0], body,
					     self->out, sizeof(self->out)))
			TH_LOG("accepted %s %s", bad[i][0], body);
		EXPECT_NE(NULL, strstr(self->out, "\"fault_message\":"));
		/* A missing path is named as such, not as an open failure. */
		if (!strcmp(body, "{\"drive_id\":\"d\","
				  "\"is_root_device\":false}"))
			EXPECT_NE(NULL, strstr(self->out, "path_on_host is "
					       "required")) TH_LOG("%s", self->out);
		EXPECT_EQ(200, vmm_proc__api(&self->a, "GET", "/vm/config",
					     NULL, self->out,
					     sizeof(self->out)));
		EXPECT_STREQ(before, self->out) TH_LOG("after %s", body);
	}
	/* PATCH is for a started VM. */
	EXPECT_FAULT(patch_drive(self, &self->a, "root", file));
	EXPECT_NE(NULL, strstr(self->out, "before starting"));

	/*
	 * What is allowed: a PUT of a known id replaces it; a new root
	 * drive goes first, so that it is /dev/vda.
	 */
	EXPECT_EQ(204, put_drive(self, &self->a, "root", file, false,
				 ",\"is_read_only\":true"));
	EXPECT_EQ(204, put_drive(self, &self->a, "newroot", file, true,
				 ",\"partuuid\":\"0eaa91a0-01\""));
	EXPECT_EQ(200, vmm_proc__api(&self->a, "GET", "/vm/config", NULL,
				     self->out, sizeof(self->out)));
	snprintf(body, sizeof(body), "\"drives\":[{\"drive_id\":\"newroot\","
		 "\"partuuid\":\"0eaa91a0-01\",\"is_root_device\":true,"
		 "\"cache_type\":\"Unsafe\",\"is_read_only\":false,"
		 "\"path_on_host\":\"%s\",\"rate_limiter\":null,\"io_engine\":"
		 "\"Sync\",\"socket\":null},{\"drive_id\":\"root\",", file);
	EXPECT_NE(NULL, strstr(self->out, body)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"is_read_only\":true"));
}

TEST_HARNESS_MAIN
