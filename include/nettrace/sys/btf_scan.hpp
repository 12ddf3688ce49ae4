// SPDX-License-Identifier: GPL-2.0
#pragma once
// A read-only scan of raw kernel BTF for the few lookups start-up needs (does type X exist, the values
// of enum Y). Parsing all of vmlinux BTF with libbpf costs tens of milliseconds and twice the file in
// memory; the skeleton load parses it once anyway, so start-up should not parse it a second time.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nettrace::sys {

class RawBtf {
 public:
  // Reads a raw BTF file (e.g. /sys/kernel/btf/vmlinux). Empty (ok() false) when unreadable or malformed.
  static RawBtf read(const std::string& path);
  [[nodiscard]] bool ok() const { return !types_.empty(); }
  // Type id of the first type with this name and BTF_KIND_* kind, or -1.
  [[nodiscard]] int find(std::string_view name, int kind) const;
  // (name, value) of an ENUM or ENUM64 type.
  [[nodiscard]] std::vector<std::pair<std::string, int64_t>> enum_values(int id) const;

 private:
  struct Type {
    uint32_t offset;  // into data_, at the struct btf_type
  };
  [[nodiscard]] std::string_view str(uint32_t off) const;
  struct Unmap {
    size_t size;
    void operator()(const uint8_t* p) const noexcept;
  };
  std::vector<uint8_t> copy_;  // when the file cannot be mapped
  std::shared_ptr<const uint8_t> map_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::vector<Type> types_;  // index = type id (0 = void)
  uint32_t type_start_ = 0, str_start_ = 0, str_len_ = 0;
};

// The running kernel's BTF, scanned once per process and shared; release it once start-up is done.
[[nodiscard]] const RawBtf& kernel_btf();
void release_kernel_btf();

}  // namespace nettrace::sys
