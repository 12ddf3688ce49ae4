// SPDX-License-Identifier: GPL-2.0
// perf iface: interval arithmetic and rendering (docs/output.md, docs/tools/perf.md).

#include <fmt/format.h>

#include "tools/perf/iface.hpp"

namespace nettrace::tools::perf::iface {

namespace {

constexpr const char* kSizeNames[NT_IFACE_NSIZES] = {"0_64", "64_512", "512_2k", "2k_16k", "16k_64k"};
constexpr const char* kSizeHeads[NT_IFACE_NSIZES] = {"[0, 64)", "[64, 512)", "[512, 2K)", "[2K, 16K)", "[16K, 64K)"};

uint64_t sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

double rate(uint64_t n, double secs) { return secs > 0 ? static_cast<double>(n) / secs : 0.0; }

nlohmann::json queue_json(const QueueCounts& q, double secs) {
  nlohmann::json sizes;
  for (size_t i = 0; i < NT_IFACE_NSIZES; i++) sizes[kSizeNames[i]] = q.sizes[i];
  return {{"packets", q.packets},
          {"bytes", q.bytes},
          {"avg_size", q.packets ? static_cast<double>(q.bytes) / static_cast<double>(q.packets) : 0.0},
          {"sizes", sizes},
          {"bytes_per_s", rate(q.bytes, secs)},
          {"packets_per_s", rate(q.packets, secs)}};
}

nlohmann::json dir_json(const DirCounts& d, double secs) {
  auto arr = nlohmann::json::array();
  for (size_t i = 0; i < d.rows.size(); i++) {
    const bool overflow = i + 1 == d.rows.size();
    if (overflow && d.rows[i].packets == 0) continue;
    auto j = queue_json(d.rows[i], secs);
    if (overflow) j["queue"] = "overflow";
    else j["queue"] = i;
    arr.push_back(std::move(j));
  }
  return arr;
}

std::string row_text(const std::string& name, const QueueCounts& q, double secs, bool throughput) {
  std::string t = fmt::format(" {:<11}{:<11.2f}", name,
                              q.packets ? static_cast<double>(q.bytes) / static_cast<double>(q.packets) : 0.0);
  for (auto n : q.sizes) t += fmt::format("{:<11}", n);
  if (throughput) t += fmt::format("{:<11}{:<11}", human(rate(q.bytes, secs)), human(rate(q.packets, secs)));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t + "\n";
}

std::string dir_text(const char* title, const DirCounts& d, double secs, bool throughput) {
  std::string t = fmt::format("{}\n {:<11}{:<11}", title, "QueueID", "avg_size");
  for (auto* h : kSizeHeads) t += fmt::format("{:<11}", h);
  if (throughput) t += fmt::format("{:<11}{:<11}", "BPS", "PPS");
  while (!t.empty() && t.back() == ' ') t.pop_back();
  t += "\n";
  for (size_t i = 0; i < d.rows.size(); i++) {
    const bool overflow = i + 1 == d.rows.size();
    if (overflow && d.rows[i].packets == 0) continue;
    t += row_text(overflow ? "overflow" : std::to_string(i), d.rows[i], secs, throughput);
  }
  t += row_text("Total", d.total(), secs, throughput);
  return t;
}

}  // namespace

QueueCounts& QueueCounts::operator+=(const QueueCounts& o) {
  packets += o.packets;
  bytes += o.bytes;
  for (size_t i = 0; i < sizes.size(); i++) sizes[i] += o.sizes[i];
  return *this;
}

QueueCounts QueueCounts::minus(const QueueCounts& b) const {
  QueueCounts r;
  r.packets = sub(packets, b.packets);
  r.bytes = sub(bytes, b.bytes);
  for (size_t i = 0; i < sizes.size(); i++) r.sizes[i] = sub(sizes[i], b.sizes[i]);
  return r;
}

QueueCounts DirCounts::total() const {
  QueueCounts t;
  for (const auto& r : rows) t += r;
  return t;
}

Snapshot Snapshot::minus(const Snapshot& before) const {
  Snapshot out;
  auto one = [](const DirCounts& now, const DirCounts& prev) {
    DirCounts d;
    d.rows.resize(now.rows.size());
    for (size_t i = 0; i < now.rows.size(); i++)
      d.rows[i] = i < prev.rows.size() ? now.rows[i].minus(prev.rows[i]) : now.rows[i];
    return d;
  };
  out.rx = one(rx, before.rx);
  out.tx = one(tx, before.tx);
  return out;
}

QueueCounts sum_cpus(const nt_iface_queue* v, size_t ncpu) {
  QueueCounts q;
  for (size_t c = 0; c < ncpu; c++) {
    q.packets += v[c].packets;
    q.bytes += v[c].bytes;
    for (size_t i = 0; i < NT_IFACE_NSIZES; i++) q.sizes[i] += v[c].sizes[i];
  }
  return q;
}

std::string human(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.2f}K", v / 1e3);
  return fmt::format("{:.2f}", v);
}

output::Report report(const char* type, const Report& r) {
  const auto rx = r.counts.rx.total(), tx = r.counts.tx.total();
  output::Report out(type);
  out.heading(fmt::format("{}  ({:.2f} s)", r.interface, r.secs)).time(r.wall_ns);
  out.field(type == std::string("iface_summary") ? "duration_s" : "interval_s", r.secs)
      .field("interface", r.interface)
      .field("ifindex", r.ifindex)
      .field("rx_packets", rx.packets)
      .field("rx_bytes", rx.bytes)
      .field("tx_packets", tx.packets)
      .field("tx_bytes", tx.bytes)
      .field("rx_bytes_per_s", rate(rx.bytes, r.secs))
      .field("rx_packets_per_s", rate(rx.packets, r.secs))
      .field("tx_bytes_per_s", rate(tx.bytes, r.secs))
      .field("tx_packets_per_s", rate(tx.packets, r.secs))
      .field("rx_queues", dir_json(r.counts.rx, r.secs))
      .field("tx_queues", dir_json(r.counts.tx, r.secs));
  // netqtop's layout (its columns run together, left-aligned), kept as lines.
  std::string t = dir_text("TX", r.counts.tx, r.secs, r.throughput);
  t += "\n";
  t += dir_text("RX", r.counts.rx, r.secs, r.throughput);
  t += std::string(r.throughput ? 93 : 71, '-');
  out.line(t);
  return out;
}

}  // namespace nettrace::tools::perf::iface
