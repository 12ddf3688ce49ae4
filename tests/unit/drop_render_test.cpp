// SPDX-License-Identifier: GPL-2.0
// Drop events rendered as JSON and text from crafted nt_drop_event records, with a fake symbolizer.

#include <cctype>
#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nettrace/core/timefmt.hpp"
#include "test_packets.hpp"
#include "tools/drop/drop.hpp"

namespace nettrace::tools::drop {
namespace {

using namespace nettrace::test;

constexpr uint64_t kWallNs = 1704164645123456789ULL;  // 2024-01-02T03:04:05.123456789Z
constexpr uint64_t kLoc = 0xffffffff81002105ULL;

// Fake kallsyms: a few well-known addresses, the rest unknown.
std::string fake_symbolize(uint64_t a) {
  switch (a) {
    case 0xffffffffc0000010ULL: return "bpf_prog_6deef7357e7b4530_drop_tp+0x10 [bpf]";
    case 0xffffffff81100020ULL: return "bpf_trace_run2+0x20";
    case 0xffffffff81100030ULL: return "__bpf_trace_kfree_skb+0x30";
    case 0xffffffff81100040ULL: return "bpf_prog_abc_other+0x1";
    case kLoc: return "kfree_skb_reason+0x5";
    case 0xffffffff81003010ULL: return "udp_queue_rcv_one_skb+0x10";
    case 0xffffffff81003020ULL: return "ip_local_deliver_finish+0x20";
    case 0xffffffff81003030ULL: return "bpf_trace_run2+0x10";  // not leading: kept
    case 0xffffffffc0a01010ULL: return "ovs_vport_receive+0x10 [openvswitch]";
    default: return fmt::format("0x{:x}", a);
  }
}

const sys::DropReasons& reasons() {
  static const sys::DropReasons r({{2, "NOT_SPECIFIED"}, {3, "NO_SOCKET"}, {6, "TCP_CSUM"}, {77, "QDISC_DROP"}});
  return r;
}

RenderContext ctx(bool verbose = false, bool stacks = true) {
  return RenderContext{fake_symbolize, &reasons(), verbose, stacks};
}

nt_drop_event base_event(const Bytes& frame) {
  nt_drop_event e{};
  e.ts_ns = 123456789;
  e.location = kLoc;
  e.reason = 3;
  e.ifindex = 4;
  e.netns = 4026531840u;
  e.pid = 1234;
  e.tid = 1235;
  e.cpu = 2;
  e.len = static_cast<uint32_t>(frame.size());
  std::strncpy(e.comm, "ksoftirqd/2", sizeof(e.comm));
  std::strncpy(e.ifname, "veth0", sizeof(e.ifname));
  (void)nt_parse_eth(frame.data(), frame.size(), &e.pkt);
  return e;
}

void set_stack(nt_drop_event& e, std::initializer_list<uint64_t> frames) {
  size_t i = 0;
  for (uint64_t f : frames) e.stack[i++] = f;
  e.stack_bytes = static_cast<int32_t>(i * 8);
}

nt_drop_event udp4_event() {
  auto e = base_event(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12), udp(5353, 53)}));
  set_stack(e, {0xffffffffc0000010ULL, 0xffffffff81100020ULL, 0xffffffff81100030ULL, kLoc, 0xffffffff81003010ULL,
                0xffffffff81003020ULL, 0xffffffff81003030ULL});
  return e;
}

