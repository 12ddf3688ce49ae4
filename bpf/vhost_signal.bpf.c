// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_signal: how a vhost worker signals the guest, for `vhost signal-count` and `vhost notify` (one object: both
 * need the same hooks and the same per-thread record of the signalling call in progress; notify adds its events).
 *
 * vhost_add_used_and_signal_n(dev, vq, heads, count) (and vhost_add_used_and_signal, the one-buffer form) adds used
 * buffers, then vhost_signal() asks vhost_notify() whether the guest wants an interrupt and, if so, signals
 * vq->call_ctx.ctx. vhost_signal and vhost_notify are inlined or cloned depending on the build, so the signal
 * itself is counted where it cannot be inlined away: eventfd_signal_mask() (6.1: eventfd_signal(ctx, n) is a tail
 * jump into eventfd_signal_mask(ctx, n, mask); 6.8+: eventfd_signal(ctx) is inline, eventfd_signal_mask(ctx, mask)
 * signals 1), counted when it signals the call eventfd of the vq whose signalling call the same thread is in.
 * That count is what the guest's call eventfd receives, exactly.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"
#include "nt/vhost.bpf.h"

const volatile bool cfg_events = false;    /* vhost notify: one record at each call's start and end */
const volatile bool cfg_eventfd_n = false; /* eventfd_signal_mask(ctx, n, mask) (before 6.8): n is the count */

NT_COUNTER_MAP(counters, NT_VHOST_NCOUNTERS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_vhost_sig_key);
	__type(value, struct nt_vhost_sig_val);
} sigs SEC(".maps");

/* The signalling call a thread is in: from its entry to its return. */
struct nt_vhost_win {
	struct nt_vhost_sig_key key;
	__u64 signals;
	__u8 notify_seen;
	__u8 notify_ret;
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct nt_vhost_win);
} wins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

static struct nt_vhost_sig_val sig_zero;

static __always_inline void fill_state(struct nt_vhost_notify_event *e, struct vhost_virtqueue *vq)
{
	e->num = BPF_CORE_READ(vq, num);
	e->last_avail_idx = BPF_CORE_READ(vq, last_avail_idx);
	e->avail_idx = BPF_CORE_READ(vq, avail_idx);
	e->last_used_idx = BPF_CORE_READ(vq, last_used_idx);
	e->used_flags = BPF_CORE_READ(vq, used_flags);
	e->signalled_used = BPF_CORE_READ(vq, signalled_used);
	e->signalled_used_valid = BPF_CORE_READ(vq, signalled_used_valid);
	e->log_used = BPF_CORE_READ(vq, log_used);
	e->acked_features = BPF_CORE_READ(vq, acked_features);
	e->acked_backend_features = BPF_CORE_READ(vq, acked_backend_features);
}

/* The guest's side of the decision, from guest memory: the worker runs on the owner's mm (kthread_use_mm before
 * 6.4, a vhost_task of the owner since), so the ring's user addresses read as the owner's. */
static __always_inline void read_guest(struct nt_vhost_notify_event *e, struct vhost_virtqueue *vq)
{
	struct vring_avail *avail = BPF_CORE_READ(vq, avail);
	__u16 v;

	if (!avail)
		return;
	if (!bpf_probe_read_user(&v, sizeof(v), &avail->flags)) {
		e->avail_flags = v;
		e->guest_ok |= NT_VHOST_GUEST_FLAGS_OK;
	}
	/* used_event lives after the avail ring: avail->ring[num] */
	if (e->num <= 32768 && !bpf_probe_read_user(&v, sizeof(v), (char *)avail + 4 + 2 * (__u64)e->num)) {
		e->used_event = v;
		e->guest_ok |= NT_VHOST_GUEST_EVENT_OK;
	}
}

