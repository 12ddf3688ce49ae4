// SPDX-License-Identifier: GPL-2.0
/*
 * nt_vhost_net: a user-space vhost-net driver that plays the guest, the exact oracle for the tun/vhost tools and
 * their lab tests (docs/lab.md, "The vhost-net driver"). It creates a tap, gives each queue pair to /dev/vhost-net
 * with split virtqueues in its own memory (identity-mapped "guest memory"), and counts everything it does.
 *
 *   nt_vhost_net --tap NAME [options]
 *
 *   --tap NAME            tap to create (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR; IFF_MULTI_QUEUE when --queues > 1). The
 *                         driver brings it up itself (SIOCSIFFLAGS IFF_UP) unless --no-up. It disappears when the
 *                         driver exits (not persistent).
 *   --queues N            queue pairs (1..16, default 1): one tap fd and one /dev/vhost-net fd per pair
 *   --ring-size N         virtqueue size, a power of two 2..4096 (default 256)
 *   --rx-buffers N        RX buffers (2048 bytes each) posted per queue at the start (0..ring size, default
 *                         ring size); 0 = none, so the tap's ring fills and tun drops (tx_dropped, FULL_RING)
 *   --rx-refill           re-post each RX buffer once its packet has been consumed
 *   --rx-expect K         after TX, keep receiving until K packets arrived in total (all queues)
 *   --tx-packets M        IPv4/UDP frames sent per queue through the TX virtqueue (default 0)
 *   --tx-size BYTES       Ethernet frame size of those frames, 42..1514 (default 128); the vnet header (zeros)
 *                         comes on top and is not counted in any byte figure
 *   --no-interrupt WHICH  rx, tx or both: set VRING_AVAIL_F_NO_INTERRUPT in that ring's avail->flags (vhost then
 *                         signals no call eventfd for it, unless --event-idx)
 *   --event-idx           also negotiate VIRTIO_RING_F_EVENT_IDX (used_event = entries consumed so far, so a
 *                         signal per batch; with --no-interrupt that vq's used_event stays 0xffff instead, and
 *                         vhost signals it exactly once: the first signal after the backend is set is
 *                         unconditional, vhost_notify() has no previous "signalled_used" to compare with)
 *   --ready-file PATH     create PATH once everything is set up (a "ready" line goes to stderr as well)
 *   --go-file PATH        after setup, wait until PATH exists before posting RX buffers and sending
 *   --stop-file PATH      keep receiving (after TX and --rx-expect) until PATH exists; also ends --hold
 *   --drain-file PATH     once PATH exists, turn on --rx-refill and top every RX ring up to full (drains a tap
 *                         that overflowed with --rx-buffers 0)
 *   --hold SECONDS        afterwards keep the fds open SECONDS more, still receiving (ends early at a signal or
 *                         once --stop-file exists, so with --stop-file it only applies if that wait timed out)
 *   --timeout SECONDS     bound of every wait (go-file, TX completions, --rx-expect, --stop-file; default 60)
 *   --no-up               leave the tap down (the test brings it up)
 *   --no-vhost            only open the tap (queues as asked) and hold it without ever reading: needs no vhost
 *                         (the host kernel without vhost_net); traffic into the tap fills its ring and overflows
 *
 * Order: setup -> ready -> go-file -> post RX, kick -> TX M per queue, wait for their used entries -> --rx-expect
 * -> --stop-file -> --hold -> final sweep of the used rings and call eventfds -> one JSON object on stdout.
 * SIGTERM/SIGINT end the current wait at once and still print the JSON.
 *
 * Counters (per queue; "rx" = vq 0, "tx" = vq 1):
 *   rx_buffers_posted     descriptors made available on the RX ring (initial + refills)
 *   rx_packets, rx_bytes  used RX entries consumed; bytes = used.len minus the vnet header = the tap's tx_bytes
 *   tx_packets_sent       frames made available on the TX ring; tx_bytes_sent their frame bytes
 *   tx_packets_completed  used TX entries consumed (vhost handed the frame to the tap: tap rx_packets)
 *   kicks.rx/.tx          writes to that vq's kick eventfd (one per batch of buffers made available; vhost may
 *                         coalesce several writes into one wakeup)
 *   call_signals.rx/.tx   sum of the values read from that vq's call eventfd (read non-blocking, and once more
 *                         at the end): exactly how many times vhost signalled the vq
 * Top level: tap, queues, mode ("vhost"/"no-vhost"), ring_size, features_offered/features (hex), event_idx,
 * vnet_hdr_size, no_interrupt, worker_kind ("vhost_task": threads of this process, 6.4+; "kthread": kernel threads
 * "vhost-<pid>", before 6.4; "unknown"), per queue worker_tid/worker_comm, timed_out (the waits that timed out),
 * elapsed_ms.
 *
 * Exit: 0 done; 2 bad arguments; 1 setup failed (ioctl, tap); 3 a wait timed out (JSON still printed);
 * 77 no /dev/vhost-net (vhost_net not loaded or not built), so tests can skip.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUES 16
#define BUF_SIZE 2048
#define EXIT_SKIP 77

struct vq {
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	char *bufs;            /* num buffers of BUF_SIZE, descriptor i <-> buffer i */
	uint16_t avail_idx;    /* next avail index we publish */
	uint16_t used_seen;    /* used entries consumed */
	uint16_t *free_ids;    /* stack of free descriptor ids */
	unsigned nfree;
	int kick, call;
	bool noint;
	unsigned long long kicks, calls;
};

