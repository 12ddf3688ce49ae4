// SPDX-License-Identifier: GPL-2.0
#include "nettrace/sys/ksyms.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/core/error.hpp"

namespace nettrace::sys {

bool is_tracing_frame(std::string_view name) {
  auto starts = [&](std::string_view p) { return name.substr(0, p.size()) == p; };
  return name.find("[bpf]") != std::string_view::npos || starts("bpf_trace_run") || starts("__bpf_trace_") ||
         starts("__traceiter_") || starts("bpf_prog_");
}

bool is_clone_of(std::string_view name, std::string_view base) {
  if (name == base) return true;
  if (name.size() <= base.size() || name.substr(0, base.size()) != base || name[base.size()] != '.') return false;
  std::string_view rest = name.substr(base.size());
  // Accept any chain of .isra.N / .constprop.N / .part.N / .cold / .hot / .lto_priv.N
  while (!rest.empty()) {
    if (rest[0] != '.') return false;
    rest.remove_prefix(1);
    size_t n = 0;
    while (n < rest.size() && rest[n] != '.') n++;
    std::string_view tok = rest.substr(0, n);
    bool ok = tok == "isra" || tok == "constprop" || tok == "part" || tok == "cold" || tok == "hot" ||
              tok == "lto_priv" || (!tok.empty() && std::all_of(tok.begin(), tok.end(), ::isdigit));
    if (!ok) return false;
    rest.remove_prefix(n);
  }
  return true;
}

namespace {

uint64_t parse_hex(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<uint64_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<uint64_t>(c - 'A' + 10);
  }
  return v;
}

}  // namespace

// One kallsyms line: "ffffffff81000000 T _text" or "ffffffffc0000000 t fn\t[mod]". Text symbols only.
bool Ksyms::parse_text_line(std::string_view line, uint64_t& addr, std::string_view& name, std::string_view& mod) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 + 3 > line.size()) return false;
  char type = line[sp1 + 1];
  if (type != 't' && type != 'T' && type != 'W' && type != 'w') return false;
  addr = parse_hex(line.substr(0, sp1));
  if (addr == 0) return false;
  std::string_view rest = line.substr(sp1 + 3);
  // Function padding (__pfx_, since 6.2) and CFI preambles: half of all text symbols on some kernels,
  // never where a stack or a drop location points.
  if (rest.substr(0, 6) == "__pfx_" || rest.substr(0, 6) == "__cfi_") return false;
  name = rest;
  mod = {};
  size_t tab = rest.find_first_of("\t ");
  if (tab != std::string_view::npos) {
    name = rest.substr(0, tab);
    size_t lb = rest.find('[', tab), rb = rest.find(']', tab);
    if (lb != std::string_view::npos && rb != std::string_view::npos && rb > lb) mod = rest.substr(lb + 1, rb - lb - 1);
  }
  return true;
}

void Ksyms::add_line(std::string_view line, std::unordered_map<std::string, uint32_t>& modules) {
  uint64_t addr;
  std::string_view name, mod;
  if (!parse_text_line(line, addr, name, mod)) return;
  Symbol s{addr, static_cast<uint32_t>(names_.size()), 0};
  names_.append(name);
  names_.push_back('\0');
  if (!mod.empty()) {
    auto [it, inserted] = modules.try_emplace(std::string(mod), 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(names_.size());
      names_.append(mod);
      names_.push_back('\0');
    }
    s.module_off = it->second;
  }
  syms_.push_back(s);
}

void Ksyms::finish() {
  std::stable_sort(syms_.begin(), syms_.end(), [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
  syms_.shrink_to_fit();
  names_.shrink_to_fit();
}

Ksyms Ksyms::parse(std::string_view text) {
  Ksyms k;
  k.names_.push_back('\0');
  std::unordered_map<std::string, uint32_t> modules;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    k.add_line(text.substr(pos, eol - pos), modules);
    pos = eol + 1;
  }
  k.finish();
  return k;
}

namespace {

// Calls fn(line) for every line of a kallsyms-format file; false when it cannot be opened.
template <class Fn>
bool for_each_line(const std::string& path, Fn&& fn) {
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return false;
  char* line = nullptr;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] == '\n') n--;
    fn(std::string_view(line, static_cast<size_t>(n)));
  }
  free(line);
  fclose(f);
  return true;
}

}  // namespace

Ksyms Ksyms::load(const std::string& path) {
  // Two passes, line by line: the first sizes the tables, so the second fills them without the
  // doubling reallocations that would otherwise double the peak (tens of thousands of symbols).
  size_t lines = 0, bytes = 0;
  if (!for_each_line(path, [&](std::string_view l) { lines++, bytes += l.size(); }))
    throw failure(fmt::format("cannot read {}", path));
  Ksyms k;
  k.syms_.reserve(lines / 2 + 1024);  // about half are __pfx_ padding symbols, skipped
  k.names_.reserve(bytes / 3);
  k.names_.push_back('\0');
  std::unordered_map<std::string, uint32_t> modules;
  for_each_line(path, [&](std::string_view l) { k.add_line(l, modules); });
  k.finish();
  if (k.syms_.empty())
    throw failure(fmt::format("{} shows no kernel addresses", path), "run as root (kptr_restrict hides them)");
  return k;
}

