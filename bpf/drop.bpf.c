// SPDX-License-Identifier: GPL-2.0
/*
 * drop: every skb the kernel frees as dropped, from the skb:kfree_skb
 * tracepoint, with reason (>= 5.17), location, device, packet headers, stack
 * and the state of the qdisc for qdisc drops. Per-drop events go to a ring
 * buffer; stack/device/flow counts aggregate in a hash map for summaries.
 * Variants: tp_btf (>= 5.5) -> raw_tp -> classic tracepoint.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/drop.h"
#include "nettrace/abi/filter.h"
#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"
#include "nt/skb.bpf.h"

const volatile struct nt_filter nt_filter_cfg = {};
const volatile bool cfg_emit_events = true;
const volatile bool cfg_aggregate = false;
const volatile bool cfg_event_stack = true;
const volatile __u32 cfg_group = NT_GROUP_STACK | NT_GROUP_TUPLE;
const volatile bool cfg_require_dev = false;
const volatile bool cfg_reason_filter = false;
const volatile __u64 cfg_reasons[NT_DROP_REASON_BITS / 64] = {};
const volatile __u64 cfg_qdisc_reasons[NT_DROP_REASON_BITS / 64] = {};
/* Written by the host right after attach, from one streaming pass over kallsyms; until then the host
 * filters the few normal frees that pass. */
__u32 normal_n = 0;
struct nt_drop_range normal[NT_DROP_NORMAL_RANGES] = {};

/* Sized by the host for the mode (src/tools/drop/drop.cpp); lost events are counted and reported. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 19);
} events SEC(".maps");

/* When the reader was last woken (bpf_ktime_get_ns); races between CPUs only move a wake-up. */
__u64 last_wakeup_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_drop_event);
} event_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NT_DROP_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/*
 * The stacks of events, by id: a record carries the id, the reader looks the frames up once per id. No
 * BPF_F_REUSE_STACKID, so an id's frames never change while the reader caches them; a stack whose bucket
 * holds another one (-EEXIST) goes inline into the record instead. Sized by the host (one entry when unused).
 */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NT_DROP_STACK_DEPTH * sizeof(__u64));
} event_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct nt_drop_key);
	__type(value, __u64);
} drops SEC(".maps");

NT_COUNTER_MAP(counters, NT_DROP_NCOUNTERS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct nt_xmit_key);
	__type(value, __u64);
} xmit_rc SEC(".maps");

/*
 * Entry state of the transmit probes, per thread and function, as a small stack: transmits nest on one
 * thread (veth delivers to its peer in the same softirq, whose reply is transmitted from inside the
 * outer __dev_queue_xmit), and each return must find its own entry.
 */
#define XMIT_DEPTH 4

struct xmit_entry {
	__u32 ifindex;
	__u32 netns;
	__u64 ret_ptr; /* dev_hard_start_xmit's int *ret */
	__u8 counted;  /* matched the device filter */
	__u8 _pad[7];
};

struct xmit_stack {
	__u32 depth;
	__u32 _pad;
	struct xmit_entry e[XMIT_DEPTH];
};

