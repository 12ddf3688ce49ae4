// SPDX-License-Identifier: GPL-2.0
// The stage-correlation engine (nettrace/abi/stage.h, the code BPF runs) driven with synthetic stage
// events: in order, out of order, duplicated, lost, restarted and stale; plus the stage tables and keys.

#include <cstring>
#include <map>
#include <stdexcept>
#include <utility>

#include <gtest/gtest.h>

#include "nettrace/abi/hist.h"
#include "nettrace/abi/stage.h"
#include "tools/perf/engine.hpp"

namespace nettrace::tools::perf {
namespace {

// A host model of the BPF handler's map work around nt_lat_step(): one flow per key, counters, incomplete
// flows by last stage, completed totals.
struct Sim {
  std::map<int, nt_lat_flow> flows;  // key -> flow
  std::map<int, uint64_t> counts;    // nt_lat_action -> n
  std::map<int, uint64_t> incomplete;  // last stage -> n
  std::vector<uint64_t> totals;
  std::vector<std::tuple<int, int, uint64_t>> pairs;  // from, to, delta
  uint64_t max_gap = 0;

  nt_lat_action ev(int key, uint32_t stage, uint32_t flags, uint64_t ts) {
    auto it = flows.find(key);
    nt_lat_flow scratch{};
    nt_lat_flow* f = it != flows.end() ? &it->second : &scratch;
    nt_lat_step_out o{};
    auto a = nt_lat_step(f, it != flows.end(), stage, 0, flags, ts, max_gap, &o);
    counts[a]++;
    switch (a) {
      case NT_LAT_A_START: flows[key] = scratch; break;
      case NT_LAT_A_RESTART: incomplete[o.old_last]++; break;
      case NT_LAT_A_STALE: incomplete[o.old_last]++; flows.erase(key); break;
      case NT_LAT_A_ADVANCE: pairs.emplace_back(o.prev_stage, stage, o.delta); break;
      case NT_LAT_A_COMPLETE:
        pairs.emplace_back(o.prev_stage, stage, o.delta);
        totals.push_back(o.total);
        flows.erase(key);
        break;
      default: break;
    }
    return a;
  }
};

constexpr uint32_t S = NT_LAT_START, E = NT_LAT_END;

TEST(LatencyStep, InOrderCompletes) {
  Sim s;
  EXPECT_EQ(s.ev(1, 0, S, 100), NT_LAT_A_START);
  EXPECT_EQ(s.ev(1, 1, 0, 150), NT_LAT_A_ADVANCE);
  EXPECT_EQ(s.ev(1, 2, 0, 175), NT_LAT_A_ADVANCE);
  EXPECT_EQ(s.ev(1, 3, E, 300), NT_LAT_A_COMPLETE);
  ASSERT_EQ(s.totals.size(), 1u);
  EXPECT_EQ(s.totals[0], 200u);
  ASSERT_EQ(s.pairs.size(), 3u);
  EXPECT_EQ(s.pairs[0], std::make_tuple(0, 1, 50ULL));
  EXPECT_EQ(s.pairs[2], std::make_tuple(2, 3, 125ULL));
  EXPECT_TRUE(s.flows.empty());
}

TEST(LatencyStep, SkippedStagesAreBridged) {
  Sim s;
  s.ev(1, 0, S, 0);
  s.ev(1, 4, 0, 40);  // stages 1-3 absent (no upcall, hook not attachable)
  s.ev(1, 6, E, 100);
  ASSERT_EQ(s.pairs.size(), 2u);
  EXPECT_EQ(s.pairs[0], std::make_tuple(0, 4, 40ULL));
  EXPECT_EQ(s.pairs[1], std::make_tuple(4, 6, 60ULL));
  EXPECT_EQ(s.totals.at(0), 100u);
}

TEST(LatencyStep, DuplicateStageIgnored) {
  Sim s;
  s.ev(1, 0, S, 0);
  s.ev(1, 1, 0, 10);
  EXPECT_EQ(s.ev(1, 1, 0, 20), NT_LAT_A_DUP);  // e.g. the same stage through two hooks
  s.ev(1, 2, E, 30);
  EXPECT_EQ(s.pairs[1], std::make_tuple(1, 2, 20ULL));  // delta from the first occurrence
  EXPECT_EQ(s.counts[NT_LAT_A_DUP], 1u);
}

TEST(LatencyStep, OutOfOrderStageIgnored) {
  Sim s;
  s.ev(1, 0, S, 0);
  s.ev(1, 3, 0, 30);
  EXPECT_EQ(s.ev(1, 2, 0, 35), NT_LAT_A_OOO);  // earlier stage after a later one
  EXPECT_EQ(s.ev(1, 4, E, 50), NT_LAT_A_COMPLETE);
  EXPECT_EQ(s.totals.at(0), 50u);
  EXPECT_EQ(s.counts[NT_LAT_A_OOO], 1u);
}

TEST(LatencyStep, StageWithoutFlowIgnored) {
  Sim s;
  EXPECT_EQ(s.ev(1, 2, 0, 10), NT_LAT_A_NOFLOW);  // first stage lost (or packet from before attach)
  EXPECT_EQ(s.ev(1, 3, E, 20), NT_LAT_A_NOFLOW);
  EXPECT_TRUE(s.flows.empty());
  EXPECT_TRUE(s.totals.empty());
}

TEST(LatencyStep, LostEndStageCountsIncompleteOnRestart) {
  Sim s;
  s.ev(1, 0, S, 0);
  s.ev(1, 2, 0, 10);
  // End stage lost; the same key starts again (retransmission / id reuse).
  EXPECT_EQ(s.ev(1, 0, S, 1000), NT_LAT_A_RESTART);
  EXPECT_EQ(s.incomplete[2], 1u);
  s.ev(1, 3, E, 1100);
  EXPECT_EQ(s.totals.at(0), 100u);  // measured from the restart, not from the first attempt
}

TEST(LatencyStep, LaterStartStageAdvances) {
  // Several START stages in a row (gro, netif_rx, netif_receive_skb): the first one seen begins, the
  // others advance.
  Sim s;
  EXPECT_EQ(s.ev(1, 1, S, 0), NT_LAT_A_START);
  EXPECT_EQ(s.ev(1, 2, S, 5), NT_LAT_A_ADVANCE);
  EXPECT_EQ(s.ev(1, 5, E, 9), NT_LAT_A_COMPLETE);
  EXPECT_EQ(s.totals.at(0), 9u);
}

TEST(LatencyStep, StaleFlowExpires) {
  Sim s;
  s.max_gap = 1000;
  s.ev(1, 0, S, 0);
  s.ev(1, 1, 0, 10);
  EXPECT_EQ(s.ev(1, 2, 0, 5000), NT_LAT_A_STALE);
  EXPECT_EQ(s.incomplete[1], 1u);
  EXPECT_TRUE(s.flows.empty());
  EXPECT_EQ(s.ev(1, 0, S, 6000), NT_LAT_A_START);
  s.ev(1, 1, 0, 6010);
  EXPECT_EQ(s.ev(1, 0, S, 9000), NT_LAT_A_RESTART);  // stale and a START: restart
  EXPECT_EQ(s.incomplete[1], 2u);
}

TEST(LatencyStep, BackwardsClockGivesZeroDelta) {
  Sim s;
  s.ev(1, 0, S, 100);
  nt_lat_step_out o{};
  auto& f = s.flows.at(1);
  EXPECT_EQ(nt_lat_step(&f, 1, 1, 0, 0, 90, 0, &o), NT_LAT_A_ADVANCE);  // other CPU's clock slightly behind
  EXPECT_EQ(o.neg, 1);
  EXPECT_EQ(o.delta, 0u);
  EXPECT_EQ(nt_lat_step(&f, 1, 2, 0, E, 150, 0, &o), NT_LAT_A_COMPLETE);
  EXPECT_EQ(o.total, 50u);
}

TEST(LatencyStep, InterleavedPacketsKeepTheirOwnFlows) {
  Sim s;
  s.ev(1, 0, S, 0);
  s.ev(2, 0, S, 5);
  s.ev(2, 1, 0, 6);
  s.ev(1, 1, 0, 20);
  s.ev(2, 2, E, 7);
  s.ev(1, 2, E, 30);
  ASSERT_EQ(s.totals.size(), 2u);
  EXPECT_EQ(s.totals[0], 2u);
  EXPECT_EQ(s.totals[1], 30u);
}

TEST(LatencyStep, SplitMarksTheReplysFirstStage) {
  nt_lat_flow f{};
  nt_lat_step_out o{};
  ASSERT_EQ(nt_lat_step(&f, 0, 0, 0, S, 1000, 0, &o), NT_LAT_A_START);
  ASSERT_EQ(nt_lat_step(&f, 1, 3, 0, 0, 1010, 0, &o), NT_LAT_A_ADVANCE);
  ASSERT_EQ(nt_lat_step(&f, 1, 8, 0, NT_LAT_SPLIT, 1500, 0, &o), NT_LAT_A_ADVANCE);
  EXPECT_EQ(o.split, 1);
  ASSERT_EQ(nt_lat_step(&f, 1, 9, 0, NT_LAT_SPLIT | E, 1600, 0, &o), NT_LAT_A_COMPLETE);
  EXPECT_EQ(o.split, 0);
  EXPECT_EQ(f.split_ts - f.first_ts, 500u);
  EXPECT_EQ(o.total, 600u);
}

nt_pkt icmp(const char* s, const char* d, uint8_t type, uint16_t id, uint16_t seq, uint16_t ip_id) {
  nt_pkt p{};
  p.l3 = NT_L3_IPV4;
  p.l4_proto = NT_IPPROTO_ICMP;
  p.flags = NT_PKT_HAS_L4;
  sscanf(s, "%hhu.%hhu.%hhu.%hhu", &p.saddr[0], &p.saddr[1], &p.saddr[2], &p.saddr[3]);
  sscanf(d, "%hhu.%hhu.%hhu.%hhu", &p.daddr[0], &p.daddr[1], &p.daddr[2], &p.daddr[3]);
  p.icmp_type = type;
  p.icmp_id = id;
  p.icmp_seq = seq;
  p.ip_id = ip_id;
  p.ip_len = 84;
  return p;
}

TEST(LatencyKey, IcmpReplyJoinsItsRequest) {
  nt_lat_key req{}, rep{}, other{};
  auto a = icmp("10.0.0.1", "10.0.0.2", 8, 77, 3, 1111), b = icmp("10.0.0.2", "10.0.0.1", 0, 77, 3, 2222);
  ASSERT_EQ(nt_lat_make_key(&a, 0, 0, &req), 0);
  ASSERT_EQ(nt_lat_make_key(&b, 0, 1, &rep), 0);
  EXPECT_EQ(memcmp(&req, &rep, sizeof(req)), 0);
  auto c = icmp("10.0.0.2", "10.0.0.1", 0, 77, 4, 2222);
  ASSERT_EQ(nt_lat_make_key(&c, 0, 1, &other), 0);
  EXPECT_NE(memcmp(&req, &other, sizeof(req)), 0);
  EXPECT_TRUE(nt_lat_pkt_ok(NT_LAT_PKT_ICMP_REQUEST, &a));
  EXPECT_FALSE(nt_lat_pkt_ok(NT_LAT_PKT_ICMP_REPLY, &a));
  EXPECT_TRUE(nt_lat_pkt_ok(NT_LAT_PKT_ICMP_REPLY, &b));
  EXPECT_EQ(key_string(req), "icmp 10.0.0.1 -> 10.0.0.2 id 77 seq 3");
}

TEST(LatencyKey, FragmentedIcmpEchoIsOnePacket) {
  // ping -s 3000: the datagram at ip_output, its first fragment on the wire, the reply's first fragment and
  // the reassembled reply at icmp_rcv all join; a later fragment (no ICMP header) is apart.
  auto whole = icmp("10.0.0.1", "10.0.0.2", 8, 77, 3, 1111), first = whole, reply = icmp("10.0.0.2", "10.0.0.1", 0, 77, 3, 2222);
  whole.ip_len = 3028;
  first.ip_len = 1500;
  reply.ip_len = 1500;
  auto later = whole;
  later.flags = 0;  // no L4 header
  later.frag_off = 1480;
  later.ip_len = 1500;
  nt_lat_key kw{}, kf{}, kr{}, kl{};
  ASSERT_EQ(nt_lat_make_key(&whole, 0, 0, &kw), 0);
  ASSERT_EQ(nt_lat_make_key(&first, 0, 0, &kf), 0);
  ASSERT_EQ(nt_lat_make_key(&reply, 0, 1, &kr), 0);
  ASSERT_EQ(nt_lat_make_key(&later, 0, 0, &kl), 0);
  EXPECT_EQ(memcmp(&kw, &kf, sizeof(kw)), 0);
  EXPECT_EQ(memcmp(&kw, &kr, sizeof(kw)), 0);
  EXPECT_NE(memcmp(&kw, &kl, sizeof(kw)), 0);
  EXPECT_EQ(kl.ip_id, 1111);
  EXPECT_FALSE(nt_lat_pkt_ok(NT_LAT_PKT_ICMP_REQUEST, &later));  // not an echo request to any role
}

TEST(LatencyKey, TcpKeyCarriesSeqAckAndIpId) {
  nt_pkt p{};
  p.l3 = NT_L3_IPV4;
  p.l4_proto = NT_IPPROTO_TCP;
  p.flags = NT_PKT_HAS_L4;
  p.sport = 1000;
  p.dport = 80;
  p.tcp_seq = 5;
  p.tcp_ack = 9;
  p.ip_id = 42;
  nt_lat_key k1{}, k2{};
  ASSERT_EQ(nt_lat_make_key(&p, 0, 0, &k1), 0);
  EXPECT_EQ(k1.ident, 5u);
  EXPECT_EQ(k1.ident2, 9u);
  EXPECT_EQ(k1.ip_id, 42);
  p.ip_id = 43;  // a pure ACK and the next data segment share seq; the IP id tells them apart
  ASSERT_EQ(nt_lat_make_key(&p, 0, 0, &k2), 0);
  EXPECT_NE(memcmp(&k1, &k2, sizeof(k1)), 0);
  nt_pkt arp{};
  arp.l3 = NT_L3_ARP;
  EXPECT_EQ(nt_lat_make_key(&arp, 0, 0, &k1), -1);
}

nt_pkt udp4(uint16_t ip_id, uint16_t ip_len, uint16_t frag_off, bool later) {
  nt_pkt p{};
  p.l3 = NT_L3_IPV4;
  p.l4_proto = NT_IPPROTO_UDP;
  p.saddr[0] = 10, p.saddr[3] = 1;
  p.daddr[0] = 10, p.daddr[3] = 2;
  p.ip_id = ip_id;
  p.ip_len = ip_len;
  p.frag_off = frag_off;
  if (frag_off || later) p.flags |= NT_PKT_FRAGMENT;
  if (later) {
    p.flags |= NT_PKT_LATER_FRAG;
  } else {
    p.flags |= NT_PKT_HAS_L4;
    p.sport = 7001;
    p.dport = 6001;
  }
  return p;
}

TEST(LatencyKey, UdpFirstFragmentAndReassembledDatagramShareTheDatagramsKey) {
  // 3000 bytes of payload at MTU 1500: ip_output sees one 3028-byte datagram, the wire fragments of 1500 (MF,
  // offset 0), 1500 (offset 1480) and 68 (offset 2960); udp_rcv on the receiver the reassembled 3028 bytes.
  nt_lat_key whole{}, first{}, second{}, last{}, reasm{}, other{};
  auto w = udp4(4242, 3028, 0, false), f1 = udp4(4242, 1500, 0, false), f2 = udp4(4242, 1500, 1480, true),
       f3 = udp4(4242, 68, 2960, true), r = udp4(4242, 3028, 0, false), o = udp4(4243, 3028, 0, false);
  f1.flags |= NT_PKT_FRAGMENT;
  for (auto [pkt, key] : {std::pair{&w, &whole}, {&f1, &first}, {&f2, &second}, {&f3, &last}, {&r, &reasm}, {&o, &other}})
    ASSERT_EQ(nt_lat_make_key(pkt, 0, 0, key), 0);
  EXPECT_EQ(memcmp(&whole, &first, sizeof(whole)), 0);
  EXPECT_EQ(memcmp(&first, &reasm, sizeof(first)), 0);
  EXPECT_NE(memcmp(&first, &second, sizeof(first)), 0);
  EXPECT_NE(memcmp(&second, &last, sizeof(second)), 0);
  EXPECT_EQ(second.sport, 0);
  EXPECT_EQ(second.frag_off, 1480);
  EXPECT_NE(memcmp(&whole, &other, sizeof(whole)), 0);  // the next datagram has the next IP id
  EXPECT_EQ(key_string(second), "udp 10.0.0.1:0 -> 10.0.0.2:0 ip_id 4242 frag_off 1480");
  // An IPv4 ICMP echo has no length in its key either (FragmentedIcmpEchoIsOnePacket); TCP keeps it.
  auto i1 = icmp("10.0.0.1", "10.0.0.2", 8, 1, 1, 9), i2 = i1;
  i2.ip_len = 1500;
  nt_lat_key a{}, b{};
  ASSERT_EQ(nt_lat_make_key(&i1, 0, 0, &a), 0);
  ASSERT_EQ(nt_lat_make_key(&i2, 0, 0, &b), 0);
  EXPECT_EQ(memcmp(&a, &b, sizeof(a)), 0);
}

TEST(LatencyTable, HostWithTracepointsOnly) {
  auto t = system_latency_table(Direction::Both);
  Availability a{[](nt_lat_hook h) { return h <= NT_LH_QDISC_DEQUEUE; }, false, false, false};
  ASSERT_EQ(finalize(t, a), "");
  std::vector<std::string> tx, rx;
  for (const auto& s : t.stages) {
    if (!s.enabled) continue;
    (s.dir == 0 ? tx : rx).push_back(s.name);
  }
  EXPECT_EQ(tx, (std::vector<std::string>{"TX_S10_phy_dev_queue", "TX_S11_phy_qdisc_dequeue", "TX_S12_phy_start_xmit",
                                          "TX_S13_phy_xmit"}));
  EXPECT_EQ(rx, (std::vector<std::string>{"RX_S0_phy_gro_receive", "RX_S1_phy_netif_rx", "RX_S2_phy_netif_receive_skb"}));
  // The last RX stage that can run ends the flow; the first TX stage that can run starts it.
  for (const auto& s : t.stages) {
    if (s.name == "RX_S2_phy_netif_receive_skb") {
      EXPECT_TRUE(s.flags & NT_LAT_END);
    }
    if (s.name == "TX_S10_phy_dev_queue") {
      EXPECT_TRUE(s.flags & NT_LAT_START);
    }
    if (s.dir == 1 && s.enabled) {
      EXPECT_TRUE(s.flags & NT_LAT_REVERSE);
    }
  }
  auto roles = roles_of(t);
  EXPECT_EQ(roles[NT_LH_NETIF_RECEIVE_SKB][0].dir, 1);
  EXPECT_EQ(roles[NT_LH_NETIF_RECEIVE_SKB][1].stage, 0);  // the internal-port role is off without the port
  EXPECT_EQ(roles[NT_LH_OVS_DP_PROCESS_PACKET][0].stage, 0);
}

TEST(LatencyTable, OvsStagesWithInternalPortAndCt) {
  auto t = system_latency_table(Direction::Tx);
  Availability a{[](nt_lat_hook) { return true; }, true, false, true};
  ASSERT_EQ(finalize(t, a), "");
  auto roles = roles_of(t);
  // net_dev_queue twice in TX: on the internal port and on the physical port.
  EXPECT_EQ(roles[NT_LH_NET_DEV_QUEUE][0].dev, NT_LAT_DEV_INTERNAL);
  EXPECT_EQ(roles[NT_LH_NET_DEV_QUEUE][1].dev, NT_LAT_DEV_PHY);
  EXPECT_LT(roles[NT_LH_NET_DEV_QUEUE][0].stage, roles[NT_LH_NET_DEV_QUEUE][1].stage);
  EXPECT_NE(roles[NT_LH_NF_CONNTRACK_IN][0].stage, 0);
  EXPECT_TRUE(roles[NT_LH_OVS_FLOW_KEY_EXTRACT_USERSPACE][0].flags & NT_LAT_FROM_DATA);
}

// A BY_SKB stage names the stage whose skb it follows: the device's queue for the transmit tracepoints, also
// where a stage in between (qdisc_dequeue) is BY_SKB too or cannot attach.
TEST(LatencyTable, BySkbStagesNameTheStageTheyFollow) {
  for (bool qdisc : {true, false}) {
    auto t = vm_latency_table(Direction::Both);
    Availability a{[&](nt_lat_hook h) { return qdisc || h != NT_LH_QDISC_DEQUEUE; }, false, true, false};
    ASSERT_EQ(finalize(t, a), "");
    auto roles = roles_of(t);
    for (uint8_t dir = 0; dir < NT_LAT_DIRS; dir++) {
      const Stage* queue = t.find(dir, 11);  // TX_S11_phy_dev_queue, RX_S11_vnet_dev_queue
      ASSERT_NE(queue, nullptr);
      ASSERT_EQ(queue->hook, NT_LH_NET_DEV_QUEUE);
      for (nt_lat_hook h : {NT_LH_NET_DEV_START_XMIT, NT_LH_NET_DEV_XMIT, NT_LH_QDISC_DEQUEUE})
        for (const auto& r : roles[h])
          if (r.stage && r.dir == dir) EXPECT_EQ(r.chain, queue->index + 1) << hook_label(h);
    }
    for (const auto& r : roles[NT_LH_OVS_VPORT_SEND]) EXPECT_EQ(r.chain, 0);  // TRY_SKB: checked by its shape
    for (const auto& r : roles[NT_LH_NET_DEV_QUEUE]) EXPECT_EQ(r.chain, 0);
  }
}

TEST(LatencyTable, SkbKeyedOnlyWhenEveryLaterStageFollowsTheSkb) {
  const Availability tracepoints{[](nt_lat_hook h) { return h <= NT_LH_QDISC_DEQUEUE; }, false, false, false};
  const Availability everything{[](nt_lat_hook) { return true; }, true, false, true};
  auto tx = system_latency_table(Direction::Tx);
  ASSERT_EQ(finalize(tx, tracepoints), "");
  EXPECT_TRUE(keyed_by_skb(tx));  // phy_dev_queue, then qdisc/start_xmit/xmit by skb
  auto both = system_latency_table(Direction::Both);
  ASSERT_EQ(finalize(both, tracepoints), "");
  EXPECT_FALSE(keyed_by_skb(both));  // RX: gro_receive, netif_rx, netif_receive_skb each parse
  auto ovs = system_latency_table(Direction::Tx);
  ASSERT_EQ(finalize(ovs, everything), "");
  EXPECT_FALSE(keyed_by_skb(ovs));  // the upcall re-injects another skb: identity keys
  auto rtt = icmp_rtt_table(Direction::Tx);
  ASSERT_EQ(finalize(rtt, tracepoints), "");
  EXPECT_FALSE(keyed_by_skb(rtt));  // the reply is another skb
}

TEST(LatencyTable, OvsStagesTryTheSkbExceptWhereThePacketIsNew) {
  const Availability everything{[](nt_lat_hook) { return true; }, true, false, true};
  auto t = system_latency_table(Direction::Both);
  ASSERT_EQ(finalize(t, everything), "");
  auto has = [&](const std::string& suffix) {
    for (const auto& s : t.stages)
      if (s.enabled && s.name.size() > suffix.size() && s.name.ends_with("_" + suffix)) return s.flags;
    ADD_FAILURE() << suffix;
    return uint8_t{0};
  };
  for (const char* n : {"ovs_vport_receive", "ovs_dp_process_packet", "ovs_dp_upcall", "ovs_execute_actions",
                        "nf_conntrack_in", "ovs_vport_send", "internal_dev_xmit", "netdev_frame_hook",
                        "internal_dev_recv", "ip_rcv", "ip_local_deliver"})
    EXPECT_TRUE(has(n) & NT_LAT_TRY_SKB) << n;
  // The re-injected packet is a new skb, and the L4 stages see the reassembled datagram: both parse.
  EXPECT_FALSE(has("ovs_flow_key_extract_userspace") & NT_LAT_TRY_SKB);
  EXPECT_TRUE(has("ovs_flow_key_extract_userspace") & NT_LAT_FROM_DATA);
  for (const char* n : {"tcp_v4_rcv", "udp_rcv", "icmp_rcv", "ip_output"}) EXPECT_FALSE(has(n) & NT_LAT_TRY_SKB) << n;
  // A path's later starts try the pointer too (for a packet they advance); its first start always parses.
  for (const char* n : {"internal_dev_queue", "phy_dev_queue", "phy_netif_rx", "phy_netif_receive_skb"})
    EXPECT_EQ(has(n) & (NT_LAT_START | NT_LAT_TRY_SKB), NT_LAT_START | NT_LAT_TRY_SKB) << n;
  EXPECT_FALSE(has("phy_gro_receive") & NT_LAT_TRY_SKB);
  // Trying the skb does not make a table skb-keyed: the flows stay keyed by packet identity.
  EXPECT_FALSE(keyed_by_skb(t));
}

TEST(LatencyTable, SkbFreeHooksAreOptionalTracepoints) {
  auto hooks = skb_free_hooks();
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[0].name, "skb:kfree_skb");
  EXPECT_EQ(hooks[1].name, "skb:consume_skb");
  for (const auto& h : hooks) {
    EXPECT_FALSE(h.required) << h.name;
    ASSERT_EQ(h.candidates.size(), 3u);
    EXPECT_EQ(h.candidates[0].kind, bpf::AttachKind::TpBtf);
  }
}

TEST(LatencyFastHists, PredecessorPairsAndEndToEndFromTheFirstStage) {
  auto t = system_latency_table(Direction::Tx);
  ASSERT_EQ(finalize(t, Availability{[](nt_lat_hook h) { return h <= NT_LH_QDISC_DEQUEUE; }, false, false, false}), "");
  const nt_lat_fast_cfg c = fast_cfg_of(t);
  // Enabled: 10 phy_dev_queue, 11 phy_qdisc_dequeue, 12 phy_start_xmit, 13 phy_xmit.
  EXPECT_EQ(c.first[0], 11);
  EXPECT_EQ(c.first[1], 0);
  EXPECT_EQ(c.prev[0][10], 0);
  EXPECT_EQ(c.prev[0][11], 11);
  EXPECT_EQ(c.prev[0][13], 13);
  // qdisc_dequeue does not fire on noqueue: 10 -> 12 is a bridged pair, in the hash.
  EXPECT_EQ(nt_lat_fast_slot(c.prev[0][12], c.first[0], NT_LAT_H_PAIR, 0, 11, 12), 12);
  EXPECT_EQ(nt_lat_fast_slot(c.prev[0][12], c.first[0], NT_LAT_H_PAIR, 0, 10, 12), -1);
  EXPECT_EQ(nt_lat_fast_slot(c.prev[0][13], c.first[0], NT_LAT_H_SPLIT, 0, 12, 13), -1);
  const int total = nt_lat_fast_slot(c.prev[0][13], c.first[0], NT_LAT_H_TOTAL, 0, 10, 13);
  ASSERT_GE(total, 0);
  nt_lat_hist_key k{};
  ASSERT_EQ(nt_lat_fast_key(&c, static_cast<uint32_t>(total), &k), 1);
  EXPECT_EQ(k.kind, NT_LAT_H_TOTAL);
  EXPECT_EQ(k.dir, 0);
  EXPECT_EQ(k.from, 10);
  EXPECT_EQ(k.to, 13);
  ASSERT_EQ(nt_lat_fast_key(&c, 12, &k), 1);
  EXPECT_EQ(k.kind, NT_LAT_H_PAIR);
  EXPECT_EQ(k.from, 11);
  EXPECT_EQ(k.to, 12);
  EXPECT_EQ(nt_lat_fast_key(&c, 10, &k), 0);  // the first stage has no predecessor
  EXPECT_EQ(nt_lat_fast_key(&c, NT_LAT_MAX_STAGES + 5, &k), 0);  // no RX stage
  EXPECT_EQ(nt_lat_fast_key(&c, NT_LAT_FAST_SLOTS, &k), 0);
}

TEST(LatencyTable, IcmpRttPaths) {
  auto t = icmp_rtt_table(Direction::Tx);
  Availability a{[](nt_lat_hook h) { return h <= NT_LH_QDISC_DEQUEUE; }, false, false, false};
  ASSERT_EQ(finalize(t, a), "");
  int starts = 0, ends = 0;
  for (const auto& s : t.stages) {
    if (!s.enabled) continue;
    EXPECT_EQ(s.dir, 0);
    starts += (s.flags & NT_LAT_START) != 0;
    ends += (s.flags & NT_LAT_END) != 0;
    if (s.name.rfind("P2", 0) == 0) {
      EXPECT_EQ(s.pkt, NT_LAT_PKT_ICMP_REPLY);
      EXPECT_TRUE(s.flags & NT_LAT_SWAP_KEY);
      EXPECT_TRUE(s.flags & NT_LAT_SPLIT);
      EXPECT_FALSE(s.flags & NT_LAT_START);
    } else {
      EXPECT_EQ(s.pkt, NT_LAT_PKT_ICMP_REQUEST);
    }
  }
  EXPECT_EQ(starts, 1);  // phy_dev_queue: ip_local_out needs kprobes/fentry
  EXPECT_EQ(ends, 1);    // the reply's netif_receive_skb: icmp_rcv needs kprobes/fentry
}

TEST(LatencyTable, NothingToMeasureIsAnError) {
  auto t = system_latency_table(Direction::Rx);
  Availability a{[](nt_lat_hook h) { return h == NT_LH_NETIF_RECEIVE_SKB; }, false, false, false};
  EXPECT_NE(finalize(t, a), "");
}

TEST(LatencyRender, FlowJsonHasEveryStageInOrder) {
  auto t = icmp_rtt_table(Direction::Tx);
  Availability a{[](nt_lat_hook h) { return h <= NT_LH_QDISC_DEQUEUE; }, false, false, false};
  ASSERT_EQ(finalize(t, a), "");
  nt_lat_flow f{};
  auto p = icmp("10.0.0.1", "10.0.0.2", 8, 7, 1, 1);
  nt_lat_make_key(&p, 0, 0, &f.key);
  const Stage *q = nullptr, *r = nullptr;
  for (const auto& s : t.stages) {
    if (s.name == "P1_S9_phy_dev_queue") q = &s;
    if (s.name == "P2_S2_phy_netif_receive_skb") r = &s;
  }
  ASSERT_TRUE(q && r);
  f.first_ts = 1000;
  f.seen = 1U << q->index | 1U << r->index;
  f.st[q->index].ts = 1000;
  f.st[r->index].ts = 41000;
  f.last_ts = 41000;
  f.split_ts = 41000;
  f.st[q->index].stack_id = f.st[r->index].stack_id = -1;
  memcpy(f.st[q->index].ifname, "veth-a", 6);
  auto j = flow_to_json(FlowView{&f, &t, 0, nullptr});
  EXPECT_EQ(j["type"], "icmp_rtt");
  EXPECT_EQ(j["icmp_seq"], 1);
  ASSERT_EQ(j["stages"].size(), 2u);
  EXPECT_EQ(j["stages"][0]["stage"], "P1_S9_phy_dev_queue");
  EXPECT_EQ(j["stages"][0]["interface"], "veth-a");
  EXPECT_DOUBLE_EQ(j["stages"][1]["delta_us"].get<double>(), 40.0);
  EXPECT_DOUBLE_EQ(j["rtt_us"].get<double>(), 40.0);
  EXPECT_NE(flow_to_text(FlowView{&f, &t, 0, nullptr}, true).find("RTT"), std::string::npos);
}

// ---- the receive backlog: perf backlog and perf internal-port ----

bool is_tracepoint(nt_lat_hook h) { return h <= NT_LH_QDISC_DEQUEUE; }

std::vector<std::string> enabled_names(const StageTable& t) {
  std::vector<std::string> out;
  for (const auto& s : t.stages)
    if (s.enabled) out.push_back(s.name);
  return out;
}

const Stage& by_name(const StageTable& t, const std::string& n) {
  for (const auto& s : t.stages)
    if (s.name == n) return s;
  throw std::runtime_error("no stage " + n);
}

TEST(BacklogTable, TracepointsStandInForTheFunctions) {
  auto t = backlog_table(true);
  ASSERT_EQ(finalize(t, Availability{is_tracepoint, false, false, false}), "");
  EXPECT_EQ(enabled_names(t), (std::vector<std::string>{"BL_S0_tp_netif_rx", "BL_S3_tp_netif_receive_skb"}));
  EXPECT_TRUE(by_name(t, "BL_S0_tp_netif_rx").flags & NT_LAT_START);
  EXPECT_TRUE(by_name(t, "BL_S3_tp_netif_receive_skb").flags & NT_LAT_END);  // ip_rcv needs kprobes/fentry
  EXPECT_EQ(t.cpu_from, 0);
  EXPECT_EQ(t.cpu_to, 3);
  auto roles = roles_of(t);
  EXPECT_EQ(roles[NT_LH_NETIF_RX][0].dev, NT_LAT_DEV_PHY);  // --interface
  EXPECT_EQ(roles[NT_LH_NETIF_RX][0].dir, 0);
  EXPECT_TRUE(roles[NT_LH_NETIF_RX][0].flags & NT_LAT_REVERSE);  // --src-ip names this host, as in every latency tool
}

TEST(BacklogTable, FunctionsWhenTraceable) {
  auto all = [](nt_lat_hook) { return true; };
  auto t = backlog_table(true);
  ASSERT_EQ(finalize(t, Availability{all, false, false, false}), "");
  EXPECT_EQ(enabled_names(t),
            (std::vector<std::string>{"BL_S1_enqueue_to_backlog", "BL_S2___netif_receive_skb", "BL_S4_ip_rcv"}));
  EXPECT_TRUE(by_name(t, "BL_S1_enqueue_to_backlog").flags & NT_LAT_START);
  EXPECT_FALSE(by_name(t, "BL_S2___netif_receive_skb").flags & NT_LAT_END);
  EXPECT_TRUE(by_name(t, "BL_S4_ip_rcv").flags & NT_LAT_END);
  EXPECT_EQ(t.cpu_from, 1);
  EXPECT_EQ(t.cpu_to, 2);
  // threshold mode ends at the receive.
  auto th = backlog_table(false);
  ASSERT_EQ(finalize(th, Availability{all, false, false, false}), "");
  EXPECT_EQ(enabled_names(th), (std::vector<std::string>{"BL_S1_enqueue_to_backlog", "BL_S2___netif_receive_skb"}));
  EXPECT_TRUE(by_name(th, "BL_S2___netif_receive_skb").flags & NT_LAT_END);
  // Only the enqueue function traceable: the receive tracepoint stands in for __netif_receive_skb.
  auto mixed = backlog_table(false);
  ASSERT_EQ(finalize(mixed, Availability{[](nt_lat_hook h) { return is_tracepoint(h) || h == NT_LH_ENQUEUE_TO_BACKLOG; },
                                         false, false, false}),
            "");
  EXPECT_EQ(enabled_names(mixed), (std::vector<std::string>{"BL_S1_enqueue_to_backlog", "BL_S3_tp_netif_receive_skb"}));
  EXPECT_EQ(mixed.cpu_from, 1);
  EXPECT_EQ(mixed.cpu_to, 3);
}

TEST(InternalPortTable, EveryStageWithOvsAndTheInternalPort) {
  auto t = internal_port_table(true);
  ASSERT_EQ(finalize(t, Availability{[](nt_lat_hook) { return true; }, true, false, false}), "");
  EXPECT_EQ(enabled_names(t),
            (std::vector<std::string>{"RX_S0_ovs_vport_send", "RX_S1_internal_dev_recv", "RX_S2_netif_rx",
                                      "RX_S3_netif_rx_internal", "RX_S4_tp_netif_rx", "RX_S5_enqueue_to_backlog",
                                      "RX_S6___netif_receive_skb", "RX_S7_tp_netif_receive_skb", "RX_S8_ip_rcv",
                                      "RX_S9_ip_local_deliver", "RX_S10_tcp_v4_rcv", "RX_S11_udp_rcv"}));
  EXPECT_TRUE(by_name(t, "RX_S0_ovs_vport_send").flags & NT_LAT_START);
  EXPECT_EQ(by_name(t, "RX_S0_ovs_vport_send").dev, NT_LAT_DEV_PHY);
  EXPECT_EQ(by_name(t, "RX_S1_internal_dev_recv").dev, NT_LAT_DEV_INTERNAL);
  EXPECT_FALSE(by_name(t, "RX_S1_internal_dev_recv").flags & NT_LAT_START);
  // The internal port's receive also begins packets OVS's stages missed (a later START stage advances a flow).
  for (const char* n : {"RX_S2_netif_rx", "RX_S3_netif_rx_internal", "RX_S4_tp_netif_rx"})
    EXPECT_TRUE(by_name(t, n).flags & NT_LAT_START) << n;
  EXPECT_EQ(by_name(t, "RX_S8_ip_rcv").dev, NT_LAT_DEV_INTERNAL);
  EXPECT_TRUE(by_name(t, "RX_S10_tcp_v4_rcv").flags & NT_LAT_END);
  EXPECT_TRUE(by_name(t, "RX_S11_udp_rcv").flags & NT_LAT_END);
  // enqueue CPU: the backlog enqueue; receive CPU: the first stage the backlog's CPU runs.
  EXPECT_EQ(t.cpu_dir, 1);
  EXPECT_EQ(t.cpu_from, 5);
  EXPECT_EQ(t.cpu_to, 6);
  for (const auto& s : t.stages) EXPECT_TRUE(s.flags & NT_LAT_REVERSE);
}

TEST(InternalPortTable, InlinedEnqueueFallsBackToTheTracepoint) {
  auto t = internal_port_table(false);
  auto ok = [](nt_lat_hook h) {
    return h != NT_LH_ENQUEUE_TO_BACKLOG && h != NT_LH_NETIF_RX_INTERNAL && h != NT_LH_NETIF_RECEIVE_SKB_FN;
  };
  ASSERT_EQ(finalize(t, Availability{ok, false, false, false}), "");
  EXPECT_EQ(t.cpu_from, 4);  // RX_S4_tp_netif_rx
  EXPECT_EQ(t.cpu_to, 7);    // RX_S7_tp_netif_receive_skb
  EXPECT_EQ(by_name(t, "RX_S1_internal_dev_recv").dev, NT_LAT_DEV_ANY);  // no --internal-interface
  EXPECT_FALSE(by_name(t, "RX_S4_tp_netif_rx").flags & NT_LAT_START);     // only OVS's transmit begins a packet
  // Host: tracepoints only; the first traceable stage starts the flow, the last ends it.
  auto h = internal_port_table(true);
  ASSERT_EQ(finalize(h, Availability{is_tracepoint, true, false, false}), "");
  EXPECT_EQ(enabled_names(h), (std::vector<std::string>{"RX_S4_tp_netif_rx", "RX_S7_tp_netif_receive_skb"}));
  EXPECT_TRUE(by_name(h, "RX_S4_tp_netif_rx").flags & NT_LAT_START);
  EXPECT_TRUE(by_name(h, "RX_S7_tp_netif_receive_skb").flags & NT_LAT_END);
  EXPECT_EQ(h.cpu_from, 4);
  EXPECT_EQ(h.cpu_to, 7);
  // A table without a receive side has no CPU pair.
  auto none = internal_port_table(true);
  ASSERT_EQ(finalize(none, Availability{[](nt_lat_hook x) { return x == NT_LH_NETIF_RX || x == NT_LH_INTERNAL_DEV_RECV; },
                                        true, false, false}),
            "");
  EXPECT_EQ(none.cpu_from, -1);
  EXPECT_EQ(none.cpu_to, -1);
}

TEST(LatencyCpuPair, ComparesTheTwoStagesCpus) {
  nt_lat_cpu_cfg c{2, 4, 1, 0};  // stage 1 -> stage 3 of direction 1
  nt_lat_flow f{};
  f.seen = 1U << 0 | 1U << 1 | 1U << 3;
  f.last_ts = 1000;
  nt_lat_cpu_mark(&f, &c, 0, 1, 3);  // not the pair's first stage: ignored
  nt_lat_cpu_mark(&f, &c, 1, 0, 3);  // other direction: ignored
  EXPECT_EQ(f.pair_ts, 0u);
  nt_lat_cpu_mark(&f, &c, 1, 1, 2);  // the first stage, on CPU 2, at 1000
  f.last_ts = 4500;
  nt_lat_cpu_key k{};
  __u64 d = 0;
  ASSERT_EQ(nt_lat_cpu_pair(&f, &c, 3, 1, 1, &k, &d), 1);
  EXPECT_EQ(k.from_cpu, 2);
  EXPECT_EQ(k.to_cpu, 1);
  EXPECT_EQ(d, 3500u);
  EXPECT_EQ(nt_lat_cpu_pair(&f, &c, 2, 1, 1, &k, &d), 0);  // not the pair's second stage
  EXPECT_EQ(nt_lat_cpu_pair(&f, &c, 3, 0, 1, &k, &d), 0);  // other direction
  f.seen &= ~(1U << 1);
  EXPECT_EQ(nt_lat_cpu_pair(&f, &c, 3, 1, 1, &k, &d), 0);  // the first stage was not seen
  nt_lat_cpu_cfg off{};
  EXPECT_EQ(nt_lat_cpu_pair(&f, &off, 3, 1, 1, &k, &d), 0);
}

TEST(BacklogRender, HighLatencyEventNamesBothCpus) {
  auto t = backlog_table(false);
  ASSERT_EQ(finalize(t, Availability{is_tracepoint, false, false, false}), "");
  nt_lat_flow f{};
  nt_pkt p{};
  p.l3 = NT_L3_IPV4;
  p.l4_proto = NT_IPPROTO_UDP;
  p.flags = NT_PKT_HAS_L4;
  nt_lat_make_key(&p, 0, 0, &f.key);
  f.seen = 1U << 0 | 1U << 3;
  f.first_ts = f.st[0].ts = 1000;
  f.last_ts = f.st[3].ts = 2501000;
  f.st[0].cpu = 0;
  f.st[3].cpu = 1;
  f.st[0].stack_id = f.st[3].stack_id = -1;
  f.nseen = 2;
  const std::string txt = flow_to_text(FlowView{&f, &t, 0, nullptr, 7}, false);
  EXPECT_NE(txt.find("=== HIGH LATENCY EVENT #7 ==="), std::string::npos) << txt;
  EXPECT_NE(txt.find("Latency: 2.500 ms"), std::string::npos) << txt;
  EXPECT_NE(txt.find("Enqueue CPU: 0 / Receive CPU: 1 (CROSS-CPU MIGRATION DETECTED)"), std::string::npos) << txt;
  auto j = flow_to_json(FlowView{&f, &t, 0, nullptr, 7});
  EXPECT_EQ(j["enqueue_cpu"], 0);
  EXPECT_EQ(j["receive_cpu"], 1);
  EXPECT_EQ(j["cross_cpu"], true);
  f.st[3].cpu = 0;
  EXPECT_EQ(flow_to_text(FlowView{&f, &t, 0, nullptr, 8}, false).find("MIGRATION"), std::string::npos);
}

}  // namespace
}  // namespace nettrace::tools::perf
