// SPDX-License-Identifier: GPL-2.0
#include "nettrace/core/timefmt.hpp"

#include <fmt/format.h>
#include <time.h>

namespace nettrace::core {
namespace {
uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

uint64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
uint64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }

uint64_t mono_to_realtime(uint64_t mono_ns) {
  static const int64_t offset = static_cast<int64_t>(realtime_ns()) - static_cast<int64_t>(monotonic_ns());
  return static_cast<uint64_t>(static_cast<int64_t>(mono_ns) + offset);
}

std::string format_local(uint64_t ns, bool with_ms) {
  time_t secs = static_cast<time_t>(ns / 1000000000ULL);
  tm t{};
  localtime_r(&secs, &t);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &t);
  if (!with_ms) return buf;
  return fmt::format("{}.{:03}", buf, (ns / 1000000ULL) % 1000);
}

std::string format_iso8601(uint64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000ULL);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  return fmt::format("{}.{:06}Z", buf, (ns / 1000ULL) % 1000000);
}

}  // namespace nettrace::core
