// SPDX-License-Identifier: GPL-2.0
// Drop events as text (close to the original eth_drop format) and as JSON (docs/output.md).

#include <arpa/inet.h>

#include <fmt/format.h>

#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/timefmt.hpp"
#include "tools/drop/drop.hpp"

namespace nettrace::tools::drop {

std::string ip_to_string(const uint8_t* addr, uint8_t l3) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (l3 == NT_L3_IPV6) inet_ntop(AF_INET6, addr, buf, sizeof(buf));
  else inet_ntop(AF_INET, addr, buf, sizeof(buf));
  return buf;
}

std::string mac_to_string(const uint8_t* m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::string eth_type_name(uint16_t proto) {
  switch (proto) {
    case NT_ETH_P_IP: return "ipv4";
    case NT_ETH_P_IPV6: return "ipv6";
    case NT_ETH_P_ARP: return "arp";
    case NT_ETH_P_RARP: return "rarp";
    case NT_ETH_P_LLDP: return "lldp";
    case NT_ETH_P_PAUSE: return "flow_control";
    default: return fmt::format("0x{:04x}", proto);
  }
}

static std::string l4_name(uint8_t proto) { return cli::protocol_name(proto); }

static bool has_ports(const nt_pkt& p) {
  return (p.flags & NT_PKT_HAS_L4) && (p.l4_proto == NT_IPPROTO_TCP || p.l4_proto == NT_IPPROTO_UDP);
}

std::string flow_string(const nt_pkt& p) {
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
    const auto s = ip_to_string(p.saddr, p.l3), d = ip_to_string(p.daddr, p.l3);
    if (has_ports(p)) {
      if (p.l3 == NT_L3_IPV6) return fmt::format("{} [{}]:{} -> [{}]:{}", l4_name(p.l4_proto), s, p.sport, d, p.dport);
      return fmt::format("{} {}:{} -> {}:{}", l4_name(p.l4_proto), s, p.sport, d, p.dport);
    }
    return fmt::format("{} {} -> {}", l4_name(p.l4_proto), s, d);
  }
  if (p.l3 == NT_L3_ARP) return fmt::format("arp {} -> {}", ip_to_string(p.saddr, NT_L3_IPV4), ip_to_string(p.daddr, NT_L3_IPV4));
  if (p.eth_proto) return eth_type_name(p.eth_proto);
  return "unparsed";
}

