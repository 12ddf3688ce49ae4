// SPDX-License-Identifier: GPL-2.0
// Drop events as text (close to the original eth_drop format) and as JSON (docs/output.md).

#include <arpa/inet.h>
#include <time.h>

#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/sys/ksyms.hpp"
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

std::vector<uint64_t> event_stack(const nt_drop_event& e) {
  std::vector<uint64_t> out;
  if (e.stack_bytes <= 0) return out;
  const int n = std::min<int>(e.stack_bytes / 8, NT_DROP_STACK_DEPTH);
  for (int i = 0; i < n; i++)
    if (e.stack[i]) out.push_back(e.stack[i]);
  return out;
}

static std::string cstr(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

// Appenders for the event path: straight into the output buffer, without format strings or temporaries
// (a drop storm renders hundreds of thousands of these a second).
static void put_uint(std::string& out, uint64_t v) {
  const fmt::format_int f(v);
  out.append(f.data(), f.size());
}

static void put_hex(std::string& out, uint64_t v, int min_digits = 1) {
  char buf[16];
  int i = 16;
  do {
    buf[--i] = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  } while (v || 16 - i < min_digits);
  out.append(buf + i, 16 - i);
}

static void put_ipv4(std::string& out, const uint8_t* a) {
  for (int i = 0; i < 4; i++) {
    if (i) out.push_back('.');
    put_uint(out, a[i]);
  }
}

static void put_mac(std::string& out, const uint8_t* m) {
  for (int i = 0; i < 6; i++) {
    if (i) out.push_back(':');
    put_hex(out, m[i], 2);
  }
}

// JSON string contents: quotes, backslashes and control bytes escaped, invalid UTF-8 replaced by U+FFFD
// (a comm or ifname may hold any bytes). Runs of plain ASCII are appended at once.
static void json_escape(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t plain = i;
    while (plain < s.size()) {
      const auto c = static_cast<unsigned char>(s[plain]);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
      plain++;
    }
    out.append(s.data() + i, plain - i);
    i = plain;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      i++;
    } else if (c < 0x80) {
      out += "\\u00";
      put_hex(out, c, 2);
      i++;
    } else {
      size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
      bool ok = n && i + n <= s.size() && !(c >= 0xf8);
      for (size_t k = 1; ok && k < n; k++) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      if (ok) {
        out.append(s.data() + i, n);
        i += n;
      } else {
        out += "\xef\xbf\xbd";
        i++;
      }
    }
  }
}

// A key as one literal, comma and colon included: one append per field.
#define NT_KEY(k) std::string_view(",\"" k "\":")

static void json_key(std::string& out, std::string_view key_literal) { out.append(key_literal.data(), key_literal.size()); }

static void json_str(std::string& out, std::string_view key, std::string_view value) {
  json_key(out, key);
  out.push_back('"');
  json_escape(out, value);
  out.push_back('"');
}

static void json_num(std::string& out, std::string_view key, uint64_t value) {
  json_key(out, key);
  put_uint(out, value);
}

const std::string& RenderCache::symbol(uint64_t addr, const RenderContext& rc) {
  auto it = syms_.find(addr);
  if (it == syms_.end()) {
    if (syms_.size() > 65536) syms_.clear();
    it = syms_.emplace(addr, rc.symbolize(addr)).first;
  }
  return it->second;
}

const std::string& RenderCache::reason(uint32_t value, const RenderContext& rc) {
  auto it = reasons_.find(value);
  if (it == reasons_.end())
    it = reasons_.emplace(value, !rc.reasons ? "UNKNOWN" : rc.reasons->name(value)).first;
  return it->second;
}

