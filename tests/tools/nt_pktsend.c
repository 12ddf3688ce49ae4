// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic for the integration tests, with exact counts:
 *   nt_pktsend udp DST_IP DST_PORT COUNT [SIZE] [SRC_PORT]   UDP datagrams (IPv4 or IPv6)
 *   nt_pktsend raw IFNAME ETHERTYPE COUNT [VLAN_ID]          Ethernet frames to the broadcast MAC
 *   nt_pktsend rawudp IFNAME COUNT [SIZE]                    IPv4/UDP Ethernet frames of SIZE bytes (42..1514,
 *                                                            default 64) via AF_PACKET, to the broadcast MAC,
 *                                                            10.0.99.1 -> 10.0.99.2, UDP source port 10000+i
 *                                                            (varied, so a multi-queue tap spreads them by flow
 *                                                            hash), destination port 9; prints COUNT
 *   nt_pktsend sink PORT COUNT [TIMEOUT_S]                   read UDP datagrams on IPv4 PORT until COUNT arrived
 *                                                            or TIMEOUT_S (default 60) passed without one;
 *                                                            prints "DATAGRAMS BYTES"
 * Exits non-zero if any send fails (so a test never counts packets that were not sent).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_udp(int argc, char **argv)
{
	if (argc < 5) return 2;
	const char *dst = argv[2];
	int port = atoi(argv[3]), count = atoi(argv[4]);
	int size = argc > 5 ? atoi(argv[5]) : 32;
	int sport = argc > 6 ? atoi(argv[6]) : 0;
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fam;
	if (inet_pton(AF_INET, dst, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		fam = AF_INET;
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, dst, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		fam = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "bad address %s\n", dst);
		return 2;
	}
	int fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0) { perror("socket"); return 1; }
	if (sport) {
		struct sockaddr_storage src = {0};
		src.ss_family = fam;
		if (fam == AF_INET) ((struct sockaddr_in *)&src)->sin_port = htons(sport);
		else ((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
		if (bind(fd, (struct sockaddr *)&src, sl) < 0) { perror("bind"); return 1; }
	}
	char *buf = calloc(1, size > 0 ? size : 1);
	int sent = 0;
	for (int i = 0; i < count; i++) {
		/* A qdisc drop on the local path surfaces as ENOBUFS: the datagram left the socket and was dropped. */
		if (sendto(fd, buf, size, 0, (struct sockaddr *)&ss, sl) < 0 && errno != ENOBUFS && errno != ECONNREFUSED) {
			perror("sendto");
			free(buf);
			return 1;
		}
		sent++;
	}
	free(buf); /* LeakSanitizer (NETTRACE_SANITIZE) fails the run otherwise */
	printf("%d\n", sent);
	return 0;
}

static int send_raw(int argc, char **argv)
{
	if (argc < 5) return 2;
	const char *ifname = argv[2];
	unsigned ethertype = strtoul(argv[3], NULL, 0);
	int count = atoi(argv[4]);
	int vlan = argc > 5 ? atoi(argv[5]) : -1;
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) { perror("socket"); return 1; }
	struct sockaddr_ll sll = {0};
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = if_nametoindex(ifname);
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	if (!sll.sll_ifindex) { fprintf(stderr, "no interface %s\n", ifname); return 1; }
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
	unsigned char frame[64] = {0};
	int off = 0;
	memset(frame, 0xff, 6);
	memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
	off = 12;
	if (vlan >= 0) {
		frame[off++] = 0x81; frame[off++] = 0x00;
		frame[off++] = (vlan >> 8) & 0x0f; frame[off++] = vlan & 0xff;
	}
	frame[off++] = ethertype >> 8;
	frame[off++] = ethertype & 0xff;
	for (int i = 0; i < count; i++) {
		if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			perror("sendto");
			return 1;
		}
	}
	printf("%d\n", count);
	return 0;
}

static int send_rawudp(int argc, char **argv)
{
	if (argc < 4) return 2;
	const char *ifname = argv[2];
	int count = atoi(argv[3]);
	int size = argc > 4 ? atoi(argv[4]) : 64;
	if (count < 0 || size < 42 || size > 1514) {
		fprintf(stderr, "rawudp: bad COUNT %s or SIZE (42..1514)\n", argv[3]);
		return 2;
	}
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) { perror("socket"); return 1; }
	struct sockaddr_ll sll = {0};
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = if_nametoindex(ifname);
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	if (!sll.sll_ifindex) { fprintf(stderr, "no interface %s\n", ifname); return 1; }
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
	unsigned char frame[1514] = {0};
	memset(frame, 0xff, 6);
	memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
	frame[12] = 0x08; frame[13] = 0x00;
	unsigned char *ip = frame + 14, *udp = ip + 20;
	int iplen = size - 14;
	ip[0] = 0x45; ip[2] = iplen >> 8; ip[3] = iplen & 0xff; ip[8] = 64; ip[9] = 17;
	ip[12] = 10; ip[13] = 0; ip[14] = 99; ip[15] = 1;
	ip[16] = 10; ip[17] = 0; ip[18] = 99; ip[19] = 2;
	unsigned s = 0;
	for (int i = 0; i < 20; i += 2) s += (ip[i] << 8) | ip[i + 1];
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	ip[10] = (~s >> 8) & 0xff; ip[11] = ~s & 0xff;
	udp[3] = 9; udp[4] = (iplen - 20) >> 8; udp[5] = (iplen - 20) & 0xff;
	for (int i = 0; i < count; i++) {
		unsigned sport = 10000 + i % 50000;
		udp[0] = sport >> 8; udp[1] = sport & 0xff;
		if (sendto(fd, frame, size, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			perror("sendto");
			return 1;
		}
	}
	printf("%d\n", count);
	return 0;
}

static int udp_sink(int argc, char **argv)
{
	if (argc < 4) return 2;
	int port = atoi(argv[2]), count = atoi(argv[3]), timeout = argc > 4 ? atoi(argv[4]) : 60;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) { perror("socket"); return 1; }
	int one = 1, rcvbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct timeval tv = {.tv_sec = timeout};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) { perror("bind"); return 1; }
	static char buf[65536];
	long n = 0, bytes = 0;
	while (n < count) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0) {
			if (errno == EINTR) continue;
			break; /* timeout: report what arrived */
		}
		n++;
		bytes += r;
	}
	printf("%ld %ld\n", n, bytes);
	return n == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sink")) return udp_sink(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "udp")) return send_udp(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "raw")) return send_raw(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "rawudp")) return send_rawudp(argc, argv);
	fprintf(stderr, "usage: nt_pktsend udp DST PORT COUNT [SIZE] [SRC_PORT] | raw IF ETHERTYPE COUNT [VLAN] | rawudp IF COUNT [SIZE] | sink PORT COUNT [TIMEOUT_S]\n");
	return 2;
}