struct queue {
	int tap, vhost;
	struct vq rx, tx;
	unsigned long long rx_posted, rx_packets, rx_bytes;
	unsigned long long tx_sent, tx_bytes, tx_done;
	int worker_tid;
	char worker_comm[32];
};

static struct {
	const char *tap, *go_file, *ready_file, *stop_file, *drain_file;
	int queues, ring, rx_buffers, tx_packets, tx_size, hold, timeout;
	long rx_expect;
	bool rx_refill, event_idx, no_up, no_vhost, noint_rx, noint_tx;
} opt = {.queues = 1, .ring = 256, .rx_buffers = -1, .tx_size = 128, .timeout = 60, .rx_expect = -1};

static struct queue q[MAX_QUEUES];
static unsigned long long features_offered, features;
static int vnet_hdr;
static char worker_kind[16] = "unknown";
static volatile sig_atomic_t stop_signal;
static char timed_out[128];
static struct timespec t_start;

static void on_signal(int sig) { (void)sig; stop_signal = 1; }

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "nt_vhost_net: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(code);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static bool exists(const char *p) { struct stat st; return p && stat(p, &st) == 0; }

static long parse_num(const char *name, const char *v, long lo, long hi)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || !*v || *end || n < lo || n > hi)
		die(2, "invalid %s '%s' (expected an integer %ld..%ld)", name, v, lo, hi);
	return n;
}

