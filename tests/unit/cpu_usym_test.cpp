// SPDX-License-Identifier: GPL-2.0
// User-space symbolization (elfutils libdwfl) against this test binary's own, known symbols.
#include <dlfcn.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tools/cpu/usym.hpp"

extern "C" __attribute__((noinline, used)) int nt_usym_known_function(int x) {
  asm volatile("" ::: "memory");
  return x * 3 + 1;
}

namespace {

using nettrace::tools::cpu::elf_function_offset;
using nettrace::tools::cpu::symbolize_in_file;
using nettrace::tools::cpu::UserSymbolizer;

uint64_t addr_of_known(uint64_t offset) {
  return reinterpret_cast<uint64_t>(&nt_usym_known_function) + offset;
}

TEST(UserSymbolizer, LiveProcessFunctionAndOffset) {
  UserSymbolizer s;
  EXPECT_EQ(s.function(getpid(), addr_of_known(0)), "nt_usym_known_function");
  const std::string full = s.symbolize(getpid(), addr_of_known(4));
  EXPECT_EQ(full.rfind("nt_usym_known_function+0x4 (", 0), 0u) << full;
  EXPECT_NE(full.find("nettrace_unit_tests"), std::string::npos) << full;
}

TEST(UserSymbolizer, LibcSymbol) {
  UserSymbolizer s;
  const std::string f = s.function(getpid(), reinterpret_cast<uint64_t>(dlsym(RTLD_DEFAULT, "getpid")));
  EXPECT_NE(f.find("getpid"), std::string::npos) << f;
}

TEST(UserSymbolizer, GoneProcessFallsBackToAddress) {
  UserSymbolizer s;
  EXPECT_EQ(s.symbolize(4194304, 0x1234), "0x1234 [pid 4194304 gone]");
  EXPECT_EQ(s.function(4194304, 0x1234), "");
}

TEST(UserSymbolizer, FileAtLinkTimeAddresses) {
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&nt_usym_known_function), &info), 0);
  const uint64_t link_addr = addr_of_known(0) - reinterpret_cast<uint64_t>(info.dli_fbase);
  EXPECT_EQ(symbolize_in_file("/proc/self/exe", link_addr), "nt_usym_known_function");
}

// The file offset the kernel maps at addr in this process (from /proc/self/maps), as a uprobe wants it.
uint64_t file_offset_of(uint64_t addr) {
  std::ifstream f("/proc/self/maps");
  std::string line;
  while (std::getline(f, line)) {
    uint64_t lo = 0, hi = 0, off = 0;
    if (sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64, &lo, &hi, &off) == 3 && addr >= lo && addr < hi)
      return addr - lo + off;
  }
  return 0;
}

TEST(ElfFunctionOffset, MatchesTheMappedFileOffset) {
  auto off = elf_function_offset("/proc/self/exe", "nt_usym_known_function");
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(*off, file_offset_of(addr_of_known(0)));
  // A stripped shared library: .dynsym, versioned names (getpid@@GLIBC_2.2.5).
  void* getpid_addr = dlsym(RTLD_DEFAULT, "getpid");
  Dl_info info{};
  ASSERT_NE(dladdr(getpid_addr, &info), 0);
  auto loff = elf_function_offset(info.dli_fname, "getpid");
  ASSERT_TRUE(loff.has_value());
  EXPECT_EQ(*loff, file_offset_of(reinterpret_cast<uint64_t>(getpid_addr)));
  EXPECT_FALSE(elf_function_offset("/proc/self/exe", "no_such_function_here").has_value());
  EXPECT_FALSE(elf_function_offset("/nonexistent", "getpid").has_value());
}

}  // namespace
