/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real-mode payload of smoke_test: touches the pages smoke_guest.h names
 * through ES, so that every page of guest memory below 1 MiB is reachable
 * without paging, and reports to the host with OUT.
 */
#include "smoke_guest.h"

.macro read_page page
	mov	$((\page) << 8), %cx
	mov	%cx, %es
	add	%es:0, %ax
.endm

.macro write_page page
	mov	$((\page) << 8), %cx
	mov	%cx, %es
	movw	$SMOKE_MARK(\page), %es:0
.endm

	.section .rodata
	.globl	smoke_guest_start, smoke_guest_end
	.code16
smoke_guest_start:
	xor	%ax, %ax
	read_page SMOKE_R0
	read_page SMOKE_R1
	read_page SMOKE_R2
	read_page SMOKE_Z
	write_page SMOKE_W1_0
	write_page SMOKE_W1_1
	out	%ax, $SMOKE_PORT_A

	xor	%ax, %ax
	read_page SMOKE_R0
	read_page SMOKE_R1
	read_page SMOKE_R2
	read_page SMOKE_Z
	write_page SMOKE_W2_0
	write_page SMOKE_W2_1
	write_page SMOKE_W2_2
	out	%ax, $SMOKE_PORT_B
1:	hlt
	jmp	1b
smoke_guest_end:
	.code64

	.section .note.GNU-stack, "", @progbits
