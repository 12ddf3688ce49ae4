/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stage-correlation engine shared by every latency tool (nettrace perf latency, icmp-rtt, …).
 *
 * A tool is a stage table: an ordered list of stages per direction, each bound to a hook (a tracepoint
 * or kernel function) and, optionally, to a device class (physical, internal port, vnet). The BPF side
 * sees the table as per-hook "roles" in .rodata (struct nt_lat_role). At every hook hit it builds the
 * packet's identity key (struct nt_lat_key) — or finds it through the skb pointer while that skb
 * survives — and advances the packet's flow record (struct nt_lat_flow) with nt_lat_step().
 *
 * nt_lat_step() is pure: no helpers, no maps. The unit tests drive it with synthetic out-of-order,
 * duplicated and lost stage events; BPF runs the same code.
 *
 * Rules (stage = index in its direction's table, ordered as the packet travels):
 *   - a START stage with no flow creates one; a non-START stage with no flow is ignored (NOFLOW);
 *   - a START stage at or before the flow's last stage begins the packet again (RESTART): the old flow
 *     counts as incomplete at the last stage it reached (retransmission, key reuse, lost end stage);
 *   - a stage already seen is a duplicate (DUP), an earlier unseen stage is out of order (OOO): both are
 *     counted and ignored, the flow is unchanged;
 *   - a later stage advances (ADVANCE); skipped stages in between are bridged (the delta spans them);
 *   - an END stage completes the flow (COMPLETE): total = end ts - first ts;
 *   - a flow idle longer than max_gap_ns is stale: it counts as incomplete and the event is treated as if
 *     there were no flow (RESTART for START stages, STALE otherwise);
 *   - timestamps that go backwards (cross-CPU clock skew) give a delta of 0 and are counted (NEG).
 */
#ifndef NETTRACE_ABI_STAGE_H
#define NETTRACE_ABI_STAGE_H

#include "nettrace/abi/pkt.h"

#define NT_LAT_MAX_STAGES 32 /* per direction; power of two (index masks) */
#define NT_LAT_ROLES 4       /* roles (stage bindings) per hook */
#define NT_LAT_DIRS 2
#define NT_LAT_PHY_MAX 2     /* bond members */

/* Hooks: one BPF program (in several attach variants) per entry. */
enum nt_lat_hook {
	/* tracepoints */
	NT_LH_NET_DEV_QUEUE = 0,
	NT_LH_NET_DEV_START_XMIT,
	NT_LH_NET_DEV_XMIT,
	NT_LH_NETIF_RX,
	NT_LH_NAPI_GRO_RECEIVE,
	NT_LH_NETIF_RECEIVE_SKB,
	NT_LH_QDISC_DEQUEUE,
	/* kernel functions (fentry -> kprobe) */
	NT_LH_IP_LOCAL_OUT,
	NT_LH_IP_OUTPUT,
	NT_LH_IP_RCV,
	NT_LH_IP_LOCAL_DELIVER,
	NT_LH_TCP_V4_RCV,
	NT_LH_UDP_RCV,
	NT_LH_ICMP_RCV,
	NT_LH_INTERNAL_DEV_XMIT,
	NT_LH_NETDEV_FRAME_HOOK,
	NT_LH_OVS_VPORT_RECEIVE,
	NT_LH_OVS_DP_PROCESS_PACKET,
	NT_LH_OVS_DP_UPCALL,
	NT_LH_QUEUE_USERSPACE_PACKET,
	NT_LH_OVS_FLOW_KEY_EXTRACT_USERSPACE,
	NT_LH_OVS_EXECUTE_ACTIONS,
	NT_LH_OVS_VPORT_SEND,
	NT_LH_INTERNAL_DEV_RECV,
	NT_LH_NF_CONNTRACK_IN,
	/* the receive backlog (netif_rx .. __netif_receive_skb); static ones may be clones or inlined */
	NT_LH_NETIF_RX_FN,
	NT_LH_NETIF_RX_INTERNAL,
	NT_LH_ENQUEUE_TO_BACKLOG,
	NT_LH_NETIF_RECEIVE_SKB_FN, /* __netif_receive_skb */
	NT_LH_COUNT,
};

enum nt_lat_dev_class {
	NT_LAT_DEV_ANY = 0,
	NT_LAT_DEV_PHY = 1,      /* --phy-interface (up to NT_LAT_PHY_MAX) */
	NT_LAT_DEV_INTERNAL = 2, /* --internal-interface */
	NT_LAT_DEV_VNET = 3,     /* --vm-interface */
};

enum nt_lat_pkt_kind {
	NT_LAT_PKT_ANY = 0,
	NT_LAT_PKT_ICMP_REQUEST = 1, /* ICMP echo request / ICMPv6 echo request */
	NT_LAT_PKT_ICMP_REPLY = 2,
};

enum nt_lat_role_flags {
	NT_LAT_START = 1 << 0,    /* may begin a flow */
	NT_LAT_END = 1 << 1,      /* completes a flow */
	NT_LAT_REVERSE = 1 << 2,  /* the packet travels remote -> local: filter mirrored */
	NT_LAT_SWAP_KEY = 1 << 3, /* key with addresses/ports swapped (ICMP reply joins its request) */
	NT_LAT_BY_SKB = 1 << 4,   /* the skb survives from the previous stage: find the key by pointer */
	NT_LAT_FROM_DATA = 1 << 5, /* headers start at skb->data (OVS userspace re-inject) */
	NT_LAT_SPLIT = 1 << 6,    /* first stage of the second path (ICMP reply): RTT ends here */
	NT_LAT_TRY_SKB = 1 << 7,  /* the skb usually survives: take the key by pointer while that skb is neither
				   * freed nor reshaped since a parse stored it, else parse (OVS datapath) */
};

struct nt_lat_role {
	__u8 stage; /* index + 1 in its direction's table; 0: unused role */
	__u8 dir;
	__u8 dev;   /* enum nt_lat_dev_class */
	__u8 pkt;   /* enum nt_lat_pkt_kind */
	__u8 flags; /* enum nt_lat_role_flags */
	/* BY_SKB: index + 1 of the stage whose skb this one follows (the nearest earlier enabled stage that is not
	 * BY_SKB). A flow that has not reached it is not this skb's packet: the skb was freed and reused in
	 * between (a tap's net_dev_xmit fires after vhost may have consumed the skb). 0: no constraint. */
	__u8 chain;
	__u8 _pad[2];
};

struct nt_lat_dev {
	__u32 ifindex; /* 0: not configured */
	__u32 netns;
};

/* Packet identity: survives OVS's upcall (the re-injected skb is a new one) and GRO of the first segment. */
struct nt_lat_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;   /* TCP/UDP ports; 0 for non-first fragments */
	__u16 dport;
	__u32 ident;   /* TCP seq; ICMP id << 16 | seq */
	__u32 ident2;  /* TCP ack */
	__u16 ip_id;   /* IPv4 id (not for ICMP: a reply has its own) */
	__u16 frag_off;
	__u16 ip_len;
	__u8 l3;
	__u8 l4_proto;
	__u8 dir;
	__u8 _pad[7];
};

