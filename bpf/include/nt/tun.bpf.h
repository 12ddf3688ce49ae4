/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Locating a tun/tap device's queues and their transmit rings, through CO-RE only (`tun ring`, and later
 * `tun queue` and `vhost notify`).
 *
 * struct tun_struct and struct tun_file are private to drivers/net/tun.c: in vmlinux BTF where tun is built in
 * (the 6.18 host), in the module's own BTF (/sys/kernel/btf/tun) where it is a module (the lab's 6.1 and 6.12).
 * libbpf relocates the field offsets below against whichever has them; open the skeleton with
 * bpf::CoreBtf::Kernel (the Minimal BTF path does not see module BTF).
 *
 *   nt_tun_dev_is_tun(dev)          the device is a tun or tap (tun.c's netdev_ops, else its rtnl_link_ops kind)
 *   nt_tun_of(dev)                  netdev_priv(dev): the struct tun_struct
 *   nt_tun_queue_ring(dev, q, &r)   queue q's tun_file and a snapshot of its ptr_ring (size, indices, full, depth)
 *
 * Including programs get the rodata nt_tun_netdev_ops[]: the host sets the addresses of tun.c's
 * tun_netdev_ops and tap_netdev_ops when /proc/kallsyms lists them (data symbols need CONFIG_KALLSYMS_ALL);
 * left 0, the device is recognised by dev->rtnl_link_ops->kind == "tun" (set by tun_set_iff for every
 * tun/tap), the first such ops address is remembered so later packets compare one pointer.
 */
#ifndef NT_TUN_BPF_H
#define NT_TUN_BPF_H

#include "nt/common.bpf.h"
#include "nettrace/abi/tun.h"

#define NT_NETDEV_ALIGN 32 /* include/linux/netdevice.h */

const volatile __u64 nt_tun_netdev_ops[2] = {};
/* The address of tun.c's rtnl_link_ops once a device of kind "tun" was seen. */
static __u64 nt_tun_link_ops_seen;

static __always_inline bool nt_tun_dev_is_tun(struct net_device *dev)
{
	__u64 ops, kindp;
	char kind[4] = {};

	if (!dev)
		return false;
	if (nt_tun_netdev_ops[0] || nt_tun_netdev_ops[1]) {
		ops = (__u64)BPF_CORE_READ(dev, netdev_ops);
		return ops && (ops == nt_tun_netdev_ops[0] || ops == nt_tun_netdev_ops[1]);
	}
	ops = (__u64)BPF_CORE_READ(dev, rtnl_link_ops);
	if (!ops)
		return false;
	if (ops == nt_tun_link_ops_seen)
		return true;
	kindp = (__u64)BPF_CORE_READ((struct rtnl_link_ops *)ops, kind);
	if (!kindp || bpf_probe_read_kernel(kind, sizeof(kind), (const void *)kindp))
		return false;
	if (kind[0] != 't' || kind[1] != 'u' || kind[2] != 'n' || kind[3] != 0)
		return false;
	nt_tun_link_ops_seen = ops;
	return true;
}

/*
 * netdev_priv(): the private area follows struct net_device, aligned to NETDEV_ALIGN. Since the priv[] flexible
 * array became net_device's last (cache-line aligned) member, netdev_priv() returns dev->priv, whose offset is
 * sizeof(struct net_device): the same address, so one formula serves every kernel.
 */
static __always_inline struct tun_struct *nt_tun_of(struct net_device *dev)
{
	__u64 off = bpf_core_type_size(struct net_device);

	off = (off + NT_NETDEV_ALIGN - 1) & ~(__u64)(NT_NETDEV_ALIGN - 1);
	return (struct tun_struct *)((char *)dev + off);
}

/* One queue's ring as read at one moment (not atomically: the reader may move between the reads). */
struct nt_tun_ring {
	struct tun_file *tfile;
	struct ptr_ring *ring;
	__u32 numqueues;
	__u32 size;
	__u32 producer;
	__u32 consumer_head;
	__u32 consumer_tail;
	__u32 depth;  /* nt_tun_ring_depth(): entries queued for the reader */
	bool full;    /* queue[producer] != NULL: the next produce fails (__ptr_ring_full) */
};

/* The slot queue[i] of a ring is occupied (non-NULL). */
static __always_inline bool nt_tun_slot_busy(struct ptr_ring *ring, __u32 i)
{
	void **queue = BPF_CORE_READ(ring, queue);
	void *p = NULL;

	if (!queue)
		return false;
	bpf_probe_read_kernel(&p, sizeof(p), &queue[i]);
	return p != NULL;
}

/*
 * Queue q of the tun device dev (q = skb->queue_mapping on transmit; tun_net_xmit drops the packet when
 * q >= numqueues or the queue has no file). Returns 0 and fills *r, or -1 when the queue has no ring.
 */
static __always_inline int nt_tun_queue_ring(struct net_device *dev, __u32 q, struct nt_tun_ring *r)
{
	struct tun_struct *tun = nt_tun_of(dev);
	struct tun_file *tfile = NULL;
	struct ptr_ring *ring;
	__u64 tfiles = bpf_core_field_offset(struct tun_struct, tfiles);

	r->numqueues = BPF_CORE_READ(tun, numqueues);
	if (q >= r->numqueues || q >= 256 /* MAX_TAP_QUEUES: tfiles[] */)
		return -1;
	if (bpf_probe_read_kernel(&tfile, sizeof(tfile), (char *)tun + tfiles + (__u64)q * sizeof(void *)) || !tfile)
		return -1;
	/* Through locals: BPF_CORE_READ on r->ring would relocate struct nt_tun_ring too. */
	ring = (struct ptr_ring *)((char *)tfile + bpf_core_field_offset(struct tun_file, tx_ring));
	r->tfile = tfile;
	r->ring = ring;
	r->size = BPF_CORE_READ(ring, size);
	r->producer = BPF_CORE_READ(ring, producer);
	r->consumer_head = BPF_CORE_READ(ring, consumer_head);
	r->consumer_tail = BPF_CORE_READ(ring, consumer_tail);
	r->full = false;
	r->depth = 0;
	if (!r->size || r->producer >= r->size || r->consumer_head >= r->size)
		return 0;
	r->full = nt_tun_slot_busy(ring, r->producer);
	/* Only when the indices meet does depth need the head slot: empty or all `size` slots queued. */
	r->depth = nt_tun_ring_depth(r->producer, r->consumer_head, r->size,
				     r->producer == r->consumer_head ? r->full : 0);
	return 0;
}

#endif
