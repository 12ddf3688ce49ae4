// SPDX-License-Identifier: GPL-2.0
/*
 * perf qdisc (qdisc_latency_details): how long each packet stays in a device's root qdisc.
 * Start: qdisc:qdisc_enqueue (fired by dev_qdisc_enqueue() after a successful enqueue into the root
 * qdisc; younger than qdisc:qdisc_dequeue, so not on every kernel) or, where it is missing,
 * net:net_dev_queue (the skb entering __dev_queue_xmit, as the original tool did; it also sees packets
 * that bypass the qdisc, which net:net_dev_start_xmit then forgets). The attach planner picks.
 * End: qdisc:qdisc_dequeue, head skb and the rest of a bulk dequeue. Starts live in an LRU hash keyed by
 * the skb address; starts that never end are counted, not leaked: freed as dropped (skb:kfree_skb),
 * transmitted without a dequeue (net:net_dev_start_xmit, net_dev_queue start only), or replaced by a
 * new start for the same address. Variants: tp_btf -> raw_tp -> classic tracepoint.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/qdisc.h"
#include "nt/common.bpf.h"
#include "nt/skb.bpf.h"
#include "nt/hooks.bpf.h"

const volatile struct nt_filter nt_filter_cfg = {};
const volatile bool cfg_emit_events = true;
const volatile __u64 cfg_threshold_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct nt_qdisc_start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_hist);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_qdisc_extrema);
} extrema SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_pkt);
} pkt_scratch SEC(".maps");

NT_COUNTER_MAP(counters, NT_QDISC_NCOUNTERS);

static __always_inline int handle_start(struct sk_buff *skb)
{
	const volatile struct nt_filter *f = &nt_filter_cfg;
	struct nt_qdisc_start s = {};
	struct net_device *dev;
	__u64 key = (__u64)skb;
	__u32 zero = 0;

	nt_count(&counters, NT_QDISC_START_SEEN);
	if (!skb)
		return 0;
	dev = BPF_CORE_READ(skb, dev);
	if (!dev)
		return 0;
	s.ifindex = BPF_CORE_READ(dev, ifindex);
	s.netns = nt_net_inum(BPF_CORE_READ(dev, nd_net.net));
	if (!nt_filter_match_dev(f, s.ifindex, s.netns))
		return 0;
	if (nt_filter_needs_packet(f)) {
		struct nt_pkt *p = bpf_map_lookup_elem(&pkt_scratch, &zero);

		if (!p)
			return 0;
		__builtin_memset(p, 0, sizeof(*p));
		nt_skb_parse(skb, p);
		if (!nt_filter_match_pkt(f, p))
			return 0;
	}
	s.ts_ns = bpf_ktime_get_ns();
	if (bpf_map_lookup_elem(&starts, &key))
		nt_count(&counters, NT_QDISC_RESTARTED);
	if (bpf_map_update_elem(&starts, &key, &s, BPF_ANY))
		nt_count(&counters, NT_QDISC_MAP_FULL);
	else
		nt_count(&counters, NT_QDISC_STARTED);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ptr_scratch SEC(".maps");

/*
 * A global function only takes plain numbers, and tp_btf hands out trusted BTF pointers: a round trip through a
 * map value turns one into a number (the skb is then read with probe reads, as on the other variants).
 */
static __always_inline __u64 nt_as_number(const void *p)
{
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(&ptr_scratch, &zero);

	if (!slot)
		return 0;
	*slot = (__u64)p;
	return *(volatile __u64 *)slot;
}

/*
 * One dequeued skb. Global, so the verifier checks it once rather than once per bulk-loop iteration (with the
 * packet parser inlined, 6.1's verifier gives up on the unrolled walk).
 */
