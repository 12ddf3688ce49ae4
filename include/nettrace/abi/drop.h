/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared between bpf/drop.bpf.c and src/tools/drop. */
#ifndef NETTRACE_ABI_DROP_H
#define NETTRACE_ABI_DROP_H

#include "nettrace/abi/pkt.h"

#define NT_DROP_STACK_DEPTH 32
#define NT_DROP_NORMAL_RANGES 8
#define NT_DROP_REASON_BITS 1024 /* reasons >= this are not filterable by bitmap */
#define NT_IFNAMSIZ 16
#define NT_COMMLEN 16

enum nt_drop_counter {
	NT_DROP_SEEN = 0,       /* every skb:kfree_skb hit */
	NT_DROP_MATCHED,        /* passed the filters (reported or aggregated) */
	NT_DROP_NORMAL,         /* suppressed as a normal free */
	NT_DROP_RB_LOST,        /* events lost: ring buffer full */
	NT_DROP_MAP_FULL,       /* aggregation updates lost: map full */
	NT_DROP_STACK_FAIL,     /* stack could not be captured */
	NT_DROP_NO_DEV,         /* skipped: no device and a device was required */
	NT_DROP_NCOUNTERS,
};

enum nt_drop_group {
	NT_GROUP_STACK = 1 << 0, /* key carries the stack id */
	NT_GROUP_TUPLE = 1 << 1, /* key carries the five-tuple */
};

struct nt_qdisc_info {
	char kind[16];
	__u32 handle;
	__u32 parent;
	__u32 qlen;
	__u32 backlog;
	__u32 drops;
	__u32 requeues;
	__u32 overlimits;
	__u32 limit;
	__u16 txq;
	__u8 valid;
	__u8 _pad[5];
};

struct nt_drop_event {
	__u64 ts_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 location;     /* kernel address that freed the skb */
	__u64 skb;
	__u32 reason;       /* enum skb_drop_reason value; 0 when the kernel has none */
	__u32 ifindex;
	__u32 netns;
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u32 len;          /* skb->len */
	__s32 stack_bytes;  /* bytes of stack[] filled; 0 when the stack is in stack_id; negative when not captured */
	__u16 skb_protocol; /* skb->protocol, host order */
	__u8 _pad[2];
	__s32 stack_id;     /* the stack's frames in the event_stacks map; -1: inline in stack[] or none */
	char comm[NT_COMMLEN];
	char ifname[NT_IFNAMSIZ];
	struct nt_pkt pkt;
	/*
	 * The record in the ring ends before qdisc when the qdisc is not valid and no frames are inline (the
	 * common case: ~190 bytes), before stack[] when only the qdisc is valid, after the captured frames when a
	 * stack is inline (its id collided with another stack's in event_stacks). The reader zeroes what the
	 * record left out.
	 */
	struct nt_qdisc_info qdisc;
	__u64 stack[NT_DROP_STACK_DEPTH];
};

struct nt_drop_key {
	__s32 stack_id;     /* -1 when stacks are not grouped or failed */
	__u32 ifindex;
	__u32 netns;
	__u32 reason;
	__u64 location;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 l3;
	__u8 l4_proto;
	__u8 _pad[2];
	char ifname[NT_IFNAMSIZ];
};

/* Transmit-path return codes (qdisc_drop_trace's kprobe view), counted per function, device and code. */
enum nt_xmit_func {
	NT_XMIT_DEV_QUEUE = 0,  /* __dev_queue_xmit: NET_XMIT_* or -errno */
	NT_XMIT_HARD_START = 1, /* dev_hard_start_xmit: the driver's NETDEV_TX_* / NET_XMIT_* in *ret */
};

struct nt_xmit_key {
	__u32 func;
	__u32 ifindex;
	__s32 ret;
	__u32 netns;
};

struct nt_drop_range {
	__u64 start;
	__u64 end;
};

#endif
