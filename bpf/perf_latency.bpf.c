// SPDX-License-Identifier: GPL-2.0
/*
 * perf_latency: the stage-correlation engine of every latency tool (nettrace perf latency, icmp-rtt).
 *
 * Each hook (tracepoint or kernel function) has up to NT_LAT_ROLES roles in .rodata, set by the host
 * from the tool's stage table (nettrace/abi/stage.h). A hit evaluates the roles: device class, packet
 * kind, filter, then the packet's identity key (or the key its skb pointer already maps to) and
 * nt_lat_step() on the flow record. Adjacent-stage, end-to-end and RTT histograms aggregate in a per-CPU
 * hash; completed flows over the threshold go to the ring buffer with every stage's record.
 * Variants: tp_btf -> raw_tp -> tracepoint for tracepoints, fentry -> kprobe for functions.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/hist.h"
#include "nettrace/abi/qdisc.h"
#include "nettrace/abi/stage.h"
#include "nt/common.bpf.h"
#include "nt/skb.bpf.h"
#include "nt/hooks.bpf.h"

const volatile struct nt_lat_role cfg_roles[NT_LH_COUNT][NT_LAT_ROLES] = {};
const volatile struct nt_filter cfg_filter_fwd = {};
const volatile struct nt_filter cfg_filter_rev = {}; /* src/dst mirrored: packets remote -> local */
const volatile struct nt_lat_dev cfg_phy[NT_LAT_PHY_MAX] = {};
const volatile struct nt_lat_dev cfg_internal = {};
const volatile struct nt_lat_dev cfg_vnet = {};
const volatile __u64 cfg_max_gap_ns = 1000000000ULL;
const volatile __u64 cfg_threshold_ns = 0;
const volatile bool cfg_details = false;
const volatile bool cfg_stacks = false;
const volatile bool cfg_track_skb = true;
const volatile bool cfg_key_skb = false; /* flows keyed by skb pointer: every later stage is BY_SKB */
const volatile bool cfg_hybrid = false;  /* flows live in their packet's skb, found by identity when it changes */
const volatile struct nt_lat_cpu_cfg cfg_cpu = {};
const volatile struct nt_lat_fast_cfg cfg_fast = {};

/*
 * Where a flow lives, by mode (the host picks one per stage table):
 * - identity (neither flag): flows, keyed by packet identity; skbs maps an skb to its packet's key for BY_SKB
 *   stages.
 * - cfg_key_skb: skb_flows, keyed by skb pointer; every stage after the first follows the skb.
 * - cfg_hybrid: skb_flows while the packet is in that skb (one lookup per stage, entries reused in place by the
 *   skb's next packet). A stage whose skb has no entry for the packet parses it and takes the flow over from
 *   the skb that carried it before (ids: clones, shared skbs, and an skb freed with its packet in flight: OVS's
 *   upcall, whose re-injected packet is a new skb; an ICMP request's reply) or from parked, where the flow of
 *   a freed skb goes when the skb carries its next packet.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct nt_lat_key);
	__type(value, struct nt_lat_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct nt_lat_flow);
} skb_flows SEC(".maps");

/* Hybrid mode: hash of a packet's identity (key_hash) -> the skb whose entry last held its flow (checked against
 * that entry's key: a collision finds nothing). Written for every packet: an 8-byte key hashes cheaper. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} ids SEC(".maps");

/* Hybrid mode: flows whose skb was freed in flight and reused, by key_hash() of their packet (checked against
 * their key). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct nt_lat_flow);
} parked SEC(".maps");

/* Identity mode: the packet an skb carries, as the last parsing stage saw it. Only the key (lat_skb_store stores
 * a struct nt_lat_key as one). */
struct skb_ent {
	struct nt_lat_key key; /* key.dir: NT_LAT_DIR_DONE once the packet completed */
};

/* skb pointer -> key, while the skb lives through adjacent stages. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct skb_ent);
} skbs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_lat_flow);
} flow_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct nt_lat_hist_key);
	__type(value, struct nt_hist);
} hists SEC(".maps");

/* The common histograms (nt_lat_fast_slot); the rest are in hists. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_LAT_FAST_SLOTS);
	__type(key, __u32);
	__type(value, struct nt_hist);
} fast_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_LAT_INCOMPLETE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} incomplete SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 32 * sizeof(__u64));
} stacks SEC(".maps");

NT_COUNTER_MAP(counters, NT_LAT_NCOUNTERS);

/* (first stage's CPU, second stage's CPU) of the CPU pair -> latency between the two (cfg_cpu). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_lat_cpu_key);
	__type(value, struct nt_hist);
} cpu_pairs SEC(".maps");

static struct nt_hist hist_zero;

/*
 * The heavy parts are global functions: the verifier checks each once, not once per call site and role
 * (inlined, parse x filter x step x histograms exceeded the 1M-instruction budget).
 * A kernel before 5.12 takes no pointer arguments to a global function ("Arg#0 type PTR in lat_key_of() is not
 * supported yet"): there the loader makes the ones taking pointers static (their BTF linkage,
 * bpf::make_ptr_subprogs_static), checked at each call site as if inlined; the scalar-only ones stay global.
 */
