// SPDX-License-Identifier: GPL-2.0
/*
 * cpu_schedlat: run-queue latency, the time a runnable task waits for a CPU. A wait starts when the
 * task is woken (sched_wakeup, sched_wakeup_new) or preempted while runnable (sched_switch with prev
 * TASK_RUNNING, as the kernel's schedstat run_delay counts it) and ends when sched_switch runs it.
 * The waker comes from sched_waking (it fires in the waker's context; sched_wakeup may fire on the
 * target CPU from an IPI). Histograms per name or thread aggregate in a hash map; waits at or above
 * cfg_event_ns go to a ring buffer for the worst-wakeup list.
 * Variants: tp_btf (>= 5.5) -> raw_tp.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cpu_common.bpf.h"
#include "nt/hooks.bpf.h"

const volatile bool cfg_per_thread = false; /* key by tgid/tid as well as name */
const volatile __u64 cfg_event_ns = 1000000;  /* ring buffer events at or above this */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct nt_schedlat_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_schedlat_key);
	__type(value, struct nt_schedlat_val);
} hists SEC(".maps");

/* A new key's first value: global, the histogram is too large for the BPF stack. */
static struct nt_schedlat_val hist_zero;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Waker identity, noted at sched_waking, picked up by sched_wakeup. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct nt_schedlat_start);
} waking SEC(".maps");

static __always_inline void fill_current_waker(struct nt_schedlat_start *s)
{
	__u64 id = bpf_get_current_pid_tgid();

	s->waker_pid = (__u32)id;
	s->waker_tgid = id >> 32;
	s->waker_cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(s->waker_comm, sizeof(s->waker_comm));
}

static __always_inline int on_waking(struct task_struct *p)
{
	struct nt_schedlat_start s = {};
	char comm[NT_CPU_COMMLEN];
	__u32 tid;

	if (!nt_task_matches(p, comm))
		return 0;
	tid = BPF_CORE_READ(p, pid);
	fill_current_waker(&s);
	bpf_map_update_elem(&waking, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int on_wakeup(struct task_struct *p, bool new_task)
{
	struct nt_schedlat_start s = {}, *w;
	char comm[NT_CPU_COMMLEN];
	__u32 tid;

	if (!nt_task_matches(p, comm))
		return 0;
	tid = BPF_CORE_READ(p, pid);
	w = new_task ? NULL : bpf_map_lookup_elem(&waking, &tid);
	if (w) {
		s = *w;
		bpf_map_delete_elem(&waking, &tid);
	} else {
		fill_current_waker(&s);
	}
	s.ts_ns = bpf_ktime_get_ns();
	s.target_cpu = nt_task_cpu(p);
	s.preempted = 0;
	if (bpf_map_update_elem(&start, &tid, &s, BPF_ANY))
		nt_count(&counters, NT_CPU_START_FULL);
	return 0;
}

static __always_inline void account(struct nt_schedlat_start *s, struct task_struct *next, __u32 tid, __u64 now)
{
	struct nt_schedlat_key key = {};
	struct nt_schedlat_val *v;
	struct nt_schedlat_event *e;
	__u64 delta = now - s->ts_ns;
	__u32 cpu = bpf_get_smp_processor_id();

	if ((__s64)delta < 0) {
		nt_count(&counters, NT_CPU_NEGATIVE);
		return;
	}
	if (!nt_cpu_allowed(cpu))
		return;
	nt_count(&counters, NT_CPU_EVENTS);
	bpf_core_read_str(key.comm, sizeof(key.comm), &next->comm);
	if (cfg_per_thread) {
		key.tgid = BPF_CORE_READ(next, tgid);
		key.tid = tid;
	}
	v = nt_map_lookup_or_init(&hists, &key, &hist_zero);
	if (!v) {
		nt_count(&counters, NT_CPU_MAP_FULL);
		return;
	}
	nt_hist_add(&v->hist, delta);
	if (s->preempted)
		__sync_fetch_and_add(&v->preempted, 1);

	if (delta < cfg_event_ns)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		nt_count(&counters, NT_CPU_RB_LOST);
		return;
	}
	e->ts_ns = now;
	e->latency_ns = delta;
	e->pid = tid;
	e->tgid = BPF_CORE_READ(next, tgid);
	e->waker_pid = s->waker_pid;
	e->waker_tgid = s->waker_tgid;
	e->waker_cpu = s->waker_cpu;
	e->target_cpu = s->target_cpu;
	e->run_cpu = cpu;
	e->preempted = s->preempted;
	__builtin_memcpy(e->comm, key.comm, sizeof(e->comm));
	__builtin_memcpy(e->waker_comm, s->waker_comm, sizeof(e->waker_comm));
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next)
{
	struct nt_schedlat_start *s, ps = {};
	char comm[NT_CPU_COMMLEN];
	__u64 now = bpf_ktime_get_ns();
	__u32 tid;

	/* Preempted but still runnable: its wait for a CPU starts now (schedstat's sched_info_depart). */
	if (nt_task_state(prev) == 0 && BPF_CORE_READ(prev, pid) != 0 && nt_task_matches(prev, comm)) {
		tid = BPF_CORE_READ(prev, pid);
		ps.ts_ns = now;
		ps.preempted = 1;
		ps.target_cpu = bpf_get_smp_processor_id();
		ps.waker_cpu = ps.target_cpu;
		if (bpf_map_update_elem(&start, &tid, &ps, BPF_ANY))
			nt_count(&counters, NT_CPU_START_FULL);
	}

	tid = BPF_CORE_READ(next, pid);
	if (tid == 0)
		return 0;
	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	account(s, next, tid, now);
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

NT_HOOK_TP(sched_waking, (struct task_struct *p), on_waking(p))
NT_HOOK_TP(sched_wakeup, (struct task_struct *p), on_wakeup(p, false))
NT_HOOK_TP(sched_wakeup_new, (struct task_struct *p), on_wakeup(p, true))
NT_HOOK_TP(sched_switch, (bool preempt, struct task_struct *prev, struct task_struct *next), on_switch(prev, next))

char LICENSE[] SEC("license") = "GPL";
