// SPDX-License-Identifier: GPL-2.0
#pragma once
// Crafted frames for the parser and filter tests. The unit tests run the host-compiled parser on them;
// the BPF tests (tests/bpf) feed the same bytes to BPF_PROG_TEST_RUN and compare both results.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/pkt.h"

namespace nettrace::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;

inline constexpr Mac kSrcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr Mac kDstMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline constexpr Ip4 kIp4A = {10, 0, 0, 1};
inline constexpr Ip4 kIp4B = {10, 0, 0, 2};
inline constexpr Ip6 kIp6A = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
inline constexpr Ip6 kIp6B = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};

// Big-endian appenders.
inline void put8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
template <class C>
inline void put(Bytes& b, const C& c) {
  b.insert(b.end(), c.begin(), c.end());
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) put(out, p);
  return out;
}

// Ethernet header; tags are (TPID, TCI) pairs, outer first.
inline Bytes eth(uint16_t proto, std::initializer_list<std::pair<uint16_t, uint16_t>> tags = {}) {
  Bytes b;
  put(b, kDstMac);
  put(b, kSrcMac);
  for (const auto& [tpid, tci] : tags) {
    put16(b, tpid);
    put16(b, tci);
  }
  put16(b, proto);
  return b;
}

struct Ip4Opts {
  uint16_t frag = 0;  // flags (0x2000 MF, 0x4000 DF) | offset in 8-byte units
  uint8_t ihl = 5;
  uint16_t id = 0x1234;
  uint8_t ttl = 64;
  Ip4 src = kIp4A;
  Ip4 dst = kIp4B;
};

// IPv4 header (options zero-filled up to ihl*4 bytes; checksums are not checked by the parser).
inline Bytes ipv4(uint8_t proto, uint16_t payload_len, const Ip4Opts& o = {}) {
  Bytes b;
  const size_t hlen = o.ihl >= 5 ? o.ihl * 4u : 20u;
  put8(b, static_cast<uint8_t>(0x40 | (o.ihl & 0x0f)));
  put8(b, 0);
  put16(b, static_cast<uint16_t>(hlen + payload_len));
  put16(b, o.id);
  put16(b, o.frag);
  put8(b, o.ttl);
  put8(b, proto);
  put16(b, 0);
  put(b, o.src);
  put(b, o.dst);
  b.resize(hlen, 0);
  return b;
}

inline Bytes ipv6(uint8_t next, uint16_t payload_len, const Ip6& src = kIp6A, const Ip6& dst = kIp6B, uint8_t hops = 63) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, payload_len);
  put8(b, next);
  put8(b, hops);
  put(b, src);
  put(b, dst);
  return b;
}

// Generic IPv6 extension header (hop-by-hop, routing, destination options): (len8 + 1) * 8 bytes.
inline Bytes ipv6_ext(uint8_t next, uint8_t len8 = 0) {
  Bytes b;
  put8(b, next);
  put8(b, len8);
  b.resize((len8 + 1u) * 8u, 0);
  b[2] = 1;  // PadN option, so the bytes look real
  b[3] = static_cast<uint8_t>(b.size() - 4);
  return b;
}

// IPv6 fragment header: offset in 8-byte units, more-fragments flag, 32-bit identification.
inline Bytes ipv6_frag(uint8_t next, uint16_t offset8, bool more, uint32_t ident) {
  Bytes b;
  put8(b, next);
  put8(b, 0);
  put16(b, static_cast<uint16_t>((offset8 << 3) | (more ? 1 : 0)));
  put32(b, ident);
  return b;
}

inline Bytes tcp(uint16_t sport, uint16_t dport, uint32_t seq = 1000, uint32_t ack = 2000, uint8_t flags = 0x12) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  put8(b, 0x50);  // data offset 5
  put8(b, flags);
  put16(b, 65535);
  put16(b, 0);
  put16(b, 0);
  return b;
}