__noinline int lat_hist_add(__u32 kind, __u32 dir, __u32 from, __u32 to, __u64 v)
{
	struct nt_lat_hist_key k = {.kind = kind, .dir = dir, .from = from, .to = to};
	int slot = nt_lat_fast_slot(cfg_fast.prev[dir & 1][nt_lat_stage_idx(to)], cfg_fast.first[dir & 1], kind, dir,
				    from, to);
	struct nt_hist *h;

	if (slot >= 0) {
		__u32 s = slot;

		h = bpf_map_lookup_elem(&fast_hists, &s);
	} else {
		h = nt_map_lookup_or_init(&hists, &k, &hist_zero);
	}

	if (!h) {
		nt_count(&counters, NT_LAT_C_MAP_FULL);
		return 0;
	}
	nt_hist_add(h, v);
	return 0;
}

#define hist_add(kind, dir, from, to, v) lat_hist_add(kind, dir, from, to, v)

/* The CPU pair's first stage: what: stage | direction << 8. */
__noinline int lat_cpu_mark(struct nt_lat_flow *f, __u32 what)
{
	struct nt_lat_cpu_cfg c = {.from = cfg_cpu.from, .to = cfg_cpu.to, .dir = cfg_cpu.dir};

	if (f)
		nt_lat_cpu_mark(f, &c, what & 0xff, (what >> 8) & 1, bpf_get_smp_processor_id());
	return 0;
}

/* The CPU pair: what: stage | direction << 8. */
__noinline int lat_cpu_pair(struct nt_lat_flow *f, __u32 what)
{
	struct nt_lat_cpu_cfg c = {.from = cfg_cpu.from, .to = cfg_cpu.to, .dir = cfg_cpu.dir};
	struct nt_lat_cpu_key k = {};
	struct nt_hist *h;
	__u64 delta = 0;

	if (!f || !nt_lat_cpu_pair(f, &c, what & 0xff, (what >> 8) & 1, bpf_get_smp_processor_id(), &k, &delta))
		return 0;
	nt_count(&counters, k.from_cpu == k.to_cpu ? NT_LAT_C_CPU_SAME : NT_LAT_C_CPU_MIGRATED);
	h = nt_map_lookup_or_init(&cpu_pairs, &k, &hist_zero);
	if (!h) {
		nt_count(&counters, NT_LAT_C_MAP_FULL);
		return 0;
	}
	nt_hist_add(h, delta);
	return 0;
}

static __always_inline void count_incomplete(__u8 dir, __u8 stage)
{
	__u32 idx = (dir & 1) * NT_LAT_MAX_STAGES + nt_lat_stage_idx(stage);

	nt_count(&incomplete, idx);
}

static __always_inline bool dev_ok(__u8 cls, __u32 ifindex, __u32 netns)
{
	switch (cls) {
	case NT_LAT_DEV_ANY:
		return true;
	case NT_LAT_DEV_PHY:
		for (int i = 0; i < NT_LAT_PHY_MAX; i++)
			if (cfg_phy[i].ifindex && cfg_phy[i].ifindex == ifindex &&
			    (!cfg_phy[i].netns || cfg_phy[i].netns == netns))
				return true;
		/* No physical interface configured: any device. */
		return cfg_phy[0].ifindex == 0;
	case NT_LAT_DEV_INTERNAL:
		return cfg_internal.ifindex == ifindex && (!cfg_internal.netns || cfg_internal.netns == netns);
	case NT_LAT_DEV_VNET:
		return cfg_vnet.ifindex == ifindex && (!cfg_vnet.netns || cfg_vnet.netns == netns);
	}
	return false;
}

/* Headers at skb->data, Ethernet first: the OVS userspace re-inject before key_extract sets offsets. */
static __always_inline int parse_from_data(const struct nt_skb_view *v, struct nt_pkt *p)
{
	__u32 zero = 0, n = v->len - v->data_len;
	struct nt_hdr_buf *buf = bpf_map_lookup_elem(&nt_hdr_scratch, &zero);
	const void *data = (const void *)v->data;

	if (!buf || !data)
		return -1;
	if (n > NT_PKT_MAX)
		n = NT_PKT_MAX;
	barrier_var(n);
	n &= sizeof(buf->b) - 1;
	if (bpf_probe_read_kernel(buf->b, n, data))
		return -1;
	return nt_parse_eth(buf->b, n, p);
}

struct hit {
	struct sk_buff *skb;
	__u32 ifindex;
	__u32 netns;
	struct net_device *dev;
	__u64 ts;    /* the hit's time, read once for all its roles (0: not yet) */
	bool viewed; /* v holds the skb's fields */
	bool parsed; /* pkt holds this role's parse */
	struct nt_skb_view v;
	struct nt_pkt pkt;
};

