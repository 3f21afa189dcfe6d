// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest's working set, checked against where its workload lies.
 * The guest is the rootfs guest (Documentation/testing.rst): it boots
 * from its root drive over virtio-blk and serves fnd (guest/fnd.c) on
 * vsock, which the test calls through the VMM's uds_path as a Firecracker
 * user would.  fn has a 64 MiB dataset it only reads and an 8 MiB output
 * it only writes, whose guest-physical frames it reports itself ("map").
 * It is invoked once, its checksum checked against fn.h's own, and a
 * snapshot of it is loaded with track_working_set from a file system on
 * a block device, the page cache cold; the restored guest's vsock was
 * reset, so the second invocation comes on a new connection.  Every
 * dataset frame must then be read-only and every output frame dirty,
 * and, fn reading its dataset from start to end, the layer file must
 * hold the dataset in that order, sampled.  Beside that, the pages
 * mincore() finds in the page cache of the memory file - FaaSnap's
 * working set - hold the same workload plus the readahead around it,
 * which the test reports.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bitmap.h"
#include "layers.h"
#include "test_util.h"
#include "vmm_util.h"
#include "guest/fn.h"

#define ROOTFS		"build/guest/rootfs.ext4"
#define GUEST_PAGES	((256ULL << 20) / LAYERS_PAGE_SIZE)
/* fnd's "map": a line per run of contiguous frames, 72 MiB of them. */
#define MAP_MAX		(4 << 20)

FIXTURE(workload) {
	char dir[64];
	char out[4096];
	char uds[96];
	int zram;
	struct vmm_proc a, b;
};

static void mark(uint64_t *bm, uint64_t first, uint64_t n)
{
	while (n--)
		bitmap__set(bm, first++);
}

