/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One handler, every way the running kernel may let us reach it. Each macro below emits the variant programs of
 * one hook under the names the host's builders look for (bpf::tracepoint_hook and bpf::function_hook in
 * include/nettrace/bpf/probe_plan.hpp); the probe plan loads the first variant the kernel supports and no other:
 *
 *   NT_HOOK_TP          tpbtf_<event>             tp_btf: typed arguments, handler may read them directly
 *                       rawtp_<event>             raw_tp: the same arguments, to be read through CO-RE
 *   NT_HOOK_TP_CLASSIC  tp_<category>_<event>     tracepoint: the event's format struct (needs tracefs)
 *   NT_HOOK_FN          fentry_<fn>, kprobe_<fn>  function entry
 *   NT_HOOK_FN_RET      fexit_<fn>, kretprobe_<fn> function return
 *
 * `params` is the parenthesised argument list (leading arguments may be declared as void * placeholders, trailing
 * ones left out); `call` is the handler call, an expression that may use the arguments, `ctx` and `nt_direct`
 * (true only where the arguments are BTF-typed pointers the verifier lets the handler dereference).
 */
#ifndef NT_HOOKS_BPF_H
#define NT_HOOKS_BPF_H

#include <bpf/bpf_tracing.h>

#define NT_ARGS(...) __VA_ARGS__
#define NT_UNUSED __attribute__((unused))
/* One more expansion step, so the parenthesised list reaches BPF_PROG/BPF_KPROBE as separate arguments. */
#define NT__PROG(name, ...) BPF_PROG(name, __VA_ARGS__)
#define NT__KPROBE(name, ...) BPF_KPROBE(name, __VA_ARGS__)
#define NT__KRETPROBE(name, ...) BPF_KRETPROBE(name, __VA_ARGS__)

#define NT_HOOK_TP(event, params, call)                                                                     \
	SEC("tp_btf/" #event)                                                                               \
	int NT__PROG(tpbtf_##event, NT_ARGS params)                                                         \
	{                                                                                                   \
		const bool nt_direct NT_UNUSED = true;                                                      \
		return (call);                                                                              \
	}                                                                                                   \
	SEC("raw_tp/" #event)                                                                               \
	int NT__PROG(rawtp_##event, NT_ARGS params)                                                         \
	{                                                                                                   \
		const bool nt_direct NT_UNUSED = false;                                                     \
		return (call);                                                                              \
	}

/* `type *var` is the format struct (struct trace_event_raw_<template>), what the handler call reads. */
#define NT_HOOK_TP_CLASSIC(category, event, type, var, call)                                                \
	SEC("tracepoint/" #category "/" #event)                                                             \
	int tp_##category##_##event(void *ctx)                                                              \
	{                                                                                                   \
		type *var = ctx;                                                                            \
		const bool nt_direct NT_UNUSED = false;                                                     \
		return (call);                                                                              \
	}

/* The skb of a classic tracepoint's format struct (the skbaddr field every skb event has). */
#define NT_TP_SKB(args) ((struct sk_buff *)BPF_CORE_READ(args, skbaddr))

#define NT_HOOK_FN(fn, params, call)                                                                        \
	SEC("fentry/" #fn)                                                                                  \
	int NT__PROG(fentry_##fn, NT_ARGS params)                                                           \
	{                                                                                                   \
		const bool nt_direct NT_UNUSED = true;                                                      \
		return (call);                                                                              \
	}                                                                                                   \
	SEC("kprobe/" #fn)                                                                                  \
	int NT__KPROBE(kprobe_##fn, NT_ARGS params)                                                         \
	{                                                                                                   \
		const bool nt_direct NT_UNUSED = false;                                                     \
		return (call);                                                                              \
	}

/* fexit sees the arguments and then the return value (`fexit_params`); kretprobe only the return value. */
#define NT_HOOK_FN_RET(fn, fexit_params, kretprobe_params, call)                                            \
	SEC("fexit/" #fn)                                                                                   \
	int NT__PROG(fexit_##fn, NT_ARGS fexit_params)                                                      \
	{                                                                                                   \
		const bool nt_direct NT_UNUSED = true;                                                      \
		return (call);                                                                              \
	}                                                                                                   \
	SEC("kretprobe/" #fn)                                                                               \
	int NT__KRETPROBE(kretprobe_##fn, NT_ARGS kretprobe_params)                                         \
	{                                                                                                   \
		const bool nt_direct NT_UNUSED = false;                                                     \
		return (call);                                                                              \
	}

#endif
