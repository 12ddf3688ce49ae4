// SPDX-License-Identifier: GPL-2.0
// The shared packet parser (nettrace/abi/pkt.h) compiled for the host, on crafted frames.
// Every parse runs on a copy that ends exactly at a PROT_NONE guard page, so a read past len faults.

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include <gtest/gtest.h>

#include "test_packets.hpp"

namespace nettrace::test {
namespace {

// len bytes placed right before an inaccessible page.
class GuardedBuffer {
 public:
  GuardedBuffer(const uint8_t* data, size_t len) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data_pages = (len + page - 1) / page + 1;
    size_ = (data_pages + 1) * page;
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<uint8_t*>(m);
    if (mprotect(base_ + data_pages * page, page, PROT_NONE) != 0) throw std::runtime_error("mprotect failed");
    data_ = base_ + data_pages * page - len;
    if (len) std::memcpy(data_, data, len);
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  ~GuardedBuffer() { munmap(base_, size_); }
  [[nodiscard]] const uint8_t* data() const { return data_; }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct Parsed {
  int ret;
  nt_pkt p;
};

// Parses the first len bytes of b (all of it by default) as an Ethernet frame.
Parsed parse(const Bytes& b, size_t len = SIZE_MAX, const nt_pkt& init = {}) {
  if (len > b.size()) len = b.size();
  GuardedBuffer g(b.data(), len);
  Parsed r{0, init};
  r.ret = nt_parse_eth(g.data(), len, &r.p);
  return r;
}

Parsed parse_l3(const Bytes& b, uint16_t proto, size_t len = SIZE_MAX) {
  if (len > b.size()) len = b.size();
  GuardedBuffer g(b.data(), len);
  Parsed r{0, {}};
  r.ret = nt_parse_l3(g.data(), len, 0, proto, &r.p);
  return r;
}

template <size_t N>
std::array<uint8_t, N> first(const uint8_t* a) {
  std::array<uint8_t, N> out{};
  std::memcpy(out.data(), a, N);
  return out;
}

bool all_zero(const uint8_t* a, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (a[i]) return false;
  return true;
}

const Frame& frame(const std::string& name) {
  static const auto frames = frame_catalogue();
  for (const auto& f : frames)
    if (f.name == name) return f;
  throw std::runtime_error("no frame " + name);
}

TEST(PktParse, Ipv4Tcp) {
  auto [ret, p] = parse(frame("ipv4_tcp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(first<6>(p.dst_mac), kDstMac);
  EXPECT_EQ(first<6>(p.src_mac), kSrcMac);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_IP);
  EXPECT_EQ(p.vlan_depth, 0);
  EXPECT_EQ(p.l3, NT_L3_IPV4);
  EXPECT_EQ(p.l4_proto, NT_IPPROTO_TCP);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
  EXPECT_EQ(first<4>(p.saddr), kIp4A);
  EXPECT_EQ(first<4>(p.daddr), kIp4B);
  EXPECT_TRUE(all_zero(p.saddr, 4, 16));
  EXPECT_TRUE(all_zero(p.daddr, 4, 16));
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.ip_len, 40);
  EXPECT_EQ(p.ip_id, 0x1234);
  EXPECT_EQ(p.frag_off, 0);
  EXPECT_EQ(p.ttl, 64);
  EXPECT_EQ(p.tcp_seq, 0x01020304u);
  EXPECT_EQ(p.tcp_ack, 0x0a0b0c0du);
  EXPECT_EQ(p.tcp_flags, 0x18);
  EXPECT_EQ(p.l3_off, 14);
  EXPECT_EQ(p.l4_off, 34);
  EXPECT_EQ(p.icmp_type, 0);
  EXPECT_EQ(p.arp_op, 0);
}

TEST(PktParse, Ipv4Udp) {
  auto [ret, p] = parse(frame("ipv4_udp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.l3, NT_L3_IPV4);
  EXPECT_EQ(p.l4_proto, NT_IPPROTO_UDP);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
  EXPECT_EQ(p.sport, 5353);
  EXPECT_EQ(p.dport, 53);
  EXPECT_EQ(p.ip_len, 32);
  EXPECT_EQ(p.tcp_seq, 0u);
  EXPECT_EQ(p.tcp_flags, 0);
}

TEST(PktParse, Ipv4Icmp) {
  auto [ret, p] = parse(frame("ipv4_icmp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.l4_proto, NT_IPPROTO_ICMP);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
  EXPECT_EQ(p.icmp_type, 8);
  EXPECT_EQ(p.icmp_code, 0);
  EXPECT_EQ(p.icmp_id, 0x4242);
  EXPECT_EQ(p.icmp_seq, 7);
  EXPECT_EQ(p.sport, 0);
  EXPECT_EQ(p.dport, 0);
}

TEST(PktParse, Ipv4OptionsMoveL4) {
  auto [ret, p] = parse(frame("ipv4_options_udp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.l4_off, 14 + 28);
  EXPECT_EQ(p.sport, 5353);
  EXPECT_EQ(p.dport, 53);
  EXPECT_EQ(p.ip_len, 40);
}

TEST(PktParse, Ipv4UnknownL4HasNoPorts) {
  auto [ret, p] = parse(frame("ipv4_gre").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.l4_proto, 47);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2);
  EXPECT_EQ(p.l4_off, 34);
}

TEST(PktParse, Ipv4IhlBelowFiveRejected) {
  for (uint8_t ihl : {0, 1, 4}) {
    SCOPED_TRACE(ihl);
    auto [ret, p] = parse(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12, {.ihl = ihl}), udp(1, 2)}));
    EXPECT_EQ(ret, -1);
    EXPECT_FALSE(p.flags & NT_PKT_TRUNCATED);
    EXPECT_FALSE(p.flags & NT_PKT_HAS_L4);
    EXPECT_EQ(p.sport, 0);
    EXPECT_EQ(p.dport, 0);
  }
}

TEST(PktParse, Ipv4WrongVersionRejected) {
  Bytes b = frame("ipv4_udp").bytes;
  b[14] = 0x65;  // version 6 behind EtherType IPv4
  auto [ret, p] = parse(b);
  EXPECT_EQ(ret, -1);
  EXPECT_EQ(p.l3, NT_L3_NONE);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_IP);
  EXPECT_FALSE(p.flags & NT_PKT_HAS_L4);
}

TEST(PktParse, Ipv4Fragments) {
  {
    auto [ret, p] = parse(frame("ipv4_first_fragment").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_HAS_L4);
    EXPECT_EQ(p.frag_off, 0);
    EXPECT_EQ(p.dport, 53);
  }
  {
    auto [ret, p] = parse(frame("ipv4_later_fragment").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_LATER_FRAG);
    EXPECT_EQ(p.frag_off, 185 * 8);
    EXPECT_EQ(p.l4_proto, NT_IPPROTO_UDP);
    EXPECT_EQ(p.sport, 0);  // payload bytes are not a UDP header
    EXPECT_EQ(p.dport, 0);
    EXPECT_EQ(first<4>(p.saddr), kIp4A);
  }
  {
    auto [ret, p] = parse(frame("ipv4_last_fragment").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_LATER_FRAG);
    EXPECT_EQ(p.frag_off, 370 * 8);
  }
  {
    auto [ret, p] = parse(frame("ipv4_df_tcp").bytes);  // DF alone is not a fragment
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
    EXPECT_EQ(p.frag_off, 0);
  }
}

TEST(PktParse, Ipv6Udp) {
  auto [ret, p] = parse(frame("ipv6_udp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_IPV6);
  EXPECT_EQ(p.l3, NT_L3_IPV6);
  EXPECT_EQ(p.l4_proto, NT_IPPROTO_UDP);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
  EXPECT_EQ(first<16>(p.saddr), kIp6A);
  EXPECT_EQ(first<16>(p.daddr), kIp6B);
  EXPECT_EQ(p.ip_len, 40 + 12);
  EXPECT_EQ(p.ttl, 63);
  EXPECT_EQ(p.sport, 5353);
  EXPECT_EQ(p.dport, 53);
  EXPECT_EQ(p.l3_off, 14);
  EXPECT_EQ(p.l4_off, 54);
}

TEST(PktParse, Ipv6Icmpv6) {
  auto [ret, p] = parse(frame("ipv6_icmpv6").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.l4_proto, NT_IPPROTO_ICMPV6);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
  EXPECT_EQ(p.icmp_type, 128);
  EXPECT_EQ(p.icmp_id, 0x99);
  EXPECT_EQ(p.icmp_seq, 3);
}

TEST(PktParse, Ipv6ExtensionHeaders) {
  {
    auto [ret, p] = parse(frame("ipv6_hbh_udp").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.l4_proto, NT_IPPROTO_UDP);
    EXPECT_EQ(p.l4_off, 14 + 40 + 8);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
    EXPECT_EQ(p.dport, 53);
  }
  {
    auto [ret, p] = parse(frame("ipv6_hbh_dst_udp").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.l4_off, 14 + 40 + 8 + 24);
    EXPECT_EQ(p.sport, 5353);
  }
  {
    auto [ret, p] = parse(frame("ipv6_routing_tcp").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.l4_proto, NT_IPPROTO_TCP);
    EXPECT_EQ(p.l4_off, 14 + 40 + 24);
    EXPECT_EQ(p.dport, 80);
    EXPECT_EQ(p.tcp_flags, 0x18);
  }
}

TEST(PktParse, Ipv6Fragments) {
  {
    auto [ret, p] = parse(frame("ipv6_first_fragment").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_HAS_L4);
    EXPECT_EQ(p.frag_off, 0);
    EXPECT_EQ(p.ip_id, 0xbeef);  // low 16 bits of the identification
    EXPECT_EQ(p.l4_proto, NT_IPPROTO_UDP);
    EXPECT_EQ(p.l4_off, 14 + 40 + 8);
    EXPECT_EQ(p.dport, 53);
  }
  {
    auto [ret, p] = parse(frame("ipv6_later_fragment").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_LATER_FRAG);
    EXPECT_EQ(p.frag_off, 181 * 8);
    EXPECT_EQ(p.sport, 0);
    EXPECT_EQ(p.dport, 0);
  }
  {
    auto [ret, p] = parse(frame("ipv6_hbh_fragment_udp").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_HAS_L4);
    EXPECT_EQ(p.ip_id, 7);
    EXPECT_EQ(p.l4_off, 14 + 40 + 8 + 8);
    EXPECT_EQ(p.dport, 53);
  }
}

// The parser skips at most four extension headers (a bounded loop); a fifth is reported as the L4 protocol.
TEST(PktParse, Ipv6ExtensionHeaderChainLimit) {
  auto four = cat({eth(NT_ETH_P_IPV6), ipv6(0, 44), ipv6_ext(60), ipv6_ext(43), ipv6_ext(60),
                   ipv6_ext(NT_IPPROTO_UDP), udp(1, 2)});
  auto [ret4, p4] = parse(four);
  EXPECT_EQ(ret4, 0);
  EXPECT_EQ(p4.l4_proto, NT_IPPROTO_UDP);
  EXPECT_EQ(p4.dport, 2);
  auto five = cat({eth(NT_ETH_P_IPV6), ipv6(0, 52), ipv6_ext(60), ipv6_ext(43), ipv6_ext(60), ipv6_ext(60),
                   ipv6_ext(NT_IPPROTO_UDP), udp(1, 2)});
  auto [ret5, p5] = parse(five);
  EXPECT_EQ(ret5, 0);
  EXPECT_EQ(p5.l4_proto, 60);
  EXPECT_FALSE(p5.flags & NT_PKT_HAS_L4);
  EXPECT_FALSE(p5.flags & NT_PKT_TRUNCATED);
}

// Headers past NT_PKT_MAX bytes are never read, however long the buffer says it is.
TEST(PktParse, HeadersBeyondPktMaxAreTruncated) {
  auto b = cat({eth(NT_ETH_P_IPV6), ipv6(0, 168), ipv6_ext(60, 4), ipv6_ext(60, 4), ipv6_ext(60, 4),
                ipv6_ext(NT_IPPROTO_UDP, 4), udp(1, 2)});
  ASSERT_GT(b.size(), size_t{NT_PKT_MAX});
  {
    auto [ret, p] = parse(b);
    EXPECT_EQ(ret, -1);
    EXPECT_TRUE(p.flags & NT_PKT_TRUNCATED);
    EXPECT_FALSE(p.flags & NT_PKT_HAS_L4);
    EXPECT_EQ(p.l4_proto, NT_IPPROTO_UDP);
    EXPECT_EQ(p.dport, 0);
  }
  {
    // Only NT_PKT_MAX bytes are readable, len claims a full MTU.
    GuardedBuffer g(b.data(), NT_PKT_MAX);
    nt_pkt p{};
    EXPECT_EQ(nt_parse_eth(g.data(), 1500, &p), -1);
    EXPECT_TRUE(p.flags & NT_PKT_TRUNCATED);
  }
  {
    // An L4 header that ends just inside NT_PKT_MAX is still parsed.
    auto fits = cat({eth(NT_ETH_P_IPV6), ipv6(0, 136), ipv6_ext(60, 4), ipv6_ext(60, 4), ipv6_ext(60, 2),
                     ipv6_ext(NT_IPPROTO_UDP, 2), udp(1, 2, 0)});
    ASSERT_EQ(fits.size(), size_t{NT_PKT_MAX - 2});
    GuardedBuffer g(fits.data(), fits.size());
    nt_pkt p{};
    EXPECT_EQ(nt_parse_eth(g.data(), fits.size(), &p), 0);
    EXPECT_EQ(p.l4_off, NT_PKT_MAX - 10);
    EXPECT_EQ(p.dport, 2);
  }
}

TEST(PktHelpers, NeedGuardsLengthAndPktMax) {
  EXPECT_FALSE(NT_NEED(0, 14, 14));
  EXPECT_TRUE(NT_NEED(0, 14, 13));
  EXPECT_FALSE(NT_NEED(NT_PKT_MAX - 8, 8, 1500));  // ends exactly at NT_PKT_MAX
  EXPECT_TRUE(NT_NEED(NT_PKT_MAX - 7, 8, 1500));
  EXPECT_TRUE(NT_NEED(NT_PKT_MAX + 100, 8, 1500));
  EXPECT_TRUE(NT_NEED(10, 8, 17));
  EXPECT_FALSE(NT_NEED(10, 8, 18));
  static_assert(NT_PKT_MAX <= NT_BUF_SIZE, "NT_IDX must not wrap inside the parsed range");
  static_assert((NT_BUF_SIZE & (NT_BUF_SIZE - 1)) == 0, "NT_IDX masks with NT_BUF_SIZE - 1");
}

TEST(PktParse, OneVlanTag) {
  auto [ret, p] = parse(frame("vlan_ipv4_udp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.vlan_depth, 1);
  EXPECT_EQ(p.vlan[0], 100);
  EXPECT_EQ(p.vlan[1], 0);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_IP);
  EXPECT_EQ(p.l3_off, 18);
  EXPECT_EQ(p.l4_off, 38);
  EXPECT_EQ(p.dport, 53);
}

TEST(PktParse, TwoVlanTags8021ad) {
  auto [ret, p] = parse(frame("qinq_ipv4_tcp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.vlan_depth, 2);
  EXPECT_EQ(p.vlan[0], 200);  // PCP bits masked off
  EXPECT_EQ(p.vlan[1], 300);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_IP);
  EXPECT_EQ(p.l3_off, 22);
  EXPECT_EQ(p.sport, 40000);
}

TEST(PktParse, TwoVlanTags9100Ipv6) {
  auto [ret, p] = parse(frame("qinq_9100_ipv6_udp").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.vlan_depth, 2);
  EXPECT_EQ(p.vlan[0], 7);
  EXPECT_EQ(p.vlan[1], 4095);
  EXPECT_EQ(p.l3, NT_L3_IPV6);
  EXPECT_EQ(p.dport, 53);
}

TEST(PktParse, ThirdVlanTagIsNotParsed) {
  auto b = cat({eth(NT_ETH_P_IP, {{NT_ETH_P_8021AD, 1}, {NT_ETH_P_8021Q, 2}, {NT_ETH_P_8021Q, 3}}),
                ipv4(NT_IPPROTO_UDP, 12), udp(1, 2)});
  auto [ret, p] = parse(b);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.vlan_depth, 2);
  EXPECT_EQ(p.vlan[0], 1);
  EXPECT_EQ(p.vlan[1], 2);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_8021Q);
  EXPECT_EQ(p.l3, NT_L3_OTHER);
  EXPECT_FALSE(p.flags & NT_PKT_HAS_L4);
}

// skb->vlan_tci (a tag the NIC stripped) is preset in vlan[0]; in-band tags follow it.
TEST(PktParse, StrippedTagThenInBandTag) {
  nt_pkt init{};
  init.vlan[0] = 5;
  init.vlan_depth = 1;
  auto [ret, p] = parse(frame("vlan_ipv4_udp").bytes, SIZE_MAX, init);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.vlan_depth, 2);
  EXPECT_EQ(p.vlan[0], 5);
  EXPECT_EQ(p.vlan[1], 100);
  auto [ret2, p2] = parse(frame("ipv4_udp").bytes, SIZE_MAX, init);
  EXPECT_EQ(ret2, 0);
  EXPECT_EQ(p2.vlan_depth, 1);
  EXPECT_EQ(p2.vlan[0], 5);
}

TEST(PktParse, ArpRequestAndReply) {
  {
    auto [ret, p] = parse(frame("arp_request").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.eth_proto, NT_ETH_P_ARP);
    EXPECT_EQ(p.l3, NT_L3_ARP);
    EXPECT_EQ(p.arp_op, 1);
    EXPECT_EQ(first<4>(p.saddr), kIp4A);
    EXPECT_EQ(first<4>(p.daddr), kIp4B);
    EXPECT_EQ(p.l4_proto, 0);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2);
    EXPECT_EQ(p.l3_off, 14);
  }
  {
    auto [ret, p] = parse(frame("arp_reply").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.arp_op, 2);
    EXPECT_EQ(first<4>(p.saddr), kIp4B);
    EXPECT_EQ(first<4>(p.daddr), kIp4A);
  }
  {
    auto [ret, p] = parse(frame("rarp").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.eth_proto, NT_ETH_P_RARP);
    EXPECT_EQ(p.l3, NT_L3_ARP);
    EXPECT_EQ(p.arp_op, 3);
  }
  {
    auto [ret, p] = parse(frame("vlan_arp").bytes);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(p.vlan[0], 42);
    EXPECT_EQ(p.l3_off, 18);
    EXPECT_EQ(p.arp_op, 1);
  }
}

TEST(PktParse, NonEthernetArpKeepsNoAddresses) {
  auto [ret, p] = parse(cat({eth(NT_ETH_P_ARP), arp(1, kIp4A, kIp4B, 8, 4)}));
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.l3, NT_L3_ARP);
  EXPECT_EQ(p.arp_op, 0);
  EXPECT_TRUE(all_zero(p.saddr, 0, 16));
}

TEST(PktParse, UnknownEtherType) {
  auto [ret, p] = parse(frame("unknown_ethertype").bytes);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.eth_proto, 0x88b5);
  EXPECT_EQ(p.l3, NT_L3_OTHER);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2);
  EXPECT_EQ(p.l4_proto, 0);
}

TEST(PktParse, MinimalEthernetHeaderOnly) {
  auto [ret, p] = parse(eth(NT_ETH_P_LLDP));
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_LLDP);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L2);
}

