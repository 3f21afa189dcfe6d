// SPDX-License-Identifier: GPL-2.0
/* The port-I/O devices every VM has, whether it boots or is restored. */
#include "vmm.h"

int devices__init(struct vm *vm, int console_in, int console_out)
{
	int ret;

	ret = serial__init(vm, console_in, console_out);
	if (!ret)
		ret = i8042__init(vm);
	if (!ret)
		ret = acpi_pm__init(vm);
	return ret;
}
