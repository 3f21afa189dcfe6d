/* SPDX-License-Identifier: GPL-2.0 */
/* Layout shared by kvm_accessed_guest.S and kvm_accessed_test.c. */
#ifndef KVM_ACCESSED_GUEST_H
#define KVM_ACCESSED_GUEST_H

#define ACC_PAGES		32
#define ACC_CODE_PAGE		1
#define ACC_FIRST_DATA_PAGE	2

/* Phase A reads every data page, so KVM maps them all, then OUTs here. */
#define ACC_PORT_A		0x10
/* Phase B reads S = {3, 7, 8, 20}. */
#define ACC_S0			3
#define ACC_S1			7
#define ACC_S2			8
#define ACC_S3			20
#define ACC_PORT_B		0x11
/* Phase C reads T = {7, 9, 25}: 7 again, after its bit was cleared. */
#define ACC_T0			7
#define ACC_T1			9
#define ACC_T2			25
#define ACC_PORT_C		0x12

#endif