/* LRU: an entry per transmitting thread stays for reuse; threads that are gone age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct xmit_stack);
} xmit_entry SEC(".maps");

static __always_inline bool reason_in(const volatile __u64 *bitmap, __u32 reason)
{
	__u64 word = reason / 64;

	if (reason >= NT_DROP_REASON_BITS)
		return false;
	barrier_var(word);
	word &= NT_DROP_REASON_BITS / 64 - 1;
	return (bitmap[word] >> (reason % 64)) & 1;
}

/* A free the original tools called normal: a known caller with no specific reason. */
static __always_inline bool is_normal_free(__u64 location, __u32 reason)
{
	if (normal_n == 0)
		return false;
	if (bpf_core_type_exists(enum skb_drop_reason) &&
	    reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		return false;
	for (int i = 0; i < NT_DROP_NORMAL_RANGES; i++) {
		if (i >= normal_n)
			break;
		if (location >= normal[i].start && location < normal[i].end)
			return true;
	}
	return false;
}

static __always_inline void read_qdisc(struct sk_buff *skb, struct net_device *dev, struct nt_qdisc_info *qi)
{
	struct netdev_queue *txqs = BPF_CORE_READ(dev, _tx);
	__u32 ntx = BPF_CORE_READ(dev, num_tx_queues);
	__u16 qm = BPF_CORE_READ(skb, queue_mapping);
	struct netdev_queue *txq;
	struct Qdisc *q;

	if (!txqs)
		return;
	if (qm >= ntx)
		qm = 0;
	/* Stride from the running kernel's struct size, not the header's. */
	txq = (void *)txqs + (__u64)qm * bpf_core_type_size(struct netdev_queue);
	q = BPF_CORE_READ(txq, qdisc);
	if (!q)
		return;
	BPF_CORE_READ_STR_INTO(&qi->kind, q, ops, id);
	qi->handle = BPF_CORE_READ(q, handle);
	qi->parent = BPF_CORE_READ(q, parent);
	qi->qlen = BPF_CORE_READ(q, q.qlen);
	qi->backlog = BPF_CORE_READ(q, qstats.backlog);
	qi->drops = BPF_CORE_READ(q, qstats.drops);
	qi->requeues = BPF_CORE_READ(q, qstats.requeues);
	qi->overlimits = BPF_CORE_READ(q, qstats.overlimits);
	if (bpf_core_field_exists(q->limit))
		qi->limit = BPF_CORE_READ(q, limit);
	qi->txq = qm;
	qi->valid = 1;
}

static __always_inline void aggregate(void *ctx, struct nt_drop_event *e)
{
	struct nt_drop_key key = {};
	__u64 one = 1, *cnt;

	key.stack_id = -1;
	if (cfg_group & NT_GROUP_STACK) {
		key.stack_id = bpf_get_stackid(ctx, &stacks, 0);
		if (key.stack_id < 0)
			nt_count(&counters, NT_DROP_STACK_FAIL);
	}
	key.ifindex = e->ifindex;
	key.netns = e->netns;
	key.reason = e->reason;
	key.location = e->location;
	__builtin_memcpy(key.ifname, e->ifname, sizeof(key.ifname));
	if (cfg_group & NT_GROUP_TUPLE) {
		__builtin_memcpy(key.saddr, e->pkt.saddr, sizeof(key.saddr));
		__builtin_memcpy(key.daddr, e->pkt.daddr, sizeof(key.daddr));
		key.sport = e->pkt.sport;
		key.dport = e->pkt.dport;
		key.l3 = e->pkt.l3;
		key.l4_proto = e->pkt.l4_proto;
	}
	cnt = bpf_map_lookup_elem(&drops, &key);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		return;
	}
	if (bpf_map_update_elem(&drops, &key, &one, BPF_NOEXIST)) {
		cnt = bpf_map_lookup_elem(&drops, &key);
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		else
			nt_count(&counters, NT_DROP_MAP_FULL);
	}
}

/*
 * Wake the reader for a batch (a sixteenth of the ring waiting) or when its last wake-up is 5 ms old, not
 * for every event: in a storm the reader then pays one epoll round per batch instead of one per event, and
 * a lone drop still wakes it at once. Events behind a skipped wake-up wait at most for the reader's own poll
 * timeout.
 */
