// SPDX-License-Identifier: GPL-2.0
#pragma once
// CO-RE against a minimal BTF. libbpf 1.1 reads all of vmlinux BTF (5-6 MB) for a skeleton's CO-RE
// relocations and holds two copies while parsing it: most of a tool's peak memory and much of its
// start-up. The relocations of one object touch a few dozen types, so we build, from the running
// kernel's BTF (mapped, not copied), a BTF with just those types and, of structs and unions, just the
// members on the relocations' access paths (the idea of bpftool's `gen min_core_btf`, done at run time
// against the kernel in front of us), and hand it to libbpf as btf_custom_path.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nettrace/sys/btf_scan.hpp"

namespace nettrace::bpf {

// The BTF for the CO-RE relocations of the BPF ELF object `elf`, with candidates from `kernel`.
// std::nullopt when the object cannot be reduced (no BTF, malformed, or a relocation kind this does not
// handle): the caller then leaves libbpf to its default, the whole vmlinux BTF.
[[nodiscard]] std::optional<std::vector<uint8_t>> minimal_core_btf(const void* elf, size_t size,
                                                                   const sys::RawBtf& kernel);

// A BTF blob in an anonymous memory file, named by a path libbpf can open ("/proc/self/fd/N").
class BtfFile {
 public:
  explicit BtfFile(const std::vector<uint8_t>& blob);
  BtfFile(const BtfFile&) = delete;
  BtfFile& operator=(const BtfFile&) = delete;
  ~BtfFile();
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  [[nodiscard]] const char* path() const { return path_.c_str(); }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace nettrace::bpf