TEST(DropJson, Ipv4UdpDocumentedFields) {
  const auto j = event_to_json(udp4_event(), kWallNs, ctx());
  EXPECT_EQ(j["type"], "drop");
  EXPECT_EQ(j["time"], "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(j["timestamp_ns"], 123456789);
  EXPECT_EQ(j["reason"], "NO_SOCKET");
  EXPECT_EQ(j["reason_code"], 3);
  EXPECT_EQ(j["location"], "kfree_skb_reason+0x5");
  EXPECT_EQ(j["location_addr"], "0xffffffff81002105");
  EXPECT_EQ(j["src_ip"], "10.0.0.1");
  EXPECT_EQ(j["dst_ip"], "10.0.0.2");
  EXPECT_EQ(j["src_port"], 5353);
  EXPECT_EQ(j["dst_port"], 53);
  EXPECT_EQ(j["protocol"], "udp");
  EXPECT_EQ(j["ifindex"], 4);
  EXPECT_EQ(j["interface"], "veth0");
  EXPECT_EQ(j["netns"], 4026531840u);
  EXPECT_EQ(j["cpu"], 2);
  EXPECT_EQ(j["pid"], 1234);
  EXPECT_EQ(j["tid"], 1235);
  EXPECT_EQ(j["comm"], "ksoftirqd/2");
  EXPECT_EQ(j["eth_type"], "ipv4");
  EXPECT_EQ(j["src_mac"], "02:00:00:00:00:01");
  EXPECT_EQ(j["dst_mac"], "02:00:00:00:00:02");
  EXPECT_EQ(j["ip_len"], 32);
  EXPECT_EQ(j["ttl"], 64);
  EXPECT_EQ(j["ip_id"], 0x1234);
  EXPECT_FALSE(j.contains("vlan"));
  EXPECT_FALSE(j.contains("tcp_seq"));
  EXPECT_FALSE(j.contains("icmp_type"));
  EXPECT_FALSE(j.contains("arp_op"));
  EXPECT_FALSE(j.contains("qdisc"));
  EXPECT_FALSE(j.contains("frag_off"));
  // Stack: the leading BPF and tracing frames are trimmed, a later bpf_trace_run frame is kept.
  ASSERT_TRUE(j["stack"].is_array());
  EXPECT_EQ(j["stack"], nlohmann::json({"kfree_skb_reason+0x5", "udp_queue_rcv_one_skb+0x10",
                                        "ip_local_deliver_finish+0x20", "bpf_trace_run2+0x10"}));
  // Every key is snake_case.
  for (const auto& [k, v] : j.items())
    for (char c : k) EXPECT_TRUE(islower(c) || isdigit(c) || c == '_') << k;
}

// A stack as an id (the event_stacks map): rendered byte for byte as the same frames inline, looked up and
// symbolized once per id, an unknown id renders as no stack, inline frames take precedence over an id.
TEST(DropJson, StackIdRendersAsInlineFrames) {
  const nt_drop_event inline_ev = udp4_event();
  nt_drop_event by_id = inline_ev;
  std::memset(by_id.stack, 0, sizeof(by_id.stack));
  by_id.stack_bytes = 0;
  by_id.stack_id = 42;
  int lookups = 0;
  auto rc = ctx();
  rc.stack_frames = [&](int32_t id, uint64_t* frames) {
    lookups++;
    if (id != 42) return false;
    for (int i = 0; i < NT_DROP_STACK_DEPTH; i++) frames[i] = inline_ev.stack[i];  // zero padded, as the map
    return true;
  };
  RenderCache inline_cache, id_cache;
  auto rc_inline = ctx();
  rc_inline.cache = &inline_cache;
  rc.cache = &id_cache;
  std::string a, b;
  append_event_json(a, inline_ev, kWallNs, rc_inline);
  append_event_json(b, by_id, kWallNs, rc);
  EXPECT_EQ(a, b);
  EXPECT_NE(b.find("\"stack\":[\"kfree_skb_reason+0x5\""), std::string::npos);
  EXPECT_EQ(event_to_text(by_id, kWallNs, rc), event_to_text(inline_ev, kWallNs, rc_inline));
  for (int i = 0; i < 100; i++) {
    b.clear();
    append_event_json(b, by_id, kWallNs, rc);
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(lookups, 1);
  EXPECT_EQ(id_cache.id_lookups(), 1u);

  nt_drop_event unknown = by_id;
  unknown.stack_id = 7;
  EXPECT_TRUE(event_to_json(unknown, kWallNs, rc)["stack"].empty());
  EXPECT_EQ(lookups, 2);

  nt_drop_event both = inline_ev;  // frames inline (the id's bucket was taken): the id is not used
  both.stack_id = 7;
  b.clear();
  append_event_json(b, both, kWallNs, rc);
  EXPECT_EQ(a, b);
  EXPECT_EQ(lookups, 2);

  auto rc_no_lookup = ctx();  // no map: an id renders as no stack
  EXPECT_TRUE(event_to_json(by_id, kWallNs, rc_no_lookup)["stack"].empty());
}

TEST(DropJson, Ipv6Tcp) {
  auto e = base_event(cat({eth(NT_ETH_P_IPV6), ipv6(NT_IPPROTO_TCP, 20), tcp(40000, 443, 7, 9, 0x02)}));
  e.reason = 6;
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["reason"], "TCP_CSUM");
  EXPECT_EQ(j["eth_type"], "ipv6");
  EXPECT_EQ(j["src_ip"], "2001:db8::1");
  EXPECT_EQ(j["dst_ip"], "2001:db8::2");
  EXPECT_EQ(j["protocol"], "tcp");
  EXPECT_EQ(j["src_port"], 40000);
  EXPECT_EQ(j["dst_port"], 443);
  EXPECT_EQ(j["tcp_seq"], 7);
  EXPECT_EQ(j["tcp_ack"], 9);
  EXPECT_EQ(j["tcp_flags"], 2);
  EXPECT_EQ(j["ip_len"], 60);
  EXPECT_EQ(j["ttl"], 63);
  EXPECT_TRUE(j["stack"].empty());
}

TEST(DropJson, Icmp) {
  auto e = base_event(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_ICMP, 8), icmp(8, 0, 0x42, 9)}));
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["protocol"], "icmp");
  EXPECT_EQ(j["icmp_type"], 8);
  EXPECT_EQ(j["icmp_code"], 0);
  EXPECT_EQ(j["icmp_id"], 0x42);
  EXPECT_EQ(j["icmp_seq"], 9);
  EXPECT_FALSE(j.contains("src_port"));
  EXPECT_FALSE(j.contains("dst_port"));
}

