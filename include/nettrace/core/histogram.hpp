// SPDX-License-Identifier: GPL-2.0
#pragma once
// The host side of the one histogram layout (struct nt_hist, nettrace/abi/hist.h): values the kernel filled are
// merged as they are, and a value added here goes through the same nt_hist_add() the BPF programs run, so both
// agree bucket for bucket. One text style (bcc's table) and one JSON shape for every tool.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nettrace/abi/hist.h"

namespace nettrace::core {

struct Bucket {
  uint64_t low;   // inclusive, nanoseconds
  uint64_t high;  // inclusive
  uint64_t count;
};

// Log2 histogram of durations in nanoseconds.
class Histogram {
 public:
  Histogram() = default;
  explicit Histogram(const nt_hist& h) { add(h); }

  void add(uint64_t ns);
  void add(const nt_hist& h);  // merge: one CPU's value of a per-CPU map, or another histogram
  // The interval since `earlier`, a previous read of the same cumulative histogram. min/max are exact when they
  // changed in the interval, else the bounds of the interval's buckets kept inside the cumulative extremes.
  [[nodiscard]] Histogram minus(const Histogram& earlier) const;
  [[nodiscard]] const nt_hist& raw() const { return h_; }

  [[nodiscard]] uint64_t count() const { return h_.count; }
  [[nodiscard]] bool empty() const { return h_.count == 0; }
  [[nodiscard]] uint64_t sum() const { return h_.sum; }
  [[nodiscard]] uint64_t min() const { return h_.min; }
  [[nodiscard]] uint64_t max() const { return h_.max; }
  [[nodiscard]] double mean() const;  // exact
  // Percentile p in [0, 100], interpolated linearly inside the bucket that holds it and kept inside
  // [min, max]: exact to within the width of that bucket.
  [[nodiscard]] double percentile(double p) const;
  [[nodiscard]] std::vector<Bucket> buckets() const;  // non-empty range, empty buckets inside kept
  // bcc's table ("     usecs : count | distribution |"), the unit (nsecs, usecs, msecs, secs) chosen by the
  // smallest bucket; an empty histogram is the header alone.
  [[nodiscard]] std::string render() const;
  // {count, min_us, avg_us, p50_us, p90_us, p95_us, p99_us, max_us, buckets: [{low_ns, high_ns, count}]};
  // the statistics only when count > 0, the buckets only the non-empty ones.
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  nt_hist h_{};
};

}  // namespace nettrace::core
