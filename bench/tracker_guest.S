/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flat 32-bit guest of tracker_bench: read one dword every EBX bytes from
 * ESI up to EDI, then OUT to port 0x10 and halt.  The host sets the
 * registers, so one payload serves every presence level.
 */
	.section .rodata
	.globl	tracker_guest_start, tracker_guest_end
	.code32
tracker_guest_start:
1:	mov	(%esi), %eax
	add	%ebx, %esi
	cmp	%edi, %esi
	jb	1b
	out	%al, $0x10
2:	hlt
	jmp	2b
tracker_guest_end:
	.code64

	.section .note.GNU-stack, "", @progbits