std::vector<std::pair<uint64_t, uint64_t>> Ksyms::scan_ranges(const std::vector<std::string>& bases,
                                                                const std::string& path) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  bool open = false;  // the last range waits for the next higher address as its end
  for_each_line(path, [&](std::string_view line) {
    const size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 + 3 > line.size()) return;
    const uint64_t addr = parse_hex(line.substr(0, sp1));
    if (addr == 0) return;
    if (open && addr > out.back().first) {
      out.back().second = addr;
      open = false;
    }
    const char type = line[sp1 + 1];
    if (type != 't' && type != 'T' && type != 'W' && type != 'w') return;
    std::string_view name = line.substr(sp1 + 3);
    name = name.substr(0, name.find_first_of("\t "));
    for (const auto& b : bases)
      if (is_clone_of(name, b)) {
        if (open) out.back().second = out.back().first + 1;
        out.emplace_back(addr, addr + 1);
        open = true;
        break;
      }
  });
  return out;
}

const Ksyms::Symbol* Ksyms::find(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                             [](uint64_t a, const Symbol& s) { return a < s.addr; });
  if (it == syms_.begin()) return nullptr;
  return &*(it - 1);
}

std::string_view Ksyms::name(const Symbol& s) const { return std::string_view(names_.c_str() + s.name_off); }
std::string_view Ksyms::module(const Symbol& s) const { return std::string_view(names_.c_str() + s.module_off); }

std::string Ksyms::symbolize(uint64_t addr) const {
  const Symbol* s = find(addr);
  if (!s) return fmt::format("0x{:x}", addr);
  auto mod = module(*s);
  if (mod.empty()) return fmt::format("{}+0x{:x}", name(*s), addr - s->addr);
  return fmt::format("{}+0x{:x} [{}]", name(*s), addr - s->addr, mod);
}

std::string Ksyms::function(uint64_t addr) const {
  const Symbol* s = find(addr);
  return s ? std::string(name(*s)) : std::string();
}

std::vector<std::pair<uint64_t, uint64_t>> Ksyms::ranges(std::string_view base) const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (size_t i = 0; i < syms_.size(); i++) {
    if (!is_clone_of(name(syms_[i]), base)) continue;
    uint64_t end = syms_[i].addr + 1;
    for (size_t j = i + 1; j < syms_.size(); j++) {
      if (syms_[j].addr > syms_[i].addr) {
        end = syms_[j].addr;
        break;
      }
    }
    out.emplace_back(syms_[i].addr, end);
  }
  return out;
}

std::optional<std::string> Ksyms::resolve(std::string_view base) const {
  std::optional<std::string> best;
  for (const auto& s : syms_) {
    auto n = name(s);
    if (n == base) return std::string(n);
    if (!is_clone_of(n, base)) continue;
    // A .cold part is a fragment split off the function, not an entry point.
    if (n.substr(base.size()).find(".cold") != std::string_view::npos) continue;
    if (!best || n.size() < best->size()) best = std::string(n);
  }
  return best;
}

std::optional<std::string> Ksyms::module_of(std::string_view fn) const {
  for (const auto& s : syms_)
    if (name(s) == fn) return std::string(module(s));
  return std::nullopt;
}

void LazyKsyms::load_table() {
  try {
    table_ = std::make_unique<Ksyms>(Ksyms::load(path_));
  } catch (const Error& e) {
    spdlog::warn("{}: stacks show raw addresses", e.what());
    table_ = std::make_unique<Ksyms>(Ksyms::parse(""));
  }
}

void LazyKsyms::prefetch(const uint64_t* addrs, size_t n) {
  std::vector<uint64_t> want;
  for (size_t i = 0; i < n; i++)
    if (!hits_.count(addrs[i]) && std::find(want.begin(), want.end(), addrs[i]) == want.end()) want.push_back(addrs[i]);
  if (want.empty()) return;
  if (table_ || failed_ || passes_ >= max_passes_) {
    if (!table_ && !failed_) load_table();
    for (uint64_t a : want) {
      Hit h;
      if (const Ksyms::Symbol* s = table_ ? table_->find(a) : nullptr) {
        h = Hit{true, s->addr, std::string(table_->name(*s)), std::string(table_->module(*s))};
      }
      hits_.emplace(a, std::move(h));
    }
    return;
  }
  passes_++;
  // The symbol at or below each address, the last one in file order among equal addresses (as Ksyms::find
  // after its stable sort).
  std::vector<Hit> best(want.size());
  size_t symbols = 0;
  const bool opened = for_each_line(path_, [&](std::string_view line) {
    uint64_t addr;
    std::string_view name, mod;
    if (!Ksyms::parse_text_line(line, addr, name, mod)) return;
    symbols++;
    for (size_t i = 0; i < want.size(); i++) {
      if (addr > want[i] || (best[i].found && addr < best[i].sym)) continue;
      best[i].found = true;
      best[i].sym = addr;
      best[i].name.assign(name);
      best[i].module.assign(mod);
    }
  });
  if (!opened || symbols == 0) {
    spdlog::warn("{}: stacks show raw addresses",
                 !opened ? fmt::format("cannot read {}", path_) : fmt::format("{} shows no kernel addresses", path_));
    failed_ = true;
    for (uint64_t a : want) hits_.emplace(a, Hit{});
    return;
  }
  for (size_t i = 0; i < want.size(); i++) hits_.emplace(want[i], std::move(best[i]));
}

const LazyKsyms::Hit& LazyKsyms::hit(uint64_t addr) {
  auto it = hits_.find(addr);
  if (it == hits_.end()) {
    if (hits_.size() > 65536) hits_.clear();
    prefetch(&addr, 1);
    it = hits_.find(addr);
  }
  return it->second;
}

std::string LazyKsyms::symbolize(uint64_t addr) {
  const Hit& h = hit(addr);
  if (!h.found) return fmt::format("0x{:x}", addr);
  if (h.module.empty()) return fmt::format("{}+0x{:x}", h.name, addr - h.sym);
  return fmt::format("{}+0x{:x} [{}]", h.name, addr - h.sym, h.module);
}

std::string LazyKsyms::function(uint64_t addr) { return hit(addr).name; }

}  // namespace nettrace::sys
