// SPDX-License-Identifier: GPL-2.0
/*
 * cpu_futex: time spent in the futex() syscall per process/thread and operation, from the
 * syscalls:sys_enter_futex / sys_exit_futex tracepoints (futex.bt), as log2 histograms, plus the
 * total wait per futex word (uaddr) for the waiting operations: the contended locks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cpu_common.bpf.h"
#include "nt/hooks.bpf.h"

#define NT_FUTEX_CMD_MASK 0x7f /* ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) */

const volatile bool cfg_per_thread = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct nt_futex_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nt_futex_key);
	__type(value, struct nt_futex_val);
} hists SEC(".maps");

/* A new key's first value: global, the histogram is too large for the BPF stack. */
static struct nt_futex_val hist_zero;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nt_futex_addr_key);
	__type(value, struct nt_futex_addr_val);
} addrs SEC(".maps");

/* FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2: may block. */
static __always_inline bool is_wait(__u32 cmd)
{
	return cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13;
}

static __always_inline int on_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct nt_futex_start s = {};

	if (!nt_ids_match(id >> 32, tid))
		return 0;
	if (cfg_comm_len) {
		char comm[NT_CPU_COMMLEN];

		bpf_get_current_comm(comm, sizeof(comm));
		if (!nt_comm_matches(comm) || (id >> 32) == cfg_self_tgid)
			return 0;
	}
	s.ts_ns = bpf_ktime_get_ns();
	s.uaddr = ctx->args[0];
	s.op = (__u32)ctx->args[1] & NT_FUTEX_CMD_MASK;
	if (bpf_map_update_elem(&start, &tid, &s, BPF_ANY))
		nt_count(&counters, NT_CPU_START_FULL);
	return 0;
}

static __always_inline int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), delta;
	__u32 tid = (__u32)id;
	struct nt_futex_start *s;
	struct nt_futex_key key = {};
	struct nt_futex_val *v;
	struct nt_futex_addr_key ak = {};
	struct nt_futex_addr_val *av, azero = {};
	long ret = ctx->ret;

	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	delta = now - s->ts_ns;
	key.op = s->op;
	ak.uaddr = s->uaddr;
	bpf_map_delete_elem(&start, &tid);
	if ((__s64)delta < 0) {
		nt_count(&counters, NT_CPU_NEGATIVE);
		return 0;
	}
	nt_count(&counters, NT_CPU_EVENTS);
	key.tgid = id >> 32;
	if (cfg_per_thread)
		key.tid = tid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	v = nt_map_lookup_or_init(&hists, &key, &hist_zero);
	if (v) {
		nt_hist_add(&v->hist, delta);
		if (ret < 0)
			__sync_fetch_and_add(&v->errors, 1);
	} else {
		nt_count(&counters, NT_CPU_MAP_FULL);
	}
	if (!is_wait(key.op))
		return 0;
	ak.tgid = key.tgid;
	av = nt_map_lookup_or_init(&addrs, &ak, &azero);
	if (!av) {
		nt_count(&counters, NT_CPU_MAP_FULL);
		return 0;
	}
	__sync_fetch_and_add(&av->waits, 1);
	__sync_fetch_and_add(&av->total_ns, delta);
	if (delta > av->max_ns)
		av->max_ns = delta;
	return 0;
}

/* Syscall events exist only as classic tracepoints (no raw tracepoint of their own). */
NT_HOOK_TP_CLASSIC(syscalls, sys_enter_futex, struct trace_event_raw_sys_enter, args, on_enter(args))
NT_HOOK_TP_CLASSIC(syscalls, sys_exit_futex, struct trace_event_raw_sys_exit, args, on_exit(args))

char LICENSE[] SEC("license") = "GPL";