/*
 * lat_key_of's arguments and results: a global function takes only scalars and the context before Linux 5.12, and
 * it is too heavy to verify at each call site (parse x filter: over the 1M-instruction budget), so the hit's
 * fields it needs go in and come out through this per-CPU slot, copied around the call. A nettrace program that
 * interrupts the call on the same CPU (softirq) could overwrite it, as it could nt_hdr_scratch during a parse.
 */
struct key_io {
	__u64 skb;
	bool viewed;
	struct nt_skb_view v;
	struct nt_pkt pkt;
	struct nt_lat_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct key_io);
} key_scratch SEC(".maps");

/* Parse, check packet kind and filter, build the key (key_scratch). 0: the packet is one of ours; -1: not parsed or
 * not the role's kind; -2: the filter rejects it. The skb's fields come read into io->v (a global function takes
 * no trusted pointers). */
/* what: role flags | packet kind << 8 | direction << 16. */
__noinline int lat_key_of(__u32 what)
{
	__u32 flags = what & 0xff, pkt_kind = (what >> 8) & 0xff, dir = (what >> 16) & 1, zero = 0;
	struct key_io *io = bpf_map_lookup_elem(&key_scratch, &zero);
	struct nt_pkt *p;
	int ok;

	if (!io)
		return -1;
	/* Probed reads here, not in the program: their temporaries would push its stack (plus this function's)
	 * past 512 bytes (6.1). Trusted pointers were read directly by the caller. */
	if (!io->viewed) {
		nt_skb_view_read((struct sk_buff *)io->skb, &io->v, false);
		io->viewed = true;
	}
	p = &io->pkt;
	__builtin_memset(p, 0, sizeof(*p));
	if (flags & NT_LAT_FROM_DATA)
		ok = parse_from_data(&io->v, p) == 0;
	else
		ok = nt_skb_parse_view(&io->v, p) == 0;
	if (!ok) {
		nt_count(&counters, NT_LAT_C_PARSE_FAIL);
		return -1;
	}
	if (!nt_lat_pkt_ok(pkt_kind, p))
		return -1;
	if (flags & NT_LAT_REVERSE) {
		if (nt_filter_needs_packet(&cfg_filter_rev) && !nt_filter_match_pkt(&cfg_filter_rev, p))
			return -2;
	} else {
		if (nt_filter_needs_packet(&cfg_filter_fwd) && !nt_filter_match_pkt(&cfg_filter_fwd, p))
			return -2;
	}
	return nt_lat_make_key(p, dir, flags & NT_LAT_SWAP_KEY, &io->key);
}

/* lat_key_of for the hit h: its view of the skb and its parse come back in h, the key in k. */
static __always_inline int key_of(struct hit *h, __u32 what, struct nt_lat_key *k)
{
	__u32 zero = 0;
	struct key_io *io = bpf_map_lookup_elem(&key_scratch, &zero);
	int r;

	if (!io)
		return -1;
	io->skb = (__u64)h->skb;
	io->viewed = h->viewed;
	if (h->viewed)
		io->v = h->v;
	r = lat_key_of(what);
	if (!h->viewed && io->viewed) {
		h->v = io->v;
		h->viewed = true;
	}
	h->pkt = io->pkt;
	if (r == 0)
		*k = io->key;
	return r;
}

/* The skb's packet for later stages (struct skb_ent, identity mode). */
__noinline int lat_skb_store(struct hit *h, struct nt_lat_key *key)
{
	struct skb_ent *e;
	struct key_io *io;
	__u32 zero = 0;
	__u64 skbp;

	if (!h || !key)
		return 0;
	skbp = (__u64)h->skb; /* read here: the caller's copy may still be a pointer to the verifier */
	e = bpf_map_lookup_elem(&skbs, &skbp);
	if (e) {
		e->key = *key;
		return 0;
	}
	/* The new entry (struct skb_ent is the key alone) is staged in key_scratch, not on this function's stack
	 * (the program's stack plus this one's must stay within 512 bytes), and not taken from key itself (the
	 * verifier takes no argument memory as a map value). key_scratch's key is free again after key_of. */
	io = bpf_map_lookup_elem(&key_scratch, &zero);
	if (!io)
		return 0;
	io->key = *key;
	bpf_map_update_elem(&skbs, &skbp, &io->key, BPF_ANY);
	return 0;
}

