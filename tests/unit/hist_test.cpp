// SPDX-License-Identifier: GPL-2.0
// Histogram slots (nettrace/abi/hist.h, shared with BPF) and the host histograms built on them.

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "nettrace/abi/hist.h"
#include "nettrace/core/histogram.hpp"

namespace nettrace::core {
namespace {

TEST(Log2Slot, Boundaries) {
  EXPECT_EQ(nt_log2_slot(0), 0u);
  EXPECT_EQ(nt_log2_slot(1), 1u);
  EXPECT_EQ(nt_log2_slot(2), 2u);
  EXPECT_EQ(nt_log2_slot(3), 2u);
  EXPECT_EQ(nt_log2_slot(4), 3u);
  EXPECT_EQ(nt_log2_slot(5), 3u);
  EXPECT_EQ(nt_log2_slot(7), 3u);
  EXPECT_EQ(nt_log2_slot(8), 4u);
  for (uint32_t k = 1; k < 64; k++) {
    const uint64_t p = 1ULL << k;
    EXPECT_EQ(nt_log2_slot(p - 1), k) << "2^" << k << "-1";
    EXPECT_EQ(nt_log2_slot(p), k + 1) << "2^" << k;
    EXPECT_EQ(nt_log2_slot(p + 1), k + 1) << "2^" << k << "+1";
  }
  EXPECT_EQ(nt_log2_slot(UINT64_MAX), 64u);
  EXPECT_EQ(nt_log2_slot(UINT64_MAX), static_cast<uint32_t>(NT_LOG2_SLOTS - 1));
}

TEST(Log2Slot, MatchesBitWidth) {
  uint64_t v = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 1000; i++) {
    v ^= v << 13;
    v ^= v >> 7;
    v ^= v << 17;
    const uint64_t x = v >> (i % 64);
    const uint32_t width = x ? 64 - static_cast<uint32_t>(__builtin_clzll(x)) : 0;
    ASSERT_EQ(nt_log2_slot(x), width) << x;
  }
}

// Nearest-rank percentile of sorted values.
uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  if (p <= 0) return sorted.front();
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

template <class H>
void expect_percentiles_in_bucket(const H& h, std::vector<uint64_t> values, uint64_t (*low)(uint64_t),
                                  uint64_t (*high)(uint64_t)) {
  std::sort(values.begin(), values.end());
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0}) {
    const uint64_t exact = exact_percentile(values, p);
    const double lo = static_cast<double>(std::max(low(exact), values.front()));
    const double hi = static_cast<double>(std::min(high(exact), values.back()));
    const double got = h.percentile(p);
    EXPECT_GE(got, lo) << "p" << p << " exact " << exact;
    EXPECT_LE(got, hi) << "p" << p << " exact " << exact;
  }
}

uint64_t log2_low(uint64_t v) {
  const uint32_t s = nt_log2_slot(v);
  return s == 0 ? 0 : 1ULL << (s - 1);
}
uint64_t log2_high(uint64_t v) {
  const uint32_t s = nt_log2_slot(v);
  return s == 0 ? 0 : s >= 64 ? UINT64_MAX : (1ULL << s) - 1;
}

TEST(Log2Histogram, PercentilesWithinTheExactAnswersBucket) {
  Log2Histogram h;
  std::vector<uint64_t> v;
  for (uint64_t i = 1; i <= 1000; i++) v.push_back(i);
  for (auto x : v) h.add(x);
  EXPECT_EQ(h.count(), 1000u);
  expect_percentiles_in_bucket(h, v, log2_low, log2_high);
  EXPECT_DOUBLE_EQ(h.percentile(0), 1);
  EXPECT_DOUBLE_EQ(h.percentile(100), 1000);
  EXPECT_DOUBLE_EQ(h.percentile(-5), 1);     // clamped
  EXPECT_DOUBLE_EQ(h.percentile(250), 1000);  // clamped
}

TEST(Log2Histogram, SkewedDistribution) {
  Log2Histogram h;
  std::vector<uint64_t> v;
  for (int i = 0; i < 900; i++) v.push_back(3);
  for (int i = 0; i < 90; i++) v.push_back(1000);
  for (int i = 0; i < 10; i++) v.push_back(5000000);
  for (auto x : v) h.add(x);
  expect_percentiles_in_bucket(h, v, log2_low, log2_high);
  EXPECT_DOUBLE_EQ(h.percentile(50), 3);  // bucket [2,3] clipped by min 3
  EXPECT_DOUBLE_EQ(h.percentile(100), 5000000);
  EXPECT_EQ(h.min(), 3u);
  EXPECT_EQ(h.max(), 5000000u);
}

