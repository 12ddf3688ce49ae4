// SPDX-License-Identifier: GPL-2.0
/*
 * perf iface (iface_netstat): per-queue packets, bytes and size buckets of one interface, counted in
 * per-CPU arrays. RX from net:netif_receive_skb (every skb entering __netif_receive_skb_core; the RX
 * queue is the one the driver recorded, skb_get_rx_queue()), TX from net:net_dev_start_xmit (every skb
 * handed to the driver, with its skb->queue_mapping). Bytes are L2: on receive the Ethernet header
 * eth_type_trans() pulled is added back, so totals compare with the interface statistics.
 * Variants: tp_btf -> raw_tp -> classic tracepoint.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/iface.h"
#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"

const volatile __u32 cfg_ifindex = 0;
const volatile __u32 cfg_netns = 0;
const volatile __u32 cfg_nqueues = 1; /* rows per direction before the overflow row */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * (NT_IFACE_MAX_QUEUES + 1));
	__type(key, __u32);
	__type(value, struct nt_iface_queue);
} queues SEC(".maps");

NT_COUNTER_MAP(counters, NT_IFACE_NCOUNTERS);

static __always_inline bool dev_matches(struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);

	if (!dev || BPF_CORE_READ(dev, ifindex) != cfg_ifindex)
		return false;
	if (cfg_netns && BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg_netns)
		return false;
	return true;
}

static __always_inline void account(__u32 dir, __u32 queue, __u64 len)
{
	struct nt_iface_queue *q;
	__u32 idx;

	if (queue >= cfg_nqueues) {
		nt_count(&counters, NT_IFACE_QUEUE_OVER);
		queue = cfg_nqueues;
	}
	idx = dir * (cfg_nqueues + 1) + queue;
	q = bpf_map_lookup_elem(&queues, &idx);
	if (!q)
		return;
	q->packets++;
	q->bytes += len;
	idx = nt_iface_size_slot(len);
	if (idx < NT_IFACE_NSIZES)
		q->sizes[idx]++;
}

static __always_inline int handle_rx(struct sk_buff *skb)
{
	__u16 qm, mac;
	__u64 len, pulled = 0;
	unsigned char *head, *data;

	nt_count(&counters, NT_IFACE_RX_SEEN);
	if (!skb || !dev_matches(skb))
		return 0;
	len = BPF_CORE_READ(skb, len);
	/* The link-layer header the driver pulled (eth_type_trans) is part of what rx_bytes counts. */
	mac = BPF_CORE_READ(skb, mac_header);
	head = BPF_CORE_READ(skb, head);
	data = BPF_CORE_READ(skb, data);
	if (mac != (__u16)~0U && data >= head + mac)
		pulled = data - (head + mac);
	if (pulled <= 64)
		len += pulled;
	/* skb_rx_queue_recorded() / skb_get_rx_queue(): queue_mapping holds rx queue + 1, 0 when none. */
	qm = BPF_CORE_READ(skb, queue_mapping);
	account(NT_IFACE_RX, qm ? qm - 1 : 0, len);
	return 0;
}

static __always_inline int handle_tx(struct sk_buff *skb)
{
	nt_count(&counters, NT_IFACE_TX_SEEN);
	if (!skb || !dev_matches(skb))
		return 0;
	account(NT_IFACE_TX, BPF_CORE_READ(skb, queue_mapping), BPF_CORE_READ(skb, len));
	return 0;
}

NT_HOOK_TP(netif_receive_skb, (struct sk_buff *skb), handle_rx(skb))
NT_HOOK_TP_CLASSIC(net, netif_receive_skb, struct trace_event_raw_net_dev_template, args,
		   handle_rx(NT_TP_SKB(args)))
NT_HOOK_TP(net_dev_start_xmit, (struct sk_buff *skb), handle_tx(skb))
NT_HOOK_TP_CLASSIC(net, net_dev_start_xmit, struct trace_event_raw_net_dev_start_xmit, args,
		   handle_tx(NT_TP_SKB(args)))

char LICENSE[] SEC("license") = "GPL";
