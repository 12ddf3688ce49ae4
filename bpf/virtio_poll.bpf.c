// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_poll: NAPI polls of virtio-net devices from napi:napi_poll (napi, work, budget) (virtnet_poll_monitor.py,
 * virtnet_poll_stack_stats.bt): per device and NAPI context (RX or TX queue N) the polls, the packets they
 * processed (work), polls that used the whole budget, idle polls and a work/budget histogram; optionally the
 * kernel stack of each poll and one event per poll.
 *
 * Which NAPI: napi->poll is virtnet_poll (a receive_queue's) or virtnet_poll_tx (a send_queue's); the host passes
 * both addresses from kallsyms. The queue is then container_of(napi, receive_queue|send_queue, napi)->vq->index / 2
 * (virtqueues alternate rx0, tx0, rx1, tx1, …), with the layouts taken from virtio_net's BTF (vmlinux when built in,
 * the module's otherwise) through the local declarations below.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/virtio.h"
#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"

/* Only the fields read here; libbpf finds the real layout ("receive_queue", "send_queue") in the kernel's BTF. */
struct receive_queue___nt {
	struct virtqueue *vq;
	struct napi_struct napi;
} __attribute__((preserve_access_index));

struct send_queue___nt {
	struct virtqueue *vq;
	struct napi_struct napi;
} __attribute__((preserve_access_index));

const volatile __u64 cfg_rx_poll = 0; /* &virtnet_poll */
const volatile __u64 cfg_tx_poll = 0; /* &virtnet_poll_tx */
const volatile __u32 cfg_netns = 0;
const volatile bool cfg_events = false;
const volatile bool cfg_stacks = false;

NT_COUNTER_MAP(counters, NT_VIRTIO_NCOUNTERS);

/* The virtio-net devices to watch (ifindex in cfg_netns). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_virtio_poll_key);
	__type(value, struct nt_virtio_poll_val);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__uint(value_size, NT_VIRTIO_STACK_DEPTH * sizeof(__u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct nt_virtio_stack_key);
	__type(value, __u64);
} stack_counts SEC(".maps");

static struct nt_virtio_poll_val zero_val;

static __always_inline __s32 queue_of(struct napi_struct *napi, __u32 kind)
{
	struct virtqueue *vq = NULL;

	if (kind == NT_VIRTIO_NAPI_RX) {
		if (!bpf_core_type_exists(struct receive_queue___nt))
			return -1;
		struct receive_queue___nt *rq =
			(void *)((char *)napi - bpf_core_field_offset(struct receive_queue___nt, napi));
		vq = BPF_CORE_READ(rq, vq);
	} else if (kind == NT_VIRTIO_NAPI_TX) {
		if (!bpf_core_type_exists(struct send_queue___nt))
			return -1;
		struct send_queue___nt *sq = (void *)((char *)napi - bpf_core_field_offset(struct send_queue___nt, napi));
		vq = BPF_CORE_READ(sq, vq);
	}
	if (!vq)
		return -1;
	return (__s32)(BPF_CORE_READ(vq, index) / 2);
}

static __always_inline int on_poll(void *ctx, struct napi_struct *napi, int work, int budget)
{
	struct nt_virtio_poll_key k = {};
	struct nt_virtio_poll_val *v;
	struct net_device *dev = BPF_CORE_READ(napi, dev);
	__u64 poll;
	__u32 slot;

	if (!dev)
		return 0;
	k.ifindex = BPF_CORE_READ(dev, ifindex);
	if (!bpf_map_lookup_elem(&devices, &k.ifindex))
		return 0;
	if (cfg_netns && BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg_netns)
		return 0;
	nt_count(&counters, NT_VIRTIO_EVENTS);
	poll = (__u64)BPF_CORE_READ(napi, poll);
	k.kind = poll && poll == cfg_rx_poll ? NT_VIRTIO_NAPI_RX
		 : poll && poll == cfg_tx_poll ? NT_VIRTIO_NAPI_TX
					       : NT_VIRTIO_NAPI_OTHER;
	k.queue = queue_of(napi, k.kind);
	BPF_CORE_READ_STR_INTO(&k.dev, dev, name);

	v = nt_map_lookup_or_init(&stats, &k, &zero_val);
	if (!v) {
		nt_count(&counters, NT_VIRTIO_MAP_FULL);
	} else {
		__sync_fetch_and_add(&v->polls, 1);
		if (work > 0)
			__sync_fetch_and_add(&v->work, work);
		if (work == 0)
			__sync_fetch_and_add(&v->idle, 1);
		if (budget > 0 && work >= budget)
			__sync_fetch_and_add(&v->full, 1);
		if (work > 0 && (__u64)work > v->max_work)
			v->max_work = work;
		v->budget = budget;
		if (work <= 0)
			slot = 0;
		else if (budget <= 0 || work > budget)
			slot = NT_VIRTIO_WORK_SLOTS - 1;
		else
			slot = ((__u32)work * 8 + (__u32)budget - 1) / (__u32)budget;
		if (slot < NT_VIRTIO_WORK_SLOTS)
			__sync_fetch_and_add(&v->slots[slot], 1);
	}

	if (cfg_stacks) {
		struct nt_virtio_stack_key sk = {.ifindex = k.ifindex, .queue = k.queue, .kind = k.kind};
		__u64 one = 1, *c;

		sk.stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
		if (sk.stack_id < 0) {
			nt_count(&counters, NT_VIRTIO_KSTACK_FAIL);
		} else {
			c = bpf_map_lookup_elem(&stack_counts, &sk);
			if (c)
				__sync_fetch_and_add(c, 1);
			else if (bpf_map_update_elem(&stack_counts, &sk, &one, BPF_NOEXIST))
				nt_count(&counters, NT_VIRTIO_MAP_FULL);
		}
	}

	if (cfg_events) {
		struct nt_virtio_poll_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

		if (!e) {
			nt_count(&counters, NT_VIRTIO_RB_LOST);
			return 0;
		}
		e->ts_ns = bpf_ktime_get_ns();
		e->ifindex = k.ifindex;
		e->queue = k.queue;
		e->kind = k.kind;
		e->work = work;
		e->budget = budget;
		e->cpu = bpf_get_smp_processor_id();
		e->napi = (__u64)napi;
		__builtin_memcpy(e->dev, k.dev, sizeof(e->dev));
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}

NT_HOOK_TP(napi_poll, (struct napi_struct *napi, int work, int budget), on_poll(ctx, napi, work, budget))

char LICENSE[] SEC("license") = "GPL";
