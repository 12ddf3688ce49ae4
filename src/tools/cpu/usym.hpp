// SPDX-License-Identifier: GPL-2.0
#pragma once
// User-space symbolization with elfutils' libdwfl: a process's mappings from /proc/PID/maps, symbols
// from its own ELF files (and separate debuginfo found by build id, when installed).

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

struct Dwfl;

namespace nettrace::tools::cpu {

class UserSymbolizer {
 public:
  UserSymbolizer() = default;
  UserSymbolizer(const UserSymbolizer&) = delete;
  UserSymbolizer& operator=(const UserSymbolizer&) = delete;
  ~UserSymbolizer();

  // "func+0x1a (libc.so.6)", "[unknown] (nt_sleeper+0x1234)", or "0x7f…" when the process is gone;
  // without offset: "func (libc.so.6)", "[unknown] (nt_sleeper)".
  [[nodiscard]] std::string symbolize(pid_t pid, uint64_t addr, bool offset = true);
  // Function name only ("" when unknown).
  [[nodiscard]] std::string function(pid_t pid, uint64_t addr);
  // Forget cached mappings (processes exec, load libraries, exit); call once per report.
  void reset();
  // Reads pid's mappings now, so its stacks still symbolize after it exits (until the next reset()).
  void keep(pid_t pid) { (void)session(pid); }

 private:
  Dwfl* session(pid_t pid);
  std::map<pid_t, Dwfl*> cache_;  // nullptr: the process could not be read
};

// File offset of function `name` in an ELF file (.symtab, else .dynsym; versioned names match their base
// name), as a uprobe wants it; nullopt when the file has no such defined function.
[[nodiscard]] std::optional<uint64_t> elf_function_offset(const std::string& path, const std::string& name);

// Symbolizes addr in an ELF file mapped at its link-time addresses (for tests and ET_EXEC binaries).
[[nodiscard]] std::string symbolize_in_file(const std::string& path, uint64_t addr);

}  // namespace nettrace::tools::cpu