// Every prefix of every frame: truncated exactly when shorter than the headers, never a read past len, and
// whatever was parsed agrees with the full parse.
TEST(PktParse, TruncatedAtEveryLength) {
  for (const auto& f : frame_catalogue()) {
    auto full = parse(f.bytes);
    ASSERT_EQ(full.ret, 0) << f.name;
    ASSERT_FALSE(full.p.flags & NT_PKT_TRUNCATED) << f.name;
    for (size_t len = 0; len <= f.bytes.size(); len++) {
      SCOPED_TRACE(testing::Message() << f.name << " len " << len);
      auto [ret, p] = parse(f.bytes, len);
      if (len < f.full_len) {
        EXPECT_EQ(ret, -1);
        EXPECT_TRUE(p.flags & NT_PKT_TRUNCATED);
      } else {
        EXPECT_EQ(ret, 0);
        EXPECT_EQ(std::memcmp(&p, &full.p, sizeof(p)), 0);
      }
      if (len < 14) {
        EXPECT_EQ(p.flags, NT_PKT_TRUNCATED);
        EXPECT_EQ(p.eth_proto, 0);
        continue;
      }
      EXPECT_TRUE(p.flags & NT_PKT_HAS_L2);
      EXPECT_EQ(first<6>(p.src_mac), kSrcMac);
      EXPECT_LE(p.vlan_depth, full.p.vlan_depth);
      if (p.eth_proto) {
        EXPECT_EQ(p.eth_proto, full.p.eth_proto);
      }
      if (p.l3 != NT_L3_NONE) {
        EXPECT_EQ(p.l3, full.p.l3);
      }
      if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
        EXPECT_EQ(std::memcmp(p.saddr, full.p.saddr, 16), 0);
        EXPECT_EQ(std::memcmp(p.daddr, full.p.daddr, 16), 0);
        if (p.l4_proto) {
          EXPECT_EQ(p.l4_proto, full.p.l4_proto);
        }
      }
      if (p.flags & NT_PKT_HAS_L4) {
        EXPECT_EQ(p.sport, full.p.sport);
        EXPECT_EQ(p.dport, full.p.dport);
        EXPECT_EQ(p.icmp_type, full.p.icmp_type);
      } else {
        EXPECT_EQ(p.sport, 0);
        EXPECT_EQ(p.dport, 0);
      }
    }
  }
}

