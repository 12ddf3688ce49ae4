/* SPDX-License-Identifier: GPL-2.0 */
/* The one histogram layout: filled by BPF programs, read and merged by core::Histogram on the host. */
#ifndef NETTRACE_ABI_HIST_H
#define NETTRACE_ABI_HIST_H

#include "nettrace/abi/types.h"

/* Log2 slots of nanoseconds: slot 47 holds [2^46, 2^47) ns (19.5 h) and collects everything longer. */
#define NT_HIST_SLOTS 48

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

/* Durations in nanoseconds; count and sum are exact; min == 0 with slots[0] == 0 means "none yet". */
struct nt_hist {
	__u64 count;
	__u64 sum;
	__u64 min;
	__u64 max;
	__u64 slots[NT_HIST_SLOTS];
};

NT_INLINE __u32 nt_hist_slot(__u64 v)
{
	__u32 s = nt_log2_slot(v);

	return s < NT_HIST_SLOTS ? s : NT_HIST_SLOTS - 1;
}

/*
 * Atomic adds so one function serves shared maps (several CPUs update one value) and per-CPU maps alike;
 * min and max are racy by design: under concurrent updates of one value an extreme can be missed.
 */
NT_INLINE void nt_hist_add(struct nt_hist *h, __u64 v)
{
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum, v);
	__sync_fetch_and_add(&h->slots[nt_hist_slot(v)], 1);
	if (v < h->min || (!h->min && !h->slots[0]))
		h->min = v;
	if (v > h->max)
		h->max = v;
}

#endif
