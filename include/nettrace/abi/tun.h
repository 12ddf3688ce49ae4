/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nettrace tun: what bpf/tun_ring.bpf.c shares with src/tools/tun/ (and the ring arithmetic both sides use).
 *
 * A tun/tap queue's transmit ring is a struct ptr_ring (include/linux/ptr_ring.h): an array of `size` pointers,
 * `producer` the next slot tun_net_xmit fills, `consumer_head` the next slot the reader (tun_recvmsg, vhost-net)
 * takes, `consumer_tail` the first slot it took but has not released yet (the reader NULLs taken slots in
 * batches, so the slots [consumer_tail, consumer_head) still read non-NULL to the producer). The ring is full
 * for the producer when queue[producer] != NULL (__ptr_ring_full).
 */
#ifndef NETTRACE_ABI_TUN_H
#define NETTRACE_ABI_TUN_H

#include "nettrace/abi/types.h"
#include "nettrace/abi/hist.h"
#include "nettrace/abi/pkt.h"

#define NT_TUN_IFNAMSIZ 16
#define NT_TUN_MAX_IFACES 64   /* -I list */
#define NT_TUN_STACK_DEPTH 32

enum nt_tun_counter {
	NT_TUN_XMIT = 0,      /* packets handed to a tun/tap device's xmit that passed the filters */
	NT_TUN_FULL,          /* of those, found the queue's ring full */
	NT_TUN_DROPS,         /* skb:kfree_skb of an skb whose device is a tun/tap, filters passed */
	NT_TUN_NO_RING,       /* queue >= numqueues or no tun_file: tun_net_xmit drops it without the ring */
	NT_TUN_RB_LOST,
	NT_TUN_MAP_FULL,
	NT_TUN_STACK_FAIL,
	NT_TUN_NCOUNTERS,
};

/* Per device (ifindex in its namespace) and transmit queue. */
struct nt_tun_qkey {
	__u32 ifindex;
	__u32 netns;
	__u32 queue;
	__u32 _pad;
};

struct nt_tun_qstat {
	__u64 packets;        /* xmits seen on this queue */
	__u64 full;           /* of those, ring full (queue[producer] != NULL) */
	__u64 depth_max;
	__u32 size;           /* ring size at the last packet */
	__u32 numqueues;
	char name[NT_TUN_IFNAMSIZ];
	struct nt_hist depth; /* queued entries ahead of each packet: log2 slots of a count, not of ns */
};

struct nt_tun_drop_key {
	__u32 ifindex;
	__u32 netns;
	__u32 queue;          /* skb->queue_mapping at the free */
	__u32 reason;         /* enum skb_drop_reason value; 0 on kernels without reasons */
};

struct nt_tun_drop_val {
	__u64 count;
	char name[NT_TUN_IFNAMSIZ];
};

struct nt_tun_event {
	__u64 ts_ns;
	__u32 ifindex;
	__u32 netns;
	__u32 queue;
	__u32 numqueues;
	__u32 size;
	__u32 producer;
	__u32 consumer_head;
	__u32 consumer_tail;
	__u32 depth;
	__u32 skb_len;
	__s32 stack_id;       /* into the stacks map; < 0: none */
	__u8 full;
	__u8 has_pkt;
	__u8 _pad[2];
	char name[NT_TUN_IFNAMSIZ];
	struct nt_pkt pkt;
};

/* -I: the devices to watch, by ifindex in their namespace. */
struct nt_tun_iface_key {
	__u32 ifindex;
	__u32 netns;
};

/*
 * Entries queued for the reader (not yet taken) in a ring of `size` slots: the slots from consumer_head up to
 * producer, wrapping. producer == consumer_head is either empty or all `size` slots queued; `head_busy`
 * (queue[consumer_head] != NULL) tells which, since a taken slot is never at consumer_head. Values out of
 * range (a torn read racing the reader) give 0.
 */
NT_INLINE __u32 nt_tun_ring_depth(__u32 producer, __u32 consumer_head, __u32 size, int head_busy)
{
	if (!size || producer >= size || consumer_head >= size)
		return 0;
	if (producer == consumer_head)
		return head_busy ? size : 0;
	return producer > consumer_head ? producer - consumer_head : size - consumer_head + producer;
}

#endif