// Frames of the tracing machinery itself (the BPF program, bpf_trace_run*, __bpf_trace_*) lead every
// stack captured in a tracepoint; the user wants the stack from the freeing function on.
static std::vector<std::string> symbolized_stack(const nt_drop_event& e, const RenderContext& rc) {
  std::vector<std::string> out;
  bool leading = true;
  for (uint64_t a : event_stack(e)) {
    std::string s = rc.symbolize(a);
    if (leading && (s.find("[bpf]") != std::string::npos || s.rfind("bpf_trace_run", 0) == 0 ||
                    s.rfind("__bpf_trace_", 0) == 0 || s.rfind("bpf_prog_", 0) == 0))
      continue;
    leading = false;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<uint64_t> event_stack(const nt_drop_event& e) {
  std::vector<uint64_t> out;
  if (e.stack_bytes <= 0) return out;
  const int n = std::min<int>(e.stack_bytes / 8, NT_DROP_STACK_DEPTH);
  for (int i = 0; i < n; i++)
    if (e.stack[i]) out.push_back(e.stack[i]);
  return out;
}

static std::string reason_name(const nt_drop_event& e, const RenderContext& rc) {
  if (!rc.reasons || !rc.reasons->available()) return "UNKNOWN";
  return rc.reasons->name(e.reason);
}

static std::string cstr(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

nlohmann::json event_to_json(const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc) {
  const nt_pkt& p = e.pkt;
  nlohmann::json j;
  j["type"] = "drop";
  j["time"] = core::format_iso8601(wall_ns);
  j["timestamp_ns"] = e.ts_ns;
  j["reason"] = reason_name(e, rc);
  j["reason_code"] = e.reason;
  j["location"] = rc.symbolize(e.location);
  j["location_addr"] = fmt::format("0x{:x}", e.location);
  j["ifindex"] = e.ifindex;
  j["interface"] = cstr(e.ifname, sizeof(e.ifname));
  j["netns"] = e.netns;
  j["cpu"] = e.cpu;
  j["pid"] = e.pid;
  j["tid"] = e.tid;
  j["comm"] = cstr(e.comm, sizeof(e.comm));
  j["len"] = e.len;
  j["eth_type"] = p.eth_proto ? eth_type_name(p.eth_proto) : eth_type_name(e.skb_protocol);
  if (p.flags & NT_PKT_HAS_L2) {
    j["src_mac"] = mac_to_string(p.src_mac);
    j["dst_mac"] = mac_to_string(p.dst_mac);
  }
  if (p.vlan_depth) {
    auto v = nlohmann::json::array();
    for (int i = 0; i < p.vlan_depth && i < 2; i++) v.push_back(p.vlan[i]);
    j["vlan"] = v;
  }
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6 || p.l3 == NT_L3_ARP) {
    const uint8_t fam = p.l3 == NT_L3_ARP ? static_cast<uint8_t>(NT_L3_IPV4) : p.l3;
    j["src_ip"] = ip_to_string(p.saddr, fam);
    j["dst_ip"] = ip_to_string(p.daddr, fam);
  }
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
    j["protocol"] = l4_name(p.l4_proto);
    j["ip_len"] = p.ip_len;
    j["ip_id"] = p.ip_id;
    j["ttl"] = p.ttl;
    if (p.flags & NT_PKT_FRAGMENT) j["frag_off"] = p.frag_off;
  }
  if (has_ports(p)) {
    j["src_port"] = p.sport;
    j["dst_port"] = p.dport;
  }
  if ((p.flags & NT_PKT_HAS_L4) && p.l4_proto == NT_IPPROTO_TCP) {
    j["tcp_seq"] = p.tcp_seq;
    j["tcp_ack"] = p.tcp_ack;
    j["tcp_flags"] = p.tcp_flags;
  }
  if ((p.flags & NT_PKT_HAS_L4) && (p.l4_proto == NT_IPPROTO_ICMP || p.l4_proto == NT_IPPROTO_ICMPV6)) {
    j["icmp_type"] = p.icmp_type;
    j["icmp_code"] = p.icmp_code;
    j["icmp_id"] = p.icmp_id;
    j["icmp_seq"] = p.icmp_seq;
  }
  if (p.l3 == NT_L3_ARP) j["arp_op"] = p.arp_op;
  if (e.qdisc.valid) {
    j["qdisc"] = {{"kind", cstr(e.qdisc.kind, sizeof(e.qdisc.kind))},
                  {"handle", fmt::format("{:x}:{:x}", e.qdisc.handle >> 16, e.qdisc.handle & 0xffff)},
                  {"parent", fmt::format("{:x}:{:x}", e.qdisc.parent >> 16, e.qdisc.parent & 0xffff)},
                  {"txq", e.qdisc.txq},
                  {"qlen", e.qdisc.qlen},
                  {"backlog", e.qdisc.backlog},
                  {"drops", e.qdisc.drops},
                  {"requeues", e.qdisc.requeues},
                  {"overlimits", e.qdisc.overlimits},
                  {"limit", e.qdisc.limit}};
  }
  if (rc.stacks) j["stack"] = symbolized_stack(e, rc);
  return j;
}

std::string event_to_text(const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc) {
  const nt_pkt& p = e.pkt;
  std::string out = fmt::format("[{}] DROP DETECTED:\n", core::format_local(wall_ns));
  out += fmt::format("Location: {}\n", rc.symbolize(e.location));
  out += fmt::format("Reason: {}\n", reason_name(e, rc));
  out += "Packet info:\n";
  const uint16_t eth = p.eth_proto ? p.eth_proto : e.skb_protocol;
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
    if (has_ports(p)) {
      const char* fmt_str = p.l3 == NT_L3_IPV6 ? "  - {}: [{}]:{}\n" : "  - {}: {}:{}\n";
      out += fmt::format(fmt::runtime(fmt_str), "Source", ip_to_string(p.saddr, p.l3), p.sport);
      out += fmt::format(fmt::runtime(fmt_str), "Destination", ip_to_string(p.daddr, p.l3), p.dport);
    } else {
      out += fmt::format("  - Source: {}\n", ip_to_string(p.saddr, p.l3));
      out += fmt::format("  - Destination: {}\n", ip_to_string(p.daddr, p.l3));
    }
    std::string proto = l4_name(p.l4_proto);
    for (auto& c : proto) c = static_cast<char>(toupper(c));
    out += fmt::format("  - Protocol: {}\n", proto);
  } else if (p.l3 == NT_L3_ARP) {
    out += fmt::format("  - ARP {}: {} -> {}\n", p.arp_op == 1 ? "request" : p.arp_op == 2 ? "reply" : std::to_string(p.arp_op),
                       ip_to_string(p.saddr, NT_L3_IPV4), ip_to_string(p.daddr, NT_L3_IPV4));
  } else {
    out += fmt::format("  - EtherType: {}\n", eth_type_name(eth));
  }
  out += fmt::format("  - Length: {} bytes\n", (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) && p.ip_len ? p.ip_len : e.len);
  const std::string ifname = cstr(e.ifname, sizeof(e.ifname));
  out += fmt::format("  - Interface: {} (ifindex={})\n", ifname.empty() ? "-" : ifname, e.ifindex);
  out += fmt::format("  - CPU: {}\n", e.cpu);
  if (rc.verbose) {
    out += fmt::format("  - Process: {} (pid={} tid={})\n", cstr(e.comm, sizeof(e.comm)), e.pid, e.tid);
    out += fmt::format("  - Network namespace: {}\n", e.netns);
    if (p.flags & NT_PKT_HAS_L2)
      out += fmt::format("  - Ethernet: {} -> {} type {}\n", mac_to_string(p.src_mac), mac_to_string(p.dst_mac),
                         eth_type_name(eth));
    for (int i = 0; i < p.vlan_depth && i < 2; i++) out += fmt::format("  - VLAN: {}\n", p.vlan[i]);
    if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6)
      out += fmt::format("  - IP: id={} ttl={} len={}{}\n", p.ip_id, p.ttl, p.ip_len,
                         (p.flags & NT_PKT_FRAGMENT) ? fmt::format(" frag_off={}", p.frag_off) : "");
    if ((p.flags & NT_PKT_HAS_L4) && p.l4_proto == NT_IPPROTO_TCP)
      out += fmt::format("  - TCP: seq={} ack={} flags=0x{:02x}\n", p.tcp_seq, p.tcp_ack, p.tcp_flags);
    if ((p.flags & NT_PKT_HAS_L4) && (p.l4_proto == NT_IPPROTO_ICMP || p.l4_proto == NT_IPPROTO_ICMPV6))
      out += fmt::format("  - ICMP: type={} code={} id={} seq={}\n", p.icmp_type, p.icmp_code, p.icmp_id, p.icmp_seq);
  }
  if (e.qdisc.valid)
    out += fmt::format("  - Qdisc: {} {:x}:{:x} txq={} qlen={} backlog={} drops={} requeues={} overlimits={}\n",
                       cstr(e.qdisc.kind, sizeof(e.qdisc.kind)), e.qdisc.handle >> 16, e.qdisc.handle & 0xffff,
                       e.qdisc.txq, e.qdisc.qlen, e.qdisc.backlog, e.qdisc.drops, e.qdisc.requeues, e.qdisc.overlimits);
  if (rc.stacks) {
    auto st = symbolized_stack(e, rc);
    if (!st.empty()) {
      out += "\nStack trace:\n";
      for (const auto& f : st) out += fmt::format("  {}\n", f);
    } else if (e.stack_bytes < 0) {
      out += "\nStack trace: unavailable\n";
    }
  }
  out += "\n";
  return out;
}

}  // namespace nettrace::tools::drop
