// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace tun: tun/tap devices' transmit rings (`tun ring`: tun_ring_monitor.py, tun-tx-ring-stas.bt).
// See docs/tools/tun.md.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nettrace/abi/tun.h"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "tools/registry.hpp"

namespace nettrace::tools::tun {

struct RingOptions {
  cli::CommonOptions common;
  cli::FilterOptions filter;     // addresses, ports, protocol (the interface list is `interfaces`)
  std::string interface_arg;     // -I NAME[,NAME]
  std::vector<std::string> interfaces;
  int queue = -1;                // --queue; -1: all
  bool all = false;              // an event per packet
  bool stack = false;
  bool verbose = false;
};

void setup(CLI::App& root, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> hooks();
[[nodiscard]] std::vector<bpf::Hook> ring_hooks();
int run_ring(const RingOptions& o);

// Pure helpers (tun_util.cpp, unit-tested).

// "a,b" -> {"a", "b"}; empty items are a usage error naming the flag.
[[nodiscard]] std::vector<std::string> split_names(const std::string& list, const std::string& flag);
// The number of transmit queues under a device's sysfs directory (<dir>/queues/tx-N); nullopt when unreadable.
[[nodiscard]] std::optional<int> tx_queue_count(const std::string& sysfs_dev_dir);
// The device's sysfs directory shows a tun/tap (tun.c's attributes: tun_flags).
[[nodiscard]] bool sysfs_is_tun(const std::string& sysfs_dev_dir);
// -I and --queue checked against /sys/class/net (under `sysfs_net`, for tests); throws a usage error naming the
// value: unknown device, not a tun/tap, --queue out of range for a listed device.
void check_ring_args(const std::vector<std::string>& names, int queue, const std::string& sysfs_net = "/sys/class/net");
// bcc's table for a histogram of counts (ring depth): "depth : count | distribution |", log2 slots.
[[nodiscard]] std::string count_hist_text(const nt_hist& h, const std::string& unit = "depth");
// JSON of a count histogram: {count, max, avg, buckets: [{low, high, count}]}.
[[nodiscard]] nlohmann::json count_hist_json(const nt_hist& h);
// "x% used": depth / size in percent, one decimal.
[[nodiscard]] std::string used_pct(uint32_t depth, uint32_t size);

}  // namespace nettrace::tools::tun
