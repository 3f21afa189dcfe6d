/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PAGETRACK_INTERNAL_H
#define PAGETRACK_INTERNAL_H

#define PAGETRACK_VERSION "0.1.0"

#endif
