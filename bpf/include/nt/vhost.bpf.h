/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost's private types, declared with only the fields nettrace reads, and what the vhost tools derive from them.
 *
 * The build host's vmlinux.h has no vhost types (the 6.18 build host does not build vhost). Every field below is
 * relocated by libbpf against the running kernel's module BTF, /sys/kernel/btf/vhost and /sys/kernel/btf/vhost_net:
 * open skeletons that include this with bpf::CoreBtf::Kernel (the Minimal BTF path does not see module BTF).
 * tun's types (tun_file, tun_struct) come from vmlinux.h: built into the build host, in the tun module's BTF in
 * the lab; vhost_net needs tun loaded, so they always resolve where vhost_net runs.
 *
 *   nt_vhost_call_ctx(vq)        the vq's call eventfd (vq->call_ctx.ctx, or vq->call_ctx before 5.8)
 *   nt_vhost_fill_id(vq, id)     where the vq belongs: device, index, owner process, worker, tun device and queue
 *   nt_vhost_owner_ok(vq)        the --pid filter (the device's owner: the QEMU process)
 *   nt_vhost_dev_ok(id)          the --interface / --queue filters
 */
#ifndef NT_VHOST_BPF_H
#define NT_VHOST_BPF_H

#include "nt/common.bpf.h"
#include "nettrace/abi/vhost.h"

struct vhost_virtqueue;

struct vhost_dev {
	struct mm_struct *mm;
	struct vhost_virtqueue **vqs;
	int nvqs;
} __attribute__((preserve_access_index));

/* Since 5.8 (265a0ad8731d "vhost: introduce vhost_vring_call"): the call eventfd and its irq bypass producer. */
struct vhost_vring_call {
	struct eventfd_ctx *ctx;
} __attribute__((preserve_access_index));

struct vhost_virtqueue {
	struct vhost_dev *dev;
	unsigned int num;
	struct vring_avail *avail; /* guest memory (a user address of the owner) */
	struct vhost_vring_call call_ctx;
	void *handle_kick;
	__u16 last_avail_idx;
	__u16 avail_idx;
	__u16 last_used_idx;
	__u16 used_flags;
	__u16 signalled_used;
	bool signalled_used_valid;
	bool log_used;
	void *private_data; /* vhost_net: the backend's struct socket */
	__u64 acked_features;
	__u64 acked_backend_features;
	bool is_le;
} __attribute__((preserve_access_index));

/* Before 265a0ad8731d (5.8) call_ctx was the eventfd pointer itself. */
struct vhost_virtqueue___old {
	struct eventfd_ctx *call_ctx;
} __attribute__((preserve_access_index));

struct vhost_net_virtqueue {
	struct vhost_virtqueue vq;
} __attribute__((preserve_access_index));

/* The owner processes of --pid (a hash: u32 tgid -> 1); cfg_pid_filter says whether it applies. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NT_VHOST_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} nt_vhost_pids SEC(".maps");

const volatile bool cfg_pid_filter = false;
const volatile __u32 cfg_ifindex = 0;            /* --interface: the tun/tap device, 0 = any */
const volatile __u32 cfg_queue = NT_VHOST_NO_INDEX; /* --queue: the tun queue, NO_INDEX = any */

static __always_inline struct eventfd_ctx *nt_vhost_call_ctx(struct vhost_virtqueue *vq)
{
	if (bpf_core_field_exists(vq->call_ctx.ctx))
		return BPF_CORE_READ(vq, call_ctx.ctx);
	return BPF_CORE_READ((struct vhost_virtqueue___old *)vq, call_ctx);
}

/* The vhost device's owner: dev->mm is the owner's mm (VHOST_SET_OWNER), whose owner task is the process that
 * created it (mm->owner, with CONFIG_MEMCG). Both vhost-<pid> kthreads (before 6.4) and vhost_task threads (6.4+)
 * work on that mm; without mm->owner the worker's own tgid stands in (right for vhost_tasks only). */
static __always_inline __u32 nt_vhost_owner(struct vhost_virtqueue *vq)
{
	struct mm_struct *mm = BPF_CORE_READ(vq, dev, mm);

	if (mm && bpf_core_field_exists(mm->owner)) {
		struct task_struct *t = BPF_CORE_READ(mm, owner);

		if (t)
			return BPF_CORE_READ(t, tgid);
	}
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool nt_vhost_owner_ok(struct vhost_virtqueue *vq)
{
	__u32 owner;

	if (!cfg_pid_filter)
		return true;
	owner = nt_vhost_owner(vq);
	return bpf_map_lookup_elem(&nt_vhost_pids, &owner) != NULL;
}

static __always_inline __u32 nt_vhost_vq_index(struct vhost_virtqueue *vq)
{
	struct vhost_dev *dev = BPF_CORE_READ(vq, dev);
	struct vhost_virtqueue **vqs = BPF_CORE_READ(dev, vqs);
	int n = BPF_CORE_READ(dev, nvqs);

	for (int i = 0; i < NT_VHOST_MAX_VQS; i++) {
		struct vhost_virtqueue *p = NULL;

		if (i >= n || !vqs)
			break;
		if (bpf_probe_read_kernel(&p, sizeof(p), &vqs[i]))
			break;
		if (p == vq)
			return i;
	}
	return NT_VHOST_NO_INDEX;
}

/* vhost_net's backend (vq->private_data) is a struct socket: a tun/tap queue's when its sock's protocol is tun's
 * ("tun"; macvtap's is "tap"). That socket is tun_file.socket: the tun_file gives the queue and the device. */
static __always_inline void nt_vhost_tun_of(struct vhost_virtqueue *vq, struct nt_vhost_vq_id *id)
{
	struct socket *sock = BPF_CORE_READ(vq, private_data);
	struct tun_file *tfile;
	struct tun_struct *tun;
	struct net_device *dev;
	const char *pname;
	char name[4] = {};

	id->ifindex = 0;
	id->tap_queue = NT_VHOST_NO_INDEX;
	id->ifname[0] = 0;
	if (!sock)
		return;
	/* struct proto's name is an array: its address is the struct's plus the field offset. */
	pname = (const char *)BPF_CORE_READ(sock, sk, __sk_common.skc_prot) + bpf_core_field_offset(struct proto, name);
	if (bpf_probe_read_kernel(name, sizeof(name), pname) || name[0] != 't' || name[1] != 'u' || name[2] != 'n' ||
	    name[3] != 0)
		return;
	tfile = (struct tun_file *)((char *)sock - bpf_core_field_offset(struct tun_file, socket));
	id->tap_queue = BPF_CORE_READ(tfile, queue_index);
	tun = BPF_CORE_READ(tfile, tun);
	dev = tun ? BPF_CORE_READ(tun, dev) : NULL;
	if (!dev)
		return;
	id->ifindex = BPF_CORE_READ(dev, ifindex);
	bpf_probe_read_kernel_str(id->ifname, sizeof(id->ifname), dev->name);
}

static __always_inline void nt_vhost_fill_id(struct vhost_virtqueue *vq, struct nt_vhost_vq_id *id)
{
	__u64 pt = bpf_get_current_pid_tgid();

	id->dev = (__u64)BPF_CORE_READ(vq, dev);
	id->handle_kick = (__u64)BPF_CORE_READ(vq, handle_kick);
	id->vq_index = nt_vhost_vq_index(vq);
	id->owner_tgid = nt_vhost_owner(vq);
	id->worker_tid = (__u32)pt;
	id->worker_tgid = pt >> 32;
	bpf_get_current_comm(id->worker_comm, sizeof(id->worker_comm));
	nt_vhost_tun_of(vq, id);
}

static __always_inline bool nt_vhost_dev_ok(const struct nt_vhost_vq_id *id)
{
	if (cfg_ifindex && id->ifindex != cfg_ifindex)
		return false;
	if (cfg_queue != NT_VHOST_NO_INDEX && id->tap_queue != cfg_queue)
		return false;
	return true;
}

#endif
