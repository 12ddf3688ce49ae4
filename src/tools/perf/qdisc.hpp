// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace perf qdisc (qdisc_latency_details): sojourn of packets in a device's root qdisc.
// Aggregation and rendering here are free of libbpf (unit-tested).

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "nettrace/abi/qdisc.h"

namespace nettrace::tools::perf::qdisc {

using Counters = std::array<uint64_t, NT_QDISC_NCOUNTERS>;

// Sojourn statistics of finished packets over some window.
struct Stats {
  uint64_t count = 0;
  uint64_t sum_ns = 0;
  std::array<uint64_t, NT_LOG2_SLOTS> hist{};  // log2 slots of microseconds
  uint64_t min_ns = 0;                          // 0: none
  uint64_t max_ns = 0;
  // Counts and histogram as deltas; min/max are taken from this (the kernel resets them per window).
  [[nodiscard]] Stats minus(const Stats& before) const;
};

[[nodiscard]] Stats sum_cpus(const nt_qdisc_stats* stats, const nt_qdisc_extrema* extrema, size_t ncpu);
[[nodiscard]] Counters minus(const Counters& now, const Counters& before);

struct Window {
  const char* type;  // "qdisc_latency_interval" or "qdisc_latency_summary"
  double secs = 0;
  uint64_t wall_ns = 0;
  Stats stats;
  Counters counters{};
  std::optional<uint64_t> in_flight;        // summary: starts still recorded at exit
  std::optional<uint64_t> events_received;  // summary
};

// Without the housekeeping fields (lost_events, map_full, …): the session adds them.
[[nodiscard]] nlohmann::json window_json(const Window& w);
// housekeeping: the session's lines (lost events, …), written after the counters.
[[nodiscard]] std::string window_text(const Window& w, const std::string& housekeeping = {});

// "10:0" as tc shows a qdisc handle (major:minor, hex).
[[nodiscard]] std::string handle_string(uint32_t handle);
// One packet at or above the threshold.
[[nodiscard]] nlohmann::json event_json(const nt_qdisc_event& e, uint64_t wall_ns);
[[nodiscard]] std::string event_text(const nt_qdisc_event& e, uint64_t wall_ns);

}  // namespace nettrace::tools::perf::qdisc
