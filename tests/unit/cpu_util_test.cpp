// SPDX-License-Identifier: GPL-2.0
// CPU lists, id lists, stack folding and /proc/stat parsing of the cpu tools.
#include <gtest/gtest.h>

#include "nettrace/core/error.hpp"
#include "tools/cpu/cpu_util.hpp"

using namespace nettrace::tools::cpu;

TEST(CpuList, ParsesListsAndRanges) {
  EXPECT_EQ(parse_cpu_list("0-3,5,7-8", 16), (std::vector<int>{0, 1, 2, 3, 5, 7, 8}));
  EXPECT_EQ(parse_cpu_list("3,1,1-2", 4), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(parse_cpu_list("0", 1), (std::vector<int>{0}));
}

TEST(CpuList, RejectsBadInputWithUsageErrorNamingTheValue) {
  for (const char* bad : {"", "a", "1-", "-1", "3-1", "1,,2", "0-4", "8", "1.5", "0x1"}) {
    try {
      (void)parse_cpu_list(bad, 4, "--cpus");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const nettrace::Error& e) {
      EXPECT_EQ(e.exit_code(), nettrace::kExitUsage);
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("--cpus"), std::string::npos);
    }
  }
}

TEST(IdList, ParsesAndRejects) {
  EXPECT_EQ(parse_id_list("12,34", "--pid"), (std::vector<uint32_t>{12, 34}));
  EXPECT_THROW((void)parse_id_list("12,x", "--pid"), nettrace::Error);
  EXPECT_THROW((void)parse_id_list("0", "--pid"), nettrace::Error);
  EXPECT_THROW((void)parse_id_list("", "--pid"), nettrace::Error);
}

TEST(FoldStack, OutermostFirstWithOptionalDelimiter) {
  std::vector<std::string> user = {"nanosleep", "nt_sleeper_sleep", "main"};  // innermost first
  std::vector<std::string> kern = {"schedule", "do_nanosleep", "__x64_sys_clock_nanosleep"};
  EXPECT_EQ(fold_stack("app", user, kern, false),
            "app;main;nt_sleeper_sleep;nanosleep;__x64_sys_clock_nanosleep;do_nanosleep;schedule");
  EXPECT_EQ(fold_stack("app", user, kern, true),
            "app;main;nt_sleeper_sleep;nanosleep;-;__x64_sys_clock_nanosleep;do_nanosleep;schedule");
  EXPECT_EQ(fold_stack("my app;x", {}, {"f g"}, true), "my_app_x;f_g");
}

TEST(ProcStat, ParsesCpuLinesAndShares) {
  const char* a = "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0 0 0\nintr 1\n";
  const char* b = "cpu  110 0 20 90 0 0 0 0 0 0\ncpu0 5 0 5 140 0 0 0 0 0 0\ncpu1 105 0 15 40 0 0 0 0 0 0\nintr 1\n";
  auto sa = parse_proc_stat(a), sb = parse_proc_stat(b);
  ASSERT_EQ(sa.size(), 3u);
  EXPECT_EQ(sa[0].cpu, -1);
  EXPECT_EQ(sa[2].cpu, 1);
  auto u1 = usage_between(sa[2], sb[2]);
  EXPECT_DOUBLE_EQ(u1.user, 100.0 * 100 / 110);
  EXPECT_DOUBLE_EQ(u1.system, 100.0 * 10 / 110);
  EXPECT_DOUBLE_EQ(u1.busy, 100.0);
  auto u0 = usage_between(sa[1], sb[1]);
  EXPECT_DOUBLE_EQ(u0.idle, 100.0);
  EXPECT_DOUBLE_EQ(u0.busy, 0.0);
}