static void usage_exit(const char *msg)
{
	fprintf(stderr, "nt_vhost_net: %s\nusage: nt_vhost_net --tap NAME [--queues N] [--ring-size N] [--rx-buffers N] "
			"[--rx-refill] [--rx-expect K] [--tx-packets M] [--tx-size BYTES] [--no-interrupt rx|tx|both] "
			"[--event-idx] [--ready-file P] [--go-file P] [--stop-file P] [--drain-file P] [--hold S] "
			"[--timeout S] [--no-up] [--no-vhost]\n(see the comment at the top of tests/workloads/nt_vhost_net.c)\n",
		msg);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) { char m[96]; snprintf(m, sizeof(m), "%s needs a value", a); usage_exit(m); } i++; } while (0)
		if (!strcmp(a, "--tap")) { NEEDV(); opt.tap = v; }
		else if (!strcmp(a, "--queues")) { NEEDV(); opt.queues = parse_num(a, v, 1, MAX_QUEUES); }
		else if (!strcmp(a, "--ring-size")) { NEEDV(); opt.ring = parse_num(a, v, 2, 4096); }
		else if (!strcmp(a, "--rx-buffers")) { NEEDV(); opt.rx_buffers = parse_num(a, v, 0, 4096); }
		else if (!strcmp(a, "--rx-refill")) opt.rx_refill = true;
		else if (!strcmp(a, "--rx-expect")) { NEEDV(); opt.rx_expect = parse_num(a, v, 0, 1L << 40); }
		else if (!strcmp(a, "--tx-packets")) { NEEDV(); opt.tx_packets = parse_num(a, v, 0, 1 << 30); }
		else if (!strcmp(a, "--tx-size")) { NEEDV(); opt.tx_size = parse_num(a, v, 42, 1514); }
		else if (!strcmp(a, "--no-interrupt")) {
			NEEDV();
			if (!strcmp(v, "rx")) opt.noint_rx = true;
			else if (!strcmp(v, "tx")) opt.noint_tx = true;
			else if (!strcmp(v, "both")) opt.noint_rx = opt.noint_tx = true;
			else die(2, "invalid --no-interrupt '%s' (expected rx, tx or both)", v);
		}
		else if (!strcmp(a, "--event-idx")) opt.event_idx = true;
		else if (!strcmp(a, "--ready-file")) { NEEDV(); opt.ready_file = v; }
		else if (!strcmp(a, "--go-file")) { NEEDV(); opt.go_file = v; }
		else if (!strcmp(a, "--stop-file")) { NEEDV(); opt.stop_file = v; }
		else if (!strcmp(a, "--drain-file")) { NEEDV(); opt.drain_file = v; }
		else if (!strcmp(a, "--hold")) { NEEDV(); opt.hold = parse_num(a, v, 0, 86400); }
		else if (!strcmp(a, "--timeout")) { NEEDV(); opt.timeout = parse_num(a, v, 1, 86400); }
		else if (!strcmp(a, "--no-up")) opt.no_up = true;
		else if (!strcmp(a, "--no-vhost")) opt.no_vhost = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage_exit("help");
		else { char m[160]; snprintf(m, sizeof(m), "unknown argument '%s'", a); usage_exit(m); }
#undef NEEDV
	}
	if (!opt.tap) usage_exit("--tap NAME is required");
	if (!*opt.tap || strlen(opt.tap) >= IFNAMSIZ) die(2, "invalid --tap '%s' (1..%d characters)", opt.tap, IFNAMSIZ - 1);
	if (opt.ring & (opt.ring - 1)) die(2, "invalid --ring-size '%d' (a power of two)", opt.ring);
	if (opt.rx_buffers < 0) opt.rx_buffers = opt.ring;
	if (opt.rx_buffers > opt.ring) die(2, "invalid --rx-buffers '%d' (at most --ring-size %d)", opt.rx_buffers, opt.ring);
}

/* ------------------------------------------------------------------------------------------------------- tap */
static void open_taps(void)
{
	for (int i = 0; i < opt.queues; i++) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0) die(1, "cannot open /dev/net/tun: %s", strerror(errno));
		struct ifreq ifr = {0};
		strncpy(ifr.ifr_name, opt.tap, IFNAMSIZ - 1);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (opt.queues > 1 ? IFF_MULTI_QUEUE : 0);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0)
			die(1, "TUNSETIFF %s (queue %d): %s", opt.tap, i, strerror(errno));
		q[i].tap = fd;
	}
	if (!opt.no_up) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct ifreq ifr = {0};
		strncpy(ifr.ifr_name, opt.tap, IFNAMSIZ - 1);
		if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die(1, "SIOCGIFFLAGS %s: %s", opt.tap, strerror(errno));
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die(1, "SIOCSIFFLAGS %s up: %s", opt.tap, strerror(errno));
		close(s);
	}
}

