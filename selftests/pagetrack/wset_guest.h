/* SPDX-License-Identifier: GPL-2.0 */
/* Layout shared by wset_guest.S and wset_test.c. */
#ifndef WSET_GUEST_H
#define WSET_GUEST_H

#define WS_PAGES		32
#define WS_CODE_PAGE		1
#define WS_STATUS_PAGE		2	/* the guest counts its phases here */
#define WS_FIRST_DATA_PAGE	4

/* With BX != 0 the guest first reads every page, then OUTs here. */
#define WS_PORT_READY		0x10
/* The window: reads R = {4, 9, 10, 17, 30}, writes W = {9, 12, 22}. */
#define WS_R0			4
#define WS_R1			9
#define WS_R2			10
#define WS_R3			17
#define WS_R4			30
#define WS_W0			9
#define WS_W1			12
#define WS_W2			22
#define WS_PORT_DONE		0x11

#endif
