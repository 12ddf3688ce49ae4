// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace perf qdisc (qdisc_latency_details): sojourn of packets in a device's root qdisc.
// Aggregation and rendering here are free of libbpf (unit-tested).

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "nettrace/output/report.hpp"

#include "nettrace/abi/qdisc.h"
#include "nettrace/core/histogram.hpp"

namespace nettrace::tools::perf::qdisc {

using Counters = std::array<uint64_t, NT_QDISC_NCOUNTERS>;

// Sojourn statistics of finished packets over some window.
struct Stats {
  core::Histogram hist;
  uint64_t min_ns = 0;  // exact extremes of the window (the kernel resets them per window); 0: none
  uint64_t max_ns = 0;
  // The histogram as a delta; min/max are taken from this.
  [[nodiscard]] Stats minus(const Stats& before) const;
};

// stats: the per-CPU histograms; extrema: the per-CPU extremes of the window.
[[nodiscard]] Stats sum_cpus(const nt_hist* stats, const nt_qdisc_extrema* extrema, size_t ncpu);
[[nodiscard]] Counters minus(const Counters& now, const Counters& before);

struct Window {
  const char* type;  // "qdisc_latency_interval" or "qdisc_latency_summary"
  double secs = 0;
  uint64_t wall_ns = 0;
  Stats stats;
  Counters counters{};
  std::optional<uint64_t> in_flight;        // summary: starts still recorded at exit
};

// The window's record, without the session's counters (lost_events, …, events_received): the tool adds them
// with Report::interval / Report::summary.
[[nodiscard]] output::Report window_report(const Window& w);

// "10:0" as tc shows a qdisc handle (major:minor, hex).
[[nodiscard]] std::string handle_string(uint32_t handle);
// One packet at or above the threshold.
[[nodiscard]] nlohmann::json event_json(const nt_qdisc_event& e, uint64_t wall_ns);
[[nodiscard]] std::string event_text(const nt_qdisc_event& e, uint64_t wall_ns);

}  // namespace nettrace::tools::perf::qdisc
