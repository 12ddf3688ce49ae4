// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_rcvbuf: one record per packet a virtio-net device hands to GRO (trace_virtio_net_rcvbuf.bt), from
 * net:napi_gro_receive_entry (virtio_net's receive_buf / virtnet_receive_done call napi_gro_receive): device, the
 * receive queue the driver recorded in the skb, length, and the headers (TCP seq/ack, ICMP id/seq).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "nettrace/abi/virtio.h"
#include "nt/common.bpf.h"
#include "nt/hooks.bpf.h"

const volatile __u32 cfg_netns = 0;
/* x86-64 with CONFIG_RANDOMIZE_MEMORY: where the kernel keeps the direct map's and the struct page array's bases
 * (kallsyms data symbols, from the host; 0: unknown, frags are not read). */
const volatile __u64 cfg_page_offset_base = 0;
const volatile __u64 cfg_vmemmap_base = 0;

/*
 * A page fragment of the skb, three layouts: skb_frag_t was struct bio_vec (6.1), then its own struct skb_frag with
 * the bio_vec field names ("net: make skb_frag_t a standalone struct"), then netmem ("net: add netmem to
 * skb_frag_t", 6.12 has it). Told apart by field existence.
 */
struct skb_frag___old {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
} __attribute__((preserve_access_index));

struct skb_frag___nt {
	unsigned long netmem;
	unsigned int len;
	unsigned int offset;
} __attribute__((preserve_access_index));

struct bio_vec___nt {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
} __attribute__((preserve_access_index));

struct frag_buf {
	__u8 b[512];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frag_buf);
} frag_scratch SEC(".maps");

NT_COUNTER_MAP(counters, NT_VIRTIO_NCOUNTERS);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/*
 * The frame from its MAC header (set by eth_type_trans; the network header is not set yet at GRO, so the generic
 * nt_skb_parse, which prefers it when it lies below the MAC header, would read the headroom). When the linear part
 * ends before the headers do (a driver that copies only the Ethernet header and leaves the rest in a page
 * fragment), frags[0] is read after it.
 */
static __always_inline void parse_frame(struct sk_buff *skb, struct nt_virtio_rcv_event *e)
{
	__u32 zero = 0, n1, n2 = 0, flen = 0, foff = 0;
	__u64 head = (__u64)BPF_CORE_READ(skb, head), page = 0, vmemmap = 0, pob = 0, vaddr;
	__u16 mac = BPF_CORE_READ(skb, mac_header);
	__u32 tail = BPF_CORE_READ(skb, tail), end = BPF_CORE_READ(skb, end);
	struct skb_shared_info *sh = (struct skb_shared_info *)(head + end);
	struct nt_pkt *p = &e->pkt;
	struct frag_buf *buf;
	void *frag;

	e->nr_frags = BPF_CORE_READ(sh, nr_frags);
	if (mac == (__u16)~0U || tail <= mac)
		return;
	e->linear = tail - mac;
	buf = bpf_map_lookup_elem(&frag_scratch, &zero);
	if (!buf)
		return;
	n1 = e->linear < NT_PKT_MAX ? e->linear : NT_PKT_MAX;
	/* Hide the bound from clang so the masks the verifier needs survive optimisation. */
	barrier_var(n1);
	n1 &= 255;
	if (bpf_probe_read_kernel(buf->b, n1, (void *)(head + mac)))
		return;
	if (n1 < NT_PKT_MAX && e->nr_frags && cfg_page_offset_base && cfg_vmemmap_base) {
		frag = (void *)sh + bpf_core_field_offset(struct skb_shared_info, frags);
		if (bpf_core_field_exists(struct skb_frag___nt, netmem)) {
			struct skb_frag___nt *f = frag;

			page = BPF_CORE_READ(f, netmem);
			flen = BPF_CORE_READ(f, len);
			foff = BPF_CORE_READ(f, offset);
			if (page & 1) /* a net_iov (devmem), not a page */
				page = 0;
		} else if (bpf_core_field_exists(struct skb_frag___old, bv_page)) {
			struct skb_frag___old *f = frag;

			page = (__u64)BPF_CORE_READ(f, bv_page);
			flen = BPF_CORE_READ(f, bv_len);
			foff = BPF_CORE_READ(f, bv_offset);
		} else {
			struct bio_vec___nt *f = frag;

			page = (__u64)BPF_CORE_READ(f, bv_page);
			flen = BPF_CORE_READ(f, bv_len);
			foff = BPF_CORE_READ(f, bv_offset);
		}
		if (page && !bpf_probe_read_kernel(&vmemmap, sizeof(vmemmap), (void *)cfg_vmemmap_base) &&
		    !bpf_probe_read_kernel(&pob, sizeof(pob), (void *)cfg_page_offset_base) && page >= vmemmap) {
			/* page_address() of a direct-mapped page: its index in the page array, times the page size. */
			vaddr = pob + (page - vmemmap) / bpf_core_type_size(struct page) * 4096 + foff;
			n2 = flen < NT_PKT_MAX - n1 ? flen : NT_PKT_MAX - n1;
			barrier_var(n2);
			n2 &= 255;
			if (bpf_probe_read_kernel(buf->b + n1, n2, (void *)vaddr))
				n2 = 0;
		}
	}
	nt_parse_eth(buf->b, n1 + n2, p);
}

static __always_inline int on_gro(struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct nt_virtio_rcv_event *e;
	__u32 ifindex;
	__u16 qm;

	if (!dev)
		return 0;
	ifindex = BPF_CORE_READ(dev, ifindex);
	if (!bpf_map_lookup_elem(&devices, &ifindex))
		return 0;
	if (cfg_netns && BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg_netns)
		return 0;
	nt_count(&counters, NT_VIRTIO_EVENTS);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		nt_count(&counters, NT_VIRTIO_RB_LOST);
		return 0;
	}
	__builtin_memset(&e->pkt, 0, sizeof(e->pkt));
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ifindex;
	qm = BPF_CORE_READ(skb, queue_mapping);
	e->queue = qm ? (__s32)qm - 1 : -1; /* skb_record_rx_queue stores queue + 1 */
	e->len = BPF_CORE_READ(skb, len);
	e->cpu = bpf_get_smp_processor_id();
	BPF_CORE_READ_STR_INTO(&e->dev, dev, name);
	e->linear = 0;
	e->nr_frags = 0;
	parse_frame(skb, e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

NT_HOOK_TP(napi_gro_receive_entry, (struct sk_buff *skb), on_gro(skb))

char LICENSE[] SEC("license") = "GPL";
