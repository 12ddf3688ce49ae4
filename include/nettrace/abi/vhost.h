/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records shared between bpf/vhost_signal.bpf.c (vhost signal-count, vhost notify), bpf/vhost_buf_peek.bpf.c
 * (vhost buf-peek) and src/tools/vhost.
 */
#ifndef NETTRACE_ABI_VHOST_H
#define NETTRACE_ABI_VHOST_H

#include "nettrace/abi/types.h"

#define NT_VHOST_COMMLEN 16
#define NT_VHOST_IFNAMSIZ 16
#define NT_VHOST_MAX_VQS 16      /* dev->vqs searched for a vq's index (vhost_net has 2, vhost_scsi more) */
#define NT_VHOST_MAX_PIDS 64     /* --pid list length */
#define NT_VHOST_NO_INDEX 0xffffffffu

/* Per-CPU counters (array index). */
enum nt_vhost_counter {
	NT_VHOST_SIGNAL_CALLS = 0, /* vhost_add_used_and_signal_n calls that passed the filters */
	NT_VHOST_EVENTFD_HITS,     /* eventfd signals counted inside such a call (on its vq's call eventfd) */
	NT_VHOST_OTHER_EVENTFD,    /* eventfd signals inside such a call on another eventfd (the log eventfd) */
	NT_VHOST_NO_WINDOW,        /* a return without a recorded entry (entry missed or map full; without filters) */
	NT_VHOST_NOTIFY_HITS,      /* vhost_notify returns seen (notify only, where the function exists) */
	NT_VHOST_PEEK_CALLS,       /* vhost_net_buf_peek returns that passed the filters */
	NT_VHOST_PEEK_NO_ARG,      /* a kretprobe return without its stored argument */
	NT_VHOST_RB_LOST,          /* notify events the ring buffer could not take */
	NT_VHOST_MAP_FULL,         /* updates lost: a map was full */
	NT_VHOST_NCOUNTERS,
};

/* Where a vq belongs, read from the kernel's structs when the vq is seen. */
struct nt_vhost_vq_id {
	__u64 dev;          /* struct vhost_dev */
	__u64 handle_kick;  /* vq->handle_kick: handle_rx_kick / handle_tx_kick (vhost_net) name the vq's role */
	__u32 vq_index;     /* index of vq in dev->vqs (vhost_net: 0 = RX, 1 = TX), NT_VHOST_NO_INDEX if not found */
	__u32 owner_tgid;   /* the vhost device's owner (dev->mm->owner: the QEMU process), 0 if unknown */
	__u32 worker_tid;   /* the thread that ran the hook (the vhost worker), last seen */
	__u32 worker_tgid;
	__u32 ifindex;      /* the backend's tun/tap device (vq->private_data: a tun socket), 0 if none */
	__u32 tap_queue;    /* the tun queue (tun_file.queue_index) of that socket, NT_VHOST_NO_INDEX if none */
	char worker_comm[NT_VHOST_COMMLEN];
	char ifname[NT_VHOST_IFNAMSIZ];
};

/* ---- vhost signal-count: one row per (virtqueue, call eventfd) ---- */

struct nt_vhost_sig_key {
	__u64 vq;   /* struct vhost_virtqueue (full 64-bit pointers: the original truncated both) */
	__u64 ctx;  /* vq->call_ctx.ctx when the call started (0: no call eventfd set) */
};

struct nt_vhost_sig_val {
	__u64 calls;       /* vhost_add_used_and_signal_n calls */
	__u64 signals;     /* signals delivered to ctx inside those calls: the sum of eventfd_signal's n */
	__u64 signalled;   /* calls that signalled (vhost_notify said yes) */
	__u64 suppressed;  /* calls with ctx that returned without signalling (vhost_notify said no) */
	__u16 last_used_idx;
	__u16 _pad[3];
	struct nt_vhost_vq_id id;
};

/* ---- vhost notify: one record per signalling call, at its start and at its end ---- */

enum nt_vhost_notify_kind {
	NT_VHOST_EV_SIGNAL = 1,  /* vhost_add_used_and_signal_n entry: the vq before the used ring update */
	NT_VHOST_EV_NOTIFY = 2,  /* the decision: vhost_notify's return (or the call's end), the vq after */
};

enum nt_vhost_notify_src {
	NT_VHOST_RET_NONE = 0,    /* no call eventfd: vhost_notify was not asked */
	NT_VHOST_RET_FUNC = 1,    /* vhost_notify's return value */
	NT_VHOST_RET_EVENTFD = 2, /* derived: the call ended; it signalled its call eventfd or not */
};

#define NT_VHOST_GUEST_FLAGS_OK 1  /* avail_flags read from guest memory */
#define NT_VHOST_GUEST_EVENT_OK 2  /* used_event read from guest memory */

struct nt_vhost_notify_event {
	__u64 ts_ns;         /* CLOCK_MONOTONIC */
	__u64 vq;
	__u64 ctx;           /* vq->call_ctx.ctx */
	__u64 acked_features;
	__u64 acked_backend_features;
	__u64 signals;       /* NOTIFY: eventfd signals on ctx during the call */
	struct nt_vhost_vq_id id;
	__u32 cpu;
	__u32 num;           /* ring size */
	__u16 last_avail_idx;
	__u16 avail_idx;
	__u16 last_used_idx;
	__u16 used_flags;
	__u16 signalled_used;
	__u16 avail_flags;   /* guest's avail->flags (bit 0: VRING_AVAIL_F_NO_INTERRUPT) */
	__u16 used_event;    /* guest's avail->ring[num] (VIRTIO_RING_F_EVENT_IDX) */
	__u8 kind;           /* enum nt_vhost_notify_kind */
	__u8 signalled_used_valid;
	__u8 guest_ok;       /* NT_VHOST_GUEST_* */
	__u8 ret_src;        /* enum nt_vhost_notify_src (NOTIFY) */
	__u8 ret;            /* NOTIFY: 1 the guest is signalled, 0 suppressed */
	__u8 log_used;
	__u8 _pad[6];
};

/* ---- vhost buf-peek: one row per (vhost_net_virtqueue, return value) ---- */

struct nt_vhost_peek_key {
	__u64 nvq;  /* struct vhost_net_virtqueue */
	__s64 ret;  /* 0: the queue's batch and ring are empty; > 0: length of the next packet */
};

struct nt_vhost_peek_val {
	__u64 count;
	struct nt_vhost_vq_id id;
};

#endif
