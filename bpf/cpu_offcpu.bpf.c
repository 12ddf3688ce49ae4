// SPDX-License-Identifier: GPL-2.0
/*
 * cpu_offcpu: time threads spend off a CPU, by kernel and user stack (offcputime-ts). At sched_switch
 * the outgoing thread is still current, so its stacks are where it blocked; they and the time are
 * kept until sched_switch brings it back, then the blocked time is added to its (thread, stacks)
 * entry. Stack captures that fail are counted, never hidden.
 * Variants: tp_btf (>= 5.5) -> raw_tp.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cpu_common.bpf.h"
#include "nt/hooks.bpf.h"

const volatile __u64 cfg_min_ns = 1000;
const volatile __u64 cfg_max_ns = (__u64)-1;
const volatile __s64 cfg_state = -1;      /* only this task state (TASK_INTERRUPTIBLE = 1, …) */
const volatile bool cfg_user_only = false;   /* user threads only */
const volatile bool cfg_kernel_only = false; /* kernel threads only */
const volatile bool cfg_kstacks = true;
const volatile bool cfg_ustacks = true;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct nt_offcpu_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384); /* --stack-storage-size */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NT_CPU_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nt_offcpu_key);
	__type(value, struct nt_offcpu_val);
} counts SEC(".maps");

static __always_inline bool prev_wanted(struct task_struct *prev, __u32 state)
{
	__u32 flags;

	if (BPF_CORE_READ(prev, pid) == 0) /* idle */
		return false;
	if (!nt_ids_match(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid)))
		return false;
	if (cfg_user_only || cfg_kernel_only) {
		flags = BPF_CORE_READ(prev, flags);
		if (cfg_user_only && (flags & NT_PF_KTHREAD))
			return false;
		if (cfg_kernel_only && !(flags & NT_PF_KTHREAD))
			return false;
	}
	if (cfg_state >= 0 && state != (__u32)cfg_state)
		return false;
	return true;
}

static __always_inline int on_switch(void *ctx, struct task_struct *prev, struct task_struct *next)
{
	struct nt_offcpu_start *s, st = {};
	struct nt_offcpu_key key = {};
	struct nt_offcpu_val *v, zero = {};
	__u64 now = bpf_ktime_get_ns(), delta;
	__u32 tid, state = nt_task_state(prev);

	if (prev_wanted(prev, state)) {
		char comm[NT_CPU_COMMLEN];

		bpf_core_read_str(comm, sizeof(comm), &prev->comm);
		if (nt_comm_matches(comm)) {
			tid = BPF_CORE_READ(prev, pid);
			st.ts_ns = now;
			st.state = state;
			st.kstack = -1;
			st.ustack = -1;
			if (cfg_kstacks) {
				st.kstack = bpf_get_stackid(ctx, &stacks, 0);
				if (st.kstack < 0)
					nt_count(&counters, NT_CPU_KSTACK_FAIL);
			}
			if (cfg_ustacks && !(BPF_CORE_READ(prev, flags) & NT_PF_KTHREAD)) {
				st.ustack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
				if (st.ustack < 0)
					nt_count(&counters, NT_CPU_USTACK_FAIL);
			}
			if (bpf_map_update_elem(&start, &tid, &st, BPF_ANY))
				nt_count(&counters, NT_CPU_START_FULL);
		}
	}

	tid = BPF_CORE_READ(next, pid);
	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	delta = now - s->ts_ns;
	key.kstack = s->kstack;
	key.ustack = s->ustack;
	bpf_map_delete_elem(&start, &tid);
	if ((__s64)delta <= 0) {
		nt_count(&counters, NT_CPU_NEGATIVE);
		return 0;
	}
	if (delta < cfg_min_ns || delta > cfg_max_ns) {
		nt_count(&counters, NT_CPU_FILTERED_OUT);
		return 0;
	}
	nt_count(&counters, NT_CPU_EVENTS);
	key.pid = tid;
	key.tgid = BPF_CORE_READ(next, tgid);
	bpf_core_read_str(key.comm, sizeof(key.comm), &next->comm);
	v = nt_map_lookup_or_init(&counts, &key, &zero);
	if (!v) {
		nt_count(&counters, NT_CPU_MAP_FULL);
		return 0;
	}
	__sync_fetch_and_add(&v->total_ns, delta);
	__sync_fetch_and_add(&v->count, 1);
	return 0;
}

NT_HOOK_TP(sched_switch, (bool preempt, struct task_struct *prev, struct task_struct *next), on_switch(ctx, prev, next))

char LICENSE[] SEC("license") = "GPL";
