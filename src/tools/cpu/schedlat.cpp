// SPDX-License-Identifier: GPL-2.0
// nettrace cpu schedlat: run-queue latency per name or thread, per interval, with the worst wakeups.
// Replaces sched_latency_monitor.sh (perf sched), vhost_wakeup_latency.py and
// ksoftirqd_sched_latency_summary.py. See docs/tools/cpu.md.

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "tools/cpu/cpu.hpp"
#include "tools/cpu/cpu_bpf.hpp"
#include "tools/cpu/cpu_hooks.hpp"
// The skeleton names ABI structs, so it comes after them.
#include "cpu_schedlat.skel.h"

namespace nettrace::tools::cpu {
namespace {

using Snapshot = std::map<nt_schedlat_key, nt_schedlat_val, bpf::MemLess<nt_schedlat_key>>;

struct Row {
  nt_schedlat_key key;
  nt_schedlat_val val;  // delta (interval) or cumulative (summary)
  bool max_exact;       // val.hist.max is exact (else an upper bound from the histogram)
};

class Schedlat final : public core::SessionTool {
 public:
  explicit Schedlat(const SchedlatOptions& o) : o_(o), s_("cpu schedlat", o.common), out_(s_.out()) {}

  int run() {
    auto skel = bpf::Skeleton<cpu_schedlat_bpf>::open("cpu schedlat", bpf::CoreBtf::Minimal);
    configure_filter(skel.get(), o_.filter);
    skel->rodata->cfg_per_thread = o_.per_thread;
    skel->rodata->cfg_event_ns = static_cast<uint64_t>(o_.threshold_us * 1000);
    for (auto& h : schedlat_hooks()) s_.plan().add(h);
    s_.load(skel);
    fill_filter_maps(skel.get(), o_.filter);
    s_.attach();
    s_.add_ring_buffer(bpf_map__fd(skel->maps.events), [this](const void* data, size_t size) {
      if (size >= sizeof(nt_schedlat_event)) handle(*static_cast<const nt_schedlat_event*>(data));
    });
    hists_fd_ = bpf_map__fd(skel->maps.hists);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters(counter_slots(counters_fd_));
    header();
    return s_.run(*this);
  }

 private:
  void handle(const nt_schedlat_event& e) {
    slow_++;
    if (o_.verbose) {
      // Slow wakeups only (>= the threshold): a record per event is affordable.
      output::Report r("schedlat_wakeup");
      const nlohmann::json ej = event_json(e);  // items() refers to it: not a temporary
      for (const auto& [k, v] : ej.items()) r.field(k, v);
      r.time(core::mono_to_realtime(e.ts_ns))
          .heading(fmt::format("[{}] pid={} latency={:.1f}us waker={}({}) waker_cpu={} target_cpu={} run_cpu={}{}",
                               comm_str(e.comm), e.pid, e.latency_ns / 1e3, comm_str(e.waker_comm), e.waker_pid,
                               e.waker_cpu, e.target_cpu, e.run_cpu, e.preempted ? " (preempted)" : ""));
      out_.emit(r, true);
    }
    keep_worst(worst_, e);
    keep_worst(all_worst_, e);
  }

  void keep_worst(std::vector<nt_schedlat_event>& w, const nt_schedlat_event& e) const {
    w.push_back(e);
    std::sort(w.begin(), w.end(), [](auto& a, auto& b) { return a.latency_ns > b.latency_ns; });
    if (w.size() > static_cast<size_t>(o_.top)) w.resize(static_cast<size_t>(o_.top));
  }

  nlohmann::json event_json(const nt_schedlat_event& e, const char* type = nullptr) const {
    nlohmann::json j{{"time", core::format_iso8601(core::mono_to_realtime(e.ts_ns))},
                     {"comm", comm_str(e.comm)},
                     {"pid", e.tgid},
                     {"tid", e.pid},
                     {"latency_ns", e.latency_ns},
                     {"waker_comm", comm_str(e.waker_comm)},
                     {"waker_pid", e.waker_tgid},
                     {"waker_tid", e.waker_pid},
                     {"waker_cpu", e.waker_cpu},
                     {"target_cpu", e.target_cpu},
                     {"run_cpu", e.run_cpu},
                     {"preempted", e.preempted != 0}};
    if (type) j["type"] = type;
    return j;
  }

  void header() {  // text only
    std::string what = o_.filter.comm.empty() ? "all tasks" : fmt::format("tasks named '{}*'", o_.filter.comm);
    if (!o_.filter.tgids.empty()) what += fmt::format(", pid {}", fmt::join(o_.filter.tgids, ","));
    if (!o_.filter.tids.empty()) what += fmt::format(", tid {}", fmt::join(o_.filter.tids, ","));
    if (!o_.filter.cpus.empty()) what += fmt::format(", run on CPU {}", fmt::join(o_.filter.cpus, ","));
    out_.text(fmt::format("Tracing run-queue latency (wakeup/preemption to run) of {}; slow >= {}us. Ctrl-C to end.\n\n",
                          what, o_.threshold_us));
  }

  std::vector<Row> rows(bool cumulative) {
    Snapshot now;
    for (auto& [k, v] : bpf::dump_map<nt_schedlat_key, nt_schedlat_val>(hists_fd_)) now[k] = v;
    std::vector<Row> out;
    for (const auto& [k, v] : now) {
      Row r{k, v, true};
      if (!cumulative) {
        if (auto it = prev_.find(k); it != prev_.end()) {
          const auto& p = it->second;
          r.val.hist = core::Histogram(v.hist).minus(core::Histogram(p.hist)).raw();
          r.val.preempted -= p.preempted;
          r.max_exact = v.hist.max != p.hist.max;  // it grew during this interval
        }
      }
      if (r.val.hist.count) out.push_back(r);
    }
    if (!cumulative) prev_ = std::move(now);
    std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) { return a.val.hist.sum > b.val.hist.sum; });
    return out;
  }

