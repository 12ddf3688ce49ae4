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

static __always_inline void nt_skb_vlan(struct sk_buff *skb, struct nt_pkt *p)
{
	__u16 tci = BPF_CORE_READ(skb, vlan_tci);
	int present;

	if (bpf_core_field_exists(((struct sk_buff___old *)skb)->vlan_present))
		present = BPF_CORE_READ_BITFIELD_PROBED((struct sk_buff___old *)skb, vlan_present);
	else
		present = BPF_CORE_READ(skb, vlan_proto) != 0;
	if (present) {
		p->vlan[0] = tci & 0x0fff;
		p->vlan_depth = 1;
	}
}

/*
 * Parse the skb's headers into p. Uses the MAC header when the skb has one
 * (received frames, and transmit after __dev_queue_xmit reset it), else the
 * network header with skb->protocol as EtherType. Returns 0 when parsed.
 */
static __always_inline int nt_skb_parse(struct sk_buff *skb, struct nt_pkt *p)
{
	__u32 zero = 0;
	struct nt_hdr_buf *buf = bpf_map_lookup_elem(&nt_hdr_scratch, &zero);
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 mac = BPF_CORE_READ(skb, mac_header);
	__u16 net = BPF_CORE_READ(skb, network_header);
	__u32 tail = BPF_CORE_READ(skb, tail);
	__u16 proto = nt_bswap16(BPF_CORE_READ(skb, protocol));
	int from_mac = mac != (__u16)~0U && (net == (__u16)~0U || mac < net);
	__u32 start, n;

	if (!buf || !head)
		return -1;
	nt_skb_vlan(skb, p);
	if (from_mac)
		start = mac;
	else if (net != (__u16)~0U)
		start = net;
	else
		return -1;
	/* tail is an offset from head on 64-bit kernels (NET_SKBUFF_DATA_USES_OFFSET). */
	if (tail <= start)
		return -1;
	n = tail - start;
	if (n > NT_PKT_MAX)
		n = NT_PKT_MAX;
	/* Hide the bound from clang so the mask the verifier needs survives optimisation. */
	barrier_var(n);
	n &= sizeof(buf->b) - 1;
	if (bpf_probe_read_kernel(buf->b, n, head + start))
		return -1;
	if (from_mac)
		return nt_parse_eth(buf->b, n, p);
	return nt_parse_l3(buf->b, n, 0, proto, p);
}

#endif