struct nt_lat_stage_rec {
	__u64 ts;
	__u64 skb;
	__u32 ifindex;
	__u32 netns;
	__u32 len;
	__s32 stack_id; /* -1: none */
	__u16 cpu;
	__u16 queue;
	__u32 _pad;
	char ifname[16];
};

struct nt_lat_flow {
	struct nt_lat_key key;
	__u64 first_ts;
	__u64 last_ts;
	__u64 split_ts;   /* first stage of the second path (0: not reached) */
	__u64 pair_ts;    /* the CPU pair's first stage (nt_lat_cpu_mark) */
	__u32 seen;       /* bit per stage; 0: a completed entry kept for reuse (skb-keyed flows) */
	__u8 first_stage;
	__u8 last_stage;
	__u8 nseen;
	__u8 dir;
	__u32 pid;        /* at the first stage */
	__u16 pair_cpu;   /* the CPU pair's first stage */
	/* Flows in their packet's skb (bpf/perf_latency.bpf.c, hybrid mode): the skb's shape and the keying role's
	 * tag when the packet was last parsed; a stage that finds them unchanged takes the packet without a parse. */
	__u8 skb_tag;
	__u8 freed;       /* hybrid mode: the skb was freed while the packet was in it (parked when reused) */
	__u32 skb_tail;
	__u32 skb_data_len;
	char comm[16];
	struct nt_pkt pkt; /* headers at the first stage */
	struct nt_lat_stage_rec st[NT_LAT_MAX_STAGES];
};

