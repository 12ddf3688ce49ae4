// SPDX-License-Identifier: GPL-2.0
#include "nettrace/sys/btf_enums.hpp"

#include <dirent.h>

#include <algorithm>
#include <memory>

#include <bpf/btf.h>
#include <fmt/format.h>

#include "nettrace/sys/btf_scan.hpp"
#include "nettrace/sys/kernel_info.hpp"

namespace nettrace::sys {
namespace {

struct BtfDeleter {
  void operator()(btf* b) const noexcept { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfDeleter>;


std::string strip(const std::string& s, const std::string& prefix) {
  if (!prefix.empty() && s.rfind(prefix, 0) == 0) return s.substr(prefix.size());
  return s;
}

template <class Fn>
void for_each_enum(const btf* b, uint32_t first_id, Fn&& fn) {
  const uint32_t n = btf__type_cnt(b);
  for (uint32_t id = first_id; id < n; id++) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!btf_is_enum(t)) continue;
    fn(t);
  }
}

}  // namespace

std::map<uint32_t, std::string> btf_enum_values(const std::string& enum_name, const std::string& strip_prefix) {
  std::map<uint32_t, std::string> out;
  const RawBtf& b = kernel_btf();
  int id = b.find(enum_name, BTF_KIND_ENUM);
  if (id < 0) return out;
  for (const auto& [name, value] : b.enum_values(id)) out[static_cast<uint32_t>(value)] = strip(name, strip_prefix);
  return out;
}

DropReasons DropReasons::from_kernel() {
  auto core = btf_enum_values("skb_drop_reason", "SKB_DROP_REASON_");
  // SKB_DROP_REASON_MAX and the subsystem mask are bounds, not reasons.
  for (auto it = core.begin(); it != core.end();) {
    if (it->second == "MAX" || it->second == "SUBSYS_MASK") it = core.erase(it);
    else ++it;
  }
  return DropReasons(std::move(core));
}

void DropReasons::load_subsystem(uint32_t subsys) const {
  subsys_loaded_[subsys] = true;
  const btf* vmlinux = vmlinux_btf();
  if (!vmlinux) return;
  auto scan = [&](const btf* b, uint32_t first_id) {
    for_each_enum(b, first_id, [&](const btf_type* t) {
      const struct btf_enum* e = btf_enum(t);
      const int n = btf_vlen(t);
      if (n == 0) return;
      for (int i = 0; i < n; i++)
        if ((static_cast<uint32_t>(e[i].val) >> 16) != subsys) return;
      for (int i = 0; i < n; i++)
        subsys_[static_cast<uint32_t>(e[i].val)] = btf__name_by_offset(b, e[i].name_off);
    });
  };
  scan(vmlinux, 1);
  if (DIR* d = opendir("/sys/kernel/btf")) {
    while (dirent* de = readdir(d)) {
      std::string mod = de->d_name;
      if (mod == "." || mod == ".." || mod == "vmlinux") continue;
      BtfPtr m(btf__parse_split(("/sys/kernel/btf/" + mod).c_str(), const_cast<btf*>(vmlinux)));
      if (m) scan(m.get(), btf__type_cnt(vmlinux));
    }
    closedir(d);
  }
}

std::string DropReasons::name(uint32_t value) const {
  if (!available()) return "UNKNOWN";  // before 5.17 the kernel passes no reason
  if (auto it = core_.find(value); it != core_.end()) return it->second;
  uint32_t subsys = value >> 16;
  if (subsys != 0) {
    if (!subsys_loaded_[subsys]) load_subsystem(subsys);
    if (auto it = subsys_.find(value); it != subsys_.end()) return it->second;
  }
  return fmt::format("UNKNOWN({})", value);
}

std::optional<uint32_t> DropReasons::value(const std::string& name) const {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), ::toupper);
  n = strip(n, "SKB_DROP_REASON_");
  for (const auto& [v, s] : core_)
    if (s == n) return v;
  return std::nullopt;
}

}  // namespace nettrace::sys
