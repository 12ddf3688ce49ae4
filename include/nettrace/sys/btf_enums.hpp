// SPDX-License-Identifier: GPL-2.0
#pragma once
// Enum names read from the running kernel's BTF (vmlinux, and module BTF for subsystem enums).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace nettrace::sys {

// Value -> name of one vmlinux enum, with a common prefix stripped ("SKB_DROP_REASON_NO_SOCKET" -> "NO_SOCKET").
// Empty when the kernel has no BTF or no such enum.
[[nodiscard]] std::map<uint32_t, std::string> btf_enum_values(const std::string& enum_name,
                                                              const std::string& strip_prefix);

// Names of skb drop reasons, core and subsystem ones (enum skb_drop_reason_subsys: the subsystem id
// sits in the high 16 bits; its reasons are in an enum of that subsystem, maybe in module BTF).
class DropReasons {
 public:
  // Reads the core enum now; subsystem enums on first use.
  static DropReasons from_kernel();
  // Built from a table (tests).
  explicit DropReasons(std::map<uint32_t, std::string> core) : core_(std::move(core)) {}
  DropReasons() = default;

  [[nodiscard]] bool available() const { return !core_.empty(); }
  // Name for a reason value; "UNKNOWN(n)" for a value the kernel does not name, "UNKNOWN" on kernels without
  // drop reasons (before 5.17: every value is 0, so the number says nothing).
  [[nodiscard]] std::string name(uint32_t value) const;
  // Value for a name given with or without the SKB_DROP_REASON_ prefix, case-insensitive.
  [[nodiscard]] std::optional<uint32_t> value(const std::string& name) const;
  [[nodiscard]] const std::map<uint32_t, std::string>& core() const { return core_; }

 private:
  void load_subsystem(uint32_t subsys) const;
  std::map<uint32_t, std::string> core_;
  mutable std::map<uint32_t, std::string> subsys_;
  mutable std::map<uint32_t, bool> subsys_loaded_;
};

}  // namespace nettrace::sys