enum nt_lat_action {
	NT_LAT_A_NOFLOW = 0,  /* non-start stage, no flow: ignored */
	NT_LAT_A_START,       /* new flow (caller inserts it) */
	NT_LAT_A_RESTART,     /* old flow incomplete at its last stage, new one begun */
	NT_LAT_A_DUP,         /* stage already seen: ignored */
	NT_LAT_A_OOO,         /* earlier stage after a later one: ignored */
	NT_LAT_A_ADVANCE,
	NT_LAT_A_COMPLETE,    /* caller records the total and deletes the flow */
	NT_LAT_A_STALE,       /* non-start stage on an expired flow: old flow incomplete, deleted */
};

/* What nt_lat_step() tells its caller beyond the action. */
struct nt_lat_step_out {
	__u64 delta;      /* ADVANCE/COMPLETE: since the previous recorded stage */
	__u64 total;      /* COMPLETE: since the first stage */
	__u8 prev_stage;  /* ADVANCE/COMPLETE: the previous recorded stage */
	__u8 old_last;    /* RESTART/STALE: where the old flow stopped */
	__u8 neg;         /* the delta would have been negative */
	__u8 split;       /* this stage set split_ts */
};

/* Counters (per-CPU array slots). */
enum nt_lat_counter {
	NT_LAT_C_HITS = 0,    /* role evaluations that passed device/packet checks */
	NT_LAT_C_STARTED,
	NT_LAT_C_COMPLETED,
	NT_LAT_C_RESTARTED,
	NT_LAT_C_STALE,
	NT_LAT_C_DUP,
	NT_LAT_C_OOO,
	NT_LAT_C_NOFLOW,
	NT_LAT_C_NEG_DELTA,
	NT_LAT_C_PARSE_FAIL,
	NT_LAT_C_MAP_FULL,
	NT_LAT_C_RB_LOST,
	NT_LAT_C_STACK_FAIL,
	NT_LAT_C_EMITTED,
	NT_LAT_C_CPU_SAME,     /* CPU pair reached: both stages on one CPU */
	NT_LAT_C_CPU_MIGRATED, /* CPU pair reached: the second stage ran on another CPU */
	NT_LAT_NCOUNTERS,
};

/* Histograms (per-CPU hash): adjacent stage pairs, end to end, and RTT (start -> split). */
enum nt_lat_hist_kind {
	NT_LAT_H_PAIR = 0,
	NT_LAT_H_TOTAL = 1,
	NT_LAT_H_SPLIT = 2,
};

struct nt_lat_hist_key {
	__u8 kind;
	__u8 dir;
	__u8 from; /* stage index (PAIR: previous; TOTAL/SPLIT: first stage) */
	__u8 to;   /* stage index (PAIR: this; TOTAL: end stage; SPLIT: split stage) */
};

/*
 * CPU pair (struct nt_lat_cpu_cfg in .rodata): two stages of one direction whose CPUs are compared, e.g.
 * where a packet was queued to a backlog and where the backlog was processed. When a flow reaches `to`
 * having seen `from`, the latency from -> to goes into a histogram keyed by the two CPUs (map cpu_pairs)
 * and NT_LAT_C_CPU_SAME or NT_LAT_C_CPU_MIGRATED counts it.
 */
