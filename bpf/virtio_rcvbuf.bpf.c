// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_rcvbuf: one record per packet a virtio-net device hands to GRO (trace_virtio_net_rcvbuf.bt), from
 * net:napi_gro_receive_entry (virtio_net's receive_buf / virtnet_receive_done call napi_gro_receive): device, the
 * receive queue the driver recorded in the skb, length, and the headers (TCP seq/ack, ICMP id/seq).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/virtio.h"
#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"
#include "nt/skb.bpf.h"

const volatile __u32 cfg_netns = 0;

NT_COUNTER_MAP(counters, NT_VIRTIO_NCOUNTERS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

static __always_inline int on_gro(struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct nt_virtio_rcv_event *e;
	__u32 ifindex;
	__u16 qm;

	if (!dev)
		return 0;
	ifindex = BPF_CORE_READ(dev, ifindex);
	if (!bpf_map_lookup_elem(&devices, &ifindex))
		return 0;
	if (cfg_netns && BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg_netns)
		return 0;
	nt_count(&counters, NT_VIRTIO_EVENTS);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		nt_count(&counters, NT_VIRTIO_RB_LOST);
		return 0;
	}
	__builtin_memset(&e->pkt, 0, sizeof(e->pkt));
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ifindex;
	qm = BPF_CORE_READ(skb, queue_mapping);
	e->queue = qm ? (__s32)qm - 1 : -1; /* skb_record_rx_queue stores queue + 1 */
	e->len = BPF_CORE_READ(skb, len);
	e->cpu = bpf_get_smp_processor_id();
	BPF_CORE_READ_STR_INTO(&e->dev, dev, name);
	nt_skb_parse(skb, &e->pkt);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

NT_HOOK_TP(napi_gro_receive_entry, (struct sk_buff *skb), on_gro(skb))

char LICENSE[] SEC("license") = "GPL";
