// SPDX-License-Identifier: GPL-2.0
#include "nettrace/cli/filter_options.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "nettrace/core/error.hpp"
#include "nettrace/sys/netdev.hpp"

namespace nettrace::cli {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

struct EthName {
  const char* name;
  uint16_t proto;
};
constexpr EthName kEthNames[] = {{"ipv4", NT_ETH_P_IP},     {"ip", NT_ETH_P_IP},     {"ipv6", NT_ETH_P_IPV6},
                                 {"arp", NT_ETH_P_ARP},     {"rarp", NT_ETH_P_RARP}, {"lldp", NT_ETH_P_LLDP},
                                 {"flow_control", NT_ETH_P_PAUSE}};

// Returns family 4/6 and fills 16 bytes, or 0.
int parse_ip(const std::string& v, uint8_t out[16]) {
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, v.c_str(), out) == 1) return 4;
  if (inet_pton(AF_INET6, v.c_str(), out) == 1) return 6;
  return 0;
}

}  // namespace

std::string check_ip(const std::string& v) {
  uint8_t buf[16];
  return parse_ip(v, buf) ? std::string() : fmt::format("invalid IP address '{}'", v);
}

int protocol_number(const std::string& v) {
  const std::string s = lower(v);
  if (s == "all" || s.empty()) return 0;
  if (s == "tcp") return NT_IPPROTO_TCP;
  if (s == "udp") return NT_IPPROTO_UDP;
  if (s == "icmp") return NT_IPPROTO_ICMP;
  if (s == "icmpv6" || s == "icmp6") return NT_IPPROTO_ICMPV6;
  if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit) && s.size() <= 3) {
    int n = std::stoi(s);
    if (n >= 1 && n <= 255) return n;
  }
  return -1;
}

std::string protocol_name(int proto) {
  switch (proto) {
    case NT_IPPROTO_TCP: return "tcp";
    case NT_IPPROTO_UDP: return "udp";
    case NT_IPPROTO_ICMP: return "icmp";
    case NT_IPPROTO_ICMPV6: return "icmpv6";
    default: return std::to_string(proto);
  }
}

std::string check_protocol(const std::string& v) {
  return protocol_number(v) >= 0 ? std::string()
                                 : fmt::format("invalid protocol '{}' (tcp, udp, icmp, all or 1-255)", v);
}

std::string check_eth_type(const std::string& v) {
  const std::string s = lower(v);
  if (s == "all" || s == "other") return {};
  for (const auto& e : kEthNames)
    if (s == e.name) return {};
  if (s.rfind("0x", 0) == 0 && s.size() > 2 && s.size() <= 6 &&
      std::all_of(s.begin() + 2, s.end(), ::isxdigit))
    return {};
  return fmt::format("invalid type '{}' (arp, rarp, ipv4, ipv6, lldp, flow_control, other, all or 0xXXXX)", v);
}

std::string check_interface(const std::string& v) {
  if (sys::ifindex_of(v)) return {};
  return fmt::format("interface '{}' does not exist in this network namespace", v);
}

void add_filter_options(CLI::App& app, FilterOptions& f, unsigned fields) {
  const char* group = "Filter";
  if (fields & kFilterAddresses) {
    app.add_option("--src-ip,--src", f.src_ip, "Source IPv4/IPv6 address")->group(group)->option_text("ADDR")->check(check_ip);
    app.add_option("--dst-ip,--dst", f.dst_ip, "Destination IPv4/IPv6 address")->group(group)->option_text("ADDR")->check(check_ip);
  }
  if (fields & kFilterPorts) {
    auto port_check = [](const std::string& v) {
      try {
        size_t used = 0;
        long p = std::stol(v, &used);
        if (used == v.size() && p >= 0 && p <= 65535) return std::string();
      } catch (const std::exception&) {
      }
      return fmt::format("invalid port '{}' (0-65535)", v);
    };
    app.add_option("--src-port,--sport", f.src_port, "Source TCP/UDP port")->group(group)->check(port_check);
    app.add_option("--dst-port,--dport", f.dst_port, "Destination TCP/UDP port")->group(group)->check(port_check);
  }
  if (fields & kFilterProtocol)
    app.add_option("--protocol,--l4-protocol,--proto", f.protocol, "L4 protocol: tcp, udp, icmp, icmpv6, all, or a number")
        ->group(group)
        ->check(check_protocol);
  if (fields & kFilterEthType)
    app.add_option("--type", f.eth_type, "EtherType: arp, rarp, ipv4, ipv6, lldp, flow_control, other, all, 0xXXXX")
        ->group(group)
        ->check(check_eth_type);
  if (fields & kFilterVlan)
    app.add_option("--vlan-id", f.vlan_id, "VLAN id (outer or inner tag)")
        ->group(group)
        ->check([](const std::string& v) {
          try {
            size_t used = 0;
            long id = std::stol(v, &used);
            if (used == v.size() && id >= 0 && id <= 4095) return std::string();
          } catch (const std::exception&) {
          }
          return fmt::format("invalid VLAN id '{}' (0-4095)", v);
        });
  if (fields & kFilterInterface)
    app.add_option("-I,--interface,--device,--dev", f.interface, "Network interface (in this network namespace)")
        ->group(group)
        ->check(check_interface);
}