inline Bytes udp(uint16_t sport, uint16_t dport, uint16_t payload = 4) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload));
  put16(b, 0);
  b.resize(8 + payload, 0xab);
  return b;
}

inline Bytes icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq) {
  Bytes b;
  put8(b, type);
  put8(b, code);
  put16(b, 0);
  put16(b, id);
  put16(b, seq);
  return b;
}

// Ethernet/IPv4 ARP.
inline Bytes arp(uint16_t op, const Ip4& sender, const Ip4& target, uint8_t hlen = 6, uint8_t plen = 4) {
  Bytes b;
  put16(b, 1);
  put16(b, NT_ETH_P_IP);
  put8(b, hlen);
  put8(b, plen);
  put16(b, op);
  put(b, kSrcMac);
  put(b, sender);
  put(b, Mac{});
  put(b, target);
  return b;
}

// Frames every parser test runs; full_len is the number of bytes the parser needs for a complete parse.
struct Frame {
  std::string name;
  Bytes bytes;
  size_t full_len;
};

inline std::vector<Frame> frame_catalogue() {
  std::vector<Frame> v;
  auto add = [&](std::string name, Bytes b, size_t need) { v.push_back({std::move(name), std::move(b), need}); };
  const auto t = tcp(40000, 80, 0x01020304, 0x0a0b0c0d, 0x18);
  const auto u = udp(5353, 53);
  const auto ic = icmp(8, 0, 0x4242, 7);
  add("ipv4_tcp", cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_TCP, 20), t}), 54);
  add("ipv4_udp", cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12), u}), 42);
  add("ipv4_icmp", cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_ICMP, 8), ic}), 42);
  add("ipv4_options_udp", cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12, {.ihl = 7}), u}), 50);
  add("ipv4_first_fragment", cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12, {.frag = 0x2000}), u}), 42);
  add("ipv4_later_fragment",
      cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12, {.frag = 0x2000 | 185}), Bytes(12, 0xcd)}), 34);
  add("ipv4_last_fragment", cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12, {.frag = 370}), Bytes(12, 0xcd)}), 34);
  add("ipv4_df_tcp", cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_TCP, 20, {.frag = 0x4000}), t}), 54);
  add("ipv4_gre", cat({eth(NT_ETH_P_IP), ipv4(47, 4), Bytes(4, 0)}), 34);
  add("ipv6_udp", cat({eth(NT_ETH_P_IPV6), ipv6(NT_IPPROTO_UDP, 12), u}), 62);
  add("ipv6_tcp", cat({eth(NT_ETH_P_IPV6), ipv6(NT_IPPROTO_TCP, 20), t}), 74);
  add("ipv6_icmpv6", cat({eth(NT_ETH_P_IPV6), ipv6(NT_IPPROTO_ICMPV6, 8), icmp(128, 0, 0x99, 3)}), 62);
  add("ipv6_hbh_udp", cat({eth(NT_ETH_P_IPV6), ipv6(0, 20), ipv6_ext(NT_IPPROTO_UDP), u}), 70);
  add("ipv6_hbh_dst_udp",
      cat({eth(NT_ETH_P_IPV6), ipv6(0, 44), ipv6_ext(60), ipv6_ext(NT_IPPROTO_UDP, 2), u}), 94);
  add("ipv6_routing_tcp", cat({eth(NT_ETH_P_IPV6), ipv6(43, 44), ipv6_ext(NT_IPPROTO_TCP, 2), t}), 98);
  add("ipv6_first_fragment",
      cat({eth(NT_ETH_P_IPV6), ipv6(44, 20), ipv6_frag(NT_IPPROTO_UDP, 0, true, 0xdeadbeef), u}), 70);
  add("ipv6_later_fragment",
      cat({eth(NT_ETH_P_IPV6), ipv6(44, 20), ipv6_frag(NT_IPPROTO_UDP, 181, false, 0xdeadbeef), Bytes(12, 0)}), 62);
  add("ipv6_hbh_fragment_udp",
      cat({eth(NT_ETH_P_IPV6), ipv6(0, 28), ipv6_ext(44), ipv6_frag(NT_IPPROTO_UDP, 0, true, 7), u}), 78);
  add("vlan_ipv4_udp", cat({eth(NT_ETH_P_IP, {{NT_ETH_P_8021Q, 100}}), ipv4(NT_IPPROTO_UDP, 12), u}), 46);
  add("qinq_ipv4_tcp",
      cat({eth(NT_ETH_P_IP, {{NT_ETH_P_8021AD, 0x2000 | 200}, {NT_ETH_P_8021Q, 300}}), ipv4(NT_IPPROTO_TCP, 20), t}),
      62);
  add("qinq_9100_ipv6_udp",
      cat({eth(NT_ETH_P_IPV6, {{NT_ETH_P_QINQ1, 7}, {NT_ETH_P_8021Q, 4095}}), ipv6(NT_IPPROTO_UDP, 12), u}), 70);
  add("vlan_arp", cat({eth(NT_ETH_P_ARP, {{NT_ETH_P_8021Q, 42}}), arp(1, kIp4A, kIp4B)}), 46);
  add("arp_request", cat({eth(NT_ETH_P_ARP), arp(1, kIp4A, kIp4B)}), 42);
  add("arp_reply", cat({eth(NT_ETH_P_ARP), arp(2, kIp4B, kIp4A)}), 42);
  add("rarp", cat({eth(NT_ETH_P_RARP), arp(3, kIp4A, kIp4B)}), 42);
  add("lldp", cat({eth(NT_ETH_P_LLDP), Bytes(30, 0x02)}), 14);
  add("unknown_ethertype", cat({eth(0x88b5), Bytes(20, 0x55)}), 14);
  return v;
}