/* --------------------------------------------------------------------------------------------- vhost worker */
static int read_comm(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) return -1;
	if (!fgets(buf, n, f)) { fclose(f); return -1; }
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* The worker a VHOST_SET_OWNER just created: a thread of ours named "vhost-<pid>" (vhost_task, 6.4+) or a kernel
 * thread of that name (before 6.4); the newest one not yet assigned to a queue. */
static void find_worker(int qi)
{
	char want[32], path[64], comm[32];
	snprintf(want, sizeof(want), "vhost-%d", getpid());
	const char *dirs[] = {"/proc/self/task", "/proc"};
	for (int d = 0; d < 2; d++) {
		DIR *dir = opendir(dirs[d]);
		if (!dir) continue;
		struct dirent *e;
		int best = 0;
		while ((e = readdir(dir))) {
			int tid = atoi(e->d_name);
			if (tid <= 0) continue;
			snprintf(path, sizeof(path), "%s/%d/comm", dirs[d], tid);
			if (read_comm(path, comm, sizeof(comm)) || strcmp(comm, want)) continue;
			bool taken = false;
			for (int j = 0; j < qi; j++) taken |= q[j].worker_tid == tid;
			if (!taken && tid > best) best = tid;
		}
		closedir(dir);
		if (best) {
			q[qi].worker_tid = best;
			snprintf(q[qi].worker_comm, sizeof(q[qi].worker_comm), "%s", want);
			snprintf(worker_kind, sizeof(worker_kind), "%s", d == 0 ? "vhost_task" : "kthread");
			return;
		}
	}
}

/* ------------------------------------------------------------------------------------------------ virtqueues */
static char *guest_mem;
static size_t guest_size, guest_used;

static void *galloc(size_t size, size_t align)
{
	guest_used = (guest_used + align - 1) & ~(align - 1);
	if (guest_used + size > guest_size) die(1, "internal: guest memory too small");
	void *p = guest_mem + guest_used;
	guest_used += size;
	return p;
}

static uint16_t *used_event(struct vq *v) { return &v->avail->ring[v->num]; }

static void vq_init(struct vq *v, bool noint)
{
	v->num = opt.ring;
	v->desc = galloc(16 * v->num, 4096);
	v->avail = galloc(6 + 2 * v->num, 4096);
	v->used = galloc(6 + 8 * v->num, 4096);
	v->bufs = galloc((size_t)BUF_SIZE * v->num, 4096);
	v->free_ids = calloc(v->num, sizeof(uint16_t));
	for (unsigned i = 0; i < v->num; i++) v->free_ids[v->nfree++] = v->num - 1 - i;
	if (noint) v->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	/* With EVENT_IDX vhost ignores the flag: used_event 0xffff means "signal only when used idx passes 0xffff"
	 * (plus vhost's unconditional first signal). */
	v->noint = noint;
	if (noint && opt.event_idx) *used_event(v) = 0xffff;
	v->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	v->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->kick < 0 || v->call < 0) die(1, "eventfd: %s", strerror(errno));
}

/* Make descriptor id available (not yet published). */
static void vq_add(struct vq *v, uint16_t id, uint32_t len, bool write)
{
	v->desc[id].addr = (uint64_t)(uintptr_t)(v->bufs + (size_t)id * BUF_SIZE);
	v->desc[id].len = len;
	v->desc[id].flags = write ? VRING_DESC_F_WRITE : 0;
	v->desc[id].next = 0;
	v->avail->ring[v->avail_idx % v->num] = id;
	v->avail_idx++;
}

