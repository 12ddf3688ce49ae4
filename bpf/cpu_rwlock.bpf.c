// SPDX-License-Identifier: GPL-2.0
/*
 * cpu_rwlock: time threads wait in pthread_rwlock_wrlock() (pthread_rwlock_wrlock.bt and its -stack
 * variant). A uprobe on the function's entry stores the time (and, with --stack, the user stack) per
 * thread; the uretprobe adds the wait to the thread's log2 histogram and to its stack's count. The
 * host attaches both to the target process's own libc, found from /proc/PID/maps at run time.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cpu_common.bpf.h"

const volatile bool cfg_stacks = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct nt_rwlock_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_rwlock_key);
	__type(value, struct nt_rwlock_val);
} hists SEC(".maps");

/* A new key's first value: global, the histogram is too large for the BPF stack. */
static struct nt_rwlock_val hist_zero;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NT_CPU_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nt_rwlock_stack_key);
	__type(value, struct nt_rwlock_stack_val);
} stack_counts SEC(".maps");

/* BPF_KPROBE/BPF_KRETPROBE: libbpf 1.1 has no BPF_UPROBE (1.2); the argument access is the same. */
SEC("uprobe")
int BPF_KPROBE(uprobe_wrlock)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct nt_rwlock_start s = {.ustack = -1};

	if (!nt_ids_match(id >> 32, tid))
		return 0;
	if (cfg_stacks) {
		s.ustack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		if (s.ustack < 0)
			nt_count(&counters, NT_CPU_USTACK_FAIL);
	}
	s.ts_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&start, &tid, &s, BPF_ANY))
		nt_count(&counters, NT_CPU_START_FULL);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(uretprobe_wrlock, int ret)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), delta;
	__u32 tid = (__u32)id;
	struct nt_rwlock_start *s;
	struct nt_rwlock_key key = {};
	struct nt_rwlock_val *v;
	struct nt_rwlock_stack_key sk = {};
	struct nt_rwlock_stack_val *sv, szero = {};

	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	delta = now - s->ts_ns;
	sk.ustack = s->ustack;
	bpf_map_delete_elem(&start, &tid);
	if ((__s64)delta < 0) {
		nt_count(&counters, NT_CPU_NEGATIVE);
		return 0;
	}
	nt_count(&counters, NT_CPU_EVENTS);
	key.tgid = id >> 32;
	key.tid = tid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	v = nt_map_lookup_or_init(&hists, &key, &hist_zero);
	if (v) {
		nt_hist_add(&v->hist, delta);
		if (ret != 0)
			__sync_fetch_and_add(&v->errors, 1);
	} else {
		nt_count(&counters, NT_CPU_MAP_FULL);
	}
	if (!cfg_stacks)
		return 0;
	sk.tgid = key.tgid;
	sk.tid = tid;
	__builtin_memcpy(sk.comm, key.comm, sizeof(sk.comm));
	sv = nt_map_lookup_or_init(&stack_counts, &sk, &szero);
	if (!sv) {
		nt_count(&counters, NT_CPU_MAP_FULL);
		return 0;
	}
	__sync_fetch_and_add(&sv->count, 1);
	__sync_fetch_and_add(&sv->total_ns, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
