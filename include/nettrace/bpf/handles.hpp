// SPDX-License-Identifier: GPL-2.0
#pragma once
// RAII owners for libbpf handles. Declaration order in a session is teardown order:
// declare the skeleton first, links after it, the ring buffer last.

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "nettrace/bpf/min_btf.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/sys/btf_scan.hpp"
#include "nettrace/sys/kernel_info.hpp"

namespace nettrace::bpf {

// The error for a failed open or load, naming the cause the user can act on: privileges, the file
// descriptor limit (which libbpf sometimes reports as EINVAL), or the verifier.
[[nodiscard]] Error load_error(const char* what, int err);
// strerror(err), and for EMFILE/ENFILE the limit and what to do about it.
[[nodiscard]] std::string errno_text(int err);

// Which kernel BTF libbpf relocates against. Minimal: only the types and members the object's CO-RE
// relocations use, cut from the running kernel's BTF (bpf/min_btf.hpp) — for objects whose relocations
// are all on vmlinux types (a custom BTF hides module BTF from libbpf).
enum class CoreBtf { Kernel, Minimal };

// Owns a bpftool-generated skeleton (Skel = drop_bpf, …, with the C++ statics bpftool emits).
template <class Skel>
class Skeleton {
 public:
  static Skeleton open(const char* what, CoreBtf core = CoreBtf::Kernel) {
    std::unique_ptr<BtfFile> btf;
    if (core == CoreBtf::Minimal) {
      size_t size = 0;
      const void* elf = Skel::elf_bytes(&size);
      if (auto blob = minimal_core_btf(elf, size, sys::kernel_btf())) {
        btf = std::make_unique<BtfFile>(*blob);
        if (!btf->ok()) btf.reset();
      }
    }
    LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf ? btf->path() : nullptr);
    Skel* raw = Skel::open(&opts);
    if (raw == nullptr) throw load_error(what, errno);
    return Skeleton(raw, std::move(btf));
  }
  // Loads (verifies) the programs; a failure names the tool and the errno. Start-up's kernel-BTF lookups are
  // done by now: the shared scans are released first, so libbpf's own parse (objects relocating against the
  // whole kernel BTF) does not stack on top of them, and a copied (pre-6.16, unmappable) BTF is not kept.
  void load(const char* what) {
    sys::release_vmlinux_btf();
    int err = Skel::load(ptr_.get());
    core_btf_.reset();  // parsed during load, not needed after
    if (err != 0) throw load_error(what, err < 0 ? -err : err);
  }
  Skel* operator->() const noexcept { return ptr_.get(); }
  Skel* get() const noexcept { return ptr_.get(); }

 private:
  Skeleton(Skel* s, std::unique_ptr<BtfFile> btf) noexcept : ptr_(s), core_btf_(std::move(btf)) {}
  struct Destroy {
    void operator()(Skel* s) const noexcept { Skel::destroy(s); }
  };
  std::unique_ptr<Skel, Destroy> ptr_;
  std::unique_ptr<BtfFile> core_btf_;
};

// A link not stored in skel->links (the plan attaches programs itself).
class Link {
 public:
  explicit Link(bpf_link* l) noexcept : link_(l) {}
  [[nodiscard]] bpf_link* get() const noexcept { return link_.get(); }

 private:
  struct Destroy {
    void operator()(bpf_link* l) const noexcept { bpf_link__destroy(l); }
  };
  std::unique_ptr<bpf_link, Destroy> link_;
};

// Ring buffer consumer. The callback must not throw (it is called from C).
class RingBuffer {
 public:
  RingBuffer(int map_fd, ring_buffer_sample_fn fn, void* ctx) : rb_(ring_buffer__new(map_fd, fn, ctx, nullptr)) {
    if (!rb_) throw failure(fmt::format("cannot create ring buffer: {}", strerror(errno)));
  }
  // Returns events consumed, or a negative errno (EINTR is not an error).
  int poll(int timeout_ms) {
    int n = ring_buffer__poll(rb_.get(), timeout_ms);
    return n == -EINTR ? 0 : n;
  }
  int consume() { return ring_buffer__consume(rb_.get()); }

 private:
  struct Destroy {
    void operator()(ring_buffer* r) const noexcept { ring_buffer__free(r); }
  };
  std::unique_ptr<ring_buffer, Destroy> rb_;
};

// Invocations of the object's programs the kernel skipped because one of them was already running on that
// CPU (a probe hit again from an interrupt that nested inside it): bpf_prog_info.recursion_misses, summed.
// Such skipped entries or returns are lost events; tools report them. 0 where the kernel does not count.
inline uint64_t recursion_misses(const bpf_object* obj) {
  uint64_t n = 0;
  bpf_program* p;
  bpf_object__for_each_program(p, obj) {
    const int fd = bpf_program__fd(p);
    if (fd < 0) continue;
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) n += info.recursion_misses;
  }
  return n;
}

// Routes libbpf's messages to spdlog: warnings as warnings, the rest at debug level.
void install_libbpf_logger();

}  // namespace nettrace::bpf
