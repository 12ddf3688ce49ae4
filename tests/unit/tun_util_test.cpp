// SPDX-License-Identifier: GPL-2.0
// nettrace tun: ring depth arithmetic, argument checks against a fake /sys/class/net, count histograms.

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "nettrace/abi/tun.h"
#include "nettrace/core/error.hpp"
#include "tools/tun/tun.hpp"

namespace fs = std::filesystem;
using namespace nettrace::tools::tun;

TEST(TunRingDepth, EmptyAndFullWhenIndicesMeet) {
  EXPECT_EQ(nt_tun_ring_depth(7, 7, 500, 0), 0u);
  EXPECT_EQ(nt_tun_ring_depth(7, 7, 500, 1), 500u);
  EXPECT_EQ(nt_tun_ring_depth(0, 0, 1, 1), 1u);
}

TEST(TunRingDepth, WrapsAround) {
  EXPECT_EQ(nt_tun_ring_depth(10, 3, 500, 0), 7u);    // producer ahead
  EXPECT_EQ(nt_tun_ring_depth(3, 10, 500, 0), 493u);  // producer wrapped: 490 to the end, 3 from the start
  EXPECT_EQ(nt_tun_ring_depth(0, 499, 500, 0), 1u);
  EXPECT_EQ(nt_tun_ring_depth(499, 0, 500, 0), 499u);
}

TEST(TunRingDepth, OutOfRangeIsZero) {
  EXPECT_EQ(nt_tun_ring_depth(500, 0, 500, 1), 0u);
  EXPECT_EQ(nt_tun_ring_depth(0, 500, 500, 1), 0u);
  EXPECT_EQ(nt_tun_ring_depth(0, 0, 0, 1), 0u);
}

TEST(TunRingDepth, NeverExceedsSize) {
  for (uint32_t size : {1u, 2u, 3u, 256u, 500u})
    for (uint32_t p = 0; p < size; p++)
      for (uint32_t c = 0; c < size; c++)
        for (int busy : {0, 1}) ASSERT_LE(nt_tun_ring_depth(p, c, size, busy), size);
}

class TunArgs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / fs::path("nt-tun-test-" + std::to_string(getpid()));
    fs::create_directories(root_ / "tap0" / "queues" / "tx-0");
    fs::create_directories(root_ / "tap0" / "queues" / "tx-1");
    fs::create_directories(root_ / "tap0" / "queues" / "rx-0");
    std::ofstream(root_ / "tap0" / "tun_flags") << "0x5002\n";
    fs::create_directories(root_ / "lo" / "queues" / "tx-0");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(TunArgs, QueueCountFromSysfs) {
  EXPECT_EQ(tx_queue_count((root_ / "tap0").string()), 2);
  EXPECT_EQ(tx_queue_count((root_ / "none").string()), std::nullopt);
  EXPECT_TRUE(sysfs_is_tun((root_ / "tap0").string()));
  EXPECT_FALSE(sysfs_is_tun((root_ / "lo").string()));
}

TEST_F(TunArgs, Checks) {
  const std::string net = root_.string();
  EXPECT_NO_THROW(check_ring_args({"tap0"}, -1, net));
  EXPECT_NO_THROW(check_ring_args({"tap0"}, 1, net));
  EXPECT_NO_THROW(check_ring_args({}, 7, net));
  auto msg = [&](std::vector<std::string> names, int q) {
    try {
      check_ring_args(names, q, net);
    } catch (const nettrace::Error& e) {
      EXPECT_EQ(e.exit_code(), nettrace::kExitUsage);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg({"lo"}, -1).find("'lo' is not a tun/tap"), std::string::npos);
  EXPECT_NE(msg({"nosuch0"}, -1).find("'nosuch0' does not exist"), std::string::npos);
  EXPECT_NE(msg({"tap0"}, 2).find("--queue 2: 'tap0' has 2 transmit queues (0-1)"), std::string::npos);
  EXPECT_NE(msg({"../tap0"}, -1).find("does not exist"), std::string::npos);
}

TEST(TunArgsSplit, Lists) {
  EXPECT_EQ(split_names("a,b,a", "-I"), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW((void)split_names("a,,b", "-I"), nettrace::Error);
  EXPECT_THROW((void)split_names("a,", "-I"), nettrace::Error);
}

TEST(TunHist, CountsNotDurations) {
  nt_hist h{};
  for (uint64_t v : {0, 1, 3, 3, 500}) nt_hist_add(&h, v);
  const auto text = count_hist_text(h);
  EXPECT_NE(text.find("depth"), std::string::npos);
  EXPECT_EQ(text.find("usecs"), std::string::npos);
  EXPECT_NE(text.find("256 -> 511"), std::string::npos);
  const auto j = count_hist_json(h);
  EXPECT_EQ(j["count"], 5);
  EXPECT_EQ(j["max"], 500);
  EXPECT_EQ(j["buckets"].size(), 4u);  // 0, 1, 2-3, 256-511
  EXPECT_EQ(used_pct(250, 500), "50.0%");
  EXPECT_EQ(used_pct(1, 0), "0.0%");
}
