/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers every nettrace BPF program uses. */
#ifndef NT_COMMON_BPF_H
#define NT_COMMON_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Add one to a per-CPU counter slot; the host sums the CPUs. */
#define NT_COUNTER_MAP(name, n)                                                                    \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                            \
		__uint(max_entries, n);                                                            \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} name SEC(".maps")

static __always_inline void nt_count(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		(*v)++;
}

/*
 * The value at key, inserted as *init first when absent; NULL only when the map is full. Another CPU inserting the
 * same key in between is fine: BPF_NOEXIST fails and the second lookup finds that CPU's entry.
 */
static __always_inline void *nt_map_lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif
