// SPDX-License-Identifier: GPL-2.0
/*
 * Just enough of the i8042 keyboard controller for Linux's reboot=k: the
 * pulse-reset command ends the VM.  Nothing else is ever pending.
 */
#include <string.h>

#include "vmm.h"

#define I8042_DATA		0x60
#define I8042_COMMAND		0x64
#define I8042_CMD_RESET		0xfe

static void i8042__io(void *dev, uint16_t port, uint8_t *data, uint32_t len,
		      bool is_write)
{
	struct vm *vm = dev;

	if (!is_write) {
		memset(data, 0, len);	/* status: no data, input empty */
		return;
	}
	if (port == I8042_COMMAND && *data == I8042_CMD_RESET)
		vm__request_exit(vm, VM_EXIT_RESET);
}

int i8042__init(struct vm *vm)
{
	return ioport__register(I8042_DATA, I8042_COMMAND - I8042_DATA + 1,
				i8042__io, vm);
}