struct nt_lat_cpu_cfg {
	__u8 from; /* stage index + 1; 0: no CPU pair */
	__u8 to;   /* stage index + 1 */
	__u8 dir;
	__u8 _pad;
};

struct nt_lat_cpu_key {
	__u16 from_cpu;
	__u16 to_cpu;
};

/* Incomplete flows by the last stage they reached: index dir * NT_LAT_MAX_STAGES + stage. */
#define NT_LAT_INCOMPLETE_SLOTS (NT_LAT_DIRS * NT_LAT_MAX_STAGES)

NT_INLINE __u32 nt_lat_stage_idx(__u64 s)
{
#ifdef __bpf__
	asm volatile("" : "+r"(s));
#endif
	return (__u32)(s & (NT_LAT_MAX_STAGES - 1));
}

/*
 * The common histograms live in a per-CPU array (an inlined lookup, not a hash): an adjacent pair whose first
 * stage is the previous enabled stage (struct nt_lat_fast_cfg .prev), and an end to end from the direction's
 * first enabled stage (.first). Pairs across a stage that did not fire, and RTTs, go to the hash.
 */
struct nt_lat_fast_cfg {
	__u8 prev[NT_LAT_DIRS][NT_LAT_MAX_STAGES]; /* previous enabled stage's index + 1; 0: none */
	__u8 first[NT_LAT_DIRS];                   /* first enabled stage's index + 1; 0: none */
};

#define NT_LAT_FAST_SLOTS (2 * NT_LAT_DIRS * NT_LAT_MAX_STAGES)

/* The array slot of a histogram, or -1 when it belongs in the hash. prev1 and first1 are the config's
 * prev[dir][to] and first[dir] (BPF reads them from .rodata itself: through a plain pointer clang would
 * fold them to their zero initialisers). */
NT_INLINE int nt_lat_fast_slot(__u8 prev1, __u8 first1, __u32 kind, __u32 dir, __u32 from, __u32 to)
{
	dir &= 1;
	to = nt_lat_stage_idx(to);
	if (kind == NT_LAT_H_PAIR && prev1 == from + 1)
		return (int)(dir * NT_LAT_MAX_STAGES + to);
	if (kind == NT_LAT_H_TOTAL && first1 == from + 1)
		return (int)(NT_LAT_DIRS * NT_LAT_MAX_STAGES + dir * NT_LAT_MAX_STAGES + to);
	return -1;
}

/* The histogram key of an array slot (inverse of nt_lat_fast_slot); 0 when the slot is unused. */
NT_INLINE int nt_lat_fast_key(const struct nt_lat_fast_cfg *c, __u32 slot, struct nt_lat_hist_key *k)
{
	__u32 total = slot >= NT_LAT_DIRS * NT_LAT_MAX_STAGES, rest = slot % (NT_LAT_DIRS * NT_LAT_MAX_STAGES);
	__u32 dir = rest / NT_LAT_MAX_STAGES, to = rest % NT_LAT_MAX_STAGES;
	__u8 from1 = total ? c->first[dir] : c->prev[dir][to];

	if (slot >= NT_LAT_FAST_SLOTS || !from1)
		return 0;
	k->kind = total ? NT_LAT_H_TOTAL : NT_LAT_H_PAIR;
	k->dir = (__u8)dir;
	k->from = (__u8)(from1 - 1);
	k->to = (__u8)to;
	return 1;
}

