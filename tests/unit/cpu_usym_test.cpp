// SPDX-License-Identifier: GPL-2.0
// User-space symbolization (elfutils libdwfl) against this test binary's own, known symbols.
#include <dlfcn.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tools/cpu/usym.hpp"

extern "C" __attribute__((noinline, used)) int nt_usym_known_function(int x) {
  asm volatile("" ::: "memory");
  return x * 3 + 1;
}

namespace {

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

}  // namespace