static __always_inline void emit(struct nt_vhost_win *w, struct vhost_virtqueue *vq, __u8 kind,
				 const struct nt_vhost_vq_id *id)
{
	struct nt_vhost_notify_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		nt_count(&counters, NT_VHOST_RB_LOST);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cpu = bpf_get_smp_processor_id();
	e->kind = kind;
	e->vq = w->key.vq;
	e->ctx = w->key.ctx;
	e->id = *id;
	fill_state(e, vq);
	if (kind == NT_VHOST_EV_NOTIFY) {
		e->signals = w->signals;
		if (!w->key.ctx) {
			e->ret_src = NT_VHOST_RET_NONE;
		} else if (w->notify_seen) {
			e->ret_src = NT_VHOST_RET_FUNC;
			e->ret = w->notify_ret;
		} else {
			e->ret_src = NT_VHOST_RET_EVENTFD;
			e->ret = w->signals > 0;
		}
		read_guest(e, vq);
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_call(struct vhost_virtqueue *vq)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct nt_vhost_win w = {};
	struct nt_vhost_vq_id id = {};
	struct nt_vhost_sig_val *v;

	if (!vq || !nt_vhost_owner_ok(vq))
		return 0;
	/* The backend may change (VHOST_NET_SET_BACKEND): where the vq belongs is read at every call. */
	nt_vhost_fill_id(vq, &id);
	if (!nt_vhost_dev_ok(&id))
		return 0;
	w.key.vq = (__u64)vq;
	w.key.ctx = (__u64)nt_vhost_call_ctx(vq);
	v = nt_map_lookup_or_init(&sigs, &w.key, &sig_zero);
	if (!v) {
		nt_count(&counters, NT_VHOST_MAP_FULL);
		return 0;
	}
	v->id = id;
	if (bpf_map_update_elem(&wins, &tid, &w, BPF_ANY)) {
		nt_count(&counters, NT_VHOST_MAP_FULL);
		return 0;
	}
	nt_count(&counters, NT_VHOST_SIGNAL_CALLS);
	__sync_fetch_and_add(&v->calls, 1);
	if (cfg_events)
		emit(&w, vq, NT_VHOST_EV_SIGNAL, &v->id);
	return 0;
}

static __always_inline int on_call_ret(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct nt_vhost_win *w = bpf_map_lookup_elem(&wins, &tid);
	struct nt_vhost_sig_val *v;

	if (!w) {
		/* A call filtered out has no record either: only counted without filters. */
		if (!cfg_pid_filter && !cfg_ifindex && cfg_queue == NT_VHOST_NO_INDEX)
			nt_count(&counters, NT_VHOST_NO_WINDOW);
		return 0;
	}
	v = bpf_map_lookup_elem(&sigs, &w->key);
	if (v) {
		struct vhost_virtqueue *vq = (struct vhost_virtqueue *)w->key.vq;

		v->last_used_idx = BPF_CORE_READ(vq, last_used_idx);
		if (w->key.ctx) {
			if (w->signals)
				__sync_fetch_and_add(&v->signalled, 1);
			else
				__sync_fetch_and_add(&v->suppressed, 1);
		}
		if (cfg_events)
			emit(w, vq, NT_VHOST_EV_NOTIFY, &v->id);
	}
	bpf_map_delete_elem(&wins, &tid);
	return 0;
}

static __always_inline int on_eventfd(struct eventfd_ctx *ctx, __u64 n)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct nt_vhost_win *w = bpf_map_lookup_elem(&wins, &tid);
	struct nt_vhost_sig_val *v;

	if (!w)
		return 0;
	if ((__u64)ctx != w->key.ctx || !ctx) {
		nt_count(&counters, NT_VHOST_OTHER_EVENTFD);
		return 0;
	}
	w->signals += n;
	nt_count(&counters, NT_VHOST_EVENTFD_HITS);
	v = bpf_map_lookup_elem(&sigs, &w->key);
	if (v)
		__sync_fetch_and_add(&v->signals, n);
	return 0;
}

/* vhost_notify's own answer where the build keeps it a function (a clone: vhost_notify.isra.0): only its return is
 * needed, the vq is the one of the signalling call this thread is in, so no clone argument is read. */
static __always_inline int on_notify_ret(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct nt_vhost_win *w = bpf_map_lookup_elem(&wins, &tid);

	if (!w)
		return 0;
	nt_count(&counters, NT_VHOST_NOTIFY_HITS);
	w->notify_seen = 1;
	w->notify_ret = (ret & 0xff) != 0;
	return 0;
}

NT_HOOK_FN(vhost_add_used_and_signal_n, (void *dev, struct vhost_virtqueue *vq), on_call(vq))
NT_HOOK_FN_RET(vhost_add_used_and_signal_n, (void *dev, struct vhost_virtqueue *vq), (void *unused), on_call_ret())
NT_HOOK_FN(vhost_add_used_and_signal, (void *dev, struct vhost_virtqueue *vq), on_call(vq))
NT_HOOK_FN_RET(vhost_add_used_and_signal, (void *dev, struct vhost_virtqueue *vq), (void *unused), on_call_ret())
NT_HOOK_FN(eventfd_signal_mask, (struct eventfd_ctx *efd, __u64 n), on_eventfd(efd, cfg_eventfd_n ? n : 1))
NT_HOOK_FN(eventfd_signal, (struct eventfd_ctx *efd, __u64 n), on_eventfd(efd, n))

/* kretprobe only: the clone's name is resolved from kallsyms, fentry would need its exact BTF name. */
SEC("kretprobe/vhost_notify")
int BPF_KRETPROBE(kretprobe_vhost_notify, long ret)
{
	return on_notify_ret(ret);
}

char LICENSE[] SEC("license") = "GPL";
