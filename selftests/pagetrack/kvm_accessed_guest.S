/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real-mode payload of kvm_accessed_test: reads pages through ES and
 * reports each phase's end with OUT.  Nothing but its own code page and
 * the listed pages is touched: no stack, no interrupts.
 */
#include "kvm_accessed_guest.h"

.macro read_page page
	mov	$((\page) << 8), %cx
	mov	%cx, %es
	add	%es:0, %ax
.endm

	.section .rodata
	.globl	kvm_accessed_guest_start, kvm_accessed_guest_end
	.code16
kvm_accessed_guest_start:
	xor	%ax, %ax
	mov	$ACC_FIRST_DATA_PAGE, %bx
1:	mov	%bx, %cx
	shl	$8, %cx
	mov	%cx, %es
	add	%es:0, %ax
	inc	%bx
	cmp	$ACC_PAGES, %bx
	jb	1b
	out	%ax, $ACC_PORT_A

	read_page ACC_S0
	read_page ACC_S1
	read_page ACC_S2
	read_page ACC_S3
	out	%ax, $ACC_PORT_B

	read_page ACC_T0
	read_page ACC_T1
	read_page ACC_T2
	out	%ax, $ACC_PORT_C
2:	hlt
	jmp	2b
kvm_accessed_guest_end:
	.code64

	.section .note.GNU-stack, "", @progbits