RenderCache::Stack RenderCache::build(const uint64_t* frames, int n, const RenderContext& rc, uint64_t also) {
  Stack st;
  for (int i = 0; i < n; i++)
    if (frames[i]) st.addrs.push_back(frames[i]);
  if (rc.prefetch) {
    std::vector<uint64_t> unnamed;
    for (uint64_t a : st.addrs)
      if (!syms_.count(a)) unnamed.push_back(a);
    if (also && !syms_.count(also)) unnamed.push_back(also);
    if (!unnamed.empty()) rc.prefetch(unnamed.data(), unnamed.size());
  }
  // Frames of the tracing machinery itself lead every stack captured in a tracepoint (__traceiter_* too when
  // another tracer shares it); the user wants the stack from the freeing function on.
  bool leading = true;
  for (uint64_t a : st.addrs) {
    const std::string& name = symbol(a, rc);
    if (leading && sys::is_tracing_frame(name)) continue;
    leading = false;
    st.frames.push_back(name);
  }
  st.json = "[";
  for (size_t i = 0; i < st.frames.size(); i++) {
    if (i) st.json.push_back(',');
    st.json.push_back('"');
    json_escape(st.json, st.frames[i]);
    st.json.push_back('"');
  }
  st.json.push_back(']');
  return st;
}

const RenderCache::Stack& RenderCache::stack(const nt_drop_event& e, const RenderContext& rc) {
  if (e.stack_bytes == 0 && e.stack_id >= 0) {
    // An id's frames never change during a run (bpf/drop.bpf.c: no BPF_F_REUSE_STACKID): one map lookup and
    // one rendering per id.
    auto it = by_id_.find(e.stack_id);
    if (it != by_id_.end()) return it->second;
    if (by_id_.size() > 4096) by_id_.clear();
    uint64_t frames[NT_DROP_STACK_DEPTH] = {};
    id_lookups_++;
    const bool found = rc.stack_frames && rc.stack_frames(e.stack_id, frames);
    return by_id_.emplace(e.stack_id, build(frames, found ? NT_DROP_STACK_DEPTH : 0, rc, e.location))
        .first->second;
  }
  const int n = e.stack_bytes > 0 ? std::min<int>(e.stack_bytes / 8, NT_DROP_STACK_DEPTH) : 0;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over the frame addresses
  for (int i = 0; i < n; i++) h = (h ^ e.stack[i]) * 1099511628211ULL;
  auto it = stacks_.find(h);
  if (it != stacks_.end()) {
    // The frame list compared in place (event_stack() without its vector): a hit allocates nothing.
    const auto& addrs = it->second.addrs;
    size_t k = 0;
    bool same = true;
    for (int i = 0; i < n && same; i++)
      if (e.stack[i]) same = k < addrs.size() && addrs[k++] == e.stack[i];
    if (same && k == addrs.size()) return it->second;
  }
  if (stacks_.size() > 4096) stacks_.clear();
  return stacks_.insert_or_assign(h, build(reinterpret_cast<const uint64_t*>(e.stack), n, rc, e.location)).first->second;
}

// The ISO 8601 second, formatted once per second of events.
static void append_iso8601(std::string& out, uint64_t ns) {
  static uint64_t cached_sec = UINT64_MAX;
  static char prefix[32];
  const uint64_t sec = ns / 1000000000ULL;
  if (sec != cached_sec) {
    time_t t = static_cast<time_t>(sec);
    tm tmv{};
    gmtime_r(&t, &tmv);
    strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tmv);
    cached_sec = sec;
  }
  out += prefix;
  const uint64_t us = (ns / 1000ULL) % 1000000;
  char frac[8] = {'.', 0, 0, 0, 0, 0, 0, 'Z'};
  for (int i = 6, v = static_cast<int>(us); i >= 1; i--, v /= 10) frac[i] = static_cast<char>('0' + v % 10);
  out.append(frac, sizeof(frac));
}

