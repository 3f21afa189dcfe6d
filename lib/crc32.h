/* SPDX-License-Identifier: GPL-2.0 */
/* CRC-32 (IEEE 802.3, as zlib and gzip compute it). */
#ifndef PAGETRACK_LIB_CRC32_H
#define PAGETRACK_LIB_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue @crc (0 to start) over @len bytes. */
uint32_t crc32__update(uint32_t crc, const void *buf, size_t len);

#endif