TEST(Log2Histogram, ZerosAndSingleValue) {
  Log2Histogram h;
  h.add(0, 5);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.percentile(50), 0);
  EXPECT_DOUBLE_EQ(h.mean(), 0);
  Log2Histogram one;
  one.add(777);
  for (double p : {0.0, 50.0, 99.0, 100.0}) EXPECT_DOUBLE_EQ(one.percentile(p), 777) << p;
  EXPECT_DOUBLE_EQ(one.mean(), 777);
}

TEST(Log2Histogram, EmptyHistogram) {
  Log2Histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_DOUBLE_EQ(h.percentile(50), 0);
  EXPECT_DOUBLE_EQ(h.mean(), 0);
  EXPECT_TRUE(h.buckets().empty());
  EXPECT_EQ(h.slots(), static_cast<size_t>(NT_LOG2_SLOTS));
}

TEST(Log2Histogram, MeanExactThenBucketMidpoints) {
  Log2Histogram h;
  for (uint64_t i = 1; i <= 1000; i++) h.add(i);
  EXPECT_DOUBLE_EQ(h.mean(), 500.5);
  // Counts from BPF only know their slot: the mean falls back to bucket midpoints.
  Log2Histogram k;
  k.add_slot(3, 2);  // [4, 7]
  k.add_slot(5, 2);  // [16, 31]
  EXPECT_DOUBLE_EQ(k.mean(), (5.5 * 2 + 23.5 * 2) / 4);
  EXPECT_EQ(k.min(), 4u);
  EXPECT_EQ(k.max(), 31u);
}

TEST(Log2Histogram, AddWithCount) {
  Log2Histogram h;
  h.add(10, 3);
  h.add(20);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.mean(), 12.5);
}

TEST(Log2Histogram, AddSlotClampsAndIgnoresZero) {
  Log2Histogram h;
  h.add_slot(200, 1);
  h.add_slot(2, 0);
  EXPECT_EQ(h.count(), 1u);
  auto b = h.buckets();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].low, 1ULL << 63);
  EXPECT_EQ(b[0].high, UINT64_MAX);
  EXPECT_EQ(h.min(), 1ULL << 63);
}

TEST(Log2Histogram, BucketsKeepEmptyOnesInside) {
  Log2Histogram h;
  h.add(1);
  h.add(100);  // slot 7: [64, 127]
  auto b = h.buckets();
  ASSERT_EQ(b.size(), 7u);  // slots 1..7
  EXPECT_EQ(b.front().low, 1u);
  EXPECT_EQ(b.front().high, 1u);
  EXPECT_EQ(b.front().count, 1u);
  EXPECT_EQ(b[1].low, 2u);
  EXPECT_EQ(b[1].high, 3u);
  EXPECT_EQ(b[1].count, 0u);
  EXPECT_EQ(b.back().low, 64u);
  EXPECT_EQ(b.back().high, 127u);
  EXPECT_EQ(b.back().count, 1u);
  for (size_t i = 1; i < b.size(); i++) EXPECT_EQ(b[i].low, b[i - 1].high + 1);
}

TEST(Log2Histogram, Clear) {
  Log2Histogram a;
  for (int i = 0; i < 10; i++) a.add(5);
  EXPECT_EQ(a.count(), 10u);
  a.clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(a.buckets().empty());
  EXPECT_DOUBLE_EQ(a.mean(), 0);
  a.add(9);
  EXPECT_EQ(a.min(), 9u);
  EXPECT_EQ(a.max(), 9u);
  EXPECT_DOUBLE_EQ(a.mean(), 9);
}

TEST(Log2Histogram, LargestValues) {
  Log2Histogram h;
  h.add(UINT64_MAX);
  h.add(1ULL << 63);
  EXPECT_EQ(h.buckets().size(), 1u);
  EXPECT_EQ(h.buckets()[0].count, 2u);
  EXPECT_DOUBLE_EQ(h.percentile(100), static_cast<double>(UINT64_MAX));
  EXPECT_DOUBLE_EQ(h.percentile(0), static_cast<double>(1ULL << 63));
}