TEST(DropJson, Arp) {
  auto e = base_event(cat({eth(NT_ETH_P_ARP), arp(1, kIp4A, kIp4B)}));
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["eth_type"], "arp");
  EXPECT_EQ(j["src_ip"], "10.0.0.1");
  EXPECT_EQ(j["dst_ip"], "10.0.0.2");
  EXPECT_EQ(j["arp_op"], 1);
  EXPECT_FALSE(j.contains("protocol"));
  EXPECT_FALSE(j.contains("src_port"));
  EXPECT_FALSE(j.contains("ip_len"));
}

TEST(DropJson, VlanTags) {
  auto e = base_event(
      cat({eth(NT_ETH_P_IP, {{NT_ETH_P_8021AD, 200}, {NT_ETH_P_8021Q, 300}}), ipv4(NT_IPPROTO_TCP, 20), tcp(1, 2)}));
  auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["vlan"], nlohmann::json({200, 300}));
  EXPECT_EQ(j["eth_type"], "ipv4");
  auto one = base_event(cat({eth(NT_ETH_P_IP, {{NT_ETH_P_8021Q, 100}}), ipv4(NT_IPPROTO_UDP, 8), udp(1, 2, 0)}));
  EXPECT_EQ(event_to_json(one, kWallNs, ctx())["vlan"], nlohmann::json({100}));
}

TEST(DropJson, FragmentOffset) {
  auto e = base_event(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 12, {.frag = 0x2000 | 185}), Bytes(12, 0)}));
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["frag_off"], 1480);
  EXPECT_FALSE(j.contains("src_port"));
}

