/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel says about itself, for selftests: CPUs, interrupt
 * counts, module reference counts and the kernel log.
 */
#ifndef PAGETRACK_SYS_UTIL_H
#define PAGETRACK_SYS_UTIL_H

#include <stdint.h>

#include "test_util.h"

int cpus__online(void);
/* Run the calling thread (and the threads it creates later) on @cpu only. */
void cpu__pin(int cpu);

/*
 * The count of interrupt row @name of /proc/interrupts ("TLB" for TLB
 * shootdowns, "CAL" for function-call IPIs) received by @cpu.
 */
uint64_t irqs__count(const char *name, int cpu);

/* The number a sysfs or proc file holds, or -1 if none. */
long file__read_long(const char *path);
/* /sys/module/@name/refcnt, or -1 if the module is not loaded. */
int module__refcount(const char *name);
/* "kvm_amd" or "kvm_intel", whichever is loaded. */
const char *kvm__vendor_module(void);

/* /dev/kmsg, positioned after the last record logged so far. */
int kmsg__open(void);
/*
 * Read the records logged since kmsg__open() (or the last check) and
 * print those that report a kernel bug: a WARN, BUG, oops, bad page
 * table or page state, a lockdep report, an RCU stall, a hung task.
 * Returns how many there were.
 */
int kmsg__check(int fd);

#endif
