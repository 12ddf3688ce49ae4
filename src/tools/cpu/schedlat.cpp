// SPDX-License-Identifier: GPL-2.0
// nettrace cpu schedlat: run-queue latency per name or thread, per interval, with the worst wakeups.
// Replaces sched_latency_monitor.sh (perf sched), vhost_wakeup_latency.py and
// ksoftirqd_sched_latency_summary.py. See docs/tools/cpu.md.

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/signals.hpp"
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

using Snapshot = std::map<nt_schedlat_key, nt_schedlat_val, MemLess<nt_schedlat_key>>;

struct Row {
  nt_schedlat_key key;
  nt_schedlat_val val;  // delta (interval) or cumulative (summary)
  bool max_exact;       // val.max_ns is exact (else an upper bound from the histogram)
};

class Schedlat {
 public:
  explicit Schedlat(const SchedlatOptions& o) : o_(o), out_(o.common.json) {}

  int run() {
    auto forced = cli::apply_common(o_.common);
    core::install_stop_handlers();
    auto skel = bpf::Skeleton<cpu_schedlat_bpf>::open("cpu schedlat", bpf::CoreBtf::Minimal);
    configure_filter(skel.get(), o_.filter);
    skel->rodata->cfg_per_thread = o_.per_thread;
    skel->rodata->cfg_event_ns = static_cast<uint64_t>(o_.threshold_us * 1000);
    bpf::ProbePlan plan;
    for (auto& h : schedlat_hooks()) plan.add(h);
    if (forced) plan.force(*forced);
    bpf::Features features;
    plan.choose(skel->obj, features);
    skel.load("cpu schedlat");
    fill_filter_maps(skel.get(), o_.filter);
    auto links = plan.attach(skel->obj);
    bpf::RingBuffer rb(bpf_map__fd(skel->maps.events), &Schedlat::on_event, this);
    hists_fd_ = bpf_map__fd(skel->maps.hists);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    obj_ = skel->obj;
    start_ns_ = last_ns_ = core::monotonic_ns();
    spdlog::info("attached: {}", plan.describe());
    cli::signal_ready(o_.common);
    header();
    loop(rb);
    rb.consume();
    finish();
    obj_ = nullptr;
    return 0;
  }

 private:
  static int on_event(void* ctx, void* data, size_t size) noexcept {
    if (size < sizeof(nt_schedlat_event)) return 0;
    auto* self = static_cast<Schedlat*>(ctx);
    try {
      self->handle(*static_cast<const nt_schedlat_event*>(data));
    } catch (...) {
    }
    return 0;
  }