static void vq_publish_kick(struct vq *v)
{
	__atomic_store_n(&v->avail->idx, v->avail_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* avail idx visible before vhost reads the kick */
	uint64_t one = 1;
	if (write(v->kick, &one, sizeof(one)) != sizeof(one)) die(1, "kick: %s", strerror(errno));
	v->kicks++;
}

static void vq_read_calls(struct vq *v)
{
	uint64_t n;
	if (read(v->call, &n, sizeof(n)) == sizeof(n)) v->calls += n;
}

static void vhost_ioctl(int fd, unsigned long req, void *arg, const char *what, int qi)
{
	if (ioctl(fd, req, arg) < 0) die(1, "%s (queue %d): %s", what, qi, strerror(errno));
}

static void setup_vhost(void)
{
	size_t per_vq = 3 * 4096 + ((16 + 8 + 2) * (size_t)opt.ring + 4096) + (size_t)BUF_SIZE * opt.ring;
	guest_size = (per_vq * 2 * opt.queues + 4095) & ~(size_t)4095;
	guest_mem = mmap(NULL, guest_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (guest_mem == MAP_FAILED) die(1, "mmap %zu bytes: %s", guest_size, strerror(errno));

	struct vhost_memory *mem = calloc(1, sizeof(*mem) + sizeof(struct vhost_memory_region));
	mem->nregions = 1;
	mem->regions[0].guest_phys_addr = (uintptr_t)guest_mem; /* identity: guest physical == our address */
	mem->regions[0].userspace_addr = (uintptr_t)guest_mem;
	mem->regions[0].memory_size = guest_size;

	for (int i = 0; i < opt.queues; i++) {
		struct queue *qq = &q[i];
		qq->vhost = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
		if (qq->vhost < 0) {
			if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
				die(EXIT_SKIP, "no /dev/vhost-net (%s): load vhost_net (modprobe vhost_net)", strerror(errno));
			die(1, "cannot open /dev/vhost-net: %s", strerror(errno));
		}
		vhost_ioctl(qq->vhost, VHOST_SET_OWNER, NULL, "VHOST_SET_OWNER", i);
		find_worker(i);
		vhost_ioctl(qq->vhost, VHOST_GET_FEATURES, &features_offered, "VHOST_GET_FEATURES", i);
		unsigned long long want = 1ULL << VIRTIO_F_VERSION_1;
		if (opt.event_idx) want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
		if ((features_offered & want) != want)
			die(1, "vhost-net does not offer features 0x%llx (offers 0x%llx)", want, features_offered);
		features = want;
		vhost_ioctl(qq->vhost, VHOST_SET_FEATURES, &features, "VHOST_SET_FEATURES", i);
		vhost_ioctl(qq->vhost, VHOST_SET_MEM_TABLE, mem, "VHOST_SET_MEM_TABLE", i);

		vq_init(&qq->rx, opt.noint_rx);
		vq_init(&qq->tx, opt.noint_tx);
		struct vq *vqs[2] = {&qq->rx, &qq->tx};
		for (unsigned idx = 0; idx < 2; idx++) {
			struct vq *v = vqs[idx];
			struct vhost_vring_state num = {.index = idx, .num = v->num};
			vhost_ioctl(qq->vhost, VHOST_SET_VRING_NUM, &num, "VHOST_SET_VRING_NUM", i);
			struct vhost_vring_state base = {.index = idx, .num = 0};
			vhost_ioctl(qq->vhost, VHOST_SET_VRING_BASE, &base, "VHOST_SET_VRING_BASE", i);
			struct vhost_vring_addr addr = {
				.index = idx,
				.desc_user_addr = (uintptr_t)v->desc,
				.avail_user_addr = (uintptr_t)v->avail,
				.used_user_addr = (uintptr_t)v->used,
			};
			vhost_ioctl(qq->vhost, VHOST_SET_VRING_ADDR, &addr, "VHOST_SET_VRING_ADDR", i);
			struct vhost_vring_file kick = {.index = idx, .fd = v->kick};
			vhost_ioctl(qq->vhost, VHOST_SET_VRING_KICK, &kick, "VHOST_SET_VRING_KICK", i);
			struct vhost_vring_file call = {.index = idx, .fd = v->call};
			vhost_ioctl(qq->vhost, VHOST_SET_VRING_CALL, &call, "VHOST_SET_VRING_CALL", i);
		}
		/* vhost leaves the vnet header to the tap (no VHOST_NET_F_VIRTIO_NET_HDR): its size must be the one
		 * VERSION_1 implies (struct virtio_net_hdr_mrg_rxbuf, num_buffers included). */
		vnet_hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
		if (ioctl(qq->tap, TUNSETVNETHDRSZ, &vnet_hdr) < 0) die(1, "TUNSETVNETHDRSZ: %s", strerror(errno));
		for (unsigned idx = 0; idx < 2; idx++) {
			struct vhost_vring_file be = {.index = idx, .fd = qq->tap};
			vhost_ioctl(qq->vhost, VHOST_NET_SET_BACKEND, &be, "VHOST_NET_SET_BACKEND", i);
		}
	}
	free(mem);
}

/* ------------------------------------------------------------------------------------------------------ work */
static void rx_post(struct queue *qq, unsigned n)
{
	struct vq *v = &qq->rx;
	unsigned added = 0;
	while (added < n && v->nfree) {
		vq_add(v, v->free_ids[--v->nfree], BUF_SIZE, true);
		added++;
	}
	if (added) {
		qq->rx_posted += added;
		vq_publish_kick(v);
	}
}

static uint16_t ip_csum(const uint8_t *p, int len)
{
	uint32_t s = 0;
	for (int i = 0; i < len; i += 2) s += (p[i] << 8) | p[i + 1];
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* vnet header (zeros: no offloads) + Ethernet broadcast + IPv4 10.0.99.2 -> 10.0.99.1 + UDP sport varied, dport 9. */
static void build_frame(uint8_t *b, int qi, unsigned long long seq)
{
	memset(b, 0, vnet_hdr + opt.tx_size);
	uint8_t *f = b + vnet_hdr;
	memset(f, 0xff, 6);
	uint8_t src[6] = {0x52, 0x54, 0x00, 0x76, 0x64, (uint8_t)qi};
	memcpy(f + 6, src, 6);
	f[12] = 0x08, f[13] = 0x00;
	uint8_t *ip = f + 14;
	int iplen = opt.tx_size - 14;
	ip[0] = 0x45;
	ip[2] = iplen >> 8, ip[3] = iplen & 0xff;
	ip[8] = 64, ip[9] = 17;
	uint8_t saddr[4] = {10, 0, 99, 2}, daddr[4] = {10, 0, 99, 1};
	memcpy(ip + 12, saddr, 4);
	memcpy(ip + 16, daddr, 4);
	uint16_t c = ip_csum(ip, 20);
	ip[10] = c >> 8, ip[11] = c & 0xff;
	uint8_t *udp = ip + 20;
	uint16_t sport = 10000 + (uint16_t)(seq % 50000), ulen = iplen - 20;
	udp[0] = sport >> 8, udp[1] = sport & 0xff;
	udp[2] = 0, udp[3] = 9;
	udp[4] = ulen >> 8, udp[5] = ulen & 0xff;
}

/* Consume used entries of every vq, refill RX when asked, read the call eventfds. Returns entries consumed. */
static bool refill;
static unsigned service(void)
{
	unsigned got = 0;
	if (!refill && exists(opt.drain_file)) {
		refill = true;
		for (int i = 0; i < opt.queues; i++) rx_post(&q[i], q[i].rx.num);
	}
	for (int i = 0; i < opt.queues; i++) {
		struct queue *qq = &q[i];
		struct vq *vqs[2] = {&qq->rx, &qq->tx};
		for (int k = 0; k < 2; k++) {
			struct vq *v = vqs[k];
			uint16_t uidx = __atomic_load_n(&v->used->idx, __ATOMIC_ACQUIRE);
			while (v->used_seen != uidx) {
				struct vring_used_elem *e = &v->used->ring[v->used_seen % v->num];
				if (k == 0) {
					qq->rx_packets++;
					qq->rx_bytes += e->len > (unsigned)vnet_hdr ? e->len - vnet_hdr : 0;
				} else {
					qq->tx_done++;
				}
				v->free_ids[v->nfree++] = e->id;
				v->used_seen++;
				got++;
			}
			if (opt.event_idx && !v->noint) /* ask for a signal at the next used entry */
				__atomic_store_n(used_event(v), v->used_seen, __ATOMIC_RELEASE);
			vq_read_calls(v);
		}
		if (refill && qq->rx.nfree) rx_post(qq, qq->rx.nfree);
	}
	return got;
}

/* Wait up to 10 ms for a call signal (polling the rings too: with NO_INTERRUPT no signal comes). */
static void wait_a_little(void)
{
	struct pollfd p[2 * MAX_QUEUES];
	int n = 0;
	for (int i = 0; i < opt.queues && !opt.no_vhost; i++) {
		p[n++] = (struct pollfd){.fd = q[i].rx.call, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = q[i].tx.call, .events = POLLIN};
	}
	poll(p, n, 10);
}

static void note_timeout(const char *what)
{
	fprintf(stderr, "nt_vhost_net: timed out after %ds: %s\n", opt.timeout, what);
	size_t l = strlen(timed_out);
	snprintf(timed_out + l, sizeof(timed_out) - l, "%s\"%s\"", l ? "," : "", what);
}

static unsigned long long total_rx(void)
{
	unsigned long long n = 0;
	for (int i = 0; i < opt.queues; i++) n += q[i].rx_packets;
	return n;
}

static void send_tx(void)
{
	unsigned long long per_q = opt.tx_packets;
	double deadline = now_s() + opt.timeout;
	for (;;) {
		bool done = true;
		for (int i = 0; i < opt.queues; i++) {
			struct queue *qq = &q[i];
			struct vq *v = &qq->tx;
			unsigned added = 0;
			while (qq->tx_sent < per_q && v->nfree) {
				uint16_t id = v->free_ids[--v->nfree];
				build_frame((uint8_t *)v->bufs + (size_t)id * BUF_SIZE, i, qq->tx_sent + (unsigned long long)i * per_q);
				vq_add(v, id, vnet_hdr + opt.tx_size, false);
				qq->tx_sent++;
				qq->tx_bytes += opt.tx_size;
				added++;
			}
			if (added) vq_publish_kick(v);
			done &= qq->tx_done == per_q;
		}
		if (done || stop_signal) return;
		if (now_s() > deadline) { note_timeout("tx_completions"); return; }
		wait_a_little();
		service();
	}
}

/* --------------------------------------------------------------------------------------------------- output */
static void print_json(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long ms = (t.tv_sec - t_start.tv_sec) * 1000 + (t.tv_nsec - t_start.tv_nsec) / 1000000;
	printf("{\"tap\":\"%s\",\"queues\":%d,\"mode\":\"%s\",\"ring_size\":%d,", opt.tap, opt.queues,
	       opt.no_vhost ? "no-vhost" : "vhost", opt.ring);
	printf("\"features_offered\":\"0x%llx\",\"features\":\"0x%llx\",\"event_idx\":%s,\"vnet_hdr_size\":%d,",
	       features_offered, features, opt.event_idx ? "true" : "false", vnet_hdr);
	printf("\"no_interrupt\":{\"rx\":%s,\"tx\":%s},\"tx_size\":%d,\"worker_kind\":\"%s\",\"pid\":%d,",
	       opt.noint_rx ? "true" : "false", opt.noint_tx ? "true" : "false", opt.tx_size, worker_kind, getpid());
	printf("\"per_queue\":[");
	unsigned long long tot[10] = {0};
	for (int i = 0; i < opt.queues; i++) {
		struct queue *qq = &q[i];
		unsigned long long v[10] = {qq->rx_posted, qq->rx_packets, qq->rx_bytes, qq->tx_sent, qq->tx_bytes,
					    qq->tx_done, qq->rx.kicks, qq->tx.kicks, qq->rx.calls, qq->tx.calls};
		for (int k = 0; k < 10; k++) tot[k] += v[k];
		printf("%s{\"queue\":%d,\"rx_buffers_posted\":%llu,\"rx_packets\":%llu,\"rx_bytes\":%llu,"
		       "\"tx_packets_sent\":%llu,\"tx_bytes_sent\":%llu,\"tx_packets_completed\":%llu,"
		       "\"kicks\":{\"rx\":%llu,\"tx\":%llu},\"call_signals\":{\"rx\":%llu,\"tx\":%llu},"
		       "\"worker_tid\":%d,\"worker_comm\":\"%s\"}",
		       i ? "," : "", i, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], qq->worker_tid,
		       qq->worker_comm);
	}
	printf("],\"totals\":{\"rx_buffers_posted\":%llu,\"rx_packets\":%llu,\"rx_bytes\":%llu,"
	       "\"tx_packets_sent\":%llu,\"tx_bytes_sent\":%llu,\"tx_packets_completed\":%llu,"
	       "\"kicks\":{\"rx\":%llu,\"tx\":%llu},\"call_signals\":{\"rx\":%llu,\"tx\":%llu}},",
	       tot[0], tot[1], tot[2], tot[3], tot[4], tot[5], tot[6], tot[7], tot[8], tot[9]);
	printf("\"timed_out\":[%s],\"interrupted\":%s,\"elapsed_ms\":%ld}\n", timed_out, stop_signal ? "true" : "false", ms);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	parse_args(argc, argv);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!opt.no_vhost && access("/dev/vhost-net", F_OK) != 0)
		die(EXIT_SKIP, "no /dev/vhost-net: load vhost_net (modprobe vhost_net)");
	open_taps();
	if (!opt.no_vhost) setup_vhost();

	fprintf(stderr, "nt_vhost_net: ready: tap %s, %d queue(s), %s, worker %s", opt.tap, opt.queues,
		opt.no_vhost ? "no vhost" : "vhost", worker_kind);
	for (int i = 0; i < opt.queues; i++) fprintf(stderr, "%s%d", i ? "," : " ", q[i].worker_tid);
	fprintf(stderr, "\n");
	if (opt.ready_file) {
		int fd = open(opt.ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) die(1, "cannot create --ready-file %s: %s", opt.ready_file, strerror(errno));
		close(fd);
	}

	double deadline = now_s() + opt.timeout;
	while (opt.go_file && !exists(opt.go_file) && !stop_signal) {
		if (now_s() > deadline) { note_timeout("go_file"); break; }
		usleep(20000);
	}

	if (!opt.no_vhost && !stop_signal && !*timed_out) {
		for (int i = 0; i < opt.queues; i++) rx_post(&q[i], opt.rx_buffers);
		refill = opt.rx_refill;
		if (opt.tx_packets) send_tx();
		deadline = now_s() + opt.timeout;
		while (opt.rx_expect >= 0 && total_rx() < (unsigned long long)opt.rx_expect && !stop_signal) {
			if (now_s() > deadline) { note_timeout("rx_expect"); break; }
			wait_a_little();
			service();
		}
	}
	deadline = now_s() + opt.timeout;
	while (opt.stop_file && !exists(opt.stop_file) && !stop_signal) {
		if (now_s() > deadline) { note_timeout("stop_file"); break; }
		if (opt.no_vhost) usleep(10000);
		else { wait_a_little(); service(); }
	}
	double hold_end = now_s() + opt.hold;
	while (now_s() < hold_end && !stop_signal && !exists(opt.stop_file)) {
		if (opt.no_vhost) usleep(10000);
		else { wait_a_little(); service(); }
	}
	if (!opt.no_vhost) service(); /* final sweep: everything vhost completed so far, every signal so far */
	print_json();
	return *timed_out ? 3 : 0;
}
