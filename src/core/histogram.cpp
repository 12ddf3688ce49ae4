// SPDX-License-Identifier: GPL-2.0
#include "nettrace/core/histogram.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

namespace nettrace::core {
namespace {

uint64_t slot_low(size_t s) { return s == 0 ? 0 : 1ULL << (s - 1); }
uint64_t slot_high(size_t s) {
  if (s == 0) return 0;
  if (s >= NT_HIST_SLOTS - 1) return UINT64_MAX;  // the last slot collects the rest
  return (1ULL << s) - 1;
}

}  // namespace

void Histogram::add(uint64_t ns) { nt_hist_add(&h_, ns); }

void Histogram::add(const nt_hist& h) {
  if (!h.count) return;
  if (!h_.count || h.min < h_.min) h_.min = h.min;
  h_.max = std::max(h_.max, h.max);
  h_.count += h.count;
  h_.sum += h.sum;
  for (size_t s = 0; s < NT_HIST_SLOTS; s++) h_.slots[s] += h.slots[s];
}

Histogram Histogram::minus(const Histogram& earlier) const {
  const nt_hist& e = earlier.h_;
  Histogram r;
  nt_hist& d = r.h_;
  d.count = h_.count - std::min(h_.count, e.count);
  d.sum = h_.sum - std::min(h_.sum, e.sum);
  size_t lo = NT_HIST_SLOTS, hi = 0;
  for (size_t s = 0; s < NT_HIST_SLOTS; s++) {
    d.slots[s] = h_.slots[s] - std::min(h_.slots[s], e.slots[s]);
    if (!d.slots[s]) continue;
    lo = std::min(lo, s);
    hi = s;
  }
  if (lo == NT_HIST_SLOTS) {
    d.count = d.sum = 0;
    return r;
  }
  d.min = e.count && h_.min == e.min ? std::max<uint64_t>(slot_low(lo), h_.min) : h_.min;
  d.max = h_.max == e.max ? std::min<uint64_t>(slot_high(hi), h_.max) : h_.max;
  return r;
}

double Histogram::mean() const { return h_.count ? static_cast<double>(h_.sum) / static_cast<double>(h_.count) : 0; }

double Histogram::percentile(double p) const {
  if (!h_.count) return 0;
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(h_.count);
  uint64_t seen = 0;
  for (size_t s = 0; s < NT_HIST_SLOTS; s++) {
    const uint64_t n = h_.slots[s];
    if (!n) continue;
    if (static_cast<double>(seen + n) >= rank) {
      const double lo = static_cast<double>(std::max<uint64_t>(slot_low(s), h_.min));
      const double hi = std::max(lo, static_cast<double>(std::min<uint64_t>(slot_high(s), h_.max)));
      const double frac = (rank - static_cast<double>(seen)) / static_cast<double>(n);
      return lo + (hi - lo) * std::clamp(frac, 0.0, 1.0);
    }
    seen += n;
  }
  return static_cast<double>(h_.max);
}

std::vector<Bucket> Histogram::buckets() const {
  std::vector<Bucket> out;
  size_t first = NT_HIST_SLOTS, last = 0;
  for (size_t s = 0; s < NT_HIST_SLOTS; s++) {
    if (!h_.slots[s]) continue;
    first = std::min(first, s);
    last = s;
  }
  for (size_t s = first; s <= last && first < NT_HIST_SLOTS; s++) out.push_back({slot_low(s), slot_high(s), h_.slots[s]});
  return out;
}

std::string Histogram::render() const {
  const auto bs = buckets();
  // The largest unit that the smallest bucket's lower bound still reaches: bounds read as "1 -> 2 usecs", not
  // "1024 -> 2047 nsecs", and never round a whole bucket down to zero.
  struct Unit {
    const char* name;
    double ns;
  };
  static constexpr std::array<Unit, 4> units{{{"secs", 1e9}, {"msecs", 1e6}, {"usecs", 1e3}, {"nsecs", 1}}};
  Unit unit = units.back();
  if (!bs.empty())
    for (const auto& u : units)
      if (static_cast<double>(bs.front().low) >= u.ns) {
        unit = u;
        break;
      }
  auto shown = [&](uint64_t ns) { return static_cast<uint64_t>(std::llround(static_cast<double>(ns) / unit.ns)); };
  uint64_t peak = 0, top = 0;
  for (const auto& b : bs) {
    peak = std::max(peak, b.count);
    top = std::max(top, shown(b.high));
  }
  // Columns as wide as the largest value and count; the bar takes what is left of 80 columns (10 to 40).
  const size_t vw = std::max<size_t>(10, fmt::formatted_size("{}", top));
  const size_t cw = std::max<size_t>(8, fmt::formatted_size("{}", peak));
  const size_t fixed = 2 * vw + cw + 9;  // "low -> high: count |" and the closing "|"
  const size_t bar = std::clamp<size_t>(fixed < 80 ? 80 - fixed : 0, 10, 40);
  std::string out = fmt::format("{:>{}} {:<{}}: {:<{}} {}\n", unit.name, vw, "", vw + 3, "count", cw, "distribution");
  for (const auto& b : bs) {
    const auto stars = static_cast<size_t>(static_cast<double>(b.count) / static_cast<double>(peak) * bar);
    out += fmt::format("{:>{}} -> {:<{}}: {:<{}} |{:<{}}|\n", shown(b.low), vw, shown(b.high), vw, b.count, cw,
                       std::string(stars, '*'), bar);
  }
  return out;
}

nlohmann::json Histogram::to_json() const {
  nlohmann::json j{{"count", h_.count}};
  if (!empty()) {
    j["min_us"] = static_cast<double>(h_.min) / 1e3;
    j["avg_us"] = mean() / 1e3;
    j["p50_us"] = percentile(50) / 1e3;
    j["p90_us"] = percentile(90) / 1e3;
    j["p95_us"] = percentile(95) / 1e3;
    j["p99_us"] = percentile(99) / 1e3;
    j["max_us"] = static_cast<double>(h_.max) / 1e3;
  }
  auto arr = nlohmann::json::array();
  for (size_t s = 0; s < NT_HIST_SLOTS; s++)
    if (h_.slots[s]) arr.push_back({{"low_ns", slot_low(s)}, {"high_ns", slot_high(s)}, {"count", h_.slots[s]}});
  j["buckets"] = arr;
  return j;
}

}  // namespace nettrace::core
