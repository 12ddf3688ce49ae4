/* SPDX-License-Identifier: GPL-2.0 */
/* Fixed-width types for headers shared by BPF programs and the C++ host code. */
#ifndef NETTRACE_ABI_TYPES_H
#define NETTRACE_ABI_TYPES_H

#ifdef __bpf__
/* vmlinux.h, included first by every .bpf.c, provides __u8 … __u64. */
#define NT_INLINE static __always_inline
#else
#include <linux/types.h>
#define NT_INLINE static inline
#endif

#endif
