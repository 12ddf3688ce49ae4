// SPDX-License-Identifier: GPL-2.0
#include "nettrace/core/histogram.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "nettrace/abi/hist.h"

namespace nettrace::core {

void Histogram::add(uint64_t value, uint64_t n) {
  counts_[slot_of(value)] += n;
  exact_sum_ += static_cast<long double>(value) * static_cast<long double>(n);
  exact_n_ += n;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::add_slot(uint32_t slot, uint64_t n) {
  if (n == 0) return;
  slot = std::min<uint32_t>(slot, static_cast<uint32_t>(counts_.size() - 1));
  counts_[slot] += n;
  min_ = std::min(min_, slot_low(slot));
  max_ = std::max(max_, slot_high(slot));
}

void Histogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  exact_sum_ = exact_n_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (auto c : counts_) n += c;
  return n;
}

double Histogram::percentile(double p) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  const double rank = p / 100.0 * static_cast<double>(total);
  uint64_t seen = 0;
  for (uint32_t s = 0; s < counts_.size(); s++) {
    if (counts_[s] == 0) continue;
    if (static_cast<double>(seen + counts_[s]) >= rank) {
      double lo = static_cast<double>(std::max(slot_low(s), min_));
      double hi = static_cast<double>(std::min(slot_high(s), max_));
      if (hi < lo) hi = lo;
      double frac = (rank - static_cast<double>(seen)) / static_cast<double>(counts_[s]);
      return lo + (hi - lo) * std::clamp(frac, 0.0, 1.0);
    }
    seen += counts_[s];
  }
  return static_cast<double>(max_);
}

double Histogram::mean() const {
  if (exact_n_ > 0 && exact_n_ == count()) return static_cast<double>(exact_sum_ / static_cast<long double>(exact_n_));
  const uint64_t total = count();
  if (total == 0) return 0;
  double sum = 0;
  for (uint32_t s = 0; s < counts_.size(); s++)
    sum += static_cast<double>(counts_[s]) * (static_cast<double>(slot_low(s)) + static_cast<double>(slot_high(s))) / 2;
  return sum / static_cast<double>(total);
}

std::vector<Bucket> Histogram::buckets() const {
  std::vector<Bucket> out;
  size_t first = counts_.size(), last = 0;
  for (size_t s = 0; s < counts_.size(); s++) {
    if (counts_[s] == 0) continue;
    first = std::min(first, s);
    last = s;
  }
  if (first == counts_.size()) return out;
  for (size_t s = first; s <= last; s++) {
    auto slot = static_cast<uint32_t>(s);
    out.push_back({slot_low(slot), slot_high(slot), counts_[s]});
  }
  return out;
}

std::string Histogram::render(const std::string& unit) const {
  auto bs = buckets();
  uint64_t peak = 0, top = 0;
  for (const auto& b : bs) {
    peak = std::max(peak, b.count);
    top = std::max(top, b.high);
  }
  // Columns as wide as the largest value and count; the bar takes what is left of 80 columns (10 to 40).
  const size_t vw = std::max<size_t>(10, fmt::formatted_size("{}", top));
  const size_t cw = std::max<size_t>(8, fmt::formatted_size("{}", peak));
  const size_t fixed = 2 * vw + cw + 9;  // "low -> high: count |" and the closing "|"
  const size_t bar = std::clamp<size_t>(fixed < 80 ? 80 - fixed : 0, 10, 40);
  std::string out = fmt::format("{:>{}} {:<{}}: {:<{}} {}\n", unit, vw, "", vw + 3, "count", cw, "distribution");
  for (const auto& b : bs) {
    const size_t stars = peak ? static_cast<size_t>(static_cast<double>(b.count) / static_cast<double>(peak) * bar) : 0;
    out += fmt::format("{:>{}} -> {:<{}}: {:<{}} |{:<{}}|\n", b.low, vw, b.high, vw, b.count, cw, std::string(stars, '*'),
                       bar);
  }
  return out;
}

nlohmann::json Histogram::to_json() const {
  nlohmann::json j;
  j["count"] = count();
  auto arr = nlohmann::json::array();
  for (const auto& b : buckets()) arr.push_back({{"low", b.low}, {"high", b.high}, {"count", b.count}});
  j["buckets"] = arr;
  if (!empty()) {
    j["min"] = min_;
    j["max"] = max_;
    j["avg"] = mean();
    j["p50"] = percentile(50);
    j["p90"] = percentile(90);
    j["p95"] = percentile(95);
    j["p99"] = percentile(99);
  }
  return j;
}

Log2Histogram::Log2Histogram() : Histogram(NT_LOG2_SLOTS) {}
uint32_t Log2Histogram::slot_of(uint64_t v) const { return nt_log2_slot(v); }
uint64_t Log2Histogram::slot_low(uint32_t s) const { return s == 0 ? 0 : 1ULL << (s - 1); }
uint64_t Log2Histogram::slot_high(uint32_t s) const {
  if (s == 0) return 0;
  if (s >= 64) return UINT64_MAX;
  return (1ULL << s) - 1;
}

}  // namespace nettrace::core