// Filters every filter test runs against every frame of frame_catalogue().
struct NamedFilter {
  std::string name;
  nt_filter filter;
};

template <class Fn>
inline nt_filter make_filter(Fn&& fn) {
  nt_filter f{};
  fn(f);
  return f;
}

inline void set_saddr(nt_filter& f, const uint8_t* a, uint8_t family) {
  f.family = family;
  f.has_saddr = 1;
  for (int i = 0; i < (family == 6 ? 16 : 4); i++) f.saddr[i] = a[i];
}
inline void set_daddr(nt_filter& f, const uint8_t* a, uint8_t family) {
  f.family = family;
  f.has_daddr = 1;
  for (int i = 0; i < (family == 6 ? 16 : 4); i++) f.daddr[i] = a[i];
}

inline std::vector<NamedFilter> filter_catalogue() {
  std::vector<NamedFilter> v;
  auto add = [&](std::string name, auto fn) { v.push_back({std::move(name), make_filter(fn)}); };
  add("any", [](nt_filter&) {});
  add("src_ip4_a", [](nt_filter& f) { set_saddr(f, kIp4A.data(), 4); });
  add("src_ip4_b", [](nt_filter& f) { set_saddr(f, kIp4B.data(), 4); });
  add("dst_ip4_a", [](nt_filter& f) { set_daddr(f, kIp4A.data(), 4); });
  add("dst_ip4_b", [](nt_filter& f) { set_daddr(f, kIp4B.data(), 4); });
  add("src_a_dst_b_ip4", [](nt_filter& f) {
    set_saddr(f, kIp4A.data(), 4);
    set_daddr(f, kIp4B.data(), 4);
  });
  add("src_b_dst_b_ip4", [](nt_filter& f) {
    set_saddr(f, kIp4B.data(), 4);
    set_daddr(f, kIp4B.data(), 4);
  });
  add("src_ip6_a", [](nt_filter& f) { set_saddr(f, kIp6A.data(), 6); });
  add("dst_ip6_a", [](nt_filter& f) { set_daddr(f, kIp6A.data(), 6); });
  add("dst_ip6_b", [](nt_filter& f) { set_daddr(f, kIp6B.data(), 6); });
  add("proto_tcp", [](nt_filter& f) { f.l4_proto = NT_IPPROTO_TCP; });
  add("proto_udp", [](nt_filter& f) { f.l4_proto = NT_IPPROTO_UDP; });
  add("proto_icmp", [](nt_filter& f) { f.l4_proto = NT_IPPROTO_ICMP; });
  add("proto_icmpv6", [](nt_filter& f) { f.l4_proto = NT_IPPROTO_ICMPV6; });
  add("proto_47", [](nt_filter& f) { f.l4_proto = 47; });
  add("sport_40000", [](nt_filter& f) { f.sport = 40000; });
  add("dport_80", [](nt_filter& f) { f.dport = 80; });
  add("sport_53", [](nt_filter& f) { f.sport = 53; });
  add("dport_53", [](nt_filter& f) { f.dport = 53; });
  add("udp_dport_80", [](nt_filter& f) {
    f.l4_proto = NT_IPPROTO_UDP;
    f.dport = 80;
  });
  add("eth_ipv4", [](nt_filter& f) {
    f.eth_match = NT_ETH_EXACT;
    f.eth_proto = NT_ETH_P_IP;
  });
  add("eth_ipv6", [](nt_filter& f) {
    f.eth_match = NT_ETH_EXACT;
    f.eth_proto = NT_ETH_P_IPV6;
  });
  add("eth_arp", [](nt_filter& f) {
    f.eth_match = NT_ETH_EXACT;
    f.eth_proto = NT_ETH_P_ARP;
  });
  add("eth_rarp", [](nt_filter& f) {
    f.eth_match = NT_ETH_EXACT;
    f.eth_proto = NT_ETH_P_RARP;
  });
  add("eth_lldp", [](nt_filter& f) {
    f.eth_match = NT_ETH_EXACT;
    f.eth_proto = NT_ETH_P_LLDP;
  });
  add("eth_0x88b5", [](nt_filter& f) {
    f.eth_match = NT_ETH_EXACT;
    f.eth_proto = 0x88b5;
  });
  add("eth_other", [](nt_filter& f) { f.eth_match = NT_ETH_OTHER; });
  add("vlan_100", [](nt_filter& f) {
    f.has_vlan = 1;
    f.vlan_id = 100;
  });
  add("vlan_200", [](nt_filter& f) {
    f.has_vlan = 1;
    f.vlan_id = 200;
  });
  add("vlan_300", [](nt_filter& f) {
    f.has_vlan = 1;
    f.vlan_id = 300;
  });
  add("vlan_4095", [](nt_filter& f) {
    f.has_vlan = 1;
    f.vlan_id = 4095;
  });
  add("vlan_42", [](nt_filter& f) {
    f.has_vlan = 1;
    f.vlan_id = 42;
  });
  add("vlan_0", [](nt_filter& f) { f.has_vlan = 1; });
  add("tcp_flow_ip4", [](nt_filter& f) {
    set_saddr(f, kIp4A.data(), 4);
    set_daddr(f, kIp4B.data(), 4);
    f.l4_proto = NT_IPPROTO_TCP;
    f.sport = 40000;
    f.dport = 80;
    f.eth_match = NT_ETH_EXACT;
    f.eth_proto = NT_ETH_P_IP;
  });
  add("tcp_flow_ip4_vlan_300", [](nt_filter& f) {
    set_saddr(f, kIp4A.data(), 4);
    set_daddr(f, kIp4B.data(), 4);
    f.l4_proto = NT_IPPROTO_TCP;
    f.sport = 40000;
    f.dport = 80;
    f.has_vlan = 1;
    f.vlan_id = 300;
  });
  add("udp_flow_ip6", [](nt_filter& f) {
    set_saddr(f, kIp6A.data(), 6);
    set_daddr(f, kIp6B.data(), 6);
    f.l4_proto = NT_IPPROTO_UDP;
    f.sport = 5353;
    f.dport = 53;
  });
  return v;
}

}  // namespace nettrace::test