TEST(PktParse, TruncatedAtEachLayerOfIpv4Tcp) {
  const auto& b = frame("ipv4_tcp").bytes;
  {
    auto [ret, p] = parse(b, 13);  // inside Ethernet
    EXPECT_EQ(ret, -1);
    EXPECT_EQ(p.flags, NT_PKT_TRUNCATED);
  }
  {
    auto [ret, p] = parse(b, 20);  // inside IPv4
    EXPECT_EQ(ret, -1);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_TRUNCATED);
    EXPECT_EQ(p.eth_proto, NT_ETH_P_IP);
    EXPECT_EQ(p.l3, NT_L3_NONE);
    EXPECT_TRUE(all_zero(p.saddr, 0, 16));
  }
  {
    auto [ret, p] = parse(b, 53);  // inside TCP
    EXPECT_EQ(ret, -1);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_TRUNCATED);
    EXPECT_EQ(p.l3, NT_L3_IPV4);
    EXPECT_EQ(first<4>(p.saddr), kIp4A);
    EXPECT_EQ(p.l4_proto, NT_IPPROTO_TCP);
    EXPECT_EQ(p.sport, 0);
  }
}

TEST(PktParse, TruncatedInsideVlanTags) {
  const auto& b = frame("qinq_ipv4_tcp").bytes;
  {
    auto [ret, p] = parse(b, 16);  // inside the outer tag
    EXPECT_EQ(ret, -1);
    EXPECT_EQ(p.flags, NT_PKT_HAS_L2 | NT_PKT_TRUNCATED);
    EXPECT_EQ(p.vlan_depth, 0);
  }
  {
    auto [ret, p] = parse(b, 20);  // inside the inner tag
    EXPECT_EQ(ret, -1);
    EXPECT_TRUE(p.flags & NT_PKT_TRUNCATED);
    EXPECT_EQ(p.vlan_depth, 1);
    EXPECT_EQ(p.vlan[0], 200);
  }
}

