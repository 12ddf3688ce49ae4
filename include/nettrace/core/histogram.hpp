// SPDX-License-Identifier: GPL-2.0
#pragma once
// Host-side histograms. Bucket indices come from nettrace/abi/hist.h, the same code the BPF side runs,
// so a histogram filled in the kernel and one filled here agree bucket for bucket.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nettrace::core {

struct Bucket {
  uint64_t low;   // inclusive
  uint64_t high;  // inclusive
  uint64_t count;
};

class Histogram {
 public:
  virtual ~Histogram() = default;
  void add(uint64_t value, uint64_t n = 1);
  void add_slot(uint32_t slot, uint64_t n);
  void clear();
  [[nodiscard]] uint64_t count() const;
  [[nodiscard]] bool empty() const { return count() == 0; }
  // Percentile p in [0, 100], interpolated linearly inside the bucket that holds it.
  // Exact to within the width of that bucket.
  [[nodiscard]] double percentile(double p) const;
  // Mean of the bucket midpoints unless exact values were added with add().
  [[nodiscard]] double mean() const;
  [[nodiscard]] uint64_t min() const { return min_; }
  [[nodiscard]] uint64_t max() const { return max_; }
  [[nodiscard]] std::vector<Bucket> buckets() const;  // non-empty range, empty buckets inside kept
  // bcc-style table: "     low -> high       : count    |****   |".
  [[nodiscard]] std::string render(const std::string& unit) const;
  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] size_t slots() const { return counts_.size(); }

 protected:
  explicit Histogram(size_t nslots) : counts_(nslots, 0) {}
  [[nodiscard]] virtual uint32_t slot_of(uint64_t v) const = 0;
  [[nodiscard]] virtual uint64_t slot_low(uint32_t s) const = 0;
  [[nodiscard]] virtual uint64_t slot_high(uint32_t s) const = 0;

 private:
  std::vector<uint64_t> counts_;
  long double exact_sum_ = 0;  // wide: sums of large values must not wrap
  uint64_t exact_n_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// Power-of-two buckets: slot 0 is 0, slot k holds [2^(k-1), 2^k).
class Log2Histogram : public Histogram {
 public:
  Log2Histogram();

 protected:
  [[nodiscard]] uint32_t slot_of(uint64_t v) const override;
  [[nodiscard]] uint64_t slot_low(uint32_t s) const override;
  [[nodiscard]] uint64_t slot_high(uint32_t s) const override;
};

}  // namespace nettrace::core
