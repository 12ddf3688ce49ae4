// SPDX-License-Identifier: GPL-2.0
#pragma once
// Network devices and namespaces as seen from this process.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace nettrace::sys {

// Inode of this process's network namespace (what BPF sees as net->ns.inum).
[[nodiscard]] uint32_t current_netns_inum();
[[nodiscard]] std::optional<uint32_t> ifindex_of(const std::string& name);
// The address (IPv4 or IPv6 text) is assigned to an interface of this network namespace.
[[nodiscard]] bool is_local_address(const std::string& ip);
// The interface is a loopback device in this network namespace (SIOCGIFFLAGS: sysfs may show another namespace).
[[nodiscard]] bool is_loopback(const std::string& name);
// Counters from /sys/class/net/NAME/statistics (rx_dropped, tx_packets, …); empty when absent.
[[nodiscard]] std::map<std::string, uint64_t> link_stats(const std::string& name);

}  // namespace nettrace::sys