TEST(PktParse, TruncatedIpv6ExtensionHeader) {
  const auto& b = frame("ipv6_hbh_dst_udp").bytes;
  auto [ret, p] = parse(b, 14 + 40 + 8 + 4);  // inside the destination options header
  EXPECT_EQ(ret, -1);
  EXPECT_TRUE(p.flags & NT_PKT_TRUNCATED);
  EXPECT_EQ(p.l3, NT_L3_IPV6);
  EXPECT_EQ(p.l4_proto, 0);
}

TEST(PktParseL3, WithoutEthernetHeader) {
  const auto ip = cat({ipv4(NT_IPPROTO_UDP, 12), udp(5353, 53)});
  auto [ret, p] = parse_l3(ip, NT_ETH_P_IP);
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(p.eth_proto, NT_ETH_P_IP);
  EXPECT_EQ(p.flags, NT_PKT_HAS_L4);  // no NT_PKT_HAS_L2
  EXPECT_EQ(p.l3_off, 0);
  EXPECT_EQ(p.l4_off, 20);
  EXPECT_EQ(p.dport, 53);

  const auto ip6 = cat({ipv6(NT_IPPROTO_TCP, 20), tcp(1, 2)});
  auto [ret6, p6] = parse_l3(ip6, NT_ETH_P_IPV6);
  EXPECT_EQ(ret6, 0);
  EXPECT_EQ(p6.l3, NT_L3_IPV6);
  EXPECT_EQ(p6.sport, 1);

  auto [reta, pa] = parse_l3(arp(2, kIp4B, kIp4A), NT_ETH_P_ARP);
  EXPECT_EQ(reta, 0);
  EXPECT_EQ(pa.arp_op, 2);
  EXPECT_EQ(first<4>(pa.saddr), kIp4B);

  auto [reto, po] = parse_l3(Bytes(20, 0), 0x88b5);
  EXPECT_EQ(reto, 0);
  EXPECT_EQ(po.l3, NT_L3_OTHER);
  EXPECT_EQ(po.eth_proto, 0x88b5);
}

