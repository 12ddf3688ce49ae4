// SPDX-License-Identifier: GPL-2.0
/*
 * tun_ring: the transmit ring (ptr_ring) of each tun/tap queue as packets reach it (tun_ring_monitor.py,
 * tun-tx-ring-stas.bt). net:net_dev_start_xmit fires right before the driver's ndo_start_xmit, i.e. right
 * before tun_net_xmit on a tun/tap device (fentry/kprobe tun_net_xmit where the tracepoint cannot be used):
 * the ring is read before this packet's enqueue, so `depth` is the entries the packet found queued ahead of
 * it and `full` means its ptr_ring_produce fails (FULL_RING drop). skb:kfree_skb counts what tun/tap devices
 * drop, per queue and reason.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/tun.h"
#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"
#include "nt/skb.bpf.h"
#include "nt/tun.bpf.h"

const volatile struct nt_filter nt_filter_cfg = {};
const volatile bool cfg_iface_filter = false;
const volatile bool cfg_all = false;      /* an event per packet, not only per full ring */
const volatile bool cfg_stack = false;
const volatile __u32 cfg_queue = 0xffffffff; /* --queue; all when ~0 */

NT_COUNTER_MAP(counters, NT_TUN_NCOUNTERS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NT_TUN_MAX_IFACES);
	__type(key, struct nt_tun_iface_key);
	__type(value, __u8);
} ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_tun_qkey);
	__type(value, struct nt_tun_qstat);
} queues SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_tun_drop_key);
	__type(value, struct nt_tun_drop_val);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NT_TUN_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Initial values: globals, the histogram is too large for the BPF stack. */
static struct nt_tun_qstat qstat_zero;
static struct nt_tun_drop_val drop_zero;

/* The device passes the device filters: a tun/tap, one of -I's when given. */
static __always_inline bool dev_wanted(struct net_device *dev, __u32 *ifindex, __u32 *netns)
{
	struct nt_tun_iface_key k;

	if (!nt_tun_dev_is_tun(dev))
		return false;
	*ifindex = BPF_CORE_READ(dev, ifindex);
	*netns = nt_net_inum(BPF_CORE_READ(dev, nd_net.net));
	if (!cfg_iface_filter)
		return true;
	k.ifindex = *ifindex;
	k.netns = *netns;
	return bpf_map_lookup_elem(&ifaces, &k) != NULL;
}

/* The packet filters (AND of every flag given); p is filled when the packet was parsed. */
static __always_inline bool pkt_wanted(struct sk_buff *skb, struct nt_pkt *p, bool *parsed)
{
	*parsed = nt_skb_parse(skb, p) == 0;
	if (!nt_filter_needs_packet(&nt_filter_cfg))
		return true;
	return *parsed && nt_filter_match_pkt(&nt_filter_cfg, p);
}

static __always_inline int on_xmit(void *ctx, struct sk_buff *skb, struct net_device *dev)
{
	struct nt_tun_qkey key = {};
	struct nt_tun_qstat *st;
	struct nt_tun_ring r = {};
	struct nt_tun_event *e;
	struct nt_pkt p = {};
	bool parsed = false;
	__u32 ifindex, netns, q;

	if (!dev_wanted(dev, &ifindex, &netns))
		return 0;
	q = BPF_CORE_READ(skb, queue_mapping);
	if (cfg_queue != 0xffffffff && q != cfg_queue)
		return 0;
	if (!pkt_wanted(skb, &p, &parsed))
		return 0;
	nt_count(&counters, NT_TUN_XMIT);
	if (nt_tun_queue_ring(dev, q, &r)) {
		nt_count(&counters, NT_TUN_NO_RING);
		return 0;
	}
	if (r.full)
		nt_count(&counters, NT_TUN_FULL);

	key.ifindex = ifindex;
	key.netns = netns;
	key.queue = q;
	st = bpf_map_lookup_elem(&queues, &key);
	if (!st) {
		bpf_map_update_elem(&queues, &key, &qstat_zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&queues, &key);
		if (st)
			BPF_CORE_READ_STR_INTO(&st->name, dev, name);
	}
	if (st) {
		__sync_fetch_and_add(&st->packets, 1);
		if (r.full)
			__sync_fetch_and_add(&st->full, 1);
		st->size = r.size;
		st->numqueues = r.numqueues;
		if (r.depth > st->depth_max)
			st->depth_max = r.depth;
		nt_hist_add(&st->depth, r.depth);
	} else {
		nt_count(&counters, NT_TUN_MAP_FULL);
	}

	if (!r.full && !cfg_all)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		nt_count(&counters, NT_TUN_RB_LOST);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ifindex;
	e->netns = netns;
	e->queue = q;
	e->numqueues = r.numqueues;
	e->size = r.size;
	e->producer = r.producer;
	e->consumer_head = r.consumer_head;
	e->consumer_tail = r.consumer_tail;
	e->depth = r.depth;
	e->full = r.full;
	e->skb_len = BPF_CORE_READ(skb, len);
	e->has_pkt = parsed;
	e->pkt = p;
	BPF_CORE_READ_STR_INTO(&e->name, dev, name);
	e->stack_id = -1;
	if (cfg_stack) {
		e->stack_id = bpf_get_stackid(ctx, &stacks, 0);
		if (e->stack_id < 0)
			nt_count(&counters, NT_TUN_STACK_FAIL);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* net_dev_start_xmit(skb, dev): the last event before dev->netdev_ops->ndo_start_xmit (tun_net_xmit). */
NT_HOOK_TP(net_dev_start_xmit, (struct sk_buff *skb, struct net_device *dev), on_xmit(ctx, skb, dev))
NT_HOOK_FN(tun_net_xmit, (struct sk_buff *skb, struct net_device *dev), on_xmit(ctx, skb, dev))

static __always_inline int on_free(struct sk_buff *skb, __u32 reason)
{
	struct nt_tun_drop_key key = {};
	struct nt_tun_drop_val *v;
	struct net_device *dev;
	struct nt_pkt p = {};
	bool parsed;
	__u32 ifindex, netns;

	if (!skb)
		return 0;
	dev = BPF_CORE_READ(skb, dev);
	if (!dev_wanted(dev, &ifindex, &netns))
		return 0;
	key.queue = BPF_CORE_READ(skb, queue_mapping);
	if (cfg_queue != 0xffffffff && key.queue != cfg_queue)
		return 0;
	if (!pkt_wanted(skb, &p, &parsed))
		return 0;
	nt_count(&counters, NT_TUN_DROPS);
	key.ifindex = ifindex;
	key.netns = netns;
	key.reason = reason;
	v = bpf_map_lookup_elem(&drops, &key);
	if (!v) {
		bpf_map_update_elem(&drops, &key, &drop_zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&drops, &key);
		if (v)
			BPF_CORE_READ_STR_INTO(&v->name, dev, name);
	}
	if (v)
		__sync_fetch_and_add(&v->count, 1);
	else
		nt_count(&counters, NT_TUN_MAP_FULL);
	return 0;
}

/* The reason argument exists since 5.17 (commit c504e5c2f964 "net: skb: introduce kfree_skb_reason()"). */
static __always_inline __u32 ctx_reason(unsigned long long *ctx)
{
	if (bpf_core_type_exists(enum skb_drop_reason))
		return (__u32)ctx[2];
	return 0;
}

NT_HOOK_TP(kfree_skb, (struct sk_buff *skb, void *location), on_free(skb, ctx_reason(ctx)))

char LICENSE[] SEC("license") = "GPL";