TEST(DropJson, UnparsedPacketUsesSkbProtocol) {
  nt_drop_event e{};
  e.skb_protocol = NT_ETH_P_IPV6;
  e.reason = 2;
  e.stack_bytes = -14;  // capture failed
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["eth_type"], "ipv6");
  EXPECT_EQ(j["reason"], "NOT_SPECIFIED");
  EXPECT_EQ(j["interface"], "");
  EXPECT_FALSE(j.contains("src_ip"));
  EXPECT_FALSE(j.contains("src_mac"));
  EXPECT_TRUE(j["stack"].empty());
}

TEST(DropJson, QdiscInfo) {
  auto e = udp4_event();
  e.reason = 77;
  std::strncpy(e.qdisc.kind, "fq_codel", sizeof(e.qdisc.kind));
  e.qdisc.valid = 1;
  e.qdisc.handle = 0x80010000;
  e.qdisc.parent = 0xffffffff;
  e.qdisc.txq = 3;
  e.qdisc.qlen = 10;
  e.qdisc.backlog = 15140;
  e.qdisc.drops = 42;
  e.qdisc.requeues = 1;
  e.qdisc.overlimits = 5;
  e.qdisc.limit = 10240;
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["reason"], "QDISC_DROP");
  ASSERT_TRUE(j.contains("qdisc"));
  const auto& q = j["qdisc"];
  EXPECT_EQ(q["kind"], "fq_codel");
  EXPECT_EQ(q["handle"], "8001:0");
  EXPECT_EQ(q["parent"], "ffff:ffff");
  EXPECT_EQ(q["txq"], 3);
  EXPECT_EQ(q["qlen"], 10);
  EXPECT_EQ(q["backlog"], 15140);
  EXPECT_EQ(q["drops"], 42);
  EXPECT_EQ(q["requeues"], 1);
  EXPECT_EQ(q["overlimits"], 5);
  EXPECT_EQ(q["limit"], 10240);
}

TEST(DropJson, ReasonNames) {
  auto e = udp4_event();
  e.reason = 999;  // not in the table, no subsystem bits
  EXPECT_EQ(event_to_json(e, kWallNs, ctx())["reason"], "UNKNOWN(999)");
  RenderContext none = ctx();
  none.reasons = nullptr;  // kernel without BTF reasons
  EXPECT_EQ(event_to_json(e, kWallNs, none)["reason"], "UNKNOWN");
  sys::DropReasons empty;
  none.reasons = &empty;
  EXPECT_EQ(event_to_json(e, kWallNs, none)["reason"], "UNKNOWN");
}

TEST(DropJson, NoStacksWhenDisabled) {
  const auto j = event_to_json(udp4_event(), kWallNs, ctx(false, false));
  EXPECT_FALSE(j.contains("stack"));
}

TEST(DropJson, FixedSizeStringsWithoutTerminator) {
  auto e = udp4_event();
  std::memset(e.ifname, 'x', sizeof(e.ifname));
  std::memset(e.comm, 'y', sizeof(e.comm));
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["interface"], std::string(sizeof(e.ifname), 'x'));
  EXPECT_EQ(j["comm"], std::string(sizeof(e.comm), 'y'));
}

TEST(DropStack, FramesAndTrimming) {
  nt_drop_event e{};
  set_stack(e, {0xffffffffc0000010ULL, 0xffffffff81100040ULL, kLoc, 0, 0xffffffffc0a01010ULL});
  EXPECT_EQ(event_stack(e), (std::vector<uint64_t>{0xffffffffc0000010ULL, 0xffffffff81100040ULL, kLoc,
                                                   0xffffffffc0a01010ULL}));  // zero entries skipped
  const auto j = event_to_json(e, kWallNs, ctx());
  EXPECT_EQ(j["stack"], nlohmann::json({"kfree_skb_reason+0x5", "ovs_vport_receive+0x10 [openvswitch]"}));
  e.stack_bytes = 16;  // only the first two frames were captured
  EXPECT_EQ(event_stack(e).size(), 2u);
  EXPECT_TRUE(event_to_json(e, kWallNs, ctx())["stack"].empty());  // both are tracing frames
  e.stack_bytes = 1 << 20;  // corrupt length: capped at the array
  EXPECT_EQ(event_stack(e).size(), 4u);
  e.stack_bytes = -1;
  EXPECT_TRUE(event_stack(e).empty());
}

