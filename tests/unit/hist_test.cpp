// SPDX-License-Identifier: GPL-2.0
// The histogram layout (nettrace/abi/hist.h, shared with BPF) and core::Histogram built on it.

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
  // nt_hist's slot: the last one collects the rest.
  EXPECT_EQ(nt_hist_slot(UINT64_MAX), static_cast<uint32_t>(NT_HIST_SLOTS - 1));
  EXPECT_EQ(nt_hist_slot((1ULL << (NT_HIST_SLOTS - 1)) - 1), static_cast<uint32_t>(NT_HIST_SLOTS - 1));
  EXPECT_EQ(nt_hist_slot((1ULL << (NT_HIST_SLOTS - 2)) - 1), static_cast<uint32_t>(NT_HIST_SLOTS - 2));
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
  const uint32_t s = nt_hist_slot(v);
  return s == 0 ? 0 : 1ULL << (s - 1);
}
uint64_t log2_high(uint64_t v) {
  const uint32_t s = nt_hist_slot(v);
  return s == 0 ? 0 : s >= NT_HIST_SLOTS - 1 ? UINT64_MAX : (1ULL << s) - 1;
}

// What a BPF program leaves in a map value: nt_hist_add() over the values.
nt_hist kernel_hist(std::initializer_list<uint64_t> values) {
  nt_hist h{};
  for (auto v : values) nt_hist_add(&h, v);
  return h;
}

TEST(NtHistAdd, CountSumExtremesSlots) {
  nt_hist h = kernel_hist({0, 1500, 700, 3});
  EXPECT_EQ(h.count, 4u);
  EXPECT_EQ(h.sum, 2203u);
  EXPECT_EQ(h.min, 0u);
  EXPECT_EQ(h.max, 1500u);
  EXPECT_EQ(h.slots[0], 1u);
  EXPECT_EQ(h.slots[nt_log2_slot(3)], 1u);
  EXPECT_EQ(h.slots[nt_log2_slot(700)], 1u);
  EXPECT_EQ(h.slots[nt_log2_slot(1500)], 1u);
  nt_hist k = kernel_hist({9, 4});  // min 0 is "none yet" until the first value
  EXPECT_EQ(k.min, 4u);
  k = kernel_hist({0, 9, 4});  // … or a real 0, counted in slot 0
  EXPECT_EQ(k.min, 0u);
  EXPECT_EQ(k.max, 9u);
}

TEST(Histogram, PercentilesWithinTheExactAnswersBucket) {
  Histogram h;
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

TEST(Histogram, SkewedDistribution) {
  Histogram h;
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

TEST(Histogram, ZerosAndSingleValue) {
  Histogram h;
  for (int i = 0; i < 5; i++) h.add(0);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.percentile(50), 0);
  EXPECT_DOUBLE_EQ(h.mean(), 0);
  Histogram one;
  one.add(777);
  for (double p : {0.0, 50.0, 99.0, 100.0}) EXPECT_DOUBLE_EQ(one.percentile(p), 777) << p;
  EXPECT_DOUBLE_EQ(one.mean(), 777);
}

TEST(Histogram, EmptyHistogram) {
  Histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_DOUBLE_EQ(h.percentile(50), 0);
  EXPECT_DOUBLE_EQ(h.mean(), 0);
  EXPECT_TRUE(h.buckets().empty());
}

TEST(Histogram, MeanIsExact) {
  Histogram h;
  for (uint64_t i = 1; i <= 1000; i++) h.add(i);
  EXPECT_DOUBLE_EQ(h.mean(), 500.5);
  EXPECT_EQ(h.sum(), 500500u);
}

// Per-CPU values merge as they are: the same histogram as one filled with all values.
TEST(Histogram, MergesPerCpuValues) {
  Histogram h;
  h.add(kernel_hist({1000, 2000}));
  h.add(nt_hist{});  // a CPU with nothing
  h.add(kernel_hist({3000, 100000}));
  Histogram all;
  for (uint64_t v : {1000ULL, 2000ULL, 3000ULL, 100000ULL}) all.add(v);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000u);
  EXPECT_DOUBLE_EQ(h.mean(), 26500);
  EXPECT_EQ(h.to_json(), all.to_json());
  Histogram z;
  z.add(kernel_hist({0, 5}));  // a 0 is a minimum, though min == 0 also means "none yet"
  z.add(kernel_hist({7}));
  EXPECT_EQ(z.min(), 0u);
}

