// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_buf_peek: what vhost_net_buf_peek(nvq) returns, per RX queue (`vhost buf-peek`, vhost_buf_peek_stats.py).
 * handle_rx asks it, through vhost_net_rx_peek_head_len, for the length of the next packet the tun/tap ring holds
 * for this queue: 0 when the queue's batch (nvq->rxq) is empty and the ring has nothing to refill it with.
 *
 * fexit sees the argument and the return value; the kretprobe fallback keeps the argument from a kprobe at entry,
 * per thread.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"
#include "nt/vhost.bpf.h"

NT_COUNTER_MAP(counters, NT_VHOST_NCOUNTERS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nt_vhost_peek_key);
	__type(value, struct nt_vhost_peek_val);
} peeks SEC(".maps");

/* kretprobe fallback: the nvq of the call in progress, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} args SEC(".maps");

static __always_inline int on_peek(struct vhost_net_virtqueue *nvq, long ret)
{
	struct vhost_virtqueue *vq;
	struct nt_vhost_peek_key key = {};
	struct nt_vhost_vq_id id = {};
	struct nt_vhost_peek_val *v, zero = {};

	if (!nvq)
		return 0;
	/* The vq is nvq's first member: its address plus the member's offset. */
	vq = (struct vhost_virtqueue *)((char *)nvq + bpf_core_field_offset(struct vhost_net_virtqueue, vq));
	if (!nt_vhost_owner_ok(vq))
		return 0;
	nt_vhost_fill_id(vq, &id);
	if (!nt_vhost_dev_ok(&id))
		return 0;
	nt_count(&counters, NT_VHOST_PEEK_CALLS);
	key.nvq = (__u64)nvq;
	key.ret = (int)ret; /* an int */
	v = nt_map_lookup_or_init(&peeks, &key, &zero);
	if (!v) {
		nt_count(&counters, NT_VHOST_MAP_FULL);
		return 0;
	}
	v->id = id;
	__sync_fetch_and_add(&v->count, 1);
	return 0;
}

static __always_inline int store_arg(struct vhost_net_virtqueue *nvq)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 p = (__u64)nvq;

	if (bpf_map_update_elem(&args, &tid, &p, BPF_ANY))
		nt_count(&counters, NT_VHOST_MAP_FULL);
	return 0;
}

static __always_inline int on_peek_kret(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *p = bpf_map_lookup_elem(&args, &tid);
	__u64 nvq;

	if (!p) {
		nt_count(&counters, NT_VHOST_PEEK_NO_ARG);
		return 0;
	}
	nvq = *p;
	bpf_map_delete_elem(&args, &tid);
	return on_peek((struct vhost_net_virtqueue *)nvq, ret);
}

SEC("fexit/vhost_net_buf_peek")
int BPF_PROG(fexit_vhost_net_buf_peek, struct vhost_net_virtqueue *nvq, int ret)
{
	return on_peek(nvq, ret);
}

SEC("kretprobe/vhost_net_buf_peek")
int BPF_KRETPROBE(kretprobe_vhost_net_buf_peek, int ret)
{
	return on_peek_kret(ret);
}

/* Only with the kretprobe. */
SEC("kprobe/vhost_net_buf_peek")
int BPF_KPROBE(kprobe_vhost_net_buf_peek, struct vhost_net_virtqueue *nvq)
{
	return store_arg(nvq);
}

char LICENSE[] SEC("license") = "GPL";
