// SPDX-License-Identifier: GPL-2.0
#pragma once
// The packet filter flags shared by every packet tool, validated once and turned into struct nt_filter.

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "nettrace/abi/filter.h"

namespace nettrace::cli {

struct FilterOptions {
  std::string src_ip;
  std::string dst_ip;
  int src_port = 0;
  int dst_port = 0;
  std::string protocol = "all";  // tcp, udp, icmp, all, or a number
  std::string eth_type = "all";  // arp, rarp, ipv4, ipv6, lldp, flow_control, other, all, or 0xXXXX
  int vlan_id = -1;
  std::string interface;
};

enum FilterField : unsigned {
  kFilterAddresses = 1 << 0,
  kFilterPorts = 1 << 1,
  kFilterProtocol = 1 << 2,
  kFilterEthType = 1 << 3,
  kFilterVlan = 1 << 4,
  kFilterInterface = 1 << 5,
  kFilterAll = 0x3f,
};

// Adds the "Filter" option group with the spellings of docs/cli.md (-I,--interface; --protocol; older
// spellings stay accepted as synonyms).
void add_filter_options(CLI::App& app, FilterOptions& f, unsigned fields = kFilterAll);

// Builds the kernel-side filter; resolves the interface in this network namespace.
// Throws nettrace::Error (usage) naming the bad value.
[[nodiscard]] nt_filter build_filter(const FilterOptions& f);

// Human-readable active filters, in flag order: {"src_ip", "10.0.0.1"}, …
[[nodiscard]] std::vector<std::pair<std::string, std::string>> describe_filter(const FilterOptions& f);

// Validators, exposed for tests: empty string when valid, else the message.
[[nodiscard]] std::string check_ip(const std::string& v);
[[nodiscard]] std::string check_protocol(const std::string& v);
[[nodiscard]] std::string check_eth_type(const std::string& v);
[[nodiscard]] std::string check_interface(const std::string& v);
[[nodiscard]] int protocol_number(const std::string& v);  // 0 for "all"
[[nodiscard]] std::string protocol_name(int proto);      // "tcp", "udp", "icmp", "icmpv6", or the number

}  // namespace nettrace::cli