TEST(Histogram, IntervalDelta) {
  Histogram before;
  before.add(kernel_hist({1000, 2000, 3000, 100000}));
  Histogram now = before;
  now.add(kernel_hist({1500, 2500}));
  auto d = now.minus(before);
  EXPECT_EQ(d.count(), 2u);
  EXPECT_EQ(d.sum(), 4000u);
  // Neither extreme changed: the interval's are its buckets' bounds, kept inside the run's.
  EXPECT_EQ(d.min(), 1024u);
  EXPECT_EQ(d.max(), 4095u);
  EXPECT_GE(d.percentile(0), 1024);
  EXPECT_LE(d.percentile(100), 4095);
  // An extreme that changed in the interval is exact.
  Histogram later = now;
  later.add(kernel_hist({500, 200000}));
  d = later.minus(now);
  EXPECT_EQ(d.min(), 500u);
  EXPECT_EQ(d.max(), 200000u);
  // Nothing new: empty, and the first read is the whole histogram.
  EXPECT_TRUE(now.minus(now).empty());
  EXPECT_EQ(now.minus(Histogram{}).to_json(), now.to_json());
}

TEST(Histogram, BucketsKeepEmptyOnesInside) {
  Histogram h;
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

TEST(Histogram, LargestValuesShareTheLastSlot) {
  Histogram h;
  h.add(UINT64_MAX);
  h.add(1ULL << 63);
  h.add(1ULL << (NT_HIST_SLOTS - 2));
  ASSERT_EQ(h.buckets().size(), 1u);
  EXPECT_EQ(h.buckets()[0].low, 1ULL << (NT_HIST_SLOTS - 2));
  EXPECT_EQ(h.buckets()[0].high, UINT64_MAX);
  EXPECT_EQ(h.buckets()[0].count, 3u);
  EXPECT_DOUBLE_EQ(h.percentile(100), static_cast<double>(UINT64_MAX));
  EXPECT_DOUBLE_EQ(h.percentile(0), static_cast<double>(1ULL << (NT_HIST_SLOTS - 2)));
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(HistogramRender, BccTableFitsIn80Columns) {
  Histogram h;
  for (int i = 0; i < 100; i++) h.add(3);
  for (int i = 0; i < 50; i++) h.add(20);
  h.add(1000);
  const std::string out = h.render();
  auto ls = lines(out);
  ASSERT_EQ(ls.size(), 1u + h.buckets().size());
  EXPECT_NE(ls[0].find("nsecs"), std::string::npos);
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

// The unit is the largest one the smallest bucket reaches; bounds are rounded to it.
TEST(HistogramRender, UnitByMagnitude) {
  Histogram us;
  us.add(1500);     // [1024, 2047] ns
  us.add(3000000);  // [2097152, 4194303] ns
  auto ls = lines(us.render());
  EXPECT_NE(ls[0].find("usecs"), std::string::npos) << ls[0];
  EXPECT_NE(ls[1].find(" 1 -> 2 "), std::string::npos) << ls[1];
  EXPECT_NE(ls.back().find(" 2097 -> 4194 "), std::string::npos) << ls.back();
  Histogram ms;
  ms.add(20000000);  // [16777216, 33554431] ns
  ls = lines(ms.render());
  EXPECT_NE(ls[0].find("msecs"), std::string::npos) << ls[0];
  EXPECT_NE(ls[1].find(" 17 -> 34 "), std::string::npos) << ls[1];
  Histogram s;
  s.add(3000000000ULL);
  EXPECT_NE(lines(s.render())[0].find("secs"), std::string::npos);
  EXPECT_EQ(lines(s.render())[0].find("msecs"), std::string::npos);
  Histogram ns;
  ns.add(0);
  ns.add(5000000);
  EXPECT_NE(lines(ns.render())[0].find("nsecs"), std::string::npos);
}

TEST(HistogramRender, HugeValuesAndCountsStillFit) {
  nt_hist raw{};
  raw.count = 123456789019ULL;
  raw.slots[NT_HIST_SLOTS - 1] = 123456789012ULL;
  raw.slots[41] = 7;
  raw.min = 1ULL << 40;
  raw.max = UINT64_MAX;
  for (const auto& l : lines(Histogram(raw).render())) EXPECT_LE(l.size(), 80u) << "'" << l << "'";
  Histogram wide;  // nanoseconds up to the last slot
  wide.add(0);
  wide.add(UINT64_MAX);
  for (const auto& l : lines(wide.render())) EXPECT_LE(l.size(), 80u) << "'" << l << "'";
}

TEST(HistogramRender, EmptyHasHeaderOnly) {
  Histogram h;
  EXPECT_EQ(lines(h.render()).size(), 1u);
}

TEST(HistogramJson, Fields) {
  Histogram h;
  for (uint64_t i = 1; i <= 100; i++) h.add(i * 1000);  // 1 .. 100 us
  auto j = h.to_json();
  EXPECT_EQ(j["count"], 100);
  EXPECT_DOUBLE_EQ(j["min_us"].get<double>(), 1);
  EXPECT_DOUBLE_EQ(j["max_us"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(j["avg_us"].get<double>(), 50.5);
  for (const char* k : {"p50_us", "p90_us", "p95_us", "p99_us"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_TRUE(j[k].is_number()) << k;
  }
  EXPECT_DOUBLE_EQ(j["p50_us"].get<double>(), h.percentile(50) / 1e3);
  EXPECT_DOUBLE_EQ(j["p99_us"].get<double>(), h.percentile(99) / 1e3);
  EXPECT_LE(j["p50_us"].get<double>(), j["p90_us"].get<double>());
  EXPECT_LE(j["p90_us"].get<double>(), j["p95_us"].get<double>());
  EXPECT_LE(j["p95_us"].get<double>(), j["p99_us"].get<double>());
  ASSERT_TRUE(j["buckets"].is_array());
  ASSERT_EQ(j["buckets"].size(), 8u);  // [512,1023] … [65536,131071] ns
  EXPECT_EQ(j["buckets"][0]["low_ns"], 512);
  EXPECT_EQ(j["buckets"][0]["high_ns"], 1023);
  EXPECT_EQ(j["buckets"][0]["count"], 1);
  EXPECT_EQ(j["buckets"][7]["low_ns"], 65536);
  EXPECT_EQ(j["buckets"][7]["high_ns"], 131071);
  EXPECT_EQ(j["buckets"][7]["count"], 35);
  uint64_t total = 0;
  for (const auto& b : j["buckets"]) total += b["count"].get<uint64_t>();
  EXPECT_EQ(total, 100u);
}

TEST(HistogramJson, OnlyNonEmptyBuckets) {
  Histogram h;
  h.add(1);
  h.add(100);
  EXPECT_EQ(h.to_json()["buckets"].size(), 2u);
}

TEST(HistogramJson, EmptyHasNoStatistics) {
  Histogram h;
  auto j = h.to_json();
  EXPECT_EQ(j["count"], 0);
  EXPECT_TRUE(j["buckets"].is_array());
  EXPECT_TRUE(j["buckets"].empty());
  for (const char* k : {"min_us", "max_us", "avg_us", "p50_us", "p99_us"}) EXPECT_FALSE(j.contains(k)) << k;
}

}  // namespace
}  // namespace nettrace::core
