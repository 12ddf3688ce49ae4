// SPDX-License-Identifier: GPL-2.0
// nettrace cpu futex: futex() time per process/thread and operation, and the most contended futex
// words (futex.bt). See docs/tools/cpu.md.

#include <unistd.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/signals.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "tools/cpu/cpu.hpp"
#include "tools/cpu/cpu_bpf.hpp"
#include "tools/cpu/cpu_hooks.hpp"
#include "cpu_futex.skel.h"

namespace nettrace::tools::cpu {

std::string futex_op_name(uint32_t cmd) {
  static const char* names[] = {"WAIT",        "WAKE",           "FD",           "REQUEUE",      "CMP_REQUEUE",
                                "WAKE_OP",     "LOCK_PI",        "UNLOCK_PI",    "TRYLOCK_PI",   "WAIT_BITSET",
                                "WAKE_BITSET", "WAIT_REQUEUE_PI", "CMP_REQUEUE_PI", "LOCK_PI2"};
  return cmd < std::size(names) ? names[cmd] : fmt::format("OP_{}", cmd);
}

namespace {

class Futex {
 public:
  explicit Futex(const FutexOptions& o) : o_(o), out_(o.common.json) {}

  int run() {
    auto forced = cli::apply_common(o_.common);
    core::install_stop_handlers();
    auto skel = bpf::Skeleton<cpu_futex_bpf>::open("cpu futex", bpf::CoreBtf::Minimal);
    configure_filter(skel.get(), o_.filter);
    skel->rodata->cfg_per_thread = o_.per_thread;
    bpf::ProbePlan plan;
    for (auto& h : futex_hooks()) plan.add(h);
    if (forced) plan.force(*forced);
    bpf::Features features;
    plan.choose(skel->obj, features);
    skel.load("cpu futex");
    fill_filter_maps(skel.get(), o_.filter);
    auto links = plan.attach(skel->obj);
    hists_ = MapDeltas<nt_futex_key, nt_futex_val>(bpf_map__fd(skel->maps.hists));
    addrs_ = MapDeltas<nt_futex_addr_key, nt_futex_addr_val>(bpf_map__fd(skel->maps.addrs));
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    start_ns_ = last_ns_ = core::monotonic_ns();
    spdlog::info("attached: {}", plan.describe());
    cli::signal_ready(o_.common);
    if (!out_.json()) out_.text("Tracing futex() time... Hit Ctrl-C to end.\n");
    cli::RunClock clock(o_.common, start_ns_);
    while (!core::stop_requested()) {
      usleep(50000);
      const uint64_t now = core::monotonic_ns();
      if (clock.expired(now)) break;
      if (clock.report_due(now)) report(now, false);
    }
    report(core::monotonic_ns(), true);
    return 0;
  }

 private:
  void report(uint64_t now, bool final_report) {
    // Histograms: deltas since the last report (the summary covers the whole run).
    auto rows = hists_.read(final_report, subtract_waits<nt_futex_val>);
    std::erase_if(rows, [this](const auto& r) { return !o_.all_ops && !is_wait(r.first.op); });
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.total_ns > b.second.total_ns; });

    auto addrs = addrs_.read(final_report, [](nt_futex_addr_val& d, const nt_futex_addr_val& e) {
      d.waits -= e.waits;
      d.total_ns -= e.total_ns;
      return d.waits != 0;
    });
    std::sort(addrs.begin(), addrs.end(), [](auto& a, auto& b) { return a.second.total_ns > b.second.total_ns; });
    if (addrs.size() > static_cast<size_t>(o_.top)) addrs.resize(static_cast<size_t>(o_.top));

    Counters c = read_counters(counters_fd_);
    const double secs = static_cast<double>(now - (final_report ? start_ns_ : last_ns_)) / 1e9;
    last_ns_ = now;
    const char* type = final_report ? "futex_summary" : "futex_interval";
    if (out_.json()) {
      nlohmann::json j{{"type", type}, {"time", core::format_iso8601(core::realtime_ns())}, {"interval_s", secs},
                       {"calls", c[NT_CPU_EVENTS]}, {"start_map_full", c[NT_CPU_START_FULL]}, {"map_full", c[NT_CPU_MAP_FULL]}};
      auto groups = nlohmann::json::array();
      for (const auto& [k, v] : rows) {
        core::Log2Histogram h;
        for (uint32_t s = 0; s < NT_CPU_HIST_SLOTS; s++) h.add_slot(s, v.slots[s]);
        nlohmann::json g{{"pid", k.tgid}, {"comm", comm_str(k.comm)}, {"op", futex_op_name(k.op)}, {"count", v.count},
                         {"total_ns", v.total_ns}, {"errors", v.errors}, {"hist_us", h.to_json()}};
        if (o_.per_thread) g["tid"] = k.tid;
        if (final_report) g["max_ns"] = v.max_ns;
        groups.push_back(g);
      }
      j["groups"] = groups;
      auto top = nlohmann::json::array();
      for (const auto& [k, v] : addrs) {
        nlohmann::json a{{"pid", k.tgid}, {"uaddr", fmt::format("0x{:x}", k.uaddr)}, {"waits", v.waits}, {"total_ns", v.total_ns}};
        if (final_report) a["max_ns"] = v.max_ns;
        top.push_back(a);
      }
      j["contended"] = top;
      out_.record(j);
      return;
    }
    std::string t = fmt::format("\n[{}] === futex {} ({:.1f}s) ===\n", core::format_local(core::realtime_ns(), false),
                                final_report ? "summary" : "interval", secs);
    if (rows.empty()) t += o_.all_ops ? "No futex calls.\n" : "No futex waits (use --all-ops for wakes and requeues).\n";
    for (const auto& [k, v] : rows) {
      core::Log2Histogram h;
      for (uint32_t s = 0; s < NT_CPU_HIST_SLOTS; s++) h.add_slot(s, v.slots[s]);
      t += fmt::format("\n{} pid {}{} op {}: {} calls, {:.3f} ms total, avg {:.1f} us{}\n", comm_str(k.comm), k.tgid,
                       o_.per_thread ? fmt::format(" tid {}", k.tid) : "", futex_op_name(k.op), v.count, v.total_ns / 1e6,
                       v.total_ns / 1e3 / static_cast<double>(v.count),
                       v.errors ? fmt::format(", {} returned an error (EAGAIN/ETIMEDOUT/EINTR)", v.errors) : "");
      t += h.render("usecs");
    }
    if (!addrs.empty()) {
      t += fmt::format("\nMost contended futex words (waits):\n  {:>8} {:>18} {:>8} {:>12} {:>10}\n", "PID", "UADDR",
                       "WAITS", "TOTAL(ms)", "AVG(us)");
      for (const auto& [k, v] : addrs)
        t += fmt::format("  {:>8} {:>18} {:>8} {:>12.3f} {:>10.1f}\n", k.tgid, fmt::format("0x{:x}", k.uaddr), v.waits,
                         v.total_ns / 1e6, v.total_ns / 1e3 / static_cast<double>(v.waits));
    }
    out_.text(t);
  }

  static bool is_wait(uint32_t cmd) { return cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13; }

  const FutexOptions& o_;
  output::Output out_;
  int counters_fd_ = -1;
  uint64_t start_ns_ = 0, last_ns_ = 0;
  MapDeltas<nt_futex_key, nt_futex_val> hists_;
  MapDeltas<nt_futex_addr_key, nt_futex_addr_val> addrs_;
};

}  // namespace

int run_futex(const FutexOptions& o) { return Futex(o).run(); }

}  // namespace nettrace::tools::cpu
