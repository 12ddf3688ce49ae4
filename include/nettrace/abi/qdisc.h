/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared between bpf/perf_qdisc.bpf.c and src/tools/perf/qdisc*.cpp (nettrace perf qdisc). */
#ifndef NETTRACE_ABI_QDISC_H
#define NETTRACE_ABI_QDISC_H

#include "nettrace/abi/hist.h"
#include "nettrace/abi/pkt.h"

#define NT_QDISC_BULK_MAX 16 /* skbs of one bulk dequeue followed past the head */

/* The start of a packet's stay, keyed by skb address in an LRU hash. */
struct nt_qdisc_start {
	__u64 ts_ns;
	__u32 ifindex;
	__u32 netns;
};

enum nt_qdisc_counter {
	NT_QDISC_START_SEEN = 0, /* every start hook hit (qdisc:qdisc_enqueue or net:net_dev_queue) */
	NT_QDISC_STARTED,        /* passed the filters: a start was recorded */
	NT_QDISC_DEQ_SEEN,       /* skbs dequeued (qdisc:qdisc_dequeue, bulk members included) */
	NT_QDISC_FINISHED,       /* dequeued with a recorded start: one sojourn measured */
	NT_QDISC_RESTARTED,      /* a start replaced one never finished (skb address reused, or re-enqueued) */
	NT_QDISC_DROPPED,        /* freed as dropped (skb:kfree_skb) while a start was recorded */
	NT_QDISC_BYPASSED,       /* transmitted without a dequeue (net_dev_queue start only: noqueue, bypass) */
	NT_QDISC_RB_LOST,        /* detail events lost: ring buffer full */
	NT_QDISC_MAP_FULL,       /* a start could not be stored */
	NT_QDISC_NCOUNTERS,
};

/* Per-CPU extremes since the host last reset them (min_ns == 0: none); the sojourns are a struct nt_hist. */
struct nt_qdisc_extrema {
	__u64 min_ns;
	__u64 max_ns;
};

/* One packet whose sojourn reached the threshold. */
struct nt_qdisc_event {
	__u64 enqueue_ns;   /* CLOCK_MONOTONIC */
	__u64 dequeue_ns;
	__u64 skb;
	__u32 ifindex;
	__u32 netns;
	__u32 handle;       /* root qdisc handle */
	__u32 parent;
	__u32 len;          /* skb->len at dequeue */
	__u32 cpu;
	__u16 txq;
	__u8 _pad[6];
	char ifname[16];
	struct nt_pkt pkt;
};

#endif
