/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared between bpf/cpu_*.bpf.c and src/tools/cpu (schedlat, offcpu, futex, rwlock, monitor). */
#ifndef NETTRACE_ABI_CPU_H
#define NETTRACE_ABI_CPU_H

#include "nettrace/abi/hist.h"

#define NT_CPU_COMMLEN 16
#define NT_CPU_STACK_DEPTH 127   /* the kernel's default perf_event_max_stack */
#define NT_CPU_MAX_CPUS 1024     /* CPU filter bitmap size */
#define NT_CPU_MAX_FILTER_IDS 64 /* --pid / --tid list length */

/* Per-CPU counters every cpu tool keeps (array index). */
enum nt_cpu_counter {
	NT_CPU_EVENTS = 0,   /* hook hits that matched the filters */
	NT_CPU_RB_LOST,      /* ring buffer full: event not delivered */
	NT_CPU_MAP_FULL,     /* aggregation update lost: map full */
	NT_CPU_START_FULL,   /* start timestamp not stored: map full */
	NT_CPU_KSTACK_FAIL,  /* kernel stack not captured (-EEXIST collisions, -ENOMEM) */
	NT_CPU_USTACK_FAIL,  /* user stack not captured */
	NT_CPU_NEGATIVE,     /* negative or zero duration (clock skew across CPUs) */
	NT_CPU_FILTERED_OUT, /* completed but outside --min/--max bounds */
	NT_CPU_NCOUNTERS,
};

/* ---- schedlat: wakeup (or preemption) to run latency ---- */

/* Where a task's run-queue wait started. */
struct nt_schedlat_start {
	__u64 ts_ns;
	__u32 waker_pid;
	__u32 waker_tgid;
	__u32 waker_cpu;
	__u32 target_cpu;
	__u8 preempted; /* 1: requeued at a switch (still runnable), 0: woken */
	__u8 _pad[7];
	char waker_comm[NT_CPU_COMMLEN];
};

/* Aggregation key: tid/tgid are 0 when grouping by name only. */
struct nt_schedlat_key {
	__u32 tgid;
	__u32 tid;
	char comm[NT_CPU_COMMLEN];
};

struct nt_schedlat_val {
	struct nt_hist hist;
	__u64 preempted; /* of hist.count, waits that began with a preemption */
};

/* One slow wakeup (latency >= the threshold), for the worst list and -v. */
struct nt_schedlat_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC when it ran */
	__u64 latency_ns;
	__u32 pid;
	__u32 tgid;
	__u32 waker_pid;
	__u32 waker_tgid;
	__u32 waker_cpu;
	__u32 target_cpu;
	__u32 run_cpu;
	__u8 preempted;
	__u8 _pad[3];
	char comm[NT_CPU_COMMLEN];
	char waker_comm[NT_CPU_COMMLEN];
};

/* ---- offcpu: time blocked, by stack ---- */

struct nt_offcpu_start {
	__u64 ts_ns;
	__s32 kstack;
	__s32 ustack;
	__u32 state; /* task state when it left the CPU */
	__u32 _pad;
};

struct nt_offcpu_key {
	__u32 pid;  /* thread id */
	__u32 tgid;
	__s32 kstack; /* -1: not captured or not asked for */
	__s32 ustack;
	char comm[NT_CPU_COMMLEN];
};

struct nt_offcpu_val {
	__u64 total_ns;
	__u64 count;
};

/* ---- futex: syscall wait time ---- */

struct nt_futex_start {
	__u64 ts_ns;
	__u64 uaddr;
	__u32 op;
	__u32 _pad;
};

struct nt_futex_key {
	__u32 tgid;
	__u32 tid; /* 0 unless per-thread */
	__u32 op;  /* FUTEX_* command (op & FUTEX_CMD_MASK) */
	__u32 _pad;
	char comm[NT_CPU_COMMLEN];
};

struct nt_futex_val {
	struct nt_hist hist;
	__u64 errors; /* returned < 0 (EAGAIN, ETIMEDOUT, EINTR, …) */
};

struct nt_futex_addr_key {
	__u32 tgid;
	__u32 _pad;
	__u64 uaddr;
};

struct nt_futex_addr_val {
	__u64 waits;
	__u64 total_ns;
	__u64 max_ns;
};

/* ---- rwlock: pthread_rwlock_wrlock() wait, from a uprobe/uretprobe pair ---- */

struct nt_rwlock_start {
	__u64 ts_ns;
	__s32 ustack; /* -1: not asked for or not captured */
	__u32 _pad;
};

struct nt_rwlock_key {
	__u32 tgid;
	__u32 tid;
	char comm[NT_CPU_COMMLEN];
};

struct nt_rwlock_val {
	struct nt_hist hist;
	__u64 errors; /* returned non-zero (EDEADLK, …) */
};

struct nt_rwlock_stack_key {
	__u32 tgid;
	__u32 tid;
	__s32 ustack;
	__u32 _pad;
	char comm[NT_CPU_COMMLEN];
};

struct nt_rwlock_stack_val {
	__u64 count;
	__u64 total_ns;
};

/* ---- monitor: on-CPU time per thread per CPU, and sampled stacks ---- */

struct nt_cpurun_key {
	__u32 cpu;
	__u32 pid;
	__u32 tgid;
	__u32 _pad;
	char comm[NT_CPU_COMMLEN];
};

struct nt_cpusample_key {
	__u32 cpu;
	__u32 pid;
	__u32 tgid;
	__s32 kstack;
	__s32 ustack;
	__u32 _pad;
	char comm[NT_CPU_COMMLEN];
};

#endif