  void handle(const nt_schedlat_event& e) {
    slow_++;
    if (o_.verbose) {
      const uint64_t wall = core::mono_to_realtime(e.ts_ns);
      if (out_.json()) out_.record(event_json(e, "schedlat_wakeup"));
      else
        out_.text(fmt::format("{} [{}] pid={} latency={:.1f}us waker={}({}) waker_cpu={} target_cpu={} run_cpu={}{}\n",
                              core::format_local(wall), comm_str(e.comm), e.pid, e.latency_ns / 1e3,
                              comm_str(e.waker_comm), e.waker_pid, e.waker_cpu, e.target_cpu, e.run_cpu,
                              e.preempted ? " (preempted)" : ""));
    }
    worst_.push_back(e);
    std::sort(worst_.begin(), worst_.end(), [](auto& a, auto& b) { return a.latency_ns > b.latency_ns; });
    if (worst_.size() > static_cast<size_t>(o_.top)) worst_.resize(static_cast<size_t>(o_.top));
    all_worst_.push_back(e);
    std::sort(all_worst_.begin(), all_worst_.end(), [](auto& a, auto& b) { return a.latency_ns > b.latency_ns; });
    if (all_worst_.size() > static_cast<size_t>(o_.top)) all_worst_.resize(static_cast<size_t>(o_.top));
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

  void loop(bpf::RingBuffer& rb) {
    cli::RunClock clock(o_.common, start_ns_);
    while (!core::stop_requested()) {
      int n = rb.poll(100);
      if (n < 0) throw failure(fmt::format("ring buffer poll failed: {}", strerror(-n)));
      const uint64_t now = core::monotonic_ns();
      if (clock.expired(now)) break;
      if (clock.report_due(now)) {
        rb.consume();
        report(now, false);
      }
    }
  }

  std::vector<Row> rows(bool cumulative) {
    Snapshot now;
    for (auto& [k, v] : dump_map<nt_schedlat_key, nt_schedlat_val>(hists_fd_)) now[k] = v;
    std::vector<Row> out;
    for (const auto& [k, v] : now) {
      Row r{k, v, true};
      if (!cumulative) {
        if (auto it = prev_.find(k); it != prev_.end()) {
          const auto& p = it->second;
          r.val.count -= p.count;
          r.val.total_ns -= p.total_ns;
          r.val.preempted -= p.preempted;
          for (int s = 0; s < NT_CPU_HIST_SLOTS; s++) r.val.slots[s] -= p.slots[s];
          r.max_exact = v.max_ns != p.max_ns;  // it grew during this interval
        }
      }
      if (r.val.count) out.push_back(r);
    }
    if (!cumulative) prev_ = std::move(now);
    std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) { return a.val.total_ns > b.val.total_ns; });
    return out;
  }

  static core::Log2Histogram hist_of(const nt_schedlat_val& v) {
    core::Log2Histogram h;
    for (uint32_t s = 0; s < NT_CPU_HIST_SLOTS; s++) h.add_slot(s, v.slots[s]);
    return h;
  }

  // Percentile in us, never above the exact maximum when it is known.
  static double pct(const Row& r, const core::Log2Histogram& h, double p) {
    double v = h.percentile(p);
    return r.max_exact ? std::min(v, static_cast<double>(r.val.max_ns) / 1e3) : v;
  }

  nlohmann::json row_json(const Row& r) const {
    auto h = hist_of(r.val);
    nlohmann::json j{{"comm", comm_str(r.key.comm)},
                     {"count", r.val.count},
                     {"total_ns", r.val.total_ns},
                     {"avg_ns", r.val.count ? r.val.total_ns / r.val.count : 0},
                     {"preempted", r.val.preempted},
                     {"p50_us", pct(r, h, 50)},
                     {"p99_us", pct(r, h, 99)},
                     {"hist_us", h.to_json()}};
    if (o_.per_thread) {
      j["pid"] = r.key.tgid;
      j["tid"] = r.key.tid;
    }
    if (r.max_exact) j["max_ns"] = r.val.max_ns;
    else j["max_ns_le"] = static_cast<uint64_t>(h.max()) * 1000 + 999;
    return j;
  }

  std::string table(const std::vector<Row>& rs, bool hist) const {
    std::string t = o_.per_thread ? fmt::format("{:<16} {:>7} {:>7} ", "COMM", "PID", "TID") : fmt::format("{:<16} ", "COMM");
    t += fmt::format("{:>8} {:>10} {:>9} {:>9} {:>11} {:>8}\n", "WAITS", "AVG(us)", "P99(us)", "MAX(us)",
                     "TOTAL(ms)", "PREEMPT");
    for (const auto& r : rs) {
      auto h = hist_of(r.val);
      t += o_.per_thread ? fmt::format("{:<16} {:>7} {:>7} ", comm_str(r.key.comm), r.key.tgid, r.key.tid)
                         : fmt::format("{:<16} ", comm_str(r.key.comm));
      const std::string mx = r.max_exact ? fmt::format("{:.1f}", r.val.max_ns / 1e3) : fmt::format("<{}", h.max() + 1);
      t += fmt::format("{:>8} {:>10.1f} {:>9.0f} {:>9} {:>11.3f} {:>8}\n", r.val.count,
                       r.val.count ? r.val.total_ns / 1e3 / static_cast<double>(r.val.count) : 0.0, pct(r, h, 99),
                       mx, r.val.total_ns / 1e6, r.val.preempted);
      if (hist) t += fmt::format("\n{}\n", h.render("usecs"));
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

  // Tracepoint hits the kernel skipped because one of these programs was already running on that CPU (a
  // wakeup from an interrupt that arrived inside it): each can be a wait not counted.
  uint64_t probe_misses() const { return obj_ ? bpf::recursion_misses(obj_) : 0; }

  nlohmann::json counters_json(const Counters& c, uint64_t misses) const {
    return {{"waits", c[NT_CPU_EVENTS]},
            {"probe_misses", misses},
            {"lost_events", c[NT_CPU_RB_LOST]},
            {"map_full", c[NT_CPU_MAP_FULL]},
            {"start_map_full", c[NT_CPU_START_FULL]},
            {"negative", c[NT_CPU_NEGATIVE]}};
  }

  void report(uint64_t now, bool final_interval) {
    (void)final_interval;
    auto rs = rows(false);
    Counters c = read_counters(counters_fd_);
    Counters d{};
    for (size_t i = 0; i < c.size(); i++) d[i] = c[i] - prev_counters_[i];
    prev_counters_ = c;
    const uint64_t misses = probe_misses(), dmisses = misses - prev_misses_;
    prev_misses_ = misses;
    const double secs = static_cast<double>(now - last_ns_) / 1e9;
    last_ns_ = now;
    intervals_++;
    if (out_.json()) {
      nlohmann::json j{{"type", "schedlat_interval"}, {"time", core::format_iso8601(core::realtime_ns())}, {"interval_s", secs}};
      j.update(counters_json(d, dmisses));
      auto groups = nlohmann::json::array();
      for (const auto& r : rs) groups.push_back(row_json(r));
      j["groups"] = groups;
      auto w = nlohmann::json::array();
      for (const auto& e : worst_) w.push_back(event_json(e));
      j["worst"] = w;
      out_.record(j);
    } else {
      std::string t = fmt::format("[{}] === Run-queue latency (interval {:.1f}s): {} waits ===\n",
                                  core::format_local(core::realtime_ns(), false), secs, d[NT_CPU_EVENTS]);
      if (rs.empty()) t += "No matching task waited for a CPU.\n";
      else t += table(rs, o_.hist);
      t += worst_text(worst_);
      if (d[NT_CPU_RB_LOST]) t += fmt::format("Slow-wait events lost (ring buffer full): {}\n", d[NT_CPU_RB_LOST]);
      if (dmisses) t += fmt::format("Scheduler events missed (program busy on that CPU): {}\n", dmisses);
      out_.text(t + "\n");
    }
    worst_.clear();
  }

  void finish() {
    const uint64_t now = core::monotonic_ns();
    if (o_.common.interval_s > 0 && now - last_ns_ > 100000000ULL) report(now, true);
    auto rs = rows(true);
    Counters c = read_counters(counters_fd_);
    const double secs = static_cast<double>(now - start_ns_) / 1e9;
    if (out_.json()) {
      nlohmann::json j{{"type", "schedlat_summary"}, {"duration_s", secs}, {"intervals", intervals_}, {"slow_waits", slow_}};
      j.update(counters_json(c, probe_misses()));
      auto groups = nlohmann::json::array();
      for (const auto& r : rs) groups.push_back(row_json(r));
      j["groups"] = groups;
      auto w = nlohmann::json::array();
      for (const auto& e : all_worst_) w.push_back(event_json(e));
      j["worst"] = w;
      out_.record(j);
      return;
    }
    std::string t = fmt::format("=== Run-queue latency summary ({:.1f}s): {} waits, {} at or above {}us ===\n", secs,
                                c[NT_CPU_EVENTS], slow_, o_.threshold_us);
    if (rs.empty()) t += "No matching task waited for a CPU.\n";
    else t += table(rs, true);
    t += worst_text(all_worst_);
    if (c[NT_CPU_RB_LOST]) t += fmt::format("Slow-wait events lost (ring buffer full): {}\n", c[NT_CPU_RB_LOST]);
    if (c[NT_CPU_MAP_FULL]) t += fmt::format("Waits not aggregated (map full): {}\n", c[NT_CPU_MAP_FULL]);
    if (c[NT_CPU_START_FULL]) t += fmt::format("Wakeups not tracked (start map full): {}\n", c[NT_CPU_START_FULL]);
    if (const uint64_t m = probe_misses()) t += fmt::format("Scheduler events missed (program busy on that CPU): {}\n", m);
    out_.text(t);
  }

  const SchedlatOptions& o_;
  output::Output out_;
  int hists_fd_ = -1, counters_fd_ = -1;
  uint64_t start_ns_ = 0, last_ns_ = 0, intervals_ = 0, slow_ = 0, prev_misses_ = 0;
  const bpf_object* obj_ = nullptr;  // while attached
  Snapshot prev_;
  Counters prev_counters_{};
  std::vector<nt_schedlat_event> worst_, all_worst_;
};

}  // namespace

int run_schedlat(const SchedlatOptions& o) { return Schedlat(o).run(); }

}  // namespace nettrace::tools::cpu
