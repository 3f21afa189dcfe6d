/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real-mode payload of wset_test: touches its code page, its status page
 * and the listed pages, nothing else: no stack, no interrupts.
 */
#include "wset_guest.h"

.macro read_page page
	mov	$((\page) << 8), %cx
	mov	%cx, %es
	add	%es:0, %ax
.endm

.macro write_page page
	mov	$((\page) << 8), %cx
	mov	%cx, %es
	mov	%ax, %es:8
.endm

	.section .rodata
	.globl	wset_guest_start, wset_guest_end
	.code16
wset_guest_start:
	xor	%ax, %ax
	test	%bx, %bx
	jz	2f
	xor	%bx, %bx
1:	mov	%bx, %cx
	shl	$8, %cx
	mov	%cx, %es
	add	%es:0, %ax
	inc	%bx
	cmp	$WS_PAGES, %bx
	jb	1b
2:	out	%ax, $WS_PORT_READY

	read_page WS_R0
	read_page WS_R1
	read_page WS_R2
	read_page WS_R3
	read_page WS_R4
	write_page WS_W0
	write_page WS_W1
	write_page WS_W2
	mov	$(WS_STATUS_PAGE << 8), %cx
	mov	%cx, %es
	incw	%es:0
	out	%ax, $WS_PORT_DONE
3:	hlt
	jmp	3b
wset_guest_end:
	.code64

	.section .note.GNU-stack, "", @progbits
