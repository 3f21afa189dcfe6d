/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout shared by reader_guest.S and vm__read() (kvm_util.c): slot 0
 * holds the guest's code and its list of runs to read; the data slot, 2 MiB
 * aligned, is READER_DATA_GPA up.
 */
#ifndef READER_GUEST_H
#define READER_GUEST_H

#define READER_SLOT0_PAGES	4
#define READER_CODE_GPA		0x1000
/* Runs of pages: pairs of 32-bit words, GPA and pages, ended by 0 pages. */
#define READER_LIST_GPA		0x2000
#define READER_MAX_RUNS		511
#define READER_DATA_GPA		0x400000
#define READER_PAGE_SIZE	4096
/* After each list, the guest OUTs the sum of the dwords it read here. */
#define READER_PORT		0x10

#endif
