/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flat 32-bit guest of vm__read() (kvm_util.h): adds up the first dword of
 * each page of the runs listed at READER_LIST_GPA, OUTs the sum to
 * READER_PORT and starts over with the list the host has written since.
 * It touches its code page, the list page and the listed pages, nothing
 * else: no stack, no interrupts.
 */
#include "reader_guest.h"

	.section .rodata
	.globl	reader_guest_start, reader_guest_end
	.code32
reader_guest_start:
	xor	%eax, %eax
	mov	$READER_LIST_GPA, %ebx
1:	mov	4(%ebx), %ecx		/* pages in this run; 0 ends the list */
	jecxz	3f
	mov	(%ebx), %esi		/* GPA of the run's first page */
2:	add	(%esi), %eax
	add	$READER_PAGE_SIZE, %esi
	loop	2b
	add	$8, %ebx
	jmp	1b
3:	out	%eax, $READER_PORT
	jmp	reader_guest_start
reader_guest_end:
	.code64

	.section .note.GNU-stack, "", @progbits