uint64_t lin_low(uint64_t v) { return v < 110 ? 0 : v - v % 10; }
uint64_t lin_high(uint64_t v) { return v >= 290 ? UINT64_MAX : v < 100 ? 109 : v - v % 10 + 9; }

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(HistogramRender, Log2TableFitsIn80Columns) {
  Log2Histogram h;
  for (int i = 0; i < 100; i++) h.add(3);
  for (int i = 0; i < 50; i++) h.add(20);
  h.add(1000);
  const std::string out = h.render("usecs");
  auto ls = lines(out);
  ASSERT_EQ(ls.size(), 1u + h.buckets().size());
  EXPECT_NE(ls[0].find("usecs"), std::string::npos);
  EXPECT_NE(ls[0].find("count"), std::string::npos);
  EXPECT_NE(ls[0].find("distribution"), std::string::npos);
  size_t peak_stars = 0;
  for (size_t i = 0; i < ls.size(); i++) {
    EXPECT_LE(ls[i].size(), 80u) << "line " << i << ": '" << ls[i] << "'";
    if (i == 0) continue;
    EXPECT_NE(ls[i].find(" -> "), std::string::npos) << ls[i];
    const auto open = ls[i].find('|'), close = ls[i].rfind('|');
    ASSERT_NE(open, std::string::npos);
    ASSERT_GT(close, open);
    const size_t stars = static_cast<size_t>(std::count(ls[i].begin(), ls[i].end(), '*'));
    peak_stars = std::max(peak_stars, stars);
    EXPECT_LE(stars, close - open - 1);
  }
  // The peak bucket fills its bar; a bucket with half the count gets half of it.
  EXPECT_GE(peak_stars, 20u);
  auto row = [&](const std::string& range) {
    for (const auto& l : ls)
      if (l.find(range) != std::string::npos) return l;
    return std::string();
  };
  const auto r3 = row(" 2 -> 3 "), r20 = row(" 16 -> 31 ");
  ASSERT_FALSE(r3.empty()) << out;
  ASSERT_FALSE(r20.empty()) << out;
  EXPECT_NE(r3.find(" 100 "), std::string::npos) << r3;
  EXPECT_EQ(static_cast<size_t>(std::count(r3.begin(), r3.end(), '*')), peak_stars);
  EXPECT_EQ(static_cast<size_t>(std::count(r20.begin(), r20.end(), '*')), peak_stars / 2);
  // Columns line up: every bar opens at the same column.
  const auto col = ls[1].find('|');
  for (size_t i = 2; i < ls.size(); i++) EXPECT_EQ(ls[i].find('|'), col) << ls[i];
}

TEST(HistogramRender, HugeValuesAndCountsStillFit) {
  Log2Histogram h;
  h.add(UINT64_MAX, 123456789012ULL);
  h.add(1ULL << 40, 7);
  for (const auto& l : lines(h.render("nsecs"))) EXPECT_LE(l.size(), 80u) << "'" << l << "'";
}

TEST(HistogramRender, EmptyHasHeaderOnly) {
  Log2Histogram h;
  EXPECT_EQ(lines(h.render("usecs")).size(), 1u);
}

TEST(HistogramJson, Fields) {
  Log2Histogram h;
  for (uint64_t i = 1; i <= 100; i++) h.add(i);
  auto j = h.to_json();
  EXPECT_EQ(j["count"], 100);
  EXPECT_EQ(j["min"], 1);
  EXPECT_EQ(j["max"], 100);
  EXPECT_DOUBLE_EQ(j["avg"].get<double>(), 50.5);
  for (const char* k : {"p50", "p90", "p95", "p99"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_TRUE(j[k].is_number()) << k;
  }
  EXPECT_DOUBLE_EQ(j["p50"].get<double>(), h.percentile(50));
  EXPECT_DOUBLE_EQ(j["p99"].get<double>(), h.percentile(99));
  EXPECT_LE(j["p50"].get<double>(), j["p90"].get<double>());
  EXPECT_LE(j["p90"].get<double>(), j["p95"].get<double>());
  EXPECT_LE(j["p95"].get<double>(), j["p99"].get<double>());
  ASSERT_TRUE(j["buckets"].is_array());
  ASSERT_EQ(j["buckets"].size(), 7u);  // [1,1] … [64,127]
  EXPECT_EQ(j["buckets"][0]["low"], 1);
  EXPECT_EQ(j["buckets"][0]["high"], 1);
  EXPECT_EQ(j["buckets"][0]["count"], 1);
  EXPECT_EQ(j["buckets"][6]["low"], 64);
  EXPECT_EQ(j["buckets"][6]["high"], 127);
  EXPECT_EQ(j["buckets"][6]["count"], 37);
  uint64_t total = 0;
  for (const auto& b : j["buckets"]) total += b["count"].get<uint64_t>();
  EXPECT_EQ(total, 100u);
}

TEST(HistogramJson, EmptyHasNoStatistics) {
  Log2Histogram h;
  auto j = h.to_json();
  EXPECT_EQ(j["count"], 0);
  EXPECT_TRUE(j["buckets"].is_array());
  EXPECT_TRUE(j["buckets"].empty());
  for (const char* k : {"min", "max", "avg", "p50", "p99"}) EXPECT_FALSE(j.contains(k)) << k;
}

}  // namespace
}  // namespace nettrace::core