static __always_inline __u64 wakeup_flag(__u64 now)
{
	if (now - last_wakeup_ns >= 5000000 ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 16) {
		last_wakeup_ns = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

static __always_inline int handle_drop(void *ctx, struct sk_buff *skb, void *location, __u32 reason)
{
	const volatile struct nt_filter *f = &nt_filter_cfg;
	struct nt_drop_event *e;
	struct net_device *dev;
	__u32 zero = 0, ifindex = 0, netns, stack = 0;
	__u64 id, size;

	nt_count(&counters, NT_DROP_SEEN);
	if (cfg_reason_filter && !reason_in(cfg_reasons, reason))
		return 0;
	dev = BPF_CORE_READ(skb, dev);
	if (!dev && cfg_require_dev) {
		nt_count(&counters, NT_DROP_NO_DEV);
		return 0;
	}
	if (dev)
		ifindex = BPF_CORE_READ(dev, ifindex);
	netns = nt_skb_netns(skb, dev);
	if (!nt_filter_match_dev(f, ifindex, netns))
		return 0;
	if (is_normal_free((__u64)location, reason)) {
		nt_count(&counters, NT_DROP_NORMAL);
		return 0;
	}

	e = bpf_map_lookup_elem(&event_scratch, &zero);
	if (!e)
		return 0;
	__builtin_memset(&e->pkt, 0, sizeof(e->pkt));
	nt_skb_parse(skb, &e->pkt);
	if (nt_filter_needs_packet(f) && !nt_filter_match_pkt(f, &e->pkt))
		return 0;
	nt_count(&counters, NT_DROP_MATCHED);

	e->ts_ns = bpf_ktime_get_ns();
	e->location = (__u64)location;
	e->skb = (__u64)skb;
	e->reason = reason;
	e->ifindex = ifindex;
	e->netns = netns;
	e->len = BPF_CORE_READ(skb, len);
	e->skb_protocol = nt_bswap16(BPF_CORE_READ(skb, protocol));
	__builtin_memset(e->ifname, 0, sizeof(e->ifname));
	if (dev)
		BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
	__builtin_memset(&e->qdisc, 0, sizeof(e->qdisc));
	if (dev && reason_in(cfg_qdisc_reasons, reason))
		read_qdisc(skb, dev, &e->qdisc);

	if (cfg_aggregate)
		aggregate(ctx, e);
	if (!cfg_emit_events)
		return 0;

	id = bpf_get_current_pid_tgid();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->stack_bytes = -1;
	e->stack_id = -1;
	if (cfg_event_stack) {
		/* An id first (a 4-byte field instead of ~170 bytes of frames); inline frames when its bucket is
		 * taken by another stack. */
		e->stack_id = bpf_get_stackid(ctx, &event_stacks, 0);
		if (e->stack_id >= 0) {
			e->stack_bytes = 0;
		} else {
			e->stack_id = -1;
			e->stack_bytes = bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0);
			if (e->stack_bytes < 0)
				nt_count(&counters, NT_DROP_STACK_FAIL);
			else
				stack = e->stack_bytes;
		}
	}
	/* The record ends where its content does (nettrace/abi/drop.h): more records fit the ring in a storm. */
	barrier_var(stack);
	if (stack > sizeof(e->stack))
		stack = sizeof(e->stack);
	if (stack)
		size = offsetof(struct nt_drop_event, stack) + stack;
	else if (e->qdisc.valid)
		size = offsetof(struct nt_drop_event, stack);
	else
		size = offsetof(struct nt_drop_event, qdisc);
	if (bpf_ringbuf_output(&events, e, size, wakeup_flag(e->ts_ns)))
		nt_count(&counters, NT_DROP_RB_LOST);
	return 0;
}

/* The reason argument exists since 5.17 (commit c504e5c2f964 "net: skb: introduce kfree_skb_reason()"). */
static __always_inline __u32 ctx_reason(unsigned long long *ctx)
{
	if (bpf_core_type_exists(enum skb_drop_reason))
		return (__u32)ctx[2];
	return 0;
}

NT_HOOK_TP(kfree_skb, (struct sk_buff *skb, void *location), handle_drop(ctx, skb, location, ctx_reason(ctx)))

static __always_inline int classic_drop(struct trace_event_raw_kfree_skb *args)
{
	__u32 reason = 0;

	if (bpf_core_field_exists(args->reason))
		reason = BPF_CORE_READ(args, reason);
	return handle_drop(args, BPF_CORE_READ(args, skbaddr) ? (struct sk_buff *)args->skbaddr : NULL,
			   args->location, reason);
}

NT_HOOK_TP_CLASSIC(skb, kfree_skb, struct trace_event_raw_kfree_skb, args, classic_drop(args))

/*
 * The transmit return-code view: where kprobes or fentry exist, count what __dev_queue_xmit and
 * dev_hard_start_xmit return per device (the original qdisc_drop_trace's histograms, now filtered by
 * interface as the user asked).
 */
static __always_inline int xmit_enter(__u32 func, struct net_device *dev, void *ret_ptr)
{
	__u64 key = bpf_get_current_pid_tgid() << 1 | func, slot;
	struct xmit_stack zero = {}, *stk;

	stk = nt_map_lookup_or_init(&xmit_entry, &key, &zero);
	if (!stk)
		return 0;
	slot = stk->depth++;
	if (slot >= XMIT_DEPTH)
		return 0;
	barrier_var(slot);
	slot &= XMIT_DEPTH - 1;
	stk->e[slot].counted = 0;
	if (!dev)
		return 0;
	stk->e[slot].ifindex = BPF_CORE_READ(dev, ifindex);
	stk->e[slot].netns = nt_net_inum(BPF_CORE_READ(dev, nd_net.net));
	stk->e[slot].ret_ptr = (__u64)ret_ptr;
	stk->e[slot].counted = nt_filter_match_dev(&nt_filter_cfg, stk->e[slot].ifindex, stk->e[slot].netns);
	return 0;
}

static __always_inline int xmit_exit(__u32 func, long rc)
{
	__u64 key = bpf_get_current_pid_tgid() << 1 | func, one = 1, *cnt, slot;
	struct xmit_stack *stk = bpf_map_lookup_elem(&xmit_entry, &key);
	struct nt_xmit_key k = {};
	int ret = (int)rc;

	if (!stk || stk->depth == 0)
		return 0;
	slot = --stk->depth;
	if (slot >= XMIT_DEPTH)
		return 0;
	barrier_var(slot);
	slot &= XMIT_DEPTH - 1;
	if (!stk->e[slot].counted)
		return 0;
	if (func == NT_XMIT_HARD_START && stk->e[slot].ret_ptr)
		bpf_probe_read_kernel(&ret, sizeof(ret), (void *)stk->e[slot].ret_ptr);
	k.func = func;
	k.ifindex = stk->e[slot].ifindex;
	k.netns = stk->e[slot].netns;
	k.ret = ret;
	cnt = bpf_map_lookup_elem(&xmit_rc, &k);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else if (bpf_map_update_elem(&xmit_rc, &k, &one, BPF_NOEXIST))
		nt_count(&counters, NT_DROP_MAP_FULL);
	return 0;
}

NT_HOOK_FN(__dev_queue_xmit, (struct sk_buff *skb), xmit_enter(NT_XMIT_DEV_QUEUE, BPF_CORE_READ(skb, dev), NULL))
NT_HOOK_FN_RET(__dev_queue_xmit, (struct sk_buff *skb, struct net_device *sb_dev, int ret), (int ret),
	       xmit_exit(NT_XMIT_DEV_QUEUE, ret))
/* dev_hard_start_xmit returns the skb; its status is written through the ret pointer, read at return. */
NT_HOOK_FN(dev_hard_start_xmit, (struct sk_buff *first, struct net_device *dev, struct netdev_queue *txq, int *ret),
	   xmit_enter(NT_XMIT_HARD_START, dev, ret))
NT_HOOK_FN_RET(dev_hard_start_xmit, (struct sk_buff *first), (void *first_ret), xmit_exit(NT_XMIT_HARD_START, 0))

char LICENSE[] SEC("license") = "GPL";
