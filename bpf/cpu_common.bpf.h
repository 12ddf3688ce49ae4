/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the cpu tools (bpf/cpu_*.bpf.c) share: task fields that moved between kernels, and the
 * process/thread/name/CPU filters, configured by the host in .rodata and two small hash maps.
 */
#ifndef NT_CPU_COMMON_BPF_H
#define NT_CPU_COMMON_BPF_H

#include "nettrace/abi/cpu.h"
#include "nt/common.bpf.h"

#define NT_PF_KTHREAD 0x00200000 /* include/linux/sched.h */

const volatile bool cfg_filter_tgid = false; /* only tgids in filter_tgids */
const volatile bool cfg_filter_tid = false;  /* only tids in filter_tids */
const volatile __u32 cfg_comm_len = 0;       /* comm prefix filter length, 0: none */
const volatile char cfg_comm[NT_CPU_COMMLEN] = {};
/* nettrace itself: never matched by a name filter (the alias ksoftirqd_sched_latency_summary runs as
 * "ksoftirqd_sched", which the prefix "ksoftirqd" would match). */
const volatile __u32 cfg_self_tgid = 0;
const volatile bool cfg_filter_cpu = false;
const volatile __u64 cfg_cpus[NT_CPU_MAX_CPUS / 64] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NT_CPU_MAX_FILTER_IDS);
	__type(key, __u32);
	__type(value, __u8);
} filter_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NT_CPU_MAX_FILTER_IDS);
	__type(key, __u32);
	__type(value, __u8);
} filter_tids SEC(".maps");

NT_COUNTER_MAP(counters, NT_CPU_NCOUNTERS);

/*
 * commit 2f064a59a11f ("sched: Change task_struct::state") renamed state to __state (5.14).
 * commit bcf9033e5449 ("sched: move CPU field back into thread_info if THREAD_INFO_IN_TASK") keeps
 * the CPU in thread_info on x86 and in task_struct elsewhere.
 */
struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

struct task_struct___cpu {
	unsigned int cpu;
} __attribute__((preserve_access_index));

struct thread_info___cpu {
	__u32 cpu;
} __attribute__((preserve_access_index));

static __always_inline __u32 nt_task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (__u32)BPF_CORE_READ((struct task_struct___o *)t, state);
}

static __always_inline __u32 nt_task_cpu(struct task_struct *t)
{
	struct task_struct___cpu *tc = (void *)t;
	struct thread_info___cpu *ti = (void *)&t->thread_info;

	if (bpf_core_field_exists(tc->cpu))
		return BPF_CORE_READ(tc, cpu);
	if (bpf_core_field_exists(ti->cpu))
		return BPF_CORE_READ(ti, cpu);
	return (__u32)-1;
}

/*
 * The word index is bounded on the very register that indexes cfg_cpus. Written as
 * "cpu < NT_CPU_MAX_CPUS, then cfg_cpus[cpu / 64]", clang drops the mask, checks a zero-extended copy
 * of cpu and indexes with the original register; 6.1's verifier does not carry the bound over that copy
 * ("R1 max value is outside of the allowed memory range") while 6.12+ do. barrier_var() hides the
 * value from the optimizer so the check and the index stay on one 64-bit register.
 */
static __always_inline bool nt_cpu_allowed(__u32 cpu)
{
	__u64 word = cpu / 64;

	if (!cfg_filter_cpu)
		return true;
	barrier_var(word);
	if (word >= NT_CPU_MAX_CPUS / 64)
		return false;
	return (cfg_cpus[word] >> (cpu % 64)) & 1;
}

static __always_inline bool nt_comm_matches(const char *comm)
{
	for (int i = 0; i < NT_CPU_COMMLEN; i++) {
		if (i >= cfg_comm_len)
			break;
		if (comm[i] != cfg_comm[i])
			return false;
	}
	return true;
}

/* pid/tgid/comm filters for a task given by its ids and name (the comm is only read when needed). */
static __always_inline bool nt_ids_match(__u32 tgid, __u32 tid)
{
	if (cfg_filter_tgid && !bpf_map_lookup_elem(&filter_tgids, &tgid))
		return false;
	if (cfg_filter_tid && !bpf_map_lookup_elem(&filter_tids, &tid))
		return false;
	return true;
}

static __always_inline bool nt_task_matches(struct task_struct *t, char *comm_out)
{
	__u32 tgid = BPF_CORE_READ(t, tgid), tid = BPF_CORE_READ(t, pid);

	if (!nt_ids_match(tgid, tid))
		return false;
	bpf_core_read_str(comm_out, NT_CPU_COMMLEN, &t->comm);
	if (cfg_comm_len && tgid == cfg_self_tgid)
		return false;
	return nt_comm_matches(comm_out);
}

#endif
