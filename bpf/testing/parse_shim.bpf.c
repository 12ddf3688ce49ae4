// SPDX-License-Identifier: GPL-2.0
/*
 * Test shim for BPF_PROG_TEST_RUN (tests/bpf): runs the shared parser and
 * filter (nettrace/abi/pkt.h, filter.h) on a crafted packet, in the kernel,
 * under the verifier. The host test sets the inputs in .bss, runs the program
 * and compares the outputs with the host-compiled parser on the same bytes.
 * SEC("tc") programs are test-runnable on every supported kernel (>= 4.12).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/pkt.h"

#define SHIM_ETH 0 /* data is an Ethernet frame: nt_parse_eth */
#define SHIM_L3 1  /* data after its first 14 bytes is L3 with EtherType shim_l3_proto: nt_parse_l3 */

/* Inputs. */
struct nt_filter shim_filter = {};
struct nt_pkt shim_preset = {}; /* e.g. a stripped tag in vlan[0], as nt_skb_vlan() sets it */
__u32 shim_mode = SHIM_ETH;
__u16 shim_l3_proto = 0;
__u32 shim_netns = 0;
/* Bytes the parser may use, 0: all copied. The kernel refuses to test-run an IPv4 frame shorter than
 * 34 bytes or an IPv6 one shorter than 54, so the test pads short frames and passes their real length. */
__u32 shim_limit = 0;

/* Outputs. */
struct nt_pkt shim_pkt = {};
__s32 shim_ret = 0;
__s32 shim_match = 0;
__s32 shim_match_dev = 0;
__u32 shim_copied = 0;
__u32 shim_parse_len = 0;
__u32 shim_runs = 0;

/* The header copy, as nt_skb_parse() makes it: a power-of-two buffer the masked length stays inside. */
__u8 shim_buf[NT_BUF_SIZE] = {};

SEC("tc")
int parse_shim(struct __sk_buff *skb)
{
	struct nt_pkt p = shim_preset;
	__u32 start = shim_mode == SHIM_L3 ? 14 : 0;
	__u32 n, len;

	shim_runs++;
	if (skb->len <= start)
		return 1;
	n = skb->len - start;
	if (n > NT_PKT_MAX)
		n = NT_PKT_MAX;
	/* Hide the bound from clang so the mask the verifier needs survives optimisation. */
	barrier_var(n);
	n &= NT_BUF_SIZE - 1;
	if (n == 0 || bpf_skb_load_bytes(skb, start, shim_buf, n))
		return 2;
	shim_copied = n;
	len = shim_limit && shim_limit < n ? shim_limit : n;
	shim_parse_len = len;
	if (shim_mode == SHIM_L3)
		shim_ret = nt_parse_l3(shim_buf, len, 0, shim_l3_proto, &p);
	else
		shim_ret = nt_parse_eth(shim_buf, len, &p);
	shim_match = nt_filter_match_pkt(&shim_filter, &p);
	shim_match_dev = nt_filter_match_dev(&shim_filter, skb->ifindex, shim_netns);
	shim_pkt = p;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
