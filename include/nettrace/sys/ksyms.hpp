// SPDX-License-Identifier: GPL-2.0
#pragma once
// Kernel symbols from /proc/kallsyms, module symbols included ("name [module]").

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nettrace::sys {

class Ksyms {
 public:
  struct Symbol {
    uint64_t addr;
    uint32_t name_off;    // into names_
    uint32_t module_off;  // into names_, 0 = vmlinux ("" at offset 0)
  };

  // Reads a kallsyms-format file. Throws nettrace::Error when it cannot be read or has no addresses.
  static Ksyms load(const std::string& path = "/proc/kallsyms");
  // [start, end) of each function named base or a clone of it, in one streaming pass over the file,
  // without building the table (for start-up, before symbols are needed).
  static std::vector<std::pair<uint64_t, uint64_t>> scan_ranges(const std::vector<std::string>& bases,
                                                                const std::string& path = "/proc/kallsyms");
  // Parses kallsyms text (for tests).
  static Ksyms parse(std::string_view text);

  [[nodiscard]] const Symbol* find(uint64_t addr) const;
  [[nodiscard]] std::string_view name(const Symbol& s) const;
  [[nodiscard]] std::string_view module(const Symbol& s) const;
  // "func+0x1a" or "func+0x1a [module]"; "0xffff…" when unknown.
  [[nodiscard]] std::string symbolize(uint64_t addr) const;
  // Function name only ("" when unknown).
  [[nodiscard]] std::string function(uint64_t addr) const;
  // [start, end) of a function; clones ("name.isra.0", ".constprop.N", ".part.N", ".cold") included.
  [[nodiscard]] std::vector<std::pair<uint64_t, uint64_t>> ranges(std::string_view base) const;
  // The symbol to attach to for base: exact name first, else its shortest clone.
  [[nodiscard]] std::optional<std::string> resolve(std::string_view base) const;
  // The module a function of exactly this name lives in ("" for vmlinux), nullopt when there is none.
  [[nodiscard]] std::optional<std::string> module_of(std::string_view fn) const;
  [[nodiscard]] size_t size() const { return syms_.size(); }

 private:
  friend class LazyKsyms;
  // A text symbol of one kallsyms line (skipping __pfx_/__cfi_ padding): false for any other line.
  static bool parse_text_line(std::string_view line, uint64_t& addr, std::string_view& name, std::string_view& mod);
  void add_line(std::string_view line, std::unordered_map<std::string, uint32_t>& modules);
  void finish();
  std::vector<Symbol> syms_;  // sorted by addr
  std::string names_;
};

// Kernel symbols for a run that names few addresses (drop's events): each batch of new addresses is resolved
// in one streaming pass over kallsyms that keeps only the answers, not the table (≈ 3 MB, and more while it
// is built). After max_passes passes (a run that keeps meeting new addresses) it loads the table (Ksyms)
// and answers from it. Answers equal Ksyms::symbolize / function on the same file. A file that cannot be
// read or shows no addresses gives raw addresses, with one warning.
class LazyKsyms {
 public:
  explicit LazyKsyms(std::string path = "/proc/kallsyms", int max_passes = 8)
      : path_(std::move(path)), max_passes_(max_passes) {}
  // Resolves those of addrs not known yet, in one pass (or from the table).
  void prefetch(const uint64_t* addrs, size_t n);
  [[nodiscard]] std::string symbolize(uint64_t addr);
  [[nodiscard]] std::string function(uint64_t addr);
  [[nodiscard]] int passes() const { return passes_; }
  [[nodiscard]] bool table_loaded() const { return table_ != nullptr; }

 private:
  struct Hit {
    bool found = false;
    uint64_t sym = 0;
    std::string name, module;
  };
  const Hit& hit(uint64_t addr);
  void load_table();
  std::string path_;
  int max_passes_, passes_ = 0;
  bool failed_ = false;
  std::unordered_map<uint64_t, Hit> hits_;
  std::unique_ptr<Ksyms> table_;
};

// A frame of the tracing machinery itself (the BPF program, bpf_trace_run*, __bpf_trace_*, __traceiter_*),
// which leads every stack captured in a tracepoint: stacks are shown from the first frame after them.
[[nodiscard]] bool is_tracing_frame(std::string_view name);

// True when name is base itself or a compiler clone of it (base.isra.0, base.constprop.1, …).
[[nodiscard]] bool is_clone_of(std::string_view name, std::string_view base);

}  // namespace nettrace::sys
