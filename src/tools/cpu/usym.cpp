// SPDX-License-Identifier: GPL-2.0
#include "tools/cpu/usym.hpp"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string_view>

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

// name, offset (unless !with_offset), module for addr in an open session.
std::string lookup(Dwfl* dwfl, uint64_t addr, bool with_module, bool name_only, bool with_offset = true) {
  Dwfl_Module* mod = dwfl_addrmodule(dwfl, addr);
  if (mod == nullptr) return name_only ? std::string() : fmt::format("0x{:x}", addr);
  GElf_Off off = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, addr, &off, &sym, nullptr, nullptr, nullptr);
  Dwarf_Addr start = 0;
  const char* modname = dwfl_module_info(mod, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (name_only) return name ? demangle(name) : std::string();
  if (name == nullptr)
    return with_offset ? fmt::format("[unknown] ({}+0x{:x})", basename_of(modname), addr - start)
                       : fmt::format("[unknown] ({})", basename_of(modname));
  std::string s = off && with_offset ? fmt::format("{}+0x{:x}", demangle(name), off) : demangle(name);
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

std::string UserSymbolizer::symbolize(pid_t pid, uint64_t addr, bool offset) {
  Dwfl* d = session(pid);
  if (d == nullptr) return fmt::format("0x{:x} [pid {} gone]", addr, pid);
  return lookup(d, addr, true, false, offset);
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

std::optional<uint64_t> elf_function_offset(const std::string& path, const std::string& name) {
  elf_version(EV_CURRENT);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<uint64_t> vaddr;
  // .symtab first (complete when not stripped), then .dynsym (what a stripped libc keeps).
  for (Elf64_Word want : {SHT_SYMTAB, SHT_DYNSYM}) {
    for (Elf_Scn* scn = elf ? elf_nextscn(elf, nullptr) : nullptr; scn && !vaddr; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != want || sh.sh_entsize == 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
            sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
          continue;
        const char* n = elf_strptr(elf, sh.sh_link, sym.st_name);
        if (!n) continue;
        const std::string_view sv(n);
        if (sv == name || (sv.size() > name.size() && sv.compare(0, name.size(), name) == 0 && sv[name.size()] == '@')) {
          vaddr = sym.st_value;
          break;
        }
      }
    }
    if (vaddr) break;
  }
  std::optional<uint64_t> off;
  size_t nph = 0;
  if (vaddr && elf_getphdrnum(elf, &nph) == 0) {
    for (size_t i = 0; i < nph; i++) {
      GElf_Phdr ph;
      if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
      if (*vaddr >= ph.p_vaddr && *vaddr < ph.p_vaddr + ph.p_memsz) {
        off = *vaddr - ph.p_vaddr + ph.p_offset;
        break;
      }
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return off;
}

}  // namespace nettrace::tools::cpu