static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* ext4 on a fresh zram disk: a page cache that can be dropped for real. */
FIXTURE_SETUP(workload)
{
	FILE *f;

	snprintf(self->dir, sizeof(self->dir), "/tmp/wltest-%d", getpid());
	mkdir(self->dir, 0700);
	snprintf(self->uds, sizeof(self->uds), "%s/v.sock", self->dir);
	self->zram = -1;
	ASSERT_EQ(0, run("modprobe zram && modprobe ext4"));
	f = fopen("/sys/class/zram-control/hot_add", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%d", &self->zram));
	fclose(f);
	ASSERT_EQ(0, run("echo 512M >/sys/block/zram%d/disksize && "
			 "mkfs.ext4 -q /dev/zram%d && mount /dev/zram%d %s",
			 self->zram, self->zram, self->zram, self->dir));
}

FIXTURE_TEARDOWN(workload)
{
	vmm_proc__kill(&self->a);
	vmm_proc__kill(&self->b);
	umount(self->dir);
	rmdir(self->dir);
	if (self->zram >= 0 &&
	    run("echo %d >/sys/class/zram-control/hot_remove", self->zram))
		fprintf(stderr, "# cannot remove zram%d\n", self->zram);
}

/*
 * Mark fn's frames for @tag ("data" or "out") in @frames and list them in
 * @seq, in fn's virtual address order, from the FN-MAP lines of @map
 * (fnd's reply); returns how many, or -1 when fn could not tell.
 */
static long fn_frames(const char *map, const char *tag, uint64_t *frames,
		      uint32_t *seq)
{
	unsigned long long first, n;
	char what[16];
	const char *line, *next;
	size_t taglen = strlen(tag);
	long total = 0;

	for (line = map; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			next++;
		if (sscanf(line, "FN-MAP %15s %llx %llu", what, &first,
			   &n) == 3 && !strcmp(what, tag) &&
		    first + n <= GUEST_PAGES && total + n <= GUEST_PAGES) {
			mark(frames, first, n);
			while (n--)
				seq[total++] = first++;
		} else if (!strncmp(line, "FN-MAP ", 7) &&
			   !strncmp(line + 7, tag, taglen) &&
			   !strncmp(line + 7 + taglen, " error", 6)) {
			return -1;
		}
	}
	return total;
}

/* fnd's "go" on @uds: true if it answered invocation @n with @sum. */
static bool fn_go(const char *uds, unsigned long long n, uint64_t sum,
		  double *ms)
{
	unsigned long long got_n, us, got_sum;
	char reply[256];

	if (!vmm_util__fn_call(uds, "go", reply, sizeof(reply), ms))
		return false;
	if (sscanf(reply, "FN-DONE n=%llu us=%llu sum=%llx", &got_n, &us,
		   &got_sum) != 3 || got_n != n || got_sum != sum) {
		fprintf(stderr, "# fnd answered '%s', not n=%llu sum=%016llx\n",
			reply, n, (unsigned long long)sum);
		return false;
	}
	return true;
}

/* Pages of @path in the page cache. */
static uint64_t *resident_pages(const char *path)
{
	uint64_t *resident = bitmap__alloc(GUEST_PAGES), p;
	unsigned char *vec = malloc(GUEST_PAGES);
	int fd = open(path, O_RDONLY);
	void *mem;

	if (!resident || !vec || fd < 0)
		return NULL;
	mem = mmap(NULL, GUEST_PAGES * LAYERS_PAGE_SIZE, PROT_READ, MAP_SHARED,
		   fd, 0);
	close(fd);
	if (mem == MAP_FAILED ||
	    mincore(mem, GUEST_PAGES * LAYERS_PAGE_SIZE, vec))
		return NULL;
	for (p = 0; p < GUEST_PAGES; p++)
		if (vec[p] & 1)
			bitmap__set(resident, p);
	munmap(mem, GUEST_PAGES * LAYERS_PAGE_SIZE);
	free(vec);
	return resident;
}

/*
 * @ro and @dirty from the ranges of the layer file at @path, and each
 * page's place in the file in @place; false unless in first-access order.
 */
static int read_layers(const char *path, uint64_t *ro, uint64_t *dirty,
		       uint32_t *place, bool *first_access)
{
	uint32_t i, n, at = 0;
	struct layers l;
	char err[256];

	if (layers__open(path, GUEST_PAGES * LAYERS_PAGE_SIZE, &l, err,
			 sizeof(err))) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	for (i = 0; i < l.h.nr_ranges; i++) {
		const struct layers_range *r = &l.ranges[i];

		mark(r->class == LAYER_DIRTY ? dirty : ro, r->first_page,
		     r->nr_pages);
		for (n = 0; n < r->nr_pages; n++)
			place[r->first_page + n] = at++;
	}
	*first_access = l.h.flags & LAYERS_FIRST_ACCESS_ORDER;
	layers__close(&l);
	return 0;
}

/* Pages of @a that are not in @b. */
static uint64_t count_missing(const uint64_t *a, const uint64_t *b)
{
	uint64_t p, n = 0;

	for (p = 0; p < GUEST_PAGES; p++)
		n += bitmap__test(a, p) && !bitmap__test(b, p);
	return n;
}


TEST_F_TIMEOUT(workload, fn_pages_all_present, 900)
{
	uint64_t *data = bitmap__alloc(GUEST_PAGES);
	uint64_t *out = bitmap__alloc(GUEST_PAGES);
	uint64_t *ro = bitmap__alloc(GUEST_PAGES);
	uint64_t *dirty = bitmap__alloc(GUEST_PAGES);
	uint64_t *present = bitmap__alloc(GUEST_PAGES), *resident;
	uint32_t *data_seq = calloc(GUEST_PAGES, sizeof(uint32_t));
	uint32_t *out_seq = calloc(GUEST_PAGES, sizeof(uint32_t));
	uint32_t *place = calloc(GUEST_PAGES, sizeof(uint32_t));
	char vmstate[128], mem[128], layers[128], body[1024], line[128];
	char *map = malloc(MAP_MAX);
	uint64_t want = fn__expected_sum();
	double ms;
	uint32_t first_quarter_last = 0, last_quarter_first = UINT32_MAX;
	uint64_t nr_present, nr_resident;
	bool first_access = false;
	long nr_data, nr_out, i;

	ASSERT_TRUE(data && out && ro && dirty && present && data_seq &&
		    out_seq && place && map);
	ASSERT_NE(0, want);
	snprintf(vmstate, sizeof(vmstate), "%s/fn.vmstate", self->dir);
	snprintf(mem, sizeof(mem), "%s/fn.mem", self->dir);
	snprintf(layers, sizeof(layers), "%s/fn.layers", self->dir);

	vmm_proc__start(&self->a, self->dir, "a");
	vmm_proc__configure_rootfs(&self->a, ROOTFS, false, self->uds, 2,
				   false);
	ASSERT_TRUE(vmm_proc__boot(&self->a, "FND-LISTENING", line,
				   sizeof(line), 600));
	ASSERT_TRUE(vmm_proc__find_line(&self->a, "ROOTFS-VSOCK virtio", line,
					sizeof(line)))
		vmm_proc__show_console(&self->a, 20);
	ASSERT_TRUE(vmm_proc__find_line(&self->a,
					"INITRD-ROOT /dev/vda ext4 ro", line,
					sizeof(line)))
		vmm_proc__show_console(&self->a, 20);
	ASSERT_TRUE(vmm_util__fn_call(self->uds, "map", map, MAP_MAX, NULL));
	nr_data = fn_frames(map, "data", data, data_seq);
	nr_out = fn_frames(map, "out", out, out_seq);
	/* Both buffers are whole pages and one more for malloc's header. */
	ASSERT_GE(nr_data, (64 << 20) / 4096);
	ASSERT_GE(nr_out, (8 << 20) / 4096);
	ASSERT_TRUE(fn_go(self->uds, 1, want, &ms));
	ASSERT_EQ(204, vmm_proc__api(&self->a, "PATCH", "/vm",
				     "{\"state\":\"Paused\"}", self->out,
				     sizeof(self->out)));
	snprintf(body, sizeof(body), "{\"snapshot_type\":\"Full\","
		 "\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}", vmstate,
		 mem);
	ASSERT_EQ(204, vmm_proc__api(&self->a, "PUT", "/snapshot/create", body,
				     self->out, sizeof(self->out)));
	vmm_proc__kill(&self->a);
	/* SIGKILL left the socket behind, which the load would not bind. */
	unlink(self->uds);

	ASSERT_EQ(0, run("sync && echo 3 >/proc/sys/vm/drop_caches"));
	vmm_proc__start(&self->b, self->dir, "b");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
		 "{\"backend_type\":\"File\",\"backend_path\":\"%s\"},"
		 "\"track_working_set\":true,\"working_set_interval_ms\":5,"
		 "\"resume_vm\":true}", vmstate, mem);
	ASSERT_EQ(204, vmm_proc__api(&self->b, "PUT", "/snapshot/load", body,
				     self->out, sizeof(self->out)));
	/* A new connection: the restore reset the guest's old ones. */
	ASSERT_TRUE(fn_go(self->uds, 2, want, &ms))
		vmm_proc__show_console(&self->b, 20);
	TH_LOG("first invocation after the restore: %.1f ms request to "
	       "reply", ms);
	ASSERT_EQ(204, vmm_proc__api(&self->b, "PATCH", "/vm",
				     "{\"state\":\"Paused\"}", self->out,
				     sizeof(self->out)));
	/* Before the layers are cut: cutting them reads the memory file. */
	resident = resident_pages(mem);
	ASSERT_NE(NULL, resident);
	snprintf(body, sizeof(body), "{\"layers_path\":\"%s\"}", layers);
	ASSERT_EQ(204, vmm_proc__api(&self->b, "PUT", "/snapshot/layers", body,
				     self->out, sizeof(self->out)));
	ASSERT_EQ(0, read_layers(layers, ro, dirty, place, &first_access));

	/* The workload, exactly: read pages read-only, written pages dirty. */
	EXPECT_EQ(0, count_missing(data, ro));
	EXPECT_EQ(0, count_missing(out, dirty));
	bitmap__or(present, ro, dirty, GUEST_PAGES);
	nr_present = bitmap__weight(present, GUEST_PAGES);
	/*
	 * Beyond it, what the guest kernel and fn's own code touched: a few
	 * MiB, not a sizeable part of the 256 MiB guest.
	 */
	EXPECT_LT(nr_present - nr_data - nr_out, 4096);

	/*
	 * fn reads its dataset front to back over many samples: the first
	 * quarter it read lies before the last quarter in the file.
	 */
	EXPECT_TRUE(first_access);
	for (i = 0; i < nr_data / 4; i++) {
		if (place[data_seq[i]] > first_quarter_last)
			first_quarter_last = place[data_seq[i]];
		if (place[data_seq[nr_data - 1 - i]] < last_quarter_first)
			last_quarter_first = place[data_seq[nr_data - 1 - i]];
	}
	EXPECT_LT(first_quarter_last, last_quarter_first);

	/* mincore holds the workload too, and the readahead around it. */
	nr_resident = bitmap__weight(resident, GUEST_PAGES);
	EXPECT_EQ(0, count_missing(data, resident));
	EXPECT_EQ(0, count_missing(out, resident));
	TH_LOG("workload %ld + %ld pages; present %llu (%llu read-only, "
	       "%llu dirty); mincore %llu, %llu of them never touched",
	       nr_data, nr_out, (unsigned long long)nr_present,
	       (unsigned long long)bitmap__weight(ro, GUEST_PAGES),
	       (unsigned long long)bitmap__weight(dirty, GUEST_PAGES),
	       (unsigned long long)nr_resident,
	       (unsigned long long)count_missing(resident, present));
	free(resident);
	free(map);
	free(place);
	free(out_seq);
	free(data_seq);
	free(present);
	free(dirty);
	free(ro);
	free(out);
	free(data);
}

TEST_HARNESS_MAIN