/* The packet-kind constraint of a role: ICMP echo request or reply (IPv4 8/0, IPv6 128/129). */
NT_INLINE int nt_lat_pkt_ok(__u8 kind, const struct nt_pkt *p)
{
	if (kind == NT_LAT_PKT_ANY)
		return 1;
	if (!(p->flags & NT_PKT_HAS_L4))
		return 0;
	if (p->l4_proto == NT_IPPROTO_ICMP)
		return kind == NT_LAT_PKT_ICMP_REQUEST ? p->icmp_type == 8 : p->icmp_type == 0;
	if (p->l4_proto == NT_IPPROTO_ICMPV6)
		return kind == NT_LAT_PKT_ICMP_REQUEST ? p->icmp_type == 128 : p->icmp_type == 129;
	return 0;
}

/* Builds the identity key of a parsed packet. Returns 0 on success, -1 for non-IP packets. */
NT_INLINE int nt_lat_make_key(const struct nt_pkt *p, __u8 dir, int swap, struct nt_lat_key *k)
{
	const __u8 *s = swap ? p->daddr : p->saddr;
	const __u8 *d = swap ? p->saddr : p->daddr;

	if (p->l3 != NT_L3_IPV4 && p->l3 != NT_L3_IPV6)
		return -1;
	for (int i = 0; i < 16; i++) {
		k->saddr[i] = s[i];
		k->daddr[i] = d[i];
	}
	k->l3 = p->l3;
	k->l4_proto = p->l4_proto;
	k->dir = dir;
	k->frag_off = p->frag_off;
	k->ip_len = p->ip_len;
	k->sport = 0;
	k->dport = 0;
	k->ident = 0;
	k->ident2 = 0;
	k->ip_id = 0;
	for (int i = 0; i < 7; i++)
		k->_pad[i] = 0;
	if (p->l4_proto == NT_IPPROTO_ICMP || p->l4_proto == NT_IPPROTO_ICMPV6) {
		/* Request and reply share id/seq; their IP ids differ. An IPv4 echo too big for the MTU is one skb
		 * at ip_output and at icmp_rcv (reassembled) but its first fragment in between: no length in the
		 * key, so all three are one packet (id/seq and offset 0 tell echoes apart). The later fragments
		 * carry no ICMP header: their IP id keeps them apart (they are not ICMP echoes to any role). */
		if (p->flags & NT_PKT_HAS_L4)
			k->ident = (__u32)p->icmp_id << 16 | p->icmp_seq;
		else
			k->ip_id = p->ip_id;
		if (p->l3 == NT_L3_IPV4)
			k->ip_len = 0;
		return 0;
	}
	k->ip_id = p->ip_id;
	/* IPv4 datagrams other than TCP: no length in the key. A datagram too big for the MTU is one skb at
	 * ip_output, then fragments of which the first keeps its addresses, ports, IP id and offset 0, and on the
	 * receiver the reassembled datagram at udp_rcv has them too: only the length tells them apart. Without it
	 * the first fragment carries on the datagram's flow (TX) and the reassembled datagram completes the first
	 * fragment's (RX); the other fragments are flows of their own. (TCP keeps it: seq/ack/IP id identify a
	 * segment anyway. IPv6 fragments get an identification the unfragmented datagram lacks.) */
	if (p->l3 == NT_L3_IPV4 && p->l4_proto != NT_IPPROTO_TCP)
		k->ip_len = 0;
	if (p->flags & NT_PKT_HAS_L4) {
		k->sport = swap ? p->dport : p->sport;
		k->dport = swap ? p->sport : p->dport;
		if (p->l4_proto == NT_IPPROTO_TCP) {
			k->ident = p->tcp_seq;
			k->ident2 = p->tcp_ack;
		}
	}
	return 0;
}

NT_INLINE void nt_lat_flow_begin(struct nt_lat_flow *f, __u32 stage, __u8 dir, __u64 ts)
{
	f->first_ts = ts;
	f->last_ts = ts;
	f->split_ts = 0;
	f->seen = 1U << nt_lat_stage_idx(stage);
	f->first_stage = (__u8)stage;
	f->last_stage = (__u8)stage;
	f->nseen = 1;
	f->dir = dir;
}

