// SPDX-License-Identifier: GPL-2.0
/*
 * Test shim for the ring reader (tests/bpf/ring_reader_test.cpp): each BPF_PROG_TEST_RUN writes one record of
 * shim_size bytes (a counter, then a byte pattern) into a one-page ring buffer, or reserves and discards it, so
 * the host reader sees records that wrap the data area's end, exactly as the kernel lays them out.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} shim_ring SEC(".maps");

__u32 shim_size = 16;    /* bytes per record, 4..256 */
__u32 shim_discard = 0;  /* reserve, then discard */
__u32 shim_seq = 0;
__s32 shim_ret = 0;

__u8 shim_rec[256] = {};

SEC("tc")
int ringbuf_shim(struct __sk_buff *skb)
{
	__u32 n = shim_size;

	if (n < 4 || n > 256)
		return 1;
	if (shim_discard) {
		void *p = bpf_ringbuf_reserve(&shim_ring, 64, 0);

		if (!p) {
			shim_ret = -1;
			return 1;
		}
		bpf_ringbuf_discard(p, 0);
		return 0;
	}
	__builtin_memcpy(shim_rec, &shim_seq, 4);
	for (int i = 4; i < 256; i++)
		shim_rec[i] = (__u8)(shim_seq + i);
	shim_seq++;
	shim_ret = bpf_ringbuf_output(&shim_ring, shim_rec, n, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
