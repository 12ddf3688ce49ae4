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
  // Parses a raw BTF blob (e.g. an object's .BTF section), copying it.
  static RawBtf parse(const uint8_t* data, size_t size);
  [[nodiscard]] bool ok() const { return !types_.empty(); }
  // Type id of the first type with this name and BTF_KIND_* kind, or -1.
  [[nodiscard]] int find(std::string_view name, int kind) const;
  // (name, value) of an ENUM or ENUM64 type.
  [[nodiscard]] std::vector<std::pair<std::string, int64_t>> enum_values(int id) const;

  // Raw access for walkers such as bpf::minimal_core_btf(): ids 1..type_count()-1, each a struct btf_type
  // followed by its kind-specific data (4-byte aligned, as BTF lays it out).
  [[nodiscard]] uint32_t type_count() const { return static_cast<uint32_t>(types_.size()); }
  [[nodiscard]] const uint8_t* type_data(uint32_t id) const { return data_ + types_[id].offset; }
  [[nodiscard]] std::string_view str(uint32_t off) const;
  [[nodiscard]] static size_t extra_size(uint32_t kind, uint32_t vlen);

 private:
  void index();
  struct Type {
    uint32_t offset;  // into data_, at the struct btf_type
  };
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