/* FNV-1a over the key's words. */
static __always_inline __u64 key_hash(const struct nt_lat_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u64 h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < (int)(sizeof(*k) / sizeof(__u32)); i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

static __always_inline bool key_eq(const struct nt_lat_key *a, const struct nt_lat_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff = 0;

	for (int i = 0; i < (int)(sizeof(*a) / sizeof(__u32)); i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/*
 * Hybrid mode: the flow of packet key, parsed at this hit, moved into the entry of the hit's skb: from the skb whose entry
 * held it (ids; a clone or copy of that skb carries the packet on) or from parked (its skb was freed).
 * Returns 1 when that entry now holds it.
 */
__noinline int lat_adopt(struct hit *h, struct nt_lat_key *key)
{
	struct nt_lat_flow *g = NULL;
	__u64 *prev, from, skbp, id;

	if (!h || !key)
		return 0;
	skbp = (__u64)h->skb; /* read here: the caller's copy is still a pointer to the verifier */
	id = key_hash(key);
	prev = bpf_map_lookup_elem(&ids, &id);
	if (prev && *prev != skbp) {
		from = *prev;
		g = bpf_map_lookup_elem(&skb_flows, &from);
		if (g && (!g->seen || !key_eq(&g->key, key)))
			g = NULL;
		if (g) {
			if (bpf_map_update_elem(&skb_flows, &skbp, g, BPF_ANY)) {
				nt_count(&counters, NT_LAT_C_MAP_FULL);
				return 0;
			}
			g->seen = 0;
		}
	}
	if (!g) {
		g = bpf_map_lookup_elem(&parked, &id);
		if (!g || !key_eq(&g->key, key))
			return 0;
		if (bpf_map_update_elem(&skb_flows, &skbp, g, BPF_ANY)) {
			nt_count(&counters, NT_LAT_C_MAP_FULL);
			return 0;
		}
		bpf_map_delete_elem(&parked, &id);
	}
	bpf_map_update_elem(&ids, &id, &skbp, BPF_ANY);
	return 1;
}

/* Hybrid mode: a packet begun in the hit's skb, for its clones and copies (lat_adopt). */
__noinline int lat_id_store(struct hit *h, struct nt_lat_key *key)
{
	__u64 skbp, id;

	if (!h || !key)
		return 0;
	skbp = (__u64)h->skb;
	id = key_hash(key);
	bpf_map_update_elem(&ids, &id, &skbp, BPF_ANY);
	return 0;
}

/* what: stage | direction << 8 | role flags << 16 | exists << 24. */
__noinline int lat_step(struct nt_lat_flow *f, __u32 what, __u64 ts, struct nt_lat_step_out *o)
{
	if (!f || !o)
		return NT_LAT_A_NOFLOW;
	return nt_lat_step(f, (what >> 24) & 1, what & 0xff, (what >> 8) & 1, (what >> 16) & 0xff, ts, cfg_max_gap_ns, o);
}

static __always_inline void fill_rec(void *ctx, struct nt_lat_stage_rec *r, struct hit *h, __u64 ts)
{
	/* Locals, not h->…: CO-RE macros would record relocations against struct hit itself. */
	struct sk_buff *skb = h->skb;
	struct net_device *dev = h->dev;

	r->ts = ts;
	r->skb = (__u64)skb;
	r->ifindex = h->ifindex;
	r->netns = h->netns;
	r->len = h->viewed ? h->v.len : BPF_CORE_READ(skb, len);
	r->queue = h->viewed ? h->v.queue_mapping : BPF_CORE_READ(skb, queue_mapping);
	r->cpu = bpf_get_smp_processor_id();
	r->stack_id = -1;
	if (cfg_stacks) {
		r->stack_id = bpf_get_stackid(ctx, &stacks, 0);
		if (r->stack_id < 0)
			nt_count(&counters, NT_LAT_C_STACK_FAIL);
	}
	__builtin_memset(r->ifname, 0, sizeof(r->ifname));
	if (dev)
		BPF_CORE_READ_STR_INTO(&r->ifname, dev, name);
}

/* The skbs entry of a completed packet: kept, and marked so that no later stage takes its key. */
#define NT_LAT_DIR_DONE 0xff

/* What a role's parse depends on besides the packet: its kind, the filter side and key orientation (path-wide
 * flags; SPLIT marks one stage only). */
static __always_inline __u8 role_tag(const volatile struct nt_lat_role *role)
{
	return role->pkt | (role->flags & (NT_LAT_REVERSE | NT_LAT_SWAP_KEY));
}

/*
 * One role of a hook hit. direct: skb is a trusted BTF pointer (see nt_skb_view_read).
 *
 * Map writes (update, delete) are what a stage costs most: each takes a bucket lock with interrupts off
 * (and the LRU list lock), a hypercall pair on a paravirtualised guest. So an entry that is about to be
 * written again is kept and rewritten in place: a completed skb-keyed flow stays as a free entry (seen == 0)
 * for the next packet in the same recycled skb, and an skbs entry is overwritten rather than re-inserted.
 */
static __always_inline void do_role(void *ctx, struct hit *h, const volatile struct nt_lat_role *role,
				    struct sk_buff *skb, const bool direct)
{
	__u8 stage = role->stage - 1, dir = role->dir & 1, flags = role->flags;
	struct nt_lat_key key = {};
	struct skb_ent *kp = NULL;
	struct nt_lat_step_out o = {};
	struct nt_lat_flow *f = NULL;
	__u64 ts = 0, skbp = (__u64)h->skb;
	__u32 zero = 0;
	int exists, present, act;
	bool by_ptr = false; /* hybrid: the skb's entry is this packet's flow, taken without a parse */

	if (!dev_ok(role->dev, h->ifindex, h->netns))
		return;
	if (cfg_hybrid) {
		/* The skb's entry is the packet while the skb is neither freed nor reshaped since a parse: tail
		 * offset and paged length unchanged (push/pull of headers keep both; defragmentation and head
		 * reallocation change them). Same direction and role kind (packet kind, filter side, key
		 * orientation). A BY_SKB stage trusts the skb even once freed (net_dev_xmit after the peer consumed
		 * it). A later start takes it only for a packet it advances: one it begins needs the parse (the
		 * filter; details' headers). */
		f = bpf_map_lookup_elem(&skb_flows, &skbp);
		by_ptr = f && f->seen && f->dir == dir && (flags & (NT_LAT_BY_SKB | NT_LAT_TRY_SKB)) &&
			 ((flags & NT_LAT_BY_SKB) ||
			  (!f->freed && f->skb_tag == role_tag(role) && f->skb_tail == NT_SKB_RD(direct, skb, tail) &&
			   f->skb_data_len == NT_SKB_RD(direct, skb, data_len))) &&
			 (!(flags & NT_LAT_START) || nt_lat_stage_idx(stage) > f->last_stage);
		if (by_ptr)
			key = f->key;
	} else if (!cfg_key_skb && (flags & NT_LAT_BY_SKB) && cfg_track_skb) {
		kp = bpf_map_lookup_elem(&skbs, &skbp);
		if (kp && kp->key.dir == dir)
			key = kp->key;
		else
			kp = NULL;
	}
	/* Skb-keyed flows: only the first stage (the start, not BY_SKB) needs the headers, for the filter. */
	const bool need_key = cfg_key_skb ? (flags & NT_LAT_START) || !(flags & NT_LAT_BY_SKB)
				: cfg_hybrid ? !by_ptr : !kp;
	if (direct && (need_key || cfg_details) && !h->viewed) {
		/* skb, not h->skb: a pointer stored in a struct comes back untrusted. */
		nt_skb_view_read(skb, &h->v, true);
		h->viewed = true;
	}
	if (need_key) {
		int r = key_of(h, flags | (__u32)role->pkt << 8 | (__u32)dir << 16, &key);

		h->parsed = r == 0;
		if (r == -2 && cfg_key_skb && (flags & NT_LAT_START)) {
			/* Every packet passes the first stage: one the filter rejects in an skb whose packet had
			 * started means that packet's skb was freed on the way (a drop) and reused. Its flow is
			 * incomplete, and the later stages of this packet must not advance it. */
			f = bpf_map_lookup_elem(&skb_flows, &skbp);
			if (f && f->seen && f->dir == dir) {
				count_incomplete(dir, f->last_stage);
				f->seen = 0;
			}
		}
		if (!h->parsed)
			return;
	}
	if (cfg_hybrid && !by_ptr && !(f && f->seen && f->dir == dir && key_eq(&f->key, &key))) {
		/* Not the skb's packet (or the skb has none): the flow is elsewhere, or this packet begins. The
		 * skb's earlier packet leaves: parked if its skb was freed on the way (its packet may go on in
		 * another skb), else incomplete (reassembly made the last fragment's skb the datagram; the skb
		 * was reused without a traced free; the packet was rewritten). A packet of the other direction
		 * stays: this role merely sees its skb. */
		if (f && f->seen) {
			if (f->freed) {
				__u64 id = key_hash(&f->key);

				if (bpf_map_update_elem(&parked, &id, f, BPF_ANY))
					nt_count(&counters, NT_LAT_C_MAP_FULL);
			} else if (f->dir == dir || (flags & NT_LAT_START)) {
				count_incomplete(f->dir, f->last_stage);
			} else {
				nt_count(&counters, NT_LAT_C_NOFLOW);
				return;
			}
			f->seen = 0;
		}
		/* A direction's first stages (START alone) have no earlier stage to take a flow from. */
		if ((!(flags & NT_LAT_START) || (flags & (NT_LAT_TRY_SKB | NT_LAT_BY_SKB))) && lat_adopt(h, &key)) {
			f = bpf_map_lookup_elem(&skb_flows, &skbp);
		} else if (!(flags & NT_LAT_START)) {
			nt_count(&counters, NT_LAT_C_NOFLOW);
			return;
		}
	}
	nt_count(&counters, NT_LAT_C_HITS);

	if (!f && !cfg_hybrid)
		f = cfg_key_skb ? bpf_map_lookup_elem(&skb_flows, &skbp) : bpf_map_lookup_elem(&flows, &key);
	present = f != NULL;
	exists = present && f->seen;
	if (exists && f->dir != dir) {
		/* Skb-keyed: the skb (its memory) now travels the other way; its old packet never completed. */
		if (!(flags & NT_LAT_START))
			return;
		count_incomplete(f->dir, f->last_stage);
		exists = 0;
	}
	if (!f) {
		f = bpf_map_lookup_elem(&flow_scratch, &zero);
		if (!f)
			return;
	}
	if (exists && role->chain && f->last_stage + 1 < role->chain && !(flags & NT_LAT_START)) {
		/* The skb's packet never reached the stage this one follows: another packet's skb, freed and
		 * reused in between. */
		nt_count(&counters, NT_LAT_C_NOFLOW);
		return;
	}
	if (cfg_hybrid && !by_ptr) {
		/* Parsed here: later stages take the packet by pointer while the skb keeps this shape. */
		f->skb_tag = role_tag(role);
		f->freed = 0;
		f->skb_tail = h->v.tail;
		f->skb_data_len = h->v.data_len;
	}
	/* The clock only for a packet this stage times: a clock read is a helper call (an emulated HPET read on
	 * some VMs), and most hits of a shared hook are other packets. */
	if (exists || (flags & NT_LAT_START)) {
		if (!h->ts)
			h->ts = bpf_ktime_get_ns();
		ts = h->ts;
	}
	act = lat_step(f, stage | (__u32)dir << 8 | (__u32)flags << 16 | (__u32)(exists != 0) << 24, ts, &o);
	switch (act) {
	case NT_LAT_A_NOFLOW:
		nt_count(&counters, NT_LAT_C_NOFLOW);
		return;
	case NT_LAT_A_DUP:
		nt_count(&counters, NT_LAT_C_DUP);
		return;
	case NT_LAT_A_OOO:
		nt_count(&counters, NT_LAT_C_OOO);
		return;
	case NT_LAT_A_STALE:
		nt_count(&counters, NT_LAT_C_STALE);
		count_incomplete(dir, o.old_last);
		if (cfg_key_skb || cfg_hybrid)
			f->seen = 0;
		else
			bpf_map_delete_elem(&flows, &key);
		return;
	case NT_LAT_A_RESTART:
		nt_count(&counters, NT_LAT_C_RESTARTED);
		count_incomplete(dir, o.old_last);
		/* fallthrough */
	case NT_LAT_A_START:
		nt_count(&counters, NT_LAT_C_STARTED);
		f->key = key;
		/* Process, headers and stage records are only read from emitted records (details mode);
		 * summary mode keeps the timing and the stage bits only. */
		if (cfg_details) {
			f->pid = bpf_get_current_pid_tgid() >> 32;
			bpf_get_current_comm(f->comm, sizeof(f->comm));
			if (h->parsed)
				f->pkt = h->pkt;
			else
				__builtin_memset(&f->pkt, 0, sizeof(f->pkt));
			fill_rec(ctx, &f->st[nt_lat_stage_idx(stage)], h, ts);
		}
		if (cfg_cpu.to)
			lat_cpu_mark(f, stage | (__u32)dir << 8);
		if (!present) {
			long err = cfg_key_skb || cfg_hybrid ? bpf_map_update_elem(&skb_flows, &skbp, f, BPF_ANY)
							     : bpf_map_update_elem(&flows, &key, f, BPF_ANY);

			if (err) {
				nt_count(&counters, NT_LAT_C_MAP_FULL);
				return;
			}
		}
		/* Clones and copies of the skb find the packet's flow through its identity. */
		if (cfg_hybrid)
			lat_id_store(h, &key);
		break;
	case NT_LAT_A_ADVANCE:
	case NT_LAT_A_COMPLETE:
		if (cfg_details)
			fill_rec(ctx, &f->st[nt_lat_stage_idx(stage)], h, f->last_ts);
		if (o.neg)
			nt_count(&counters, NT_LAT_C_NEG_DELTA);
		hist_add(NT_LAT_H_PAIR, dir, o.prev_stage, stage, o.delta);
		if (o.split)
			hist_add(NT_LAT_H_SPLIT, dir, f->first_stage, stage, f->split_ts - f->first_ts);
		if (cfg_cpu.to) {
			lat_cpu_mark(f, stage | (__u32)dir << 8);
			lat_cpu_pair(f, stage | (__u32)dir << 8);
		}
		break;
	}
	if (act == NT_LAT_A_COMPLETE) {
		nt_count(&counters, NT_LAT_C_COMPLETED);
		hist_add(NT_LAT_H_TOTAL, dir, f->first_stage, stage, o.total);
		if (cfg_details && o.total >= cfg_threshold_ns) {
			if (bpf_ringbuf_output(&events, f, sizeof(*f), 0))
				nt_count(&counters, NT_LAT_C_RB_LOST);
			else
				nt_count(&counters, NT_LAT_C_EMITTED);
		}
		if (cfg_key_skb || cfg_hybrid) {
			f->seen = 0;
			return;
		}
		bpf_map_delete_elem(&flows, &key);
		if (cfg_track_skb) {
			if (!kp)
				kp = bpf_map_lookup_elem(&skbs, &skbp);
			if (kp)
				kp->key.dir = NT_LAT_DIR_DONE;
		}
		return;
	}
	/* A key found through the skb pointer is already stored under it. */
	if (!cfg_key_skb && !cfg_hybrid && cfg_track_skb && !kp)
		lat_skb_store(h, &key);
}

static __always_inline int on_hook(void *ctx, struct sk_buff *skb, struct net_device *dev, __u32 hook,
				   const bool direct)
{
	struct hit h = {};

	if (!skb || hook >= NT_LH_COUNT)
		return 0;
	/* Every role of this hook unused: nothing to do (the verifier prunes the rest). */
	if (!cfg_roles[hook][0].stage)
		return 0;
	h.skb = skb;
	/* Device and netns only where a role checks the device class or a record shows them: in a kprobe
	 * program they are four probed reads. */
	bool need_dev = cfg_details;
	for (int r = 0; r < NT_LAT_ROLES; r++) {
		if (!cfg_roles[hook][r].stage)
			break;
		need_dev = need_dev || cfg_roles[hook][r].dev != NT_LAT_DEV_ANY;
	}
	if (!need_dev)
		dev = NULL;
	else if (!dev)
		dev = direct ? skb->dev : BPF_CORE_READ(skb, dev);
	h.dev = dev;
	if (dev) {
		h.ifindex = direct ? dev->ifindex : BPF_CORE_READ(dev, ifindex);
		if (direct) {
			struct net *net = dev->nd_net.net;

			h.netns = net ? net->ns.inum : 0;
		} else {
			h.netns = nt_net_inum(BPF_CORE_READ(dev, nd_net.net));
		}
	}
	for (int r = 0; r < NT_LAT_ROLES; r++) {
		if (!cfg_roles[hook][r].stage)
			break;
		do_role(ctx, &h, &cfg_roles[hook][r], skb, direct);
	}
	return 0;
}

/*
 * Hybrid mode, an skb freed with its packet in flight: marked, not moved (a write in place). No stage takes the
 * packet by its shape any more; the skb that carries it on (OVS's re-inject after an upcall) finds it through
 * ids; the skb's next packet parks it; a drop stays until the host's sweep (incomplete at its last stage).
 */
static __always_inline int on_free(struct sk_buff *skb)
{
	__u64 skbp = (__u64)skb;
	struct nt_lat_flow *f;

	if (!cfg_hybrid)
		return 0;
	f = bpf_map_lookup_elem(&skb_flows, &skbp);
	if (f && f->seen)
		f->freed = 1;
	return 0;
}

NT_HOOK_TP(kfree_skb, (struct sk_buff *skb), on_free(skb))
NT_HOOK_TP_CLASSIC(skb, kfree_skb, struct trace_event_raw_kfree_skb, a, on_free(NT_TP_SKB(a)))
NT_HOOK_TP(consume_skb, (struct sk_buff *skb), on_free(skb))
NT_HOOK_TP_CLASSIC(skb, consume_skb, struct trace_event_raw_consume_skb, a, on_free(NT_TP_SKB(a)))

/* Tracepoints: tp_btf, raw_tp and (where the format has the skb first) the classic tracepoint. */
#define LAT_TP(tp, hook) NT_HOOK_TP(tp, (struct sk_buff *skb), on_hook(ctx, skb, NULL, hook, nt_direct))
#define LAT_TP_CLASSIC(tp, hook)                                                                             \
	NT_HOOK_TP_CLASSIC(net, tp, struct trace_event_raw_net_dev_template, a,                             \
			   on_hook(a, (struct sk_buff *)a->skbaddr, NULL, hook, nt_direct))

LAT_TP(net_dev_queue, NT_LH_NET_DEV_QUEUE)
LAT_TP(netif_rx, NT_LH_NETIF_RX)
LAT_TP(napi_gro_receive_entry, NT_LH_NAPI_GRO_RECEIVE)
LAT_TP(netif_receive_skb, NT_LH_NETIF_RECEIVE_SKB)
LAT_TP_CLASSIC(net_dev_queue, NT_LH_NET_DEV_QUEUE)
LAT_TP_CLASSIC(netif_rx, NT_LH_NETIF_RX)
LAT_TP_CLASSIC(netif_receive_skb, NT_LH_NETIF_RECEIVE_SKB)

/* net_dev_start_xmit(skb, dev): the device the skb is sent on. */
NT_HOOK_TP(net_dev_start_xmit, (struct sk_buff *skb, struct net_device *dev),
	   on_hook(ctx, skb, dev, NT_LH_NET_DEV_START_XMIT, nt_direct))
/* net_dev_xmit(skb, rc, dev, len): the skb may already belong to the peer (veth), so the device is the
 * tracepoint's and the key comes from the skb pointer (NT_LAT_BY_SKB), not from the headers. */
NT_HOOK_TP(net_dev_xmit, (struct sk_buff *skb, int rc, struct net_device *dev),
	   on_hook(ctx, skb, dev, NT_LH_NET_DEV_XMIT, nt_direct))
/*
 * qdisc_dequeue(qdisc, txq, packets, skb): skb heads the dequeued batch (NULL when empty), linked through
 * skb->next. A qdisc that cannot bulk by bytes still hands over up to 8 skbs of one queue
 * (try_bulk_dequeue_skb_slow) once it has a backlog, e.g. a tbf whose tokens piled up: each is dequeued.
 */
static __always_inline int on_dequeue(void *ctx, struct sk_buff *skb, int packets, const bool direct)
{
	for (int i = 0; i < NT_QDISC_BULK_MAX; i++) {
		if (!skb || i >= packets)
			break;
		on_hook(ctx, skb, NULL, NT_LH_QDISC_DEQUEUE, direct);
		skb = direct ? skb->next : BPF_CORE_READ(skb, next);
	}
	return 0;
}

NT_HOOK_TP(qdisc_dequeue, (struct Qdisc *q, const struct netdev_queue *txq, int packets, struct sk_buff *skb),
	   on_dequeue(ctx, skb, packets, nt_direct))

/*
 * Kernel functions: fentry (typed context) and kprobe; the skb is argument n (zero-based), the arguments before it
 * are placeholders. Clones (.isra/.constprop/.part) are resolved by the host for kprobes.
 */
#define LAT_SKB_AT_0 struct sk_buff *skb
#define LAT_SKB_AT_1 void *a0, struct sk_buff *skb
#define LAT_SKB_AT_2 void *a0, void *a1, struct sk_buff *skb
#define LAT_FN(fn, hook, n) NT_HOOK_FN(fn, (LAT_SKB_AT_##n), on_hook(ctx, skb, NULL, hook, nt_direct))

LAT_FN(ip_local_out, NT_LH_IP_LOCAL_OUT, 2)
LAT_FN(ip_output, NT_LH_IP_OUTPUT, 2)
LAT_FN(ip_rcv, NT_LH_IP_RCV, 0)
LAT_FN(ip_local_deliver, NT_LH_IP_LOCAL_DELIVER, 0)
LAT_FN(tcp_v4_rcv, NT_LH_TCP_V4_RCV, 0)
LAT_FN(udp_rcv, NT_LH_UDP_RCV, 0)
LAT_FN(icmp_rcv, NT_LH_ICMP_RCV, 0)
LAT_FN(internal_dev_xmit, NT_LH_INTERNAL_DEV_XMIT, 0)
LAT_FN(ovs_vport_receive, NT_LH_OVS_VPORT_RECEIVE, 1)
LAT_FN(ovs_dp_process_packet, NT_LH_OVS_DP_PROCESS_PACKET, 0)
LAT_FN(ovs_dp_upcall, NT_LH_OVS_DP_UPCALL, 1)
LAT_FN(queue_userspace_packet, NT_LH_QUEUE_USERSPACE_PACKET, 1)
LAT_FN(ovs_flow_key_extract_userspace, NT_LH_OVS_FLOW_KEY_EXTRACT_USERSPACE, 2)
LAT_FN(ovs_execute_actions, NT_LH_OVS_EXECUTE_ACTIONS, 1)
LAT_FN(ovs_vport_send, NT_LH_OVS_VPORT_SEND, 1)
LAT_FN(internal_dev_recv, NT_LH_INTERNAL_DEV_RECV, 0)
LAT_FN(nf_conntrack_in, NT_LH_NF_CONNTRACK_IN, 0)
LAT_FN(netif_rx, NT_LH_NETIF_RX_FN, 0)
LAT_FN(netif_rx_internal, NT_LH_NETIF_RX_INTERNAL, 0)
LAT_FN(enqueue_to_backlog, NT_LH_ENQUEUE_TO_BACKLOG, 0)
LAT_FN(__netif_receive_skb, NT_LH_NETIF_RECEIVE_SKB_FN, 0)

/* netdev_frame_hook(struct sk_buff **pskb): OVS's rx_handler. kprobe only: 6.1's verifier refuses an fentry
 * program's read of a pointer-to-pointer argument. */
static __always_inline struct sk_buff *deref_skb(struct sk_buff **pskb)
{
	struct sk_buff *skb = NULL;

	bpf_probe_read_kernel(&skb, sizeof(skb), pskb);
	return skb;
}

SEC("kprobe/netdev_frame_hook")
int kprobe_netdev_frame_hook(struct pt_regs *ctx)
{
	return on_hook(ctx, deref_skb((struct sk_buff **)PT_REGS_PARM1(ctx)), NULL, NT_LH_NETDEV_FRAME_HOOK, false);
}

char LICENSE[] SEC("license") = "GPL";
