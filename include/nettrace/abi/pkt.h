/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet header parsing shared by every BPF program and the host tests.
 *
 * The parser works on a plain byte buffer (a copy of the packet headers) with
 * explicit offsets. Every access is guarded twice: against the constant
 * NT_PKT_MAX (so the BPF verifier can bound the offset) and against the
 * buffer's real length. No helpers, bounded loops only, valid C and C++.
 */
#ifndef NETTRACE_ABI_PKT_H
#define NETTRACE_ABI_PKT_H

#include "nettrace/abi/types.h"

#define NT_PKT_MAX 192 /* header bytes copied out of an skb */

#define NT_ETH_P_IP 0x0800
#define NT_ETH_P_ARP 0x0806
#define NT_ETH_P_RARP 0x8035
#define NT_ETH_P_8021Q 0x8100
#define NT_ETH_P_8021AD 0x88a8
#define NT_ETH_P_QINQ1 0x9100
#define NT_ETH_P_IPV6 0x86dd
#define NT_ETH_P_LLDP 0x88cc
#define NT_ETH_P_PAUSE 0x8808

#define NT_IPPROTO_ICMP 1
#define NT_IPPROTO_TCP 6
#define NT_IPPROTO_UDP 17
#define NT_IPPROTO_ICMPV6 58

enum nt_l3 {
	NT_L3_NONE = 0,
	NT_L3_IPV4 = 4,
	NT_L3_IPV6 = 6,
	NT_L3_ARP = 8,
	NT_L3_OTHER = 15,
};

enum nt_pkt_flags {
	NT_PKT_TRUNCATED = 1 << 0, /* headers ended before the parser was done */
	NT_PKT_FRAGMENT = 1 << 1,  /* IP fragment */
	NT_PKT_LATER_FRAG = 1 << 2, /* non-first fragment: no L4 header */
	NT_PKT_HAS_L2 = 1 << 3,    /* an Ethernet header was parsed */
	NT_PKT_HAS_L4 = 1 << 4,    /* ports / ICMP fields are valid */
};

struct nt_pkt {
	__u8 src_mac[6];
	__u8 dst_mac[6];
	__u16 eth_proto;   /* EtherType after VLAN tags, host order */
	__u16 vlan[2];     /* VLAN ids, outer first */
	__u8 vlan_depth;
	__u8 l3;           /* enum nt_l3 */
	__u8 l4_proto;     /* IPPROTO_* (ARP: 0) */
	__u8 flags;        /* enum nt_pkt_flags */
	__u8 saddr[16];    /* IPv4 in the first 4 bytes; ARP: sender IP */
	__u8 daddr[16];    /* ARP: target IP */
	__u16 sport;       /* host order */
	__u16 dport;
	__u16 ip_len;      /* IPv4 total length / IPv6 payload length + 40 */
	__u16 ip_id;
	__u16 frag_off;    /* fragment offset in bytes */
	__u8 ttl;
	__u8 tcp_flags;
	__u32 tcp_seq;
	__u32 tcp_ack;
	__u8 icmp_type;
	__u8 icmp_code;
	__u16 icmp_id;
	__u16 icmp_seq;
	__u16 arp_op;
	__u16 l3_off;      /* offset of the L3 header in the buffer */
	__u16 l4_off;
	__u16 _pad;
};

#define NT_NEED(off, n, len) ((off) > NT_PKT_MAX - (n) || (off) + (n) > (len))
/* Buffers are at least NT_BUF_SIZE bytes in BPF; the mask is a no-op after NT_NEED and lets the
 * verifier bound an index even when the compiler checked a copy of it. */
#define NT_BUF_SIZE 256
#ifdef __bpf__
/* The empty asm hides the value from clang, so the mask survives even where clang proves it redundant
 * (it rewrites off + 1 as off | 1 for aligned offsets, which the 6.12 verifier cannot bound). */
NT_INLINE __u64 nt_idx(__u64 x)
{
	asm volatile("" : "+r"(x));
	return x & (NT_BUF_SIZE - 1);
}
#define NT_IDX(x) nt_idx(x)
#else
#define NT_IDX(x) ((x) & (NT_BUF_SIZE - 1))
#endif

NT_INLINE __u8 nt_get8(const __u8 *b, __u64 off)
{
	return b[NT_IDX(off)];
}

NT_INLINE __u16 nt_get16(const __u8 *b, __u64 off)
{
	return (__u16)((b[NT_IDX(off)] << 8) | b[NT_IDX(off + 1)]);
}

NT_INLINE __u32 nt_get32(const __u8 *b, __u64 off)
{
	return ((__u32)b[NT_IDX(off)] << 24) | ((__u32)b[NT_IDX(off + 1)] << 16) |
	       ((__u32)b[NT_IDX(off + 2)] << 8) | b[NT_IDX(off + 3)];
}

NT_INLINE void nt_copy(__u8 *dst, const __u8 *b, __u64 off, __u32 n)
{
	for (__u32 i = 0; i < 16 && i < n; i++)
		dst[i] = b[NT_IDX(off + i)];
}

NT_INLINE int nt_parse_l4(const __u8 *b, __u64 len, __u64 off, struct nt_pkt *p)
{
	p->l4_off = (__u16)off;
	if (p->flags & NT_PKT_LATER_FRAG)
		return 0;
	switch (p->l4_proto) {
	case NT_IPPROTO_TCP:
		if (NT_NEED(off, 20, len))
			goto trunc;
		p->sport = nt_get16(b, off);
		p->dport = nt_get16(b, off + 2);
		p->tcp_seq = nt_get32(b, off + 4);
		p->tcp_ack = nt_get32(b, off + 8);
		p->tcp_flags = nt_get8(b, off + 13);
		break;
	case NT_IPPROTO_UDP:
		if (NT_NEED(off, 8, len))
			goto trunc;
		p->sport = nt_get16(b, off);
		p->dport = nt_get16(b, off + 2);
		break;
	case NT_IPPROTO_ICMP:
	case NT_IPPROTO_ICMPV6:
		if (NT_NEED(off, 8, len))
			goto trunc;
		p->icmp_type = nt_get8(b, off);
		p->icmp_code = nt_get8(b, off + 1);
		p->icmp_id = nt_get16(b, off + 4);
		p->icmp_seq = nt_get16(b, off + 6);
		break;
	default:
		return 0;
	}
	p->flags |= NT_PKT_HAS_L4;
	return 0;
trunc:
	p->flags |= NT_PKT_TRUNCATED;
	return -1;
}

NT_INLINE int nt_parse_ipv4(const __u8 *b, __u64 len, __u64 off, struct nt_pkt *p)
{
	__u64 ihl;
	__u16 frag;

	p->l3_off = (__u16)off;
	if (NT_NEED(off, 20, len))
		goto trunc;
	if ((nt_get8(b, off) >> 4) != 4)
		return -1;
	p->l3 = NT_L3_IPV4;
	ihl = (__u64)(nt_get8(b, off) & 0x0f) * 4;
	if (ihl < 20)
		return -1;
	p->ip_len = nt_get16(b, off + 2);
	p->ip_id = nt_get16(b, off + 4);
	frag = nt_get16(b, off + 6);
	p->frag_off = (__u16)((frag & 0x1fff) * 8);
	if (frag & 0x3fff)
		p->flags |= NT_PKT_FRAGMENT;
	if (frag & 0x1fff)
		p->flags |= NT_PKT_LATER_FRAG;
	p->ttl = nt_get8(b, off + 8);
	p->l4_proto = nt_get8(b, off + 9);
	nt_copy(p->saddr, b, off + 12, 4);
	nt_copy(p->daddr, b, off + 16, 4);
	return nt_parse_l4(b, len, off + ihl, p);
trunc:
	p->flags |= NT_PKT_TRUNCATED;
	return -1;
}

