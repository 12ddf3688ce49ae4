/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared between bpf/perf_iface.bpf.c and src/tools/perf/iface*.cpp (nettrace perf iface). */
#ifndef NETTRACE_ABI_IFACE_H
#define NETTRACE_ABI_IFACE_H

#include "nettrace/abi/types.h"

#define NT_IFACE_MAX_QUEUES 4096 /* queues per direction a device may have; more share the last row */
#define NT_IFACE_NSIZES 5        /* packet size buckets: [0,64) [64,512) [512,2K) [2K,16K) [16K,inf) */

enum nt_iface_dir {
	NT_IFACE_RX = 0,
	NT_IFACE_TX = 1,
};

/* One queue of one direction, per CPU (the host sums the CPUs). Index: dir * (nqueues + 1) + queue. */
struct nt_iface_queue {
	__u64 packets;
	__u64 bytes; /* L2 bytes: the Ethernet header is counted on both directions, as interface statistics are */
	__u64 sizes[NT_IFACE_NSIZES];
};

enum nt_iface_counter {
	NT_IFACE_RX_SEEN = 0,   /* every net:netif_receive_skb hit */
	NT_IFACE_TX_SEEN,       /* every net:net_dev_start_xmit hit */
	NT_IFACE_QUEUE_OVER,    /* packets on a queue index >= the device's queue count (counted in the last row) */
	NT_IFACE_NCOUNTERS,
};

NT_INLINE __u32 nt_iface_size_slot(__u64 len)
{
	if (len < 64)
		return 0;
	if (len < 512)
		return 1;
	if (len < 2048)
		return 2;
	if (len < 16384)
		return 3;
	return 4;
}

#endif
