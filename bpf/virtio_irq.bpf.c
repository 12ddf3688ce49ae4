// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_irq: the virtio-net device's interrupts from irq:irq_handler_entry/exit (virtnet_irq_monitor.py,
 * trace_int_final.bt): per IRQ and CPU the handler calls, return values, time since the IRQ's previous
 * interrupt and handler duration. Only IRQs in the `irqs` set (filled by the host) are kept.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/virtio.h"
#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"

NT_COUNTER_MAP(counters, NT_VIRTIO_NCOUNTERS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} irqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nt_virtio_irq_key);
	__type(value, struct nt_virtio_irq_val);
} stats SEC(".maps");

/* The previous entry of each IRQ, on whichever CPU it ran (one IRQ's handlers never run concurrently). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} last_entry SEC(".maps");

/* The handler running on this CPU: hard IRQ handlers do not nest. */
struct irq_start {
	__u64 ts_ns;
	__u32 irq;
	__u32 valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_start);
} start SEC(".maps");

static struct nt_virtio_irq_val zero_val;

static __always_inline struct nt_virtio_irq_val *row(__u32 irq)
{
	struct nt_virtio_irq_key k = {.irq = irq, .cpu = bpf_get_smp_processor_id()};
	struct nt_virtio_irq_val *v = nt_map_lookup_or_init(&stats, &k, &zero_val);

	if (!v)
		nt_count(&counters, NT_VIRTIO_MAP_FULL);
	return v;
}

static __always_inline int on_entry(int irq)
{
	__u32 key = 0, n = (__u32)irq;
	__u64 now = bpf_ktime_get_ns(), *last;
	struct irq_start *s;
	struct nt_virtio_irq_val *v;

	if (!bpf_map_lookup_elem(&irqs, &n))
		return 0;
	nt_count(&counters, NT_VIRTIO_EVENTS);
	v = row(n);
	if (v) {
		v->count++;
		last = bpf_map_lookup_elem(&last_entry, &n);
		if (last && now > *last) {
			v->gap_sum_ns += now - *last;
			v->gaps++;
		}
	}
	bpf_map_update_elem(&last_entry, &n, &now, BPF_ANY);
	s = bpf_map_lookup_elem(&start, &key);
	if (s) {
		s->ts_ns = now;
		s->irq = n;
		s->valid = 1;
	}
	return 0;
}

static __always_inline int on_exit(int irq, int ret)
{
	__u32 key = 0, n = (__u32)irq;
	__u64 now = bpf_ktime_get_ns();
	struct irq_start *s;
	struct nt_virtio_irq_val *v;

	if (!bpf_map_lookup_elem(&irqs, &n))
		return 0;
	v = row(n);
	if (!v)
		return 0;
	v->ret[ret >= 0 && ret < 3 ? ret : 3]++;
	s = bpf_map_lookup_elem(&start, &key);
	if (!s || !s->valid || s->irq != n) {
		nt_count(&counters, NT_VIRTIO_NO_ENTRY);
		return 0;
	}
	s->valid = 0;
	nt_hist_add(&v->dur, now - s->ts_ns);
	return 0;
}

/*
 * --spurious: vring_interrupt (the handler of a per-virtqueue MSI-X vector, or called per virtqueue by a shared
 * vector's vp_interrupt) returns IRQ_NONE when the virtqueue has no new used entries. Counted under the IRQ being
 * handled on this CPU (from irq_handler_entry), which the kretprobe variant could not see otherwise.
 */
static __always_inline int on_vring_ret(int ret)
{
	__u32 key = 0;
	struct irq_start *s = bpf_map_lookup_elem(&start, &key);
	struct nt_virtio_irq_val *v;

	if (!s || !s->valid)
		return 0;
	v = row(s->irq);
	if (!v)
		return 0;
	v->vring_calls++;
	if (ret == 0)
		v->vring_none++;
	return 0;
}

NT_HOOK_TP(irq_handler_entry, (int irq, void *action), on_entry(irq))
NT_HOOK_TP(irq_handler_exit, (int irq, void *action, int ret), on_exit(irq, ret))

NT_HOOK_FN_RET(vring_interrupt, (int irq, void *vq, int ret), (int ret), on_vring_ret(ret))

char LICENSE[] SEC("license") = "GPL";