NT_INLINE int nt_parse_ipv6(const __u8 *b, __u64 len, __u64 off, struct nt_pkt *p)
{
	__u8 next;

	p->l3_off = (__u16)off;
	if (NT_NEED(off, 40, len))
		goto trunc;
	if ((nt_get8(b, off) >> 4) != 6)
		return -1;
	p->l3 = NT_L3_IPV6;
	p->ip_len = (__u16)(nt_get16(b, off + 4) + 40);
	next = nt_get8(b, off + 6);
	p->ttl = nt_get8(b, off + 7);
	nt_copy(p->saddr, b, off + 8, 16);
	nt_copy(p->daddr, b, off + 24, 16);
	off += 40;
	/* Skip extension headers: hop-by-hop, routing, fragment, destination options. */
	for (int i = 0; i < 4; i++) {
		if (next == 0 || next == 43 || next == 60) {
			if (NT_NEED(off, 8, len))
				goto trunc;
			next = nt_get8(b, off);
			off += ((__u64)nt_get8(b, off + 1) + 1) * 8;
		} else if (next == 44) {
			__u16 fo;
			if (NT_NEED(off, 8, len))
				goto trunc;
			next = nt_get8(b, off);
			fo = nt_get16(b, off + 2);
			p->frag_off = fo & 0xfff8;
			p->ip_id = nt_get16(b, off + 6); /* low 16 bits of the identification */
			p->flags |= NT_PKT_FRAGMENT;
			if (p->frag_off)
				p->flags |= NT_PKT_LATER_FRAG;
			off += 8;
		} else {
			break;
		}
	}
	p->l4_proto = next;
	return nt_parse_l4(b, len, off, p);
trunc:
	p->flags |= NT_PKT_TRUNCATED;
	return -1;
}

NT_INLINE int nt_parse_arp(const __u8 *b, __u64 len, __u64 off, struct nt_pkt *p)
{
	p->l3_off = (__u16)off;
	p->l3 = NT_L3_ARP;
	if (NT_NEED(off, 28, len))
		goto trunc;
	/* Ethernet/IPv4 ARP only: hlen 6, plen 4. */
	if (nt_get8(b, off + 4) != 6 || nt_get8(b, off + 5) != 4)
		return 0;
	p->arp_op = nt_get16(b, off + 6);
	nt_copy(p->saddr, b, off + 14, 4);
	nt_copy(p->daddr, b, off + 24, 4);
	return 0;
trunc:
	p->flags |= NT_PKT_TRUNCATED;
	return -1;
}

/* Parse from an L3 header whose EtherType is already known (skbs without a MAC header). */
NT_INLINE int nt_parse_l3(const __u8 *b, __u64 len, __u64 off, __u16 eth_proto, struct nt_pkt *p)
{
	p->eth_proto = eth_proto;
	switch (eth_proto) {
	case NT_ETH_P_IP:
		return nt_parse_ipv4(b, len, off, p);
	case NT_ETH_P_IPV6:
		return nt_parse_ipv6(b, len, off, p);
	case NT_ETH_P_ARP:
	case NT_ETH_P_RARP:
		return nt_parse_arp(b, len, off, p);
	default:
		p->l3 = NT_L3_OTHER;
		return 0;
	}
}

NT_INLINE int nt_is_vlan_proto(__u16 proto)
{
	return proto == NT_ETH_P_8021Q || proto == NT_ETH_P_8021AD || proto == NT_ETH_P_QINQ1;
}

/* Parse an Ethernet frame with up to two in-band VLAN tags. */
NT_INLINE int nt_parse_eth(const __u8 *b, __u64 len, struct nt_pkt *p)
{
	__u64 off = 14;
	__u16 proto;

	if (NT_NEED(0, 14, len)) {
		p->flags |= NT_PKT_TRUNCATED;
		return -1;
	}
	p->flags |= NT_PKT_HAS_L2;
	nt_copy(p->dst_mac, b, 0, 6);
	nt_copy(p->src_mac, b, 6, 6);
	proto = nt_get16(b, 12);
	for (int i = 0; i < 2; i++) {
		if (!nt_is_vlan_proto(proto))
			break;
		if (NT_NEED(off, 4, len)) {
			p->flags |= NT_PKT_TRUNCATED;
			return -1;
		}
		/* A tag the NIC stripped (skb->vlan_tci) may already sit in vlan[0]. */
		if (p->vlan_depth == 0)
			p->vlan[0] = nt_get16(b, off) & 0x0fff;
		else
			p->vlan[1] = nt_get16(b, off) & 0x0fff;
		if (p->vlan_depth < 2)
			p->vlan_depth++;
		proto = nt_get16(b, off + 2);
		off += 4;
	}
	return nt_parse_l3(b, len, off, proto, p);
}

#endif
