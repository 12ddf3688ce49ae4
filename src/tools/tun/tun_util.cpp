// SPDX-License-Identifier: GPL-2.0
// nettrace tun: argument checks and rendering free of libbpf (unit-tested).

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "tools/tun/tun.hpp"

namespace nettrace::tools::tun {

namespace fs = std::filesystem;

std::vector<std::string> split_names(const std::string& list, const std::string& flag) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw usage_error(fmt::format("{}: empty name in '{}'", flag, core::printable(list)));
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<int> tx_queue_count(const std::string& dir) {
  std::error_code ec;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "queues", ec))
    if (e.path().filename().string().rfind("tx-", 0) == 0) n++;
  if (ec || n == 0) return std::nullopt;
  return n;
}

bool sysfs_is_tun(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / "tun_flags", ec);
}

void check_ring_args(const std::vector<std::string>& names, int queue, const std::string& sysfs_net) {
  if (names.size() > NT_TUN_MAX_IFACES)
    throw usage_error(fmt::format("-I: at most {} devices", NT_TUN_MAX_IFACES));
  for (const auto& n : names) {
    const std::string dir = sysfs_net + "/" + n;
    std::error_code ec;
    if (n.find('/') != std::string::npos || n == "." || n == ".." || !fs::exists(dir, ec))
      throw usage_error(fmt::format("-I: interface '{}' does not exist in this network namespace", core::printable(n)));
    if (!sysfs_is_tun(dir))
      throw usage_error(fmt::format("-I: '{}' is not a tun/tap device", core::printable(n)));
    if (queue >= 0) {
      const auto q = tx_queue_count(dir);
      if (q && queue >= *q)
        throw usage_error(fmt::format("--queue {}: '{}' has {} transmit queue{} (0-{})", queue, n, *q,
                                      *q == 1 ? "" : "s", *q - 1));
    }
  }
}

namespace {
uint64_t slot_low(size_t s) { return s == 0 ? 0 : 1ULL << (s - 1); }
uint64_t slot_high(size_t s) { return s == 0 ? 0 : (1ULL << s) - 1; }
}  // namespace

std::string count_hist_text(const nt_hist& h, const std::string& unit) {
  size_t first = NT_HIST_SLOTS, last = 0;
  uint64_t peak = 0;
  for (size_t s = 0; s < NT_HIST_SLOTS; s++)
    if (h.slots[s]) {
      first = std::min(first, s);
      last = s;
      peak = std::max<uint64_t>(peak, h.slots[s]);
    }
  const size_t vw = std::max<size_t>(10, first < NT_HIST_SLOTS ? fmt::formatted_size("{}", slot_high(last)) : 0);
  const size_t cw = std::max<size_t>(8, fmt::formatted_size("{}", peak));
  const size_t bar = 40;
  std::string out = fmt::format("{:>{}} {:<{}}: {:<{}} {}\n", unit, vw, "", vw + 3, "count", cw, "distribution");
  for (size_t s = first; s <= last && first < NT_HIST_SLOTS; s++) {
    const auto stars = static_cast<size_t>(static_cast<double>(h.slots[s]) / static_cast<double>(peak) * bar);
    out += fmt::format("{:>{}} -> {:<{}}: {:<{}} |{:<{}}|\n", slot_low(s), vw, slot_high(s), vw, h.slots[s], cw,
                       std::string(stars, '*'), bar);
  }
  return out;
}

nlohmann::json count_hist_json(const nt_hist& h) {
  nlohmann::json j{{"count", h.count}};
  if (h.count) {
    j["max"] = h.max;
    j["avg"] = static_cast<double>(h.sum) / static_cast<double>(h.count);
  }
  auto arr = nlohmann::json::array();
  for (size_t s = 0; s < NT_HIST_SLOTS; s++)
    if (h.slots[s]) arr.push_back({{"low", slot_low(s)}, {"high", slot_high(s)}, {"count", h.slots[s]}});
  j["buckets"] = arr;
  return j;
}

std::string used_pct(uint32_t depth, uint32_t size) {
  if (!size) return "0.0%";
  return fmt::format("{:.1f}%", 100.0 * depth / size);
}

}  // namespace nettrace::tools::tun
