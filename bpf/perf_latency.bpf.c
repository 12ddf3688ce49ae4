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
#include "nettrace/abi/stage.h"
#include "nt/common.bpf.h"
#include "nt/skb.bpf.h"

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
const volatile bool cfg_try_skb = false; /* TRY_SKB roles take the key by pointer: skb frees are traced */
const volatile struct nt_lat_cpu_cfg cfg_cpu = {};
const volatile struct nt_lat_fast_cfg cfg_fast = {};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct nt_lat_key);
	__type(value, struct nt_lat_flow);
} flows SEC(".maps");

/* Flows keyed by skb pointer (cfg_key_skb), instead of flows + skbs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct nt_lat_flow);
} skb_flows SEC(".maps");

/*
 * The packet an skb carries, as the last parsing stage saw it. A TRY_SKB stage takes the key from here only
 * while the skb is the same packet: not freed since (the skb tracepoints set freed; a recycled skb's next
 * packet is parsed again at its first stage) and not reshaped (tail offset and paged length unchanged:
 * push/pull of headers keep both, defragmentation and head reallocation change them).
 */
struct skb_ent {
	struct nt_lat_key key; /* key.dir: NT_LAT_DIR_DONE once the packet completed */
	__u32 tail;
	__u32 data_len;
	__u8 tag;   /* role_tag() of the stage that parsed it */
	__u8 freed;
	__u8 _pad[6];
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
	__type(value, struct nt_lat_hist);
} hists SEC(".maps");

/* The common histograms (nt_lat_fast_slot); the rest are in hists. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_LAT_FAST_SLOTS);
	__type(key, __u32);
	__type(value, struct nt_lat_hist);
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
	__type(value, struct nt_lat_hist);
} cpu_pairs SEC(".maps");

static struct nt_lat_hist hist_zero;

static __always_inline void hist_put(struct nt_lat_hist *h, __u64 v)
{
	__u32 slot = nt_log2_slot(v);

	if (slot >= NT_LAT_HIST_SLOTS)
		slot = NT_LAT_HIST_SLOTS - 1;
	h->count++;
	h->sum_ns += v;
	if (v > h->max_ns)
		h->max_ns = v;
	if (h->count == 1 || v < h->min_ns)
		h->min_ns = v;
	h->slots[slot]++;
}

/*
 * The heavy parts are global functions: the verifier checks each once, not once per call site and role
 * (inlined, parse x filter x step x histograms exceeded the 1M-instruction budget).
 */
