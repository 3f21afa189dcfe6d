/* SPDX-License-Identifier: GPL-2.0 */
/* The Firecracker-compatible HTTP API on a Unix socket. */
#ifndef VMM_API_H
#define VMM_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "virtio/virtio.h"

#define API_VMM_VERSION		"0.1.0"
/* The command line of a guest whose boot-source gives no boot_args. */
#define API_DEFAULT_CMDLINE	"console=ttyS0 reboot=k panic=1 pci=off " \
				"nomodule i8042.noaux i8042.nomux " \
				"i8042.nopnp i8042.dumbkbd"
#define API_MAX_VCPUS		32
#define API_MAX_MEM_MIB		(256 * 1024)
#define API_MAX_CMDLINE		2048
#define API_MAX_NETS		4
/* First-access sampling of working-set windows (vmm/sampler.c). */
#define API_DEFAULT_WS_INTERVAL_MS	20
#define API_MAX_WS_INTERVAL_MS		10000

/*
 * What PUT /boot-source and PUT or PATCH /machine-config set up; after a
 * snapshot load, what the load asked for.
 */
struct api_config {
	bool have_kernel;
	char kernel[4096];
	char initrd[4096];
	char cmdline[API_MAX_CMDLINE];
	bool have_boot_args;	/* else cmdline is API_DEFAULT_CMDLINE */
	unsigned int vcpus;
	unsigned int mem_mib;
	bool track_dirty_pages;
	bool hugetlb;		/* huge_pages "2M" */
	bool track_working_set;
	unsigned int working_set_interval_ms;
	/*
	 * Devices, created at InstanceStart in Firecracker's order; the
	 * root drive, if any, is drives[0].
	 */
	struct virtio_drive_config drives[VIRTIO_BLK_MAX_DRIVES];
	unsigned int nr_drives;
	unsigned int nr_nets;
	struct net_iface_config nets[API_MAX_NETS];
	struct virtio_vsock_params vsock;
	struct virtio_rng_config entropy;
};

struct api_load {
	const char *snapshot_path;
	const char *mem_path;
	bool uffd;
	const char *layers_path;
	bool layers_huge;	/* layers_prefetch HugePages */
	bool enable_diff_snapshots;
	bool track_working_set;
	unsigned int working_set_interval_ms;
	bool resume_vm;
};

/* What the API asks of the VMM; called with the API lock held. */
struct api_ops {
	bool (*started)(void *ctx);
	/* False once a start or load failed half way: restart the VMM. */
	bool (*usable)(void *ctx);
	bool (*paused)(void *ctx);
	/* The vCPUs, memory and its pages of the started or loaded VM. */
	void (*describe)(void *ctx, unsigned int *vcpus,
			 unsigned int *mem_mib, bool *hugetlb);
	/*
	 * Optional: 0, or -errno with the reason in @err for a start that
	 * cannot succeed (a kernel it cannot boot), checked before anything
	 * is built so that the VMM stays usable.
	 */
	int (*check_start)(void *ctx, const struct api_config *cfg,
			   char *err, size_t errlen);
	int (*start)(void *ctx, const struct api_config *cfg);
	/* Ctrl-Alt-Del on the i8042 keyboard; 0 or -errno. */
	int (*send_ctrl_alt_del)(void *ctx);
	void (*pause)(void *ctx);
	void (*resume)(void *ctx);
	/* Return 0 or -errno with a reason in @err. */
	int (*snapshot_create)(void *ctx, bool diff, const char *vmstate,
			       const char *mem, const char *layers, char *err,
			       size_t errlen);
	int (*snapshot_layers)(void *ctx, const char *layers, char *err,
			       size_t errlen);
	int (*snapshot_load)(void *ctx, const struct api_load *load,
			     char *err, size_t errlen);
	/* PATCH /network-interfaces/{id} after start: the limiters given. */
	int (*net_update)(void *ctx, const char *iface_id,
			  const struct rate_limit_config *rx,
			  const bool rx_given[2],
			  const struct rate_limit_config *tx,
			  const bool tx_given[2], char *err, size_t errlen);
	/*
	 * PATCH /drives: back the started VM's drive @id by @path (NULL:
	 * only check that it exists).
	 */
	int (*drive_update)(void *ctx, const char *id, const char *path,
			    const struct rate_limit_config *limit,
			    const bool given[2], char *err, size_t errlen);
	/* The loaded VM's drives, at most @max, for GET /vm/config. */
	unsigned int (*drives)(void *ctx, struct virtio_drive_config *out,
			       unsigned int max);
};

/* Open API connections at most; a new one past that closes the idlest. */
#define API_MAX_CONNS		HTTP_MAX_CONNS

struct api {
	const struct api_ops *ops;
	void *ctx;
	struct api_config cfg;
	bool configured;	/* boot-source or machine-config was set */
	pthread_mutex_t lock;	/* one request changes the VM at a time */
	const char *path;
	struct http_server http;
	bool serving;
};

int api__start(struct api *api, const char *path);
/*
 * One request, as the server answers it: the HTTP status, and the JSON
 * body in @json (NULL for none; free() it).  @api->lock must be set up.
 * For tests and fuzzing, which need no socket.
 */
unsigned int api__handle(struct api *api, const char *method, const char *url,
			 const char *body, size_t len, char **json);
void api__stop(struct api *api);

#endif
