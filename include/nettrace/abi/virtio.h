/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared between bpf/virtio_*.bpf.c and src/tools/virtio (irq, poll). */
#ifndef NETTRACE_ABI_VIRTIO_H
#define NETTRACE_ABI_VIRTIO_H

#include "nettrace/abi/hist.h"
#include "nettrace/abi/pkt.h"

#define NT_VIRTIO_IFNAMSIZ 16
#define NT_VIRTIO_STACK_DEPTH 127
/* work/budget histogram: slot 0 = idle poll (work 0), slot k = work in ((k-1)/8, k/8] of the budget, slot 9 = over. */
#define NT_VIRTIO_WORK_SLOTS 10

/* Per-CPU counters (array index). */
enum nt_virtio_counter {
	NT_VIRTIO_EVENTS = 0, /* events that passed the filters */
	NT_VIRTIO_RB_LOST,    /* ring buffer full: event line not delivered */
	NT_VIRTIO_MAP_FULL,   /* aggregation update lost: map full */
	NT_VIRTIO_KSTACK_FAIL,
	NT_VIRTIO_NO_ENTRY,   /* irq_handler_exit without its entry (attached mid-handler) */
	NT_VIRTIO_NCOUNTERS,
};

/* ---- irq: one row per IRQ and CPU ---- */
struct nt_virtio_irq_key {
	__u32 irq;
	__u32 cpu;
};

struct nt_virtio_irq_val {
	__u64 count;       /* irq_handler_entry */
	__u64 ret[4];      /* handler return: IRQ_NONE, IRQ_HANDLED, IRQ_WAKE_THREAD, anything else */
	__u64 gap_sum_ns;  /* time since the IRQ's previous entry (on any CPU) */
	__u64 gaps;
	__u64 vring_calls; /* --spurious: vring_interrupt returns inside this IRQ's handler */
	__u64 vring_none;  /* of those, IRQ_NONE: no new used entries (spurious) */
	struct nt_hist dur; /* handler duration, entry to exit on this CPU */
};

/* ---- poll: one row per device and NAPI context ---- */
enum nt_virtio_napi_kind {
	NT_VIRTIO_NAPI_RX = 0, /* receive_queue.napi (virtnet_poll) */
	NT_VIRTIO_NAPI_TX = 1, /* send_queue.napi (virtnet_poll_tx) */
	NT_VIRTIO_NAPI_OTHER = 2,
};

struct nt_virtio_poll_key {
	__u32 ifindex;
	__s32 queue; /* -1: unknown */
	__u32 kind;  /* enum nt_virtio_napi_kind */
	__u32 _pad;
	char dev[NT_VIRTIO_IFNAMSIZ];
};

struct nt_virtio_poll_val {
	__u64 polls;
	__u64 work;        /* sum of the polls' work: packets processed */
	__u64 full;        /* work == budget (the poll will be repeated) */
	__u64 idle;        /* work == 0 */
	__u64 max_work;
	__u64 budget;      /* the last budget seen */
	__u64 slots[NT_VIRTIO_WORK_SLOTS];
};

/* -v: one line per poll. */
struct nt_virtio_poll_event {
	__u64 ts_ns;
	__u32 ifindex;
	__s32 queue;
	__u32 kind;
	__s32 work;
	__s32 budget;
	__u32 cpu;
	__u64 napi;
	char dev[NT_VIRTIO_IFNAMSIZ];
};

struct nt_virtio_stack_key {
	__u32 ifindex;
	__s32 queue;
	__u32 kind;
	__s32 stack_id;
};

/* ---- rcvbuf: one record per packet the driver hands to GRO ---- */
struct nt_virtio_rcv_event {
	__u64 ts_ns;
	__u32 ifindex;
	__s32 queue; /* skb_get_rx_queue: the receive queue the driver recorded, -1 when none */
	__u32 len;   /* skb->len at napi_gro_receive (the frame without its Ethernet header) */
	__u32 cpu;
	__u32 linear;   /* bytes from the MAC header to the end of the linear part */
	__u32 nr_frags; /* page fragments holding the rest */
	char dev[NT_VIRTIO_IFNAMSIZ];
	struct nt_pkt pkt;
};

#endif