/*
 * Advances flow f (valid only when exists) by an event of `stage` with role flags at time ts.
 * On START/RESTART the caller fills the rest of the record (key, packet, process).
 */
NT_INLINE enum nt_lat_action nt_lat_step(struct nt_lat_flow *f, int exists, __u32 stage, __u8 dir, __u32 flags,
					 __u64 ts, __u64 max_gap_ns, struct nt_lat_step_out *o)
{
	__u32 bit;

	stage = nt_lat_stage_idx(stage);
	bit = 1U << stage;
	o->delta = 0;
	o->total = 0;
	o->neg = 0;
	o->split = 0;
	o->prev_stage = 0;
	o->old_last = 0;
	if (exists && max_gap_ns && ts > f->last_ts && ts - f->last_ts > max_gap_ns) {
		o->old_last = f->last_stage;
		if (!(flags & NT_LAT_START))
			return NT_LAT_A_STALE;
		nt_lat_flow_begin(f, stage, dir, ts);
		return NT_LAT_A_RESTART;
	}
	if (!exists) {
		if (!(flags & NT_LAT_START))
			return NT_LAT_A_NOFLOW;
		nt_lat_flow_begin(f, stage, dir, ts);
		return NT_LAT_A_START;
	}
	if ((flags & NT_LAT_START) && stage <= f->last_stage) {
		o->old_last = f->last_stage;
		nt_lat_flow_begin(f, stage, dir, ts);
		return NT_LAT_A_RESTART;
	}
	if (f->seen & bit)
		return NT_LAT_A_DUP;
	if (stage < f->last_stage)
		return NT_LAT_A_OOO;
	o->prev_stage = f->last_stage;
	if (ts >= f->last_ts) {
		o->delta = ts - f->last_ts;
	} else {
		o->neg = 1;
		ts = f->last_ts;
	}
	f->seen |= bit;
	f->last_stage = (__u8)stage;
	f->last_ts = ts;
	f->nseen++;
	if ((flags & NT_LAT_SPLIT) && !f->split_ts) {
		f->split_ts = ts;
		o->split = 1;
	}
	if (flags & NT_LAT_END) {
		o->total = ts - f->first_ts;
		return NT_LAT_A_COMPLETE;
	}
	return NT_LAT_A_ADVANCE;
}

/*
 * After a START/RESTART/ADVANCE at `stage` on `cpu` (f already updated, f->last_ts the stage's time): when it is
 * the CPU pair's first stage, remember where and when (summary mode keeps no stage records).
 */
NT_INLINE void nt_lat_cpu_mark(struct nt_lat_flow *f, const struct nt_lat_cpu_cfg *c, __u32 stage, __u8 dir,
			       __u32 cpu)
{
	if (c->from && c->to && c->dir == dir && stage + 1 == c->from) {
		f->pair_cpu = (__u16)cpu;
		f->pair_ts = f->last_ts;
	}
}

/*
 * After an ADVANCE/COMPLETE at `stage` on `cpu` (f already updated, f->last_ts the stage's time): is this the
 * CPU pair's second stage with the first one seen? Then fills the key (first stage's CPU, this CPU) and the
 * latency between the two and returns 1; otherwise 0.
 */
NT_INLINE int nt_lat_cpu_pair(const struct nt_lat_flow *f, const struct nt_lat_cpu_cfg *c, __u32 stage, __u8 dir,
			      __u32 cpu, struct nt_lat_cpu_key *k, __u64 *delta)
{
	__u32 from;

	if (!c->from || !c->to || c->dir != dir || stage + 1 != c->to)
		return 0;
	from = nt_lat_stage_idx(c->from - 1);
	if (!(f->seen & (1U << from)))
		return 0;
	k->from_cpu = f->pair_cpu;
	k->to_cpu = (__u16)cpu;
	*delta = f->last_ts > f->pair_ts ? f->last_ts - f->pair_ts : 0;
	return 1;
}

#endif