  // The groups and the worst wakeups, one table each: the same record in text and JSON.
  void add_groups(output::Report& r, const std::vector<Row>& rs, bool hist) const {
    std::vector<output::Column> cols{{"comm", "COMM", 16, true}};
    if (o_.per_thread) cols.insert(cols.end(), {{"pid", "PID", 7}, {"tid", "TID", 7}});
    cols.insert(cols.end(), {{"count", "WAITS", 8},
                             {"", "AVG(us)", 10, false, "{:.1f}", 1e3},
                             {"p99_us", "P99(us)", 9, false, "{:.0f}"},
                             {"", "MAX(us)", 9},
                             {"total_ns", "TOTAL(ms)", 11, false, "{:.3f}", 1e6},
                             {"preempted", "PREEMPT", 8},
                             {"p50_us", "", 0}});
    auto& t = r.table("groups", std::move(cols)).empty_text("No matching task waited for a CPU.");
    for (const auto& row : rs) {
      const core::Histogram h(row.val.hist);
      auto& tr = t.row().cell(comm_str(row.key.comm));
      if (o_.per_thread) tr.cell(row.key.tgid).cell(row.key.tid);
      // Not exact: the histogram's bound, "<N" in text and max_ns_le in JSON.
      const std::string mx = row.max_exact ? fmt::format("{:.1f}", h.max() / 1e3)
                                           : fmt::format("<{:.0f}", std::ceil(static_cast<double>(h.max() + 1) / 1e3));
      tr.cell(h.count()).cell(h.mean()).cell(h.percentile(99) / 1e3).cell(nullptr, mx).cell(h.sum())
          .cell(row.val.preempted).cell(h.percentile(50) / 1e3)
          .json("avg_ns", h.count() ? h.sum() / h.count() : 0)
          .json(row.max_exact ? "max_ns" : "max_ns_le", h.max())
          .hist("hist", h, hist);
    }
    auto& w = r.table("worst", {{"latency_ns", "LAT(us)", 10, false, "{:.1f}", 1e3},
                                {"comm", "COMM", 16, true},
                                {"tid", "TID", 7},
                                {"", "WAKER(TID)", 22, true},
                                {"waker_cpu", "W_CPU", 6},
                                {"target_cpu", "T_CPU", 6},
                                {"run_cpu", "R_CPU", 6}})
                  .title(fmt::format("Worst waits (>= {}us):", o_.threshold_us))
                  .empty_text(fmt::format("No wakeup waited {}us or more.", o_.threshold_us))
                  .indent(2);
    for (const auto& e : r.type() == "schedlat_summary" ? all_worst_ : worst_) {
      auto& wr = w.row().cell(e.latency_ns).cell(comm_str(e.comm)).cell(e.pid);
      wr.cell(nullptr, e.preempted ? std::string("(preempted)") : fmt::format("{}({})", comm_str(e.waker_comm), e.waker_pid));
      wr.cell(e.waker_cpu).cell(e.target_cpu).cell(e.run_cpu);
      const nlohmann::json ej = event_json(e);  // items() refers to it: not a temporary
      for (const auto& [k, v] : ej.items()) wr.json(k, v);
    }
  }

  // waits, start_map_full, negative and the session's housekeeping (probe_misses: tracepoint hits the
  // kernel skipped because one of these programs was already running on that CPU, a wakeup from an
  // interrupt that arrived inside it: each can be a wait not counted).
  static void add_counters(output::Report& r, const Counters& c) {
    r.field("waits", c[NT_CPU_EVENTS]).field("start_map_full", c[NT_CPU_START_FULL]).field("negative", c[NT_CPU_NEGATIVE]);
  }

  void on_interval(const core::Interval& iv) override {
    auto rs = rows(false);
    const Counters d = deltas_.next(read_counters(counters_fd_));
    output::Report r("schedlat_interval");
    r.heading(fmt::format("=== Run-queue latency (interval {:.1f}s): {} waits ===", iv.seconds, d[NT_CPU_EVENTS]))
        .time(core::realtime_ns());
    add_counters(r, d);
    add_groups(r, rs, o_.hist);
    r.interval(iv).line("");
    out_.emit(r);
    worst_.clear();
  }

  void on_end(const core::Summary& sum) override {
    auto rs = rows(true);
    Counters c = read_counters(counters_fd_);
    output::Report r("schedlat_summary");
    r.heading(fmt::format("=== Run-queue latency summary ({:.1f}s): {} waits, {} at or above {}us ===", sum.seconds,
                          c[NT_CPU_EVENTS], slow_, o_.threshold_us))
        .time(core::realtime_ns())
        .field("slow_waits", slow_);
    add_counters(r, c);
    add_groups(r, rs, true);
    r.summary(sum, true);
    if (c[NT_CPU_START_FULL]) r.line(fmt::format("Wakeups not tracked (start map full): {}", c[NT_CPU_START_FULL]));
    out_.emit(r);
  }

  const SchedlatOptions& o_;
  core::Session s_;
  output::Output& out_;
  int hists_fd_ = -1, counters_fd_ = -1;
  uint64_t slow_ = 0;
  Snapshot prev_;
  CounterDeltas deltas_;
  std::vector<nt_schedlat_event> worst_, all_worst_;
};

}  // namespace

int run_schedlat(const SchedlatOptions& o) { return Schedlat(o).run(); }

}  // namespace nettrace::tools::cpu