nt_filter build_filter(const FilterOptions& f) {
  nt_filter out{};
  if (!f.interface.empty()) {
    auto idx = sys::ifindex_of(f.interface);
    if (!idx) throw usage_error(check_interface(f.interface));
    out.ifindex = *idx;
    out.netns = sys::current_netns_inum();
  }
  const std::string eth = lower(f.eth_type);
  if (eth == "other") {
    out.eth_match = NT_ETH_OTHER;
  } else if (eth.rfind("0x", 0) == 0) {
    if (!check_eth_type(f.eth_type).empty()) throw usage_error(check_eth_type(f.eth_type));
    out.eth_match = NT_ETH_EXACT;
    out.eth_proto = static_cast<uint16_t>(std::stoul(eth, nullptr, 16));
  } else if (eth != "all") {
    for (const auto& e : kEthNames)
      if (eth == e.name) {
        out.eth_match = NT_ETH_EXACT;
        out.eth_proto = e.proto;
      }
    if (!out.eth_match) throw usage_error(check_eth_type(f.eth_type));
  }
  const int proto = protocol_number(f.protocol);
  if (proto < 0) throw usage_error(check_protocol(f.protocol));
  out.l4_proto = static_cast<uint8_t>(proto);
  if (f.vlan_id > 4095) throw usage_error(fmt::format("invalid VLAN id '{}' (0-4095)", f.vlan_id));
  if (f.vlan_id >= 0) {
    out.has_vlan = 1;
    out.vlan_id = static_cast<uint16_t>(f.vlan_id);
  }
  int fam_s = 0, fam_d = 0;
  if (!f.src_ip.empty() && !(fam_s = parse_ip(f.src_ip, out.saddr))) throw usage_error(check_ip(f.src_ip));
  if (!f.dst_ip.empty() && !(fam_d = parse_ip(f.dst_ip, out.daddr))) throw usage_error(check_ip(f.dst_ip));
  if (fam_s && fam_d && fam_s != fam_d)
    throw usage_error(fmt::format("--src-ip '{}' and --dst-ip '{}' are of different address families", f.src_ip, f.dst_ip));
  out.has_saddr = fam_s != 0;
  out.has_daddr = fam_d != 0;
  out.family = static_cast<uint8_t>(fam_s ? fam_s : fam_d);
  if (f.src_port < 0 || f.src_port > 65535) throw usage_error(fmt::format("invalid port '{}'", f.src_port));
  if (f.dst_port < 0 || f.dst_port > 65535) throw usage_error(fmt::format("invalid port '{}'", f.dst_port));
  out.sport = static_cast<uint16_t>(f.src_port);
  out.dport = static_cast<uint16_t>(f.dst_port);
  return out;
}

std::vector<std::pair<std::string, std::string>> describe_filter(const FilterOptions& f) {
  std::vector<std::pair<std::string, std::string>> out;
  if (lower(f.eth_type) != "all") out.emplace_back("type", lower(f.eth_type));
  if (!f.src_ip.empty()) out.emplace_back("src_ip", f.src_ip);
  if (!f.dst_ip.empty()) out.emplace_back("dst_ip", f.dst_ip);
  if (f.src_port) out.emplace_back("src_port", std::to_string(f.src_port));
  if (f.dst_port) out.emplace_back("dst_port", std::to_string(f.dst_port));
  if (protocol_number(f.protocol) > 0) out.emplace_back("protocol", lower(f.protocol));
  if (f.vlan_id >= 0) out.emplace_back("vlan_id", std::to_string(f.vlan_id));
  if (!f.interface.empty()) out.emplace_back("interface", f.interface);
  return out;
}

}  // namespace nettrace::cli
