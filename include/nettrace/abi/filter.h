/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The packet filter every packet tool shares.
 * The functions take a volatile pointer because BPF keeps the filter in
 * `const volatile` .rodata, which the loader rewrites after compilation. The host fills struct nt_filter
 * from the command line once; BPF programs keep it in .rodata and call
 * nt_filter_match() in the kernel. Addresses and ports match in the direction
 * their names say (source is the packet's source).
 */
#ifndef NETTRACE_ABI_FILTER_H
#define NETTRACE_ABI_FILTER_H

#include "nettrace/abi/pkt.h"

enum nt_eth_match {
	NT_ETH_ANY = 0,
	NT_ETH_EXACT = 1, /* eth_proto == filter value */
	NT_ETH_OTHER = 2, /* none of IPv4, IPv6, ARP, RARP, LLDP, flow control */
};

struct nt_filter {
	__u32 ifindex;     /* 0: any */
	__u32 netns;       /* network namespace inode of ifindex; 0: any */
	__u16 eth_proto;
	__u8 eth_match;    /* enum nt_eth_match */
	__u8 l4_proto;     /* 0: any */
	__u16 vlan_id;
	__u8 has_vlan;
	__u8 family;       /* 4 or 6 when an address is set */
	__u8 has_saddr;
	__u8 has_daddr;
	__u16 sport;       /* 0: any */
	__u16 dport;
	__u16 _pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

NT_INLINE int nt_addr_eq(const __u8 *a, const volatile __u8 *b, __u8 family)
{
	__u32 n = family == 6 ? 16 : 4;
	for (__u32 i = 0; i < 16; i++) {
		if (i >= n)
			break;
		if (a[i] != b[i])
			return 0;
	}
	return 1;
}

NT_INLINE int nt_eth_is_known(__u16 proto)
{
	return proto == NT_ETH_P_IP || proto == NT_ETH_P_IPV6 || proto == NT_ETH_P_ARP ||
	       proto == NT_ETH_P_RARP || proto == NT_ETH_P_LLDP || proto == NT_ETH_P_PAUSE;
}

/* Device part of the filter: cheap, evaluated before the packet is copied. */
NT_INLINE int nt_filter_match_dev(const volatile struct nt_filter *f, __u32 ifindex, __u32 netns)
{
	if (f->ifindex && f->ifindex != ifindex)
		return 0;
	if (f->netns && f->netns != netns)
		return 0;
	return 1;
}

NT_INLINE int nt_filter_needs_packet(const volatile struct nt_filter *f)
{
	return f->eth_match || f->l4_proto || f->has_vlan || f->has_saddr || f->has_daddr || f->sport ||
	       f->dport;
}

NT_INLINE int nt_filter_match_pkt(const volatile struct nt_filter *f, const struct nt_pkt *p)
{
	if (f->eth_match == NT_ETH_EXACT && p->eth_proto != f->eth_proto)
		return 0;
	if (f->eth_match == NT_ETH_OTHER && nt_eth_is_known(p->eth_proto))
		return 0;
	if (f->has_vlan) {
		if (p->vlan_depth == 0)
			return 0;
		if (p->vlan[0] != f->vlan_id && !(p->vlan_depth > 1 && p->vlan[1] == f->vlan_id))
			return 0;
	}
	if (f->has_saddr || f->has_daddr) {
		int fam_ok = (f->family == 4 && (p->l3 == NT_L3_IPV4 || p->l3 == NT_L3_ARP)) ||
			     (f->family == 6 && p->l3 == NT_L3_IPV6);
		if (!fam_ok)
			return 0;
		if (f->has_saddr && !nt_addr_eq(p->saddr, f->saddr, f->family))
			return 0;
		if (f->has_daddr && !nt_addr_eq(p->daddr, f->daddr, f->family))
			return 0;
	}
	if (f->l4_proto) {
		if (p->l3 != NT_L3_IPV4 && p->l3 != NT_L3_IPV6)
			return 0;
		if (p->l4_proto != f->l4_proto &&
		    !(f->l4_proto == NT_IPPROTO_ICMP && p->l4_proto == NT_IPPROTO_ICMPV6))
			return 0;
	}
	if (f->sport || f->dport) {
		if (!(p->flags & NT_PKT_HAS_L4) ||
		    (p->l4_proto != NT_IPPROTO_TCP && p->l4_proto != NT_IPPROTO_UDP))
			return 0;
		if (f->sport && p->sport != f->sport)
			return 0;
		if (f->dport && p->dport != f->dport)
			return 0;
	}
	return 1;
}

#endif