TEST(PktParseL3, TruncatedAtEveryLength) {
  const auto ip = cat({ipv4(NT_IPPROTO_TCP, 20), tcp(1, 2)});
  for (size_t len = 0; len < ip.size(); len++) {
    SCOPED_TRACE(len);
    auto [ret, p] = parse_l3(ip, NT_ETH_P_IP, len);
    EXPECT_EQ(ret, -1);
    EXPECT_TRUE(p.flags & NT_PKT_TRUNCATED);
    EXPECT_FALSE(p.flags & NT_PKT_HAS_L4);
  }
  const auto a = arp(1, kIp4A, kIp4B);
  for (size_t len = 0; len < a.size(); len++) {
    auto [ret, p] = parse_l3(a, NT_ETH_P_ARP, len);
    EXPECT_EQ(ret, -1);
    EXPECT_TRUE(p.flags & NT_PKT_TRUNCATED);
    EXPECT_EQ(p.arp_op, 0);
  }
}

// The buffer helpers themselves: big-endian reads.
TEST(PktHelpers, BigEndianReads) {
  const uint8_t b[] = {0x12, 0x34, 0x56, 0x78};
  EXPECT_EQ(nt_get8(b, 1), 0x34);
  EXPECT_EQ(nt_get16(b, 0), 0x1234);
  EXPECT_EQ(nt_get32(b, 0), 0x12345678u);
  EXPECT_TRUE(nt_is_vlan_proto(NT_ETH_P_8021Q));
  EXPECT_TRUE(nt_is_vlan_proto(NT_ETH_P_8021AD));
  EXPECT_TRUE(nt_is_vlan_proto(NT_ETH_P_QINQ1));
  EXPECT_FALSE(nt_is_vlan_proto(NT_ETH_P_IP));
}

}  // namespace
}  // namespace nettrace::test