__noinline int nt_qdisc_finish(__u64 skbp, __u64 qp, __u64 now)
{
	struct sk_buff *skb = (struct sk_buff *)skbp;
	struct Qdisc *q = (struct Qdisc *)qp;
	struct nt_qdisc_start *s;
	struct nt_hist *st;
	struct nt_qdisc_extrema *ex;
	struct nt_qdisc_event *e;
	struct net_device *dev;
	__u64 key = skbp, d, enq;
	__u32 zero = 0, ifindex, netns;

	nt_count(&counters, NT_QDISC_DEQ_SEEN);
	s = bpf_map_lookup_elem(&starts, &key);
	if (!s)
		return 0;
	enq = s->ts_ns;
	ifindex = s->ifindex;
	netns = s->netns;
	bpf_map_delete_elem(&starts, &key);
	nt_count(&counters, NT_QDISC_FINISHED);
	d = now > enq ? now - enq : 0;

	st = bpf_map_lookup_elem(&stats, &zero);
	if (st)
		nt_hist_add(st, d);
	ex = bpf_map_lookup_elem(&extrema, &zero);
	if (ex) {
		/* 0 means "none yet"; a 0 ns sojourn is stored as 1 ns. */
		__u64 dm = d ? d : 1;

		if (!ex->min_ns || dm < ex->min_ns)
			ex->min_ns = dm;
		if (d > ex->max_ns)
			ex->max_ns = d;
	}

	if (!cfg_emit_events || d < cfg_threshold_ns)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		nt_count(&counters, NT_QDISC_RB_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->enqueue_ns = enq;
	e->dequeue_ns = now;
	e->skb = skbp;
	e->ifindex = ifindex;
	e->netns = netns;
	e->cpu = bpf_get_smp_processor_id();
	if (q) {
		e->handle = BPF_CORE_READ(q, handle);
		e->parent = BPF_CORE_READ(q, parent);
	}
	e->len = BPF_CORE_READ(skb, len);
	e->txq = BPF_CORE_READ(skb, queue_mapping);
	dev = BPF_CORE_READ(skb, dev);
	if (dev)
		BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
	nt_skb_parse(skb, &e->pkt);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int handle_dequeue(struct Qdisc *q, int packets, struct sk_buff *head)
{
	__u64 now = bpf_ktime_get_ns(), qp = nt_as_number(q), skb = nt_as_number(head);

	/* A bulk dequeue hands the driver a list; the tracepoint names its head and its length. */
	for (int i = 0; i < NT_QDISC_BULK_MAX; i++) {
		if (!skb || i >= packets)
			break;
		nt_qdisc_finish(skb, qp, now);
		skb = (__u64)BPF_CORE_READ((struct sk_buff *)skb, next);
	}
	return 0;
}

/* A start that will never see a dequeue: count why and forget it. */
static __always_inline int forget(struct sk_buff *skb, __u32 why)
{
	__u64 key = (__u64)skb;

	if (!skb || !bpf_map_lookup_elem(&starts, &key))
		return 0;
	if (bpf_map_delete_elem(&starts, &key) == 0)
		nt_count(&counters, why);
	return 0;
}

NT_HOOK_TP(qdisc_enqueue, (struct Qdisc *q, const struct netdev_queue *txq, struct sk_buff *skb), handle_start(skb))
NT_HOOK_TP_CLASSIC(qdisc, qdisc_enqueue, struct trace_event_raw_qdisc_enqueue, args, handle_start(NT_TP_SKB(args)))
NT_HOOK_TP(net_dev_queue, (struct sk_buff *skb), handle_start(skb))
NT_HOOK_TP_CLASSIC(net, net_dev_queue, struct trace_event_raw_net_dev_template, args, handle_start(NT_TP_SKB(args)))
NT_HOOK_TP(qdisc_dequeue, (struct Qdisc *q, const struct netdev_queue *txq, int packets, struct sk_buff *skb),
	   handle_dequeue(q, packets, skb))
NT_HOOK_TP_CLASSIC(qdisc, qdisc_dequeue, struct trace_event_raw_qdisc_dequeue, args,
		   handle_dequeue(BPF_CORE_READ(args, qdisc), BPF_CORE_READ(args, packets), NT_TP_SKB(args)))
NT_HOOK_TP(net_dev_start_xmit, (struct sk_buff *skb), forget(skb, NT_QDISC_BYPASSED))
NT_HOOK_TP_CLASSIC(net, net_dev_start_xmit, struct trace_event_raw_net_dev_start_xmit, args,
		   forget(NT_TP_SKB(args), NT_QDISC_BYPASSED))
NT_HOOK_TP(kfree_skb, (struct sk_buff *skb), forget(skb, NT_QDISC_DROPPED))
NT_HOOK_TP_CLASSIC(skb, kfree_skb, struct trace_event_raw_kfree_skb, args, forget(NT_TP_SKB(args), NT_QDISC_DROPPED))

char LICENSE[] SEC("license") = "GPL";
