// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace perf iface (iface_netstat): per-queue RX/TX packets, bytes and size buckets of one interface.
// The aggregation and rendering here are free of libbpf (unit-tested).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nettrace/output/report.hpp"

#include "nettrace/abi/iface.h"

namespace nettrace::tools::perf::iface {

struct QueueCounts {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  std::array<uint64_t, NT_IFACE_NSIZES> sizes{};
  QueueCounts& operator+=(const QueueCounts& o);
  [[nodiscard]] QueueCounts minus(const QueueCounts& before) const;  // saturating per field
};

// Counts of one direction: rows 0..n-1 are queues, the last row collects queue indices >= n.
struct DirCounts {
  std::vector<QueueCounts> rows;
  [[nodiscard]] QueueCounts total() const;
};

struct Snapshot {
  DirCounts rx, tx;
  [[nodiscard]] Snapshot minus(const Snapshot& before) const;
};

// Sums per-CPU map values into rows (values: ncpu entries per row, rows in map order).
[[nodiscard]] QueueCounts sum_cpus(const nt_iface_queue* per_cpu, size_t ncpu);

struct Report {
  std::string interface;
  uint32_t ifindex = 0;
  double secs = 0;         // length of the window the counts cover
  uint64_t wall_ns = 0;    // CLOCK_REALTIME at the end of the window
  bool throughput = false; // text: BPS/PPS columns (JSON always has them)
  Snapshot counts;
};

// One interval (type "iface_interval") or the whole run (type "iface_summary"); text: netqtop's layout, a TX
// and an RX table of queues with avg size and size buckets, and a total row.
[[nodiscard]] output::Report report(const char* type, const Report& r);
// 1234567 -> "1.23M", as netqtop prints rates.
[[nodiscard]] std::string human(double v);

}  // namespace nettrace::tools::perf::iface
