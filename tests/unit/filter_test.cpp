// SPDX-License-Identifier: GPL-2.0
// The shared packet filter (nettrace/abi/filter.h): each field on its own against every crafted frame,
// so a filter must both select the traffic it names and exclude everything else.

#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

#include "test_packets.hpp"

namespace nettrace::test {
namespace {

std::set<std::string> names(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

const std::set<std::string> kIpv4Frames = names({"ipv4_tcp", "ipv4_udp", "ipv4_icmp", "ipv4_options_udp",
                                                "ipv4_first_fragment", "ipv4_later_fragment",
                                                "ipv4_last_fragment", "ipv4_df_tcp", "ipv4_gre",
                                                "vlan_ipv4_udp", "qinq_ipv4_tcp"});
const std::set<std::string> kIpv6Frames = names({"ipv6_udp", "ipv6_tcp", "ipv6_icmpv6", "ipv6_hbh_udp",
                                                "ipv6_hbh_dst_udp", "ipv6_routing_tcp", "ipv6_first_fragment",
                                                "ipv6_later_fragment", "ipv6_hbh_fragment_udp",
                                                "qinq_9100_ipv6_udp"});
const std::set<std::string> kTcpFrames =
    names({"ipv4_tcp", "ipv4_df_tcp", "ipv6_tcp", "ipv6_routing_tcp", "qinq_ipv4_tcp"});
// UDP frames whose UDP header is present (not later fragments).
const std::set<std::string> kUdpHeaderFrames =
    names({"ipv4_udp", "ipv4_options_udp", "ipv4_first_fragment", "ipv6_udp", "ipv6_hbh_udp", "ipv6_hbh_dst_udp",
           "ipv6_first_fragment", "ipv6_hbh_fragment_udp", "vlan_ipv4_udp", "qinq_9100_ipv6_udp"});

std::set<std::string> join(std::set<std::string> a, const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// Which frames each catalogue filter must select; every other frame must be excluded.
const std::map<std::string, std::set<std::string>>& expected() {
  static const std::map<std::string, std::set<std::string>> e = {
      {"src_ip4_a", join(kIpv4Frames, names({"arp_request", "vlan_arp", "rarp"}))},
      {"src_ip4_b", names({"arp_reply"})},
      {"dst_ip4_a", names({"arp_reply"})},
      {"dst_ip4_b", join(kIpv4Frames, names({"arp_request", "vlan_arp", "rarp"}))},
      {"src_a_dst_b_ip4", join(kIpv4Frames, names({"arp_request", "vlan_arp", "rarp"}))},
      {"src_b_dst_b_ip4", {}},
      {"src_ip6_a", kIpv6Frames},
      {"dst_ip6_a", {}},
      {"dst_ip6_b", kIpv6Frames},
      {"proto_tcp", kTcpFrames},
      {"proto_udp", join(kUdpHeaderFrames, names({"ipv4_later_fragment", "ipv4_last_fragment",
                                                  "ipv6_later_fragment"}))},
      {"proto_icmp", names({"ipv4_icmp", "ipv6_icmpv6"})},
      {"proto_icmpv6", names({"ipv6_icmpv6"})},
      {"proto_47", names({"ipv4_gre"})},
      {"sport_40000", kTcpFrames},
      {"dport_80", kTcpFrames},
      {"sport_53", {}},
      {"dport_53", kUdpHeaderFrames},
      {"udp_dport_80", {}},
      {"eth_ipv4", kIpv4Frames},
      {"eth_ipv6", kIpv6Frames},
      {"eth_arp", names({"arp_request", "arp_reply", "vlan_arp"})},
      {"eth_rarp", names({"rarp"})},
      {"eth_lldp", names({"lldp"})},
      {"eth_0x88b5", names({"unknown_ethertype"})},
      {"eth_other", names({"unknown_ethertype"})},
      {"vlan_100", names({"vlan_ipv4_udp"})},
      {"vlan_200", names({"qinq_ipv4_tcp"})},
      {"vlan_300", names({"qinq_ipv4_tcp"})},
      {"vlan_4095", names({"qinq_9100_ipv6_udp"})},
      {"vlan_42", names({"vlan_arp"})},
      {"vlan_0", {}},
      {"tcp_flow_ip4", names({"ipv4_tcp", "ipv4_df_tcp", "qinq_ipv4_tcp"})},
      {"tcp_flow_ip4_vlan_300", names({"qinq_ipv4_tcp"})},
      {"udp_flow_ip6", names({"ipv6_udp", "ipv6_hbh_udp", "ipv6_hbh_dst_udp", "ipv6_first_fragment",
                              "ipv6_hbh_fragment_udp", "qinq_9100_ipv6_udp"})},
  };
  return e;
}

nt_pkt parsed(const Bytes& b) {
  nt_pkt p{};
  (void)nt_parse_eth(b.data(), b.size(), &p);
  return p;
}

TEST(Filter, EveryFieldSelectsItsTrafficAndExcludesTheRest) {
  const auto frames = frame_catalogue();
  std::set<std::string> all;
  for (const auto& f : frames) all.insert(f.name);
  for (const auto& nf : filter_catalogue()) {
    SCOPED_TRACE(nf.name);
    std::set<std::string> want;
    if (nf.name == "any") {
      want = all;
    } else {
      auto it = expected().find(nf.name);
      ASSERT_NE(it, expected().end()) << "no expectation for filter " << nf.name;
      want = it->second;
    }
    for (const auto& w : want) ASSERT_TRUE(all.count(w)) << "unknown frame " << w;
    std::set<std::string> got;
    for (const auto& f : frames) {
      const nt_pkt p = parsed(f.bytes);
      if (nt_filter_match_pkt(&nf.filter, &p)) got.insert(f.name);
    }
    EXPECT_EQ(got, want);
  }
}

TEST(Filter, NeedsPacketOnlyForPacketFields) {
  for (const auto& nf : filter_catalogue()) {
    EXPECT_EQ(nt_filter_needs_packet(&nf.filter) != 0, nf.name != "any") << nf.name;
  }
  nt_filter f{};
  f.ifindex = 3;
  f.netns = 4026531840u;
  EXPECT_FALSE(nt_filter_needs_packet(&f));
}

TEST(Filter, AddressesAreDirectionExact) {
  nt_filter f{};
  set_saddr(f, kIp4B.data(), 4);
  const nt_pkt fwd = parsed(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 8), udp(1, 2, 0)}));
  const nt_pkt rev = parsed(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 8, {.src = kIp4B, .dst = kIp4A}), udp(2, 1, 0)}));
  EXPECT_FALSE(nt_filter_match_pkt(&f, &fwd));
  EXPECT_TRUE(nt_filter_match_pkt(&f, &rev));
}