// The default text: one line per drop, no stack (docs/cli.md); --stack / -v give the block above.
TEST(DropText, OneLinePerDropByDefault) {
  auto rc = ctx();
  rc.block = false;
  const auto t = event_to_text(udp4_event(), kWallNs, rc);
  const std::string stamp = core::format_local(kWallNs);
  EXPECT_EQ(t.rfind(stamp.substr(stamp.find(' ') + 1) + " NO_SOCKET ", 0), 0u) << t;
  EXPECT_NE(t.find(" kfree_skb_reason+0x5 "), std::string::npos) << t;
  EXPECT_NE(t.find(" veth0 "), std::string::npos) << t;
  EXPECT_NE(t.find(" UDP 10.0.0.1:5353 -> 10.0.0.2:53 len 32 cpu 2 "), std::string::npos) << t;
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 1) << t;
  EXPECT_EQ(t.back(), '\n');
  EXPECT_EQ(t.find("udp_queue_rcv_one_skb"), std::string::npos) << t;  // the stack is the block's
}

TEST(DropText, Ipv4Udp) {
  const auto t = event_to_text(udp4_event(), kWallNs, ctx());
  EXPECT_EQ(t.rfind("[" + core::format_local(kWallNs) + "] DROP DETECTED:\n", 0), 0u) << t;
  EXPECT_NE(t.find("Location: kfree_skb_reason+0x5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("Reason: NO_SOCKET\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Source: 10.0.0.1:5353\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Destination: 10.0.0.2:53\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Protocol: UDP\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Length: 32 bytes\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Interface: veth0 (ifindex=4)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - CPU: 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nStack trace:\n  kfree_skb_reason+0x5\n  udp_queue_rcv_one_skb+0x10\n"), std::string::npos)
      << t;
  EXPECT_EQ(t.find("bpf_prog_"), std::string::npos) << t;
  EXPECT_EQ(t.find("__bpf_trace_"), std::string::npos) << t;
  EXPECT_EQ(t.find("Process:"), std::string::npos) << t;  // verbose only
}

TEST(DropText, VerboseIpv6TcpWithVlan) {
  auto e = base_event(cat({eth(NT_ETH_P_IPV6, {{NT_ETH_P_8021Q, 100}}), ipv6(NT_IPPROTO_TCP, 20),
                           tcp(40000, 443, 7, 9, 0x02)}));
  const auto t = event_to_text(e, kWallNs, ctx(true));
  EXPECT_NE(t.find("  - Source: "), std::string::npos) << t;
  EXPECT_NE(t.find("2001:db8::1"), std::string::npos) << t;
  EXPECT_NE(t.find("40000"), std::string::npos) << t;
  EXPECT_NE(t.find("2001:db8::2"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Protocol: TCP\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Process: ksoftirqd/2 (pid=1234 tid=1235)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Network namespace: 4026531840\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Ethernet: 02:00:00:00:00:01 -> 02:00:00:00:00:02 type ipv6\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - VLAN: 100\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - IP: id=0 ttl=63 len=60\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - TCP: seq=7 ack=9 flags=0x02\n"), std::string::npos) << t;
}

TEST(DropText, ArpAndOtherEtherTypes) {
  auto a = base_event(cat({eth(NT_ETH_P_ARP), arp(2, kIp4B, kIp4A)}));
  auto t = event_to_text(a, kWallNs, ctx());
  EXPECT_NE(t.find("  - ARP reply: 10.0.0.2 -> 10.0.0.1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Length: 42 bytes\n"), std::string::npos) << t;  // skb->len without an IP length
  auto o = base_event(cat({eth(0x88b5), Bytes(30, 0)}));
  t = event_to_text(o, kWallNs, ctx());
  EXPECT_NE(t.find("  - EtherType: 0x88b5\n"), std::string::npos) << t;
}

TEST(DropText, QdiscAndMissingStack) {
  auto e = udp4_event();
  std::strncpy(e.qdisc.kind, "pfifo", sizeof(e.qdisc.kind));
  e.qdisc.valid = 1;
  e.qdisc.handle = 0x10000;
  e.qdisc.txq = 0;
  e.qdisc.qlen = 3;
  e.qdisc.drops = 8;
  e.stack_bytes = -14;
  e.ifname[0] = '\0';
  const auto t = event_to_text(e, kWallNs, ctx());
  EXPECT_NE(t.find("  - Qdisc: pfifo 1:0 txq=0 qlen=3 backlog=0 drops=8 requeues=0 overlimits=0\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("Stack trace: unavailable\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  - Interface: - (ifindex=4)\n"), std::string::npos) << t;
  EXPECT_EQ(t.back(), '\n');
}

TEST(DropRender, Helpers) {
  const uint8_t v4[16] = {192, 168, 0, 1};
  EXPECT_EQ(ip_to_string(v4, NT_L3_IPV4), "192.168.0.1");
  EXPECT_EQ(ip_to_string(kIp6A.data(), NT_L3_IPV6), "2001:db8::1");
  EXPECT_EQ(mac_to_string(kSrcMac.data()), "02:00:00:00:00:01");
  EXPECT_EQ(eth_type_name(NT_ETH_P_IP), "ipv4");
  EXPECT_EQ(eth_type_name(NT_ETH_P_IPV6), "ipv6");
  EXPECT_EQ(eth_type_name(NT_ETH_P_ARP), "arp");
  EXPECT_EQ(eth_type_name(NT_ETH_P_RARP), "rarp");
  EXPECT_EQ(eth_type_name(NT_ETH_P_LLDP), "lldp");
  EXPECT_EQ(eth_type_name(NT_ETH_P_PAUSE), "flow_control");
  EXPECT_EQ(eth_type_name(0x88b5), "0x88b5");
  EXPECT_EQ(eth_type_name(0x1), "0x0001");
}

TEST(DropRender, FlowString) {
  auto flow = [](const Bytes& b) {
    nt_pkt p{};
    (void)nt_parse_eth(b.data(), b.size(), &p);
    return flow_string(p);
  };
  EXPECT_EQ(flow(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 8), udp(1234, 9, 0)})), "udp 10.0.0.1:1234 -> 10.0.0.2:9");
  EXPECT_EQ(flow(cat({eth(NT_ETH_P_IPV6), ipv6(NT_IPPROTO_TCP, 20), tcp(1, 2)})),
            "tcp [2001:db8::1]:1 -> [2001:db8::2]:2");
  EXPECT_EQ(flow(cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_ICMP, 8), icmp(8, 0, 1, 1)})), "icmp 10.0.0.1 -> 10.0.0.2");
  EXPECT_EQ(flow(cat({eth(NT_ETH_P_ARP), arp(1, kIp4A, kIp4B)})), "arp 10.0.0.1 -> 10.0.0.2");
  EXPECT_EQ(flow(cat({eth(0x88b5), Bytes(4, 0)})), "0x88b5");
  EXPECT_EQ(flow_string(nt_pkt{}), "unparsed");
}

TEST(DropReasonNames, KernelWithoutReasonsSaysUnknown) {
  const sys::DropReasons none;  // what from_kernel() gives before 5.17
  ASSERT_FALSE(none.available());
  EXPECT_EQ(none.name(0), "UNKNOWN");
  EXPECT_EQ(none.name(5), "UNKNOWN");
}

}  // namespace
}  // namespace nettrace::tools::drop