__noinline int lat_hist_add(__u32 kind, __u32 dir, __u32 from, __u32 to, __u64 v)
{
	struct nt_lat_hist_key k = {.kind = kind, .dir = dir, .from = from, .to = to};
	int slot = nt_lat_fast_slot(cfg_fast.prev[dir & 1][nt_lat_stage_idx(to)], cfg_fast.first[dir & 1], kind, dir,
				    from, to);
	struct nt_lat_hist *h;

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
	hist_put(h, v);
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
	struct nt_lat_hist *h;
	__u64 delta = 0;

	if (!f || !nt_lat_cpu_pair(f, &c, what & 0xff, (what >> 8) & 1, bpf_get_smp_processor_id(), &k, &delta))
		return 0;
	nt_count(&counters, k.from_cpu == k.to_cpu ? NT_LAT_C_CPU_SAME : NT_LAT_C_CPU_MIGRATED);
	h = nt_map_lookup_or_init(&cpu_pairs, &k, &hist_zero);
	if (!h) {
		nt_count(&counters, NT_LAT_C_MAP_FULL);
		return 0;
	}
	hist_put(h, delta);
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

/* Parse, check packet kind and filter, build the key. 0: the packet is one of ours; -1: not parsed or not
 * the role's kind; -2: the filter rejects it. The skb's fields come read into h->v (a global function takes
 * no trusted pointers). */
/* what: role flags | packet kind << 8 | direction << 16 (at most five arguments). */
__noinline int lat_key_of(struct hit *h, __u32 what, struct nt_lat_key *k)
{
	__u32 flags = what & 0xff, pkt_kind = (what >> 8) & 0xff, dir = (what >> 16) & 1;
	struct nt_pkt *p;
	int ok;

	if (!h || !k)
		return -1;
	/* Probed reads here, not in the program: their temporaries would push its stack (plus this function's)
	 * past 512 bytes (6.1). Trusted pointers were read directly by the caller. */
	if (!h->viewed) {
		nt_skb_view_read(h->skb, &h->v, false);
		h->viewed = true;
	}
	p = &h->pkt;
	__builtin_memset(p, 0, sizeof(*p));
	if (flags & NT_LAT_FROM_DATA)
		ok = parse_from_data(&h->v, p) == 0;
	else
		ok = nt_skb_parse_view(&h->v, p) == 0;
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
	return nt_lat_make_key(p, dir, flags & NT_LAT_SWAP_KEY, k);
}

/* The skb's packet for later stages (struct skb_ent); h->v holds the skb's fields (a parse read them). */
__noinline int lat_skb_store(struct hit *h, struct nt_lat_key *key, __u8 tag)
{
	struct skb_ent *e, ne = {};
	__u64 skbp;

	if (!h || !key)
		return 0;
	skbp = (__u64)h->skb; /* read here: the caller's copy may still be a pointer to the verifier */
	e = bpf_map_lookup_elem(&skbs, &skbp);
	if (!e)
		e = &ne;
	e->key = *key;
	e->tail = h->v.tail;
	e->data_len = h->v.data_len;
	e->tag = tag;
	e->freed = 0;
	if (e == &ne)
		bpf_map_update_elem(&skbs, &skbp, &ne, BPF_ANY);
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

	if (!dev_ok(role->dev, h->ifindex, h->netns))
		return;
	if (!cfg_key_skb && (flags & NT_LAT_BY_SKB) && cfg_track_skb) {
		kp = bpf_map_lookup_elem(&skbs, &skbp);
		if (kp && kp->key.dir == dir)
			key = kp->key;
		else
			kp = NULL;
	} else if (cfg_try_skb && (flags & NT_LAT_TRY_SKB)) {
		/* Another role's packet (direction, kind, filter side) is parsed as the old stages did. */
		kp = bpf_map_lookup_elem(&skbs, &skbp);
		if (kp && (kp->freed || kp->key.dir != dir || kp->tag != role_tag(role) ||
			   kp->tail != NT_SKB_RD(direct, skb, tail) || kp->data_len != NT_SKB_RD(direct, skb, data_len)))
			kp = NULL;
		else if (kp)
			key = kp->key;
		/* A start stage takes the key only for a packet it advances: a flow it begins needs the parse
		 * (the filter; details' headers). */
		if (kp && (flags & NT_LAT_START)) {
			f = bpf_map_lookup_elem(&flows, &key);
			if (!f || !f->seen || f->dir != dir || nt_lat_stage_idx(stage) <= f->last_stage) {
				kp = NULL;
				f = NULL;
			}
		}
	}
	/* Skb-keyed flows: only the first stage (the start, not BY_SKB) needs the headers, for the filter. */
	const bool need_key = cfg_key_skb ? (flags & NT_LAT_START) || !(flags & NT_LAT_BY_SKB) : !kp;
	if (direct && (need_key || cfg_details) && !h->viewed) {
		/* skb, not h->skb: a pointer stored in a struct comes back untrusted. */
		nt_skb_view_read(skb, &h->v, true);
		h->viewed = true;
	}
	if (need_key) {
		int r = lat_key_of(h, flags | (__u32)role->pkt << 8 | (__u32)dir << 16, &key);

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
	nt_count(&counters, NT_LAT_C_HITS);

	if (!f)
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
		if (cfg_key_skb)
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
			long err = cfg_key_skb ? bpf_map_update_elem(&skb_flows, &skbp, f, BPF_ANY)
					       : bpf_map_update_elem(&flows, &key, f, BPF_ANY);

			if (err) {
				nt_count(&counters, NT_LAT_C_MAP_FULL);
				return;
			}
		}
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
		if (cfg_key_skb) {
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
	if (!cfg_key_skb && cfg_track_skb && !kp)
		lat_skb_store(h, &key, role_tag(role));
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

/* An skb freed: the packet it carried is gone; a TRY_SKB stage must not take its key for the next one. */
static __always_inline int on_free(struct sk_buff *skb)
{
	__u64 skbp = (__u64)skb;
	struct skb_ent *e;

	if (!cfg_try_skb)
		return 0;
	e = bpf_map_lookup_elem(&skbs, &skbp);
	if (e)
		e->freed = 1;
	return 0;
}

#define NT_TP_FREE(tp)                                                                               \
	SEC("tp_btf/" #tp)                                                                           \
	int BPF_PROG(tpbtf_##tp, struct sk_buff *skb)                                                \
	{                                                                                            \
		return on_free(skb);                                                                 \
	}                                                                                            \
	SEC("raw_tp/" #tp)                                                                           \
	int BPF_PROG(rawtp_##tp, struct sk_buff *skb)                                                \
	{                                                                                            \
		return on_free(skb);                                                                 \
	}                                                                                            \
	SEC("tracepoint/skb/" #tp)                                                                   \
	int tp_skb_##tp(struct trace_event_raw_##tp *a)                                              \
	{                                                                                            \
		return on_free((struct sk_buff *)a->skbaddr);                                        \
	}

NT_TP_FREE(kfree_skb)
NT_TP_FREE(consume_skb)

/* Tracepoints: tp_btf, raw_tp and (where the format has the skb first) the classic tracepoint. */
#define NT_TP_SKB(tp, hook)                                                                          \
	SEC("tp_btf/" #tp)                                                                           \
	int BPF_PROG(tpbtf_##tp, struct sk_buff *skb)                                                \
	{                                                                                            \
		return on_hook(ctx, skb, NULL, hook, true);                                         \
	}                                                                                            \
	SEC("raw_tp/" #tp)                                                                           \
	int BPF_PROG(rawtp_##tp, struct sk_buff *skb)                                                \
	{                                                                                            \
		return on_hook(ctx, skb, NULL, hook, false);                                        \
	}

NT_TP_SKB(net_dev_queue, NT_LH_NET_DEV_QUEUE)
NT_TP_SKB(netif_rx, NT_LH_NETIF_RX)
NT_TP_SKB(napi_gro_receive_entry, NT_LH_NAPI_GRO_RECEIVE)
NT_TP_SKB(netif_receive_skb, NT_LH_NETIF_RECEIVE_SKB)

#define NT_TP_CLASSIC(tp, hook)                                                                      \
	SEC("tracepoint/net/" #tp)                                                                   \
	int tp_net_##tp(struct trace_event_raw_net_dev_template *a)                                  \
	{                                                                                            \
		return on_hook(a, (struct sk_buff *)a->skbaddr, NULL, hook, false);                 \
	}

NT_TP_CLASSIC(net_dev_queue, NT_LH_NET_DEV_QUEUE)
NT_TP_CLASSIC(netif_rx, NT_LH_NETIF_RX)
NT_TP_CLASSIC(netif_receive_skb, NT_LH_NETIF_RECEIVE_SKB)

/* net_dev_start_xmit(skb, dev): the device the skb is sent on. */
SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(tpbtf_net_dev_start_xmit, struct sk_buff *skb, struct net_device *dev)
{
	return on_hook(ctx, skb, dev, NT_LH_NET_DEV_START_XMIT, true);
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(rawtp_net_dev_start_xmit, struct sk_buff *skb, struct net_device *dev)
{
	return on_hook(ctx, skb, dev, NT_LH_NET_DEV_START_XMIT, false);
}

/* net_dev_xmit(skb, rc, dev, len): the skb may already belong to the peer (veth), so the device is the
 * tracepoint's and the key comes from the skb pointer (NT_LAT_BY_SKB), not from the headers. */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(tpbtf_net_dev_xmit, struct sk_buff *skb, int rc, struct net_device *dev)
{
	return on_hook(ctx, skb, dev, NT_LH_NET_DEV_XMIT, true);
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(rawtp_net_dev_xmit, struct sk_buff *skb, int rc, struct net_device *dev)
{
	return on_hook(ctx, skb, dev, NT_LH_NET_DEV_XMIT, false);
}

/* qdisc_dequeue(qdisc, txq, packets, skb): skb is the first of the dequeued batch (NULL when empty). */
SEC("tp_btf/qdisc_dequeue")
int BPF_PROG(tpbtf_qdisc_dequeue, struct Qdisc *q, const struct netdev_queue *txq, int packets, struct sk_buff *skb)
{
	return on_hook(ctx, skb, NULL, NT_LH_QDISC_DEQUEUE, true);
}

SEC("raw_tp/qdisc_dequeue")
int BPF_PROG(rawtp_qdisc_dequeue, struct Qdisc *q, const struct netdev_queue *txq, int packets, struct sk_buff *skb)
{
	return on_hook(ctx, skb, NULL, NT_LH_QDISC_DEQUEUE, false);
}

/*
 * Kernel functions: fentry (typed context, arguments as u64 slots) and kprobe. n is the zero-based
 * position of the skb argument. Clones (.isra/.constprop/.part) are resolved by the host for kprobes.
 */
#define NT_KP_ARG0(c) PT_REGS_PARM1(c)
#define NT_KP_ARG1(c) PT_REGS_PARM2(c)
#define NT_KP_ARG2(c) PT_REGS_PARM3(c)
#define NT_KP_ARG3(c) PT_REGS_PARM4(c)

#define NT_FN(fn, hook, n)                                                                           \
	SEC("fentry/" #fn)                                                                           \
	int fentry_##fn(unsigned long long *ctx)                                                     \
	{                                                                                            \
		return on_hook(ctx, (struct sk_buff *)ctx[n], NULL, hook, true);                    \
	}                                                                                            \
	SEC("kprobe/" #fn)                                                                           \
	int kprobe_##fn(struct pt_regs *ctx)                                                         \
	{                                                                                            \
		return on_hook(ctx, (struct sk_buff *)NT_KP_ARG##n(ctx), NULL, hook, false);        \
	}

NT_FN(ip_local_out, NT_LH_IP_LOCAL_OUT, 2)
NT_FN(ip_output, NT_LH_IP_OUTPUT, 2)
NT_FN(ip_rcv, NT_LH_IP_RCV, 0)
NT_FN(ip_local_deliver, NT_LH_IP_LOCAL_DELIVER, 0)
NT_FN(tcp_v4_rcv, NT_LH_TCP_V4_RCV, 0)
NT_FN(udp_rcv, NT_LH_UDP_RCV, 0)
NT_FN(icmp_rcv, NT_LH_ICMP_RCV, 0)
NT_FN(internal_dev_xmit, NT_LH_INTERNAL_DEV_XMIT, 0)
NT_FN(ovs_vport_receive, NT_LH_OVS_VPORT_RECEIVE, 1)
NT_FN(ovs_dp_process_packet, NT_LH_OVS_DP_PROCESS_PACKET, 0)
NT_FN(ovs_dp_upcall, NT_LH_OVS_DP_UPCALL, 1)
NT_FN(queue_userspace_packet, NT_LH_QUEUE_USERSPACE_PACKET, 1)
NT_FN(ovs_flow_key_extract_userspace, NT_LH_OVS_FLOW_KEY_EXTRACT_USERSPACE, 2)
NT_FN(ovs_execute_actions, NT_LH_OVS_EXECUTE_ACTIONS, 1)
NT_FN(ovs_vport_send, NT_LH_OVS_VPORT_SEND, 1)
NT_FN(internal_dev_recv, NT_LH_INTERNAL_DEV_RECV, 0)
NT_FN(nf_conntrack_in, NT_LH_NF_CONNTRACK_IN, 0)
NT_FN(netif_rx, NT_LH_NETIF_RX_FN, 0)
NT_FN(netif_rx_internal, NT_LH_NETIF_RX_INTERNAL, 0)
NT_FN(enqueue_to_backlog, NT_LH_ENQUEUE_TO_BACKLOG, 0)
NT_FN(__netif_receive_skb, NT_LH_NETIF_RECEIVE_SKB_FN, 0)

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
