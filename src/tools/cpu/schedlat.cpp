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
      const uint64_t wall = core::mono_to_realtime(e.ts_ns);
      if (out_.json()) out_.record(event_json(e, "schedlat_wakeup"), true);
      else
        out_.text(fmt::format("{} [{}] pid={} latency={:.1f}us waker={}({}) waker_cpu={} target_cpu={} run_cpu={}{}\n",
                              core::format_local(wall), comm_str(e.comm), e.pid, e.latency_ns / 1e3,
                              comm_str(e.waker_comm), e.waker_pid, e.waker_cpu, e.target_cpu, e.run_cpu,
                              e.preempted ? " (preempted)" : ""),
                  true);
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

  void header() {
    if (out_.json()) return;
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

  nlohmann::json row_json(const Row& r) const {
    const core::Histogram h(r.val.hist);
    nlohmann::json j{{"comm", comm_str(r.key.comm)},
                     {"count", h.count()},
                     {"total_ns", h.sum()},
                     {"avg_ns", h.count() ? h.sum() / h.count() : 0},
                     {"preempted", r.val.preempted},
                     {"p50_us", h.percentile(50) / 1e3},
                     {"p99_us", h.percentile(99) / 1e3},
                     {"hist", h.to_json()}};
    if (o_.per_thread) {
      j["pid"] = r.key.tgid;
      j["tid"] = r.key.tid;
    }
    if (r.max_exact) j["max_ns"] = h.max();
    else j["max_ns_le"] = h.max();
    return j;
  }

  std::string table(const std::vector<Row>& rs, bool hist) const {
    std::string t = o_.per_thread ? fmt::format("{:<16} {:>7} {:>7} ", "COMM", "PID", "TID") : fmt::format("{:<16} ", "COMM");
    t += fmt::format("{:>8} {:>10} {:>9} {:>9} {:>11} {:>8}\n", "WAITS", "AVG(us)", "P99(us)", "MAX(us)",
                     "TOTAL(ms)", "PREEMPT");
    for (const auto& r : rs) {
      const core::Histogram h(r.val.hist);
      t += o_.per_thread ? fmt::format("{:<16} {:>7} {:>7} ", comm_str(r.key.comm), r.key.tgid, r.key.tid)
                         : fmt::format("{:<16} ", comm_str(r.key.comm));
      const std::string mx = r.max_exact ? fmt::format("{:.1f}", h.max() / 1e3)
                                         : fmt::format("<{:.0f}", std::ceil(static_cast<double>(h.max() + 1) / 1e3));
      t += fmt::format("{:>8} {:>10.1f} {:>9.0f} {:>9} {:>11.3f} {:>8}\n", h.count(), h.mean() / 1e3,
                       h.percentile(99) / 1e3, mx, h.sum() / 1e6, r.val.preempted);
      if (hist) t += fmt::format("\n{}\n", h.render());
    }
    return t;
  }

  std::string worst_text(const std::vector<nt_schedlat_event>& w) const {
    if (w.empty()) return fmt::format("No wakeup waited {}us or more.\n", o_.threshold_us);
    std::string t = fmt::format("Worst waits (>= {}us):\n", o_.threshold_us);
    t += fmt::format("  {:>10} {:<16} {:>7} {:<22} {:>6} {:>6} {:>6}\n", "LAT(us)", "COMM", "TID", "WAKER(TID)",
                     "W_CPU", "T_CPU", "R_CPU");
    for (const auto& e : w)
      t += fmt::format("  {:>10.1f} {:<16} {:>7} {:<22} {:>6} {:>6} {:>6}\n", e.latency_ns / 1e3, comm_str(e.comm),
                       e.pid, e.preempted ? std::string("(preempted)") : fmt::format("{}({})", comm_str(e.waker_comm), e.waker_pid),
                       e.waker_cpu, e.target_cpu, e.run_cpu);
    return t;
  }

  // waits, start_map_full, negative and the session's housekeeping (probe_misses: tracepoint hits the
  // kernel skipped because one of these programs was already running on that CPU, a wakeup from an
  // interrupt that arrived inside it: each can be a wait not counted).
  static nlohmann::json counters_json(const Counters& c, const core::Housekeeping& hk) {
    nlohmann::json j{{"waits", c[NT_CPU_EVENTS]}, {"start_map_full", c[NT_CPU_START_FULL]}, {"negative", c[NT_CPU_NEGATIVE]}};
    hk.add_to(j);
    return j;
  }

  nlohmann::json groups_json(const std::vector<Row>& rs, const std::vector<nt_schedlat_event>& worst) const {
    nlohmann::json j;
    auto groups = nlohmann::json::array();
    for (const auto& r : rs) groups.push_back(row_json(r));
    j["groups"] = groups;
    auto w = nlohmann::json::array();
    for (const auto& e : worst) w.push_back(event_json(e));
    j["worst"] = w;
    return j;
  }

  void on_interval(const core::Interval& iv) override {
    auto rs = rows(false);
    const Counters d = deltas_.next(read_counters(counters_fd_));
    const double secs = iv.seconds;
    if (out_.json()) {
      nlohmann::json j{{"type", "schedlat_interval"}, {"time", core::format_iso8601(core::realtime_ns())}, {"interval_s", secs}};
      j.update(counters_json(d, iv.delta));
      j.update(groups_json(rs, worst_));
      out_.record(j);
    } else {
      std::string t = fmt::format("[{}] === Run-queue latency (interval {:.1f}s): {} waits ===\n",
                                  core::format_local(core::realtime_ns(), false), secs, d[NT_CPU_EVENTS]);
      if (rs.empty()) t += "No matching task waited for a CPU.\n";
      else t += table(rs, o_.hist);
      t += worst_text(worst_);
      if (iv.delta.lost_events) t += fmt::format("Slow-wait events lost (ring buffer full): {}\n", iv.delta.lost_events);
      if (iv.delta.probe_misses) t += fmt::format("Scheduler events missed (program busy on that CPU): {}\n", iv.delta.probe_misses);
      out_.text(t + "\n");
    }
    worst_.clear();
  }

  void on_end(const core::Summary& sum) override {
    auto rs = rows(true);
    Counters c = read_counters(counters_fd_);
    if (out_.json()) {
      nlohmann::json j{{"type", "schedlat_summary"}, {"slow_waits", slow_}};
      j.update(counters_json(c, sum.totals));
      add_summary(j, sum, true);
      j.update(groups_json(rs, all_worst_));
      out_.record(j);
      return;
    }
    std::string t = fmt::format("=== Run-queue latency summary ({:.1f}s): {} waits, {} at or above {}us ===\n", sum.seconds,
                                c[NT_CPU_EVENTS], slow_, o_.threshold_us);
    if (rs.empty()) t += "No matching task waited for a CPU.\n";
    else t += table(rs, true);
    t += worst_text(all_worst_);
    t += sum.totals.text();
    if (c[NT_CPU_START_FULL]) t += fmt::format("Wakeups not tracked (start map full): {}\n", c[NT_CPU_START_FULL]);
    out_.text(t);
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
