// SPDX-License-Identifier: GPL-2.0
#include "tools/cpu/usym.hpp"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

namespace nettrace::tools::cpu {
namespace {

char* debuginfo_path = nullptr;

const Dwfl_Callbacks kProcCallbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = &debuginfo_path,
};

const Dwfl_Callbacks kFileCallbacks = {
    .find_elf = nullptr,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = &debuginfo_path,
};

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  if (name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

std::string basename_of(const char* path) {
  if (path == nullptr) return "?";
  std::string s = path;
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

// name, offset, module for addr in an open session.
std::string lookup(Dwfl* dwfl, uint64_t addr, bool with_module, bool name_only) {
  Dwfl_Module* mod = dwfl_addrmodule(dwfl, addr);
  if (mod == nullptr) return name_only ? std::string() : fmt::format("0x{:x}", addr);
  GElf_Off off = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, addr, &off, &sym, nullptr, nullptr, nullptr);
  Dwarf_Addr start = 0;
  const char* modname = dwfl_module_info(mod, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (name_only) return name ? demangle(name) : std::string();
  if (name == nullptr) return fmt::format("[unknown] ({}+0x{:x})", basename_of(modname), addr - start);
  std::string s = off ? fmt::format("{}+0x{:x}", demangle(name), off) : demangle(name);
  if (with_module) s += fmt::format(" ({})", basename_of(modname));
  return s;
}

}  // namespace

UserSymbolizer::~UserSymbolizer() { reset(); }

void UserSymbolizer::reset() {
  for (auto& [pid, d] : cache_)
    if (d) dwfl_end(d);
  cache_.clear();
}

Dwfl* UserSymbolizer::session(pid_t pid) {
  if (auto it = cache_.find(pid); it != cache_.end()) return it->second;
  Dwfl* d = dwfl_begin(&kProcCallbacks);
  if (d != nullptr) {
    dwfl_report_begin(d);
    if (dwfl_linux_proc_report(d, pid) != 0 || dwfl_report_end(d, nullptr, nullptr) != 0) {
      dwfl_end(d);
      d = nullptr;
    }
  }
  cache_[pid] = d;
  return d;
}

std::string UserSymbolizer::symbolize(pid_t pid, uint64_t addr) {
  Dwfl* d = session(pid);
  if (d == nullptr) return fmt::format("0x{:x} [pid {} gone]", addr, pid);
  return lookup(d, addr, true, false);
}

std::string UserSymbolizer::function(pid_t pid, uint64_t addr) {
  Dwfl* d = session(pid);
  return d ? lookup(d, addr, false, true) : std::string();
}

std::string symbolize_in_file(const std::string& path, uint64_t addr) {
  Dwfl* d = dwfl_begin(&kFileCallbacks);
  if (d == nullptr) return {};
  dwfl_report_begin(d);
  std::string out;
  if (dwfl_report_elf(d, path.c_str(), path.c_str(), -1, 0, false) != nullptr && dwfl_report_end(d, nullptr, nullptr) == 0)
    out = lookup(d, addr, false, false);
  dwfl_end(d);
  return out;
}

}  // namespace nettrace::tools::cpu
