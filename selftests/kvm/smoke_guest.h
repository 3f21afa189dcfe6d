/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout shared by smoke_guest.S and smoke_test.c: which guest pages the
 * real-mode payload reads and writes in each of its two phases.
 */
#ifndef SMOKE_GUEST_H
#define SMOKE_GUEST_H

#define SMOKE_PAGES		32
#define SMOKE_CODE_PAGE		1

/* Phase A reads R0..R2 (filled by the host) and Z (never touched by it). */
#define SMOKE_R0		4
#define SMOKE_R1		5
#define SMOKE_R2		9
#define SMOKE_Z			12
/* ... and writes W1_0, W1_1, then reports the sum it read on PORT_A. */
#define SMOKE_W1_0		6
#define SMOKE_W1_1		20
#define SMOKE_PORT_A		0x10

/* Phase B reads the same pages again, writes W2_*, reports on PORT_B. */
#define SMOKE_W2_0		5
#define SMOKE_W2_1		12
#define SMOKE_W2_2		25
#define SMOKE_PORT_B		0x11

#define SMOKE_FILL(page)	(0x100 + (page))
#define SMOKE_MARK(page)	(0xa000 + (page))

#endif