TEST(Filter, Ipv6AddressDiffersInLastByteOnly) {
  Ip6 near = kIp6A;
  near[15] ^= 0x80;
  nt_filter f{};
  set_saddr(f, near.data(), 6);
  const nt_pkt p = parsed(cat({eth(NT_ETH_P_IPV6), ipv6(NT_IPPROTO_UDP, 8), udp(1, 2, 0)}));
  EXPECT_FALSE(nt_filter_match_pkt(&f, &p));
  near[15] ^= 0x80;
  set_saddr(f, near.data(), 6);
  EXPECT_TRUE(nt_filter_match_pkt(&f, &p));
  near[0] ^= 1;  // and in the first byte
  set_saddr(f, near.data(), 6);
  EXPECT_FALSE(nt_filter_match_pkt(&f, &p));
}

// An IPv4 filter compares four bytes only, whatever follows them in the packet record.
TEST(Filter, Ipv4ComparesFourBytes) {
  nt_filter f{};
  set_saddr(f, kIp4A.data(), 4);
  f.saddr[4] = 0xff;
  nt_pkt p = parsed(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 8), udp(1, 2, 0)}));
  EXPECT_TRUE(nt_filter_match_pkt(&f, &p));
}

TEST(Filter, PortsNeedTcpOrUdpHeader) {
  nt_filter f{};
  f.dport = 53;
  nt_pkt p = parsed(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 8), udp(1, 53, 0)}));
  EXPECT_TRUE(nt_filter_match_pkt(&f, &p));
  p.flags &= static_cast<__u8>(~NT_PKT_HAS_L4);  // e.g. truncated
  EXPECT_FALSE(nt_filter_match_pkt(&f, &p));
  // ICMP id/seq never match a port filter even if the numbers coincide.
  nt_pkt ic = parsed(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_ICMP, 8), icmp(8, 0, 53, 53)}));
  EXPECT_FALSE(nt_filter_match_pkt(&f, &ic));
  // SCTP (132) carries ports at the same offsets, but the parser does not read them.
  nt_pkt sctp = parsed(cat({eth(NT_ETH_P_IP), ipv4(132, 12), udp(1, 53)}));
  EXPECT_FALSE(nt_filter_match_pkt(&f, &sctp));
}

