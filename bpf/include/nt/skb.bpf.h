/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sk_buff accessors: device, network namespace, and a copy of the headers
 * handed to the shared parser (nettrace/abi/pkt.h). All field reads are CO-RE.
 */
#ifndef NT_SKB_BPF_H
#define NT_SKB_BPF_H

#include "nt/common.bpf.h"
#include "nettrace/abi/pkt.h"

/* Before 6.1 (commit 354259fa73e2 "net: remove skb->vlan_present") a bit said whether vlan_tci was valid. */
struct sk_buff___old {
	__u8 vlan_present : 1;
} __attribute__((preserve_access_index));

struct nt_hdr_buf {
	__u8 b[256]; /* power of two: the masked copy length stays inside */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_hdr_buf);
} nt_hdr_scratch SEC(".maps");

static __always_inline __u32 nt_net_inum(struct net *net)
{
	return net ? BPF_CORE_READ(net, ns.inum) : 0;
}

/* The namespace of the skb: its device's, else its socket's. */
static __always_inline __u32 nt_skb_netns(struct sk_buff *skb, struct net_device *dev)
{
	if (dev)
		return nt_net_inum(BPF_CORE_READ(dev, nd_net.net));
	return nt_net_inum(BPF_CORE_READ(skb, sk, __sk_common.skc_net.net));
}

static __always_inline __u16 nt_bswap16(__u16 v)
{
	return (__u16)((v >> 8) | (v << 8));
}

/*
 * The sk_buff fields the parsers need, read once. `direct` (a constant after inlining) says the skb is a
 * trusted BTF pointer (tp_btf, fentry): plain CO-RE loads, about a nanosecond each. Otherwise (raw_tp,
 * tracepoint, kprobe, a pointer read from memory) each field is a bpf_probe_read_kernel call.
 */
struct nt_skb_view {
	__u64 head;
	__u64 data;
	__u32 len;
	__u32 data_len;
	__u32 tail;          /* offset from head on 64-bit kernels (NET_SKBUFF_DATA_USES_OFFSET) */
	__u16 mac_header;
	__u16 network_header;
	__u16 protocol;      /* host order */
	__u16 vlan_tci;
	__u16 queue_mapping;
	__u16 vlan_proto;
	__u64 skb;           /* for the pre-6.1 vlan_present bit */
};

#define NT_SKB_RD(direct, skb, field) ((direct) ? (skb)->field : BPF_CORE_READ(skb, field))

/* The fields nt_skb_parse_view reads (head, tail, headers, protocol, VLAN). */
static __always_inline void nt_skb_view_read_hdrs(struct sk_buff *skb, struct nt_skb_view *v, const bool direct)
{
	v->head = (__u64)NT_SKB_RD(direct, skb, head);
	v->tail = NT_SKB_RD(direct, skb, tail);
	v->mac_header = NT_SKB_RD(direct, skb, mac_header);
	v->network_header = NT_SKB_RD(direct, skb, network_header);
	v->protocol = nt_bswap16(NT_SKB_RD(direct, skb, protocol));
	v->vlan_tci = NT_SKB_RD(direct, skb, vlan_tci);
	v->vlan_proto = NT_SKB_RD(direct, skb, vlan_proto);
	v->skb = (__u64)skb;
}

/* Every field of the view: the headers' and the linear data, lengths and queue. */
static __always_inline void nt_skb_view_read(struct sk_buff *skb, struct nt_skb_view *v, const bool direct)
{
	nt_skb_view_read_hdrs(skb, v, direct);
	v->data = (__u64)NT_SKB_RD(direct, skb, data);
	v->len = NT_SKB_RD(direct, skb, len);
	v->data_len = NT_SKB_RD(direct, skb, data_len);
	v->queue_mapping = NT_SKB_RD(direct, skb, queue_mapping);
}

/* Whether vlan_tci is valid. Read here, not in nt_skb_view_read: inlined into a program, clang hoists the
 * bitfield's CO-RE relocations above the exists check and the load fails on kernels without the field. */
static __always_inline int nt_skb_view_vlan_present(const struct nt_skb_view *v)
{
	if (bpf_core_field_exists(((struct sk_buff___old *)0)->vlan_present))
		return BPF_CORE_READ_BITFIELD_PROBED((struct sk_buff___old *)v->skb, vlan_present);
	return v->vlan_proto != 0;
}

/*
 * Parse the headers of the skb seen as v into p. Uses the MAC header when the skb has one (received
 * frames, and transmit after __dev_queue_xmit reset it), else the network header with skb->protocol as
 * EtherType. Returns 0 when parsed.
 */
static __always_inline int nt_skb_parse_view(const struct nt_skb_view *v, struct nt_pkt *p)
{
	__u32 zero = 0;
	struct nt_hdr_buf *buf = bpf_map_lookup_elem(&nt_hdr_scratch, &zero);
	__u16 mac = v->mac_header, net = v->network_header;
	int from_mac = mac != (__u16)~0U && (net == (__u16)~0U || mac < net);
	__u32 start, n;

	if (!buf || !v->head)
		return -1;
	if (nt_skb_view_vlan_present(v)) {
		p->vlan[0] = v->vlan_tci & 0x0fff;
		p->vlan_depth = 1;
	}
	if (from_mac)
		start = mac;
	else if (net != (__u16)~0U)
		start = net;
	else
		return -1;
	if (v->tail <= start)
		return -1;
	n = v->tail - start;
	if (n > NT_PKT_MAX)
		n = NT_PKT_MAX;
	/* Hide the bound from clang so the mask the verifier needs survives optimisation. */
	barrier_var(n);
	n &= sizeof(buf->b) - 1;
	if (bpf_probe_read_kernel(buf->b, n, (const void *)(v->head + start)))
		return -1;
	if (from_mac)
		return nt_parse_eth(buf->b, n, p);
	return nt_parse_l3(buf->b, n, 0, v->protocol, p);
}

/* nt_skb_parse_view for an skb pointer of any origin (probed reads of the header fields only). */
static __always_inline int nt_skb_parse(struct sk_buff *skb, struct nt_pkt *p)
{
	struct nt_skb_view v;

	nt_skb_view_read_hdrs(skb, &v, false);
	return nt_skb_parse_view(&v, p);
}

#endif