void append_event_json(std::string& out, const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc) {
  std::optional<RenderCache> local;
  RenderCache& cache = rc.cache ? *rc.cache : local.emplace();
  const nt_pkt& p = e.pkt;
  auto ip_field = [&](std::string_view key, const uint8_t* a, uint8_t fam) {
    json_key(out, key);
    out.push_back('"');
    if (fam == NT_L3_IPV6) {
      char ip[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, a, ip, sizeof(ip));
      out += ip;
    } else {
      put_ipv4(out, a);  // glibc's inet_ntop formats IPv4 through sprintf
    }
    out.push_back('"');
  };
  // The stack first (it is written last): a new stack names its frames and the location in one batch.
  const std::string* stack_json = rc.stacks ? &cache.stack(e, rc).json : nullptr;
  out += "{\"type\":\"drop\",\"time\":\"";
  append_iso8601(out, wall_ns);
  out.push_back('"');
  json_num(out, NT_KEY("timestamp_ns"), e.ts_ns);
  json_str(out, NT_KEY("reason"), cache.reason(e.reason, rc));
  json_num(out, NT_KEY("reason_code"), e.reason);
  json_str(out, NT_KEY("location"), cache.symbol(e.location, rc));
  out += ",\"location_addr\":\"0x";
  put_hex(out, e.location);
  out.push_back('"');
  json_num(out, NT_KEY("ifindex"), e.ifindex);
  json_str(out, NT_KEY("interface"), std::string_view(e.ifname, strnlen(e.ifname, sizeof(e.ifname))));
  json_num(out, NT_KEY("netns"), e.netns);
  json_num(out, NT_KEY("cpu"), e.cpu);
  json_num(out, NT_KEY("pid"), e.pid);
  json_num(out, NT_KEY("tid"), e.tid);
  json_str(out, NT_KEY("comm"), std::string_view(e.comm, strnlen(e.comm, sizeof(e.comm))));
  json_num(out, NT_KEY("len"), e.len);
  json_str(out, NT_KEY("eth_type"), eth_type_name(p.eth_proto ? p.eth_proto : e.skb_protocol));
  if (p.flags & NT_PKT_HAS_L2) {
    json_key(out, NT_KEY("src_mac"));
    out.push_back('"');
    put_mac(out, p.src_mac);
    out += "\",\"dst_mac\":\"";
    put_mac(out, p.dst_mac);
    out.push_back('"');
  }
  if (p.vlan_depth) {
    out += ",\"vlan\":[";
    for (int i = 0; i < p.vlan_depth && i < 2; i++) {
      if (i) out.push_back(',');
      put_uint(out, p.vlan[i]);
    }
    out.push_back(']');
  }
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6 || p.l3 == NT_L3_ARP) {
    const uint8_t fam = p.l3 == NT_L3_ARP ? static_cast<uint8_t>(NT_L3_IPV4) : p.l3;
    ip_field(NT_KEY("src_ip"), p.saddr, fam);
    ip_field(NT_KEY("dst_ip"), p.daddr, fam);
  }
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
    json_str(out, NT_KEY("protocol"), l4_name(p.l4_proto));
    json_num(out, NT_KEY("ip_len"), p.ip_len);
    json_num(out, NT_KEY("ip_id"), p.ip_id);
    json_num(out, NT_KEY("ttl"), p.ttl);
    if (p.flags & NT_PKT_FRAGMENT) json_num(out, NT_KEY("frag_off"), p.frag_off);
  }
  if (has_ports(p)) {
    json_num(out, NT_KEY("src_port"), p.sport);
    json_num(out, NT_KEY("dst_port"), p.dport);
  }
  if ((p.flags & NT_PKT_HAS_L4) && p.l4_proto == NT_IPPROTO_TCP) {
    json_num(out, NT_KEY("tcp_seq"), p.tcp_seq);
    json_num(out, NT_KEY("tcp_ack"), p.tcp_ack);
    json_num(out, NT_KEY("tcp_flags"), p.tcp_flags);
  }
  if ((p.flags & NT_PKT_HAS_L4) && (p.l4_proto == NT_IPPROTO_ICMP || p.l4_proto == NT_IPPROTO_ICMPV6)) {
    json_num(out, NT_KEY("icmp_type"), p.icmp_type);
    json_num(out, NT_KEY("icmp_code"), p.icmp_code);
    json_num(out, NT_KEY("icmp_id"), p.icmp_id);
    json_num(out, NT_KEY("icmp_seq"), p.icmp_seq);
  }
  if (p.l3 == NT_L3_ARP) json_num(out, NT_KEY("arp_op"), p.arp_op);
  if (e.qdisc.valid) {
    out += ",\"qdisc\":{\"kind\":\"";
    json_escape(out, std::string_view(e.qdisc.kind, strnlen(e.qdisc.kind, sizeof(e.qdisc.kind))));
    fmt::format_to(std::back_inserter(out),
                   "\",\"handle\":\"{:x}:{:x}\",\"parent\":\"{:x}:{:x}\",\"txq\":{},\"qlen\":{},\"backlog\":{},"
                   "\"drops\":{},\"requeues\":{},\"overlimits\":{},\"limit\":{}}}",
                   e.qdisc.handle >> 16, e.qdisc.handle & 0xffff, e.qdisc.parent >> 16, e.qdisc.parent & 0xffff,
                   e.qdisc.txq, e.qdisc.qlen, e.qdisc.backlog, e.qdisc.drops, e.qdisc.requeues, e.qdisc.overlimits,
                   e.qdisc.limit);
  }
  if (stack_json) {
    out += ",\"stack\":";
    out += *stack_json;
  }
  out += "}\n";
}

