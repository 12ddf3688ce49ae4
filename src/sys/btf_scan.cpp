// SPDX-License-Identifier: GPL-2.0
#include "nettrace/sys/btf_scan.hpp"

#include <fcntl.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace nettrace::sys {
namespace {

template <class T>
bool read_at(const uint8_t* d, size_t size, size_t off, T& out) {
  if (off + sizeof(T) > size) return false;
  memcpy(&out, d + off, sizeof(T));
  return true;
}

}  // namespace

// Bytes of kind-specific data after a struct btf_type.
size_t RawBtf::extra_size(uint32_t kind, uint32_t vlen) {
  switch (kind) {
    case BTF_KIND_INT: return 4;
    case BTF_KIND_ARRAY: return 12;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return 12ull * vlen;
    case BTF_KIND_ENUM: return 8ull * vlen;
    case BTF_KIND_FUNC_PROTO: return 8ull * vlen;
    case BTF_KIND_VAR: return 4;
    case BTF_KIND_DATASEC: return 12ull * vlen;
    case 17 /* BTF_KIND_DECL_TAG */: return 4;
    case 19 /* BTF_KIND_ENUM64 */: return 12ull * vlen;
    default: return 0;
  }
}

namespace {
std::unique_ptr<RawBtf> g_kernel;
}  // namespace

void RawBtf::Unmap::operator()(const uint8_t* p) const noexcept { munmap(const_cast<uint8_t*>(p), size); }

RawBtf RawBtf::read(const std::string& path) {
  RawBtf b;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return b;
  struct stat st {};
  // Kernels since 6.16 let vmlinux BTF be mapped; sysfs reads come 4 KiB at a time otherwise.
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      b.map_ = std::shared_ptr<const uint8_t>(static_cast<const uint8_t*>(p), Unmap{static_cast<size_t>(st.st_size)});
      b.data_ = b.map_.get();
      b.size_ = static_cast<size_t>(st.st_size);
    }
  }
  if (!b.data_) {
    b.copy_.reserve(st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0);
    uint8_t chunk[65536];
    ssize_t n;
    while ((n = ::read(fd, chunk, sizeof(chunk))) > 0) b.copy_.insert(b.copy_.end(), chunk, chunk + n);
    b.data_ = b.copy_.data();
    b.size_ = b.copy_.size();
  }
  close(fd);
  b.index();
  return b;
}

RawBtf RawBtf::parse(const uint8_t* data, size_t size) {
  RawBtf b;
  b.copy_.assign(data, data + size);
  b.data_ = b.copy_.data();
  b.size_ = b.copy_.size();
  b.index();
  return b;
}

// Checks the header and records where each type starts; leaves the object empty when malformed.
void RawBtf::index() {
  btf_header h{};
  if (!read_at(data_, size_, 0, h) || h.magic != BTF_MAGIC) return;
  type_start_ = h.hdr_len + h.type_off;
  str_start_ = h.hdr_len + h.str_off;
  str_len_ = h.str_len;
  if (static_cast<size_t>(str_start_) + str_len_ > size_ || static_cast<size_t>(type_start_) + h.type_len > size_) return;
  types_.push_back({0});  // id 0: void
  size_t off = type_start_;
  const size_t end = static_cast<size_t>(type_start_) + h.type_len;
  while (off + sizeof(btf_type) <= end) {
    btf_type t{};
    read_at(data_, size_, off, t);
    types_.push_back({static_cast<uint32_t>(off)});
    off += sizeof(btf_type) + extra_size(BTF_INFO_KIND(t.info), BTF_INFO_VLEN(t.info));
  }
  if (off != end) types_.clear();
}

std::string_view RawBtf::str(uint32_t off) const {
  if (off >= str_len_) return {};
  const char* s = reinterpret_cast<const char*>(data_ + str_start_ + off);
  return std::string_view(s, strnlen(s, str_len_ - off));
}

int RawBtf::find(std::string_view name, int kind) const {
  for (size_t id = 1; id < types_.size(); id++) {
    btf_type t{};
    read_at(data_, size_, types_[id].offset, t);
    if (static_cast<int>(BTF_INFO_KIND(t.info)) == kind && str(t.name_off) == name) return static_cast<int>(id);
  }
  return -1;
}

std::vector<std::pair<std::string, int64_t>> RawBtf::enum_values(int id) const {
  std::vector<std::pair<std::string, int64_t>> out;
  if (id <= 0 || static_cast<size_t>(id) >= types_.size()) return out;
  btf_type t{};
  size_t off = types_[static_cast<size_t>(id)].offset;
  read_at(data_, size_, off, t);
  const uint32_t kind = BTF_INFO_KIND(t.info), vlen = BTF_INFO_VLEN(t.info);
  off += sizeof(btf_type);
  for (uint32_t i = 0; i < vlen; i++) {
    if (kind == BTF_KIND_ENUM) {
      btf_enum e{};
      read_at(data_, size_, off + 8ull * i, e);
      out.emplace_back(std::string(str(e.name_off)), static_cast<int64_t>(static_cast<int32_t>(e.val)));
    } else if (kind == 19 /* ENUM64 */) {
      uint32_t v[3] = {};
      read_at(data_, size_, off + 12ull * i, v);
      out.emplace_back(std::string(str(v[0])), static_cast<int64_t>((static_cast<uint64_t>(v[2]) << 32) | v[1]));
    }
  }
  return out;
}

const RawBtf& kernel_btf() {
  if (!g_kernel) g_kernel = std::make_unique<RawBtf>(RawBtf::read("/sys/kernel/btf/vmlinux"));
  return *g_kernel;
}

void release_kernel_btf() { g_kernel.reset(); }

}  // namespace nettrace::sys
