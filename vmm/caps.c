// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM needs no capability: /dev/kvm is reached through its file mode,
 * the API socket is a Unix socket, snapshots are ordinary files.  Started
 * as root, it gives every capability up (bounding set, ambient set,
 * effective/permitted/inheritable) and can never regain one.
 */
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "vmm.h"

int caps__drop_all(void)
{
	cap_value_t cap;
	cap_t none;
	int ret = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	/* The bounding set can only shrink while CAP_SETPCAP is held. */
	if (CAP_IS_SUPPORTED(CAP_SETPCAP)) {
		for (cap = 0; cap <= CAP_LAST_CAP; cap++)
			if (CAP_IS_SUPPORTED(cap) && cap_get_bound(cap) > 0 &&
			    cap_drop_bound(cap) && errno != EPERM)
				return -errno;
	}
	if (cap_reset_ambient() && errno != EINVAL && errno != EPERM)
		return -errno;
	none = cap_init();
	if (!none)
		return -ENOMEM;
	if (cap_set_proc(none))
		ret = -errno;
	cap_free(none);
	return ret;
}
