// SPDX-License-Identifier: GPL-2.0
// Pure helpers of nettrace virtio (tests/unit/virtio_util_test.cpp).

#include <charconv>

#include <fmt/format.h>

#include "nettrace/abi/virtio.h"
#include "nettrace/core/error.hpp"
#include "tools/virtio/virtio.hpp"

namespace nettrace::tools::virtio {

std::string irq_queue_label(std::string_view action) {
  // virtio_pci names its vectors "<virtio dev>-<vq name>": "virtio2-input.0", "virtio2-output.0", "virtio2-config".
  size_t dash = action.find('-');
  if (dash == std::string_view::npos) return "";
  std::string_view vq = action.substr(dash + 1);
  auto num = [](std::string_view rest) { return std::string(rest); };
  if (vq.starts_with("input.")) return "rx" + num(vq.substr(6));
  if (vq.starts_with("output.")) return "tx" + num(vq.substr(7));
  if (vq == "config") return "config";
  if (vq == "rx" || vq == "tx" || vq == "cvq" || vq == "control") return std::string(vq);
  return "";
}

bool irq_belongs_to(std::string_view action, std::string_view virtio_dev) {
  if (virtio_dev.empty()) return false;
  // Shared lines list several actions ("virtio1, virtio2-input.0"): any of them.
  size_t at = action.find(virtio_dev);
  while (at != std::string_view::npos) {
    const bool start_ok = at == 0 || action[at - 1] == ' ' || action[at - 1] == ',';
    size_t end = at + virtio_dev.size();
    const bool end_ok = end == action.size() || action[end] == '-' || action[end] == ',';
    if (start_ok && end_ok) return true;
    at = action.find(virtio_dev, at + 1);
  }
  return false;
}

std::vector<int> parse_irq_list(const std::string& s) {
  std::vector<int> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string_view w(s.data() + i, j - i);
    while (!w.empty() && w.front() == ' ') w.remove_prefix(1);
    while (!w.empty() && w.back() == ' ') w.remove_suffix(1);
    int v = -1;
    auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (w.empty() || ec != std::errc() || p != w.data() + w.size() || v < 0)
      throw usage_error(fmt::format("--irqs: '{}' is not an IRQ number (a comma list: 38,39)", std::string(w)));
    out.push_back(v);
    i = j + 1;
  }
  return out;
}

std::string work_slot_label(unsigned slot, uint64_t budget) {
  if (slot == 0) return "0";
  if (slot >= NT_VIRTIO_WORK_SLOTS - 1) return fmt::format(">{}", budget);
  if (budget == 0) return fmt::format("{}/8", slot);
  // Slot k holds work w with ceil(8w/b) == k: (b(k-1)/8, bk/8].
  const uint64_t lo = budget * (slot - 1) / 8 + 1, hi = budget * slot / 8;
  return lo >= hi ? fmt::format("{}", hi) : fmt::format("{}-{}", lo, hi);
}

}  // namespace nettrace::tools::virtio
