// SPDX-License-Identifier: GPL-2.0
/*
 * cpu_monitor: on-CPU time per (CPU, thread) from sched_switch, and on-CPU stack samples from a
 * perf event (cpu-clock) the host opens only on CPUs whose use crossed the threshold.
 * cur[cpu] holds the running thread and since when, so the host can add the slice in progress.
 * Variants: tp_btf (>= 5.5) -> raw_tp; perf_event for sampling.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cpu_common.bpf.h"
#include "nt/hooks.bpf.h"

/*
 * seq is odd while on_switch() updates this CPU's runtime and cur entry: the host's copy of cur is
 * not atomic, and a copy taken mid-update (the old thread already added to runtime, or a new pid with
 * the old start) counts a slice twice. Under QEMU TCG a vCPU can stall mid-update for milliseconds.
 */
struct nt_cpu_cur {
	__u64 seq;
	__u64 since_ns;
	__u32 pid;
	__u32 tgid;
	char comm[NT_CPU_COMMLEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NT_CPU_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct nt_cpu_cur);
} cur SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nt_cpurun_key);
	__type(value, __u64);
} runtime SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NT_CPU_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nt_cpusample_key);
	__type(value, __u64);
} samples SEC(".maps");

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 now = bpf_ktime_get_ns(), zero = 0, *v;
	struct nt_cpurun_key key = {};
	struct nt_cpu_cur *c;

	if (!nt_cpu_allowed(cpu))
		return 0;
	c = bpf_map_lookup_elem(&cur, &cpu);
	if (!c)
		return 0;
	__sync_fetch_and_add(&c->seq, 1);
	if (c->since_ns && now > c->since_ns) {
		key.cpu = cpu;
		key.pid = BPF_CORE_READ(prev, pid);
		key.tgid = BPF_CORE_READ(prev, tgid);
		bpf_core_read_str(key.comm, sizeof(key.comm), &prev->comm);
		v = nt_map_lookup_or_init(&runtime, &key, &zero);
		if (v)
			__sync_fetch_and_add(v, now - c->since_ns);
		else
			nt_count(&counters, NT_CPU_MAP_FULL);
	}
	c->pid = BPF_CORE_READ(next, pid);
	c->tgid = BPF_CORE_READ(next, tgid);
	bpf_core_read_str(c->comm, sizeof(c->comm), &next->comm);
	c->since_ns = now;
	__sync_fetch_and_add(&c->seq, 1);
	return 0;
}

NT_HOOK_TP(sched_switch, (bool preempt, struct task_struct *prev, struct task_struct *next), on_switch(prev, next))

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	struct nt_cpusample_key key = {};
	__u64 id = bpf_get_current_pid_tgid(), one = 1, *v;

	key.cpu = bpf_get_smp_processor_id();
	key.pid = (__u32)id;
	key.tgid = id >> 32;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.kstack = bpf_get_stackid(ctx, &stacks, 0);
	if (key.kstack < 0)
		nt_count(&counters, NT_CPU_KSTACK_FAIL);
	key.ustack = -1;
	if (key.tgid) {
		key.ustack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		if (key.ustack < 0 && key.kstack < 0)
			nt_count(&counters, NT_CPU_USTACK_FAIL);
	}
	nt_count(&counters, NT_CPU_EVENTS);
	v = bpf_map_lookup_elem(&samples, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	if (bpf_map_update_elem(&samples, &key, &one, BPF_NOEXIST))
		nt_count(&counters, NT_CPU_MAP_FULL);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
