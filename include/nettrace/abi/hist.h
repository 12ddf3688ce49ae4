/* SPDX-License-Identifier: GPL-2.0 */
/* Histogram bucket indices, computed the same way in BPF and on the host. */
#ifndef NETTRACE_ABI_HIST_H
#define NETTRACE_ABI_HIST_H

#include "nettrace/abi/types.h"

#define NT_LOG2_SLOTS 65 /* slot 0 plus one per bit */

/* Slot 0 holds 0; slot k (k >= 1) holds [2^(k-1), 2^k). Branchy because BPF has no clz. */
NT_INLINE __u32 nt_log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { v >>= 1; r += 1; }
	return v ? r + 1 : 0;
}

#endif