TEST(Filter, TruncatedPacketMatchesOnlyWhatWasParsed) {
  const auto b = cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_TCP, 20), tcp(40000, 80)});
  nt_pkt p{};
  (void)nt_parse_eth(b.data(), 40, &p);  // cut inside TCP
  nt_filter addr{};
  set_saddr(addr, kIp4A.data(), 4);
  EXPECT_TRUE(nt_filter_match_pkt(&addr, &p));
  nt_filter proto{};
  proto.l4_proto = NT_IPPROTO_TCP;
  EXPECT_TRUE(nt_filter_match_pkt(&proto, &p));
  nt_filter port{};
  port.dport = 80;
  EXPECT_FALSE(nt_filter_match_pkt(&port, &p));
}

TEST(Filter, ProtocolNeedsIp) {
  nt_filter f{};
  f.l4_proto = NT_IPPROTO_UDP;
  nt_pkt p{};
  p.l3 = NT_L3_ARP;
  p.l4_proto = NT_IPPROTO_UDP;  // a stale value must not match outside IP
  EXPECT_FALSE(nt_filter_match_pkt(&f, &p));
}

TEST(Filter, Device) {
  nt_filter any{};
  EXPECT_TRUE(nt_filter_match_dev(&any, 7, 123));
  EXPECT_TRUE(nt_filter_match_dev(&any, 0, 0));
  nt_filter by_if{};
  by_if.ifindex = 7;
  EXPECT_TRUE(nt_filter_match_dev(&by_if, 7, 123));
  EXPECT_TRUE(nt_filter_match_dev(&by_if, 7, 456));
  EXPECT_FALSE(nt_filter_match_dev(&by_if, 8, 123));
  EXPECT_FALSE(nt_filter_match_dev(&by_if, 0, 123));
  nt_filter by_ns{};
  by_ns.netns = 123;
  EXPECT_TRUE(nt_filter_match_dev(&by_ns, 9, 123));
  EXPECT_FALSE(nt_filter_match_dev(&by_ns, 9, 456));
  nt_filter both{};
  both.ifindex = 7;
  both.netns = 123;
  EXPECT_TRUE(nt_filter_match_dev(&both, 7, 123));
  EXPECT_FALSE(nt_filter_match_dev(&both, 7, 456));  // same ifindex, other namespace
  EXPECT_FALSE(nt_filter_match_dev(&both, 8, 123));
}

TEST(Filter, AddrEq) {
  const uint8_t a[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  uint8_t b[16];
  std::memcpy(b, a, 16);
  EXPECT_TRUE(nt_addr_eq(a, b, 4));
  EXPECT_TRUE(nt_addr_eq(a, b, 6));
  b[15] = 0;
  EXPECT_TRUE(nt_addr_eq(a, b, 4));
  EXPECT_FALSE(nt_addr_eq(a, b, 6));
  b[3] = 0;
  EXPECT_FALSE(nt_addr_eq(a, b, 4));
}

TEST(Filter, EthIsKnown) {
  for (uint16_t p : {NT_ETH_P_IP, NT_ETH_P_IPV6, NT_ETH_P_ARP, NT_ETH_P_RARP, NT_ETH_P_LLDP, NT_ETH_P_PAUSE})
    EXPECT_TRUE(nt_eth_is_known(p)) << p;
  for (uint16_t p : {0x0000, 0x88b5, 0x8100, 0x8847, 0x88cd})
    EXPECT_FALSE(nt_eth_is_known(p)) << p;
}

}  // namespace
}  // namespace nettrace::test