nlohmann::json event_to_json(const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc) {
  std::string line;
  append_event_json(line, e, wall_ns, rc);
  return nlohmann::json::parse(line);
}

// One line: time, reason, location, device, flow, length, CPU, task (docs/cli.md: event tools print one line).
static std::string event_to_line(const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc) {
  const nt_pkt& p = e.pkt;
  const std::string stamp = core::format_local(wall_ns, true);
  std::string out = stamp.substr(stamp.find(' ') + 1);  // HH:MM:SS.uuuuuu
  out += fmt::format(" {:<14} {:<28}", !rc.reasons ? std::string("UNKNOWN") : rc.reasons->name(e.reason),
                     rc.cache ? rc.cache->symbol(e.location, rc) : rc.symbolize(e.location));
  const std::string ifname = cstr(e.ifname, sizeof(e.ifname));
  out += fmt::format(" {:<8}", ifname.empty() ? "-" : ifname);
  const uint16_t eth = p.eth_proto ? p.eth_proto : e.skb_protocol;
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
    std::string proto = l4_name(p.l4_proto);
    for (auto& c : proto) c = static_cast<char>(toupper(c));
    if (has_ports(p)) {
      const char* f = p.l3 == NT_L3_IPV6 ? " {} [{}]:{} -> [{}]:{}" : " {} {}:{} -> {}:{}";
      out += fmt::format(fmt::runtime(f), proto, ip_to_string(p.saddr, p.l3), p.sport, ip_to_string(p.daddr, p.l3), p.dport);
    } else {
      out += fmt::format(" {} {} -> {}", proto, ip_to_string(p.saddr, p.l3), ip_to_string(p.daddr, p.l3));
    }
  } else if (p.l3 == NT_L3_ARP) {
    out += fmt::format(" ARP {} {} -> {}", p.arp_op == 1 ? "request" : p.arp_op == 2 ? "reply" : std::to_string(p.arp_op),
                       ip_to_string(p.saddr, NT_L3_IPV4), ip_to_string(p.daddr, NT_L3_IPV4));
  } else {
    out += fmt::format(" {}", eth_type_name(eth));
  }
  out += fmt::format(" len {} cpu {} {}/{}", (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) && p.ip_len ? p.ip_len : e.len,
                     e.cpu, cstr(e.comm, sizeof(e.comm)), e.pid);
  if (e.qdisc.valid)
    out += fmt::format(" qdisc {} {:x}:{:x} qlen {}", cstr(e.qdisc.kind, sizeof(e.qdisc.kind)), e.qdisc.handle >> 16,
                       e.qdisc.handle & 0xffff, e.qdisc.qlen);
  out += '\n';
  return out;
}

std::string event_to_text(const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc) {
  if (!rc.block) return event_to_line(e, wall_ns, rc);
  const nt_pkt& p = e.pkt;
  std::string out = fmt::format("[{}] DROP DETECTED:\n", core::format_local(wall_ns));
  out += fmt::format("Location: {}\n", rc.cache ? rc.cache->symbol(e.location, rc) : rc.symbolize(e.location));
  out += fmt::format("Reason: {}\n", !rc.reasons ? std::string("UNKNOWN") : rc.reasons->name(e.reason));
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
    RenderCache local;
    const auto& st = (rc.cache ? *rc.cache : local).stack(e, rc).frames;
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
