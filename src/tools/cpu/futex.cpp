// SPDX-License-Identifier: GPL-2.0
// nettrace cpu futex: futex() time per process/thread and operation, and the most contended futex
// words (futex.bt). See docs/tools/cpu.md.

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/session.hpp"
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

class Futex final : public core::SessionTool {
 public:
  explicit Futex(const FutexOptions& o) : o_(o), s_("cpu futex", o.common), out_(s_.out()) {}

  int run() {
    auto skel = bpf::Skeleton<cpu_futex_bpf>::open("cpu futex", bpf::CoreBtf::Minimal);
    configure_filter(skel.get(), o_.filter);
    skel->rodata->cfg_per_thread = o_.per_thread;
    for (auto& h : futex_hooks()) s_.plan().add(h);
    s_.load(skel);
    fill_filter_maps(skel.get(), o_.filter);
    s_.attach();
    hists_ = bpf::MapDeltas<nt_futex_key, nt_futex_val>(bpf_map__fd(skel->maps.hists));
    addrs_ = bpf::MapDeltas<nt_futex_addr_key, nt_futex_addr_val>(bpf_map__fd(skel->maps.addrs));
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters(counter_slots(counters_fd_));
    if (!out_.json()) out_.text("Tracing futex() time... Hit Ctrl-C to end.\n");
    return s_.run(*this);
  }

 private:
  void on_interval(const core::Interval& iv) override { report(iv.seconds, iv.delta, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, sum.totals, &sum); }

  // sum: the run's summary (histograms since start), else an interval (deltas since the last report).
  void report(double secs, const core::Housekeeping& hk, const core::Summary* sum) {
    const bool final_report = sum != nullptr;
    auto rows = hists_.read(final_report, subtract_waits<nt_futex_val>);
    std::erase_if(rows, [this](const auto& r) { return !o_.all_ops && !is_wait(r.first.op); });
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.hist.sum > b.second.hist.sum; });

    auto addrs = addrs_.read(final_report, [](nt_futex_addr_val& d, const nt_futex_addr_val& e) {
      d.waits -= e.waits;
      d.total_ns -= e.total_ns;
      return d.waits != 0;
    });
    std::sort(addrs.begin(), addrs.end(), [](auto& a, auto& b) { return a.second.total_ns > b.second.total_ns; });
    if (addrs.size() > static_cast<size_t>(o_.top)) addrs.resize(static_cast<size_t>(o_.top));

    Counters c = read_counters(counters_fd_);
    const char* type = final_report ? "futex_summary" : "futex_interval";
    if (out_.json()) {
      nlohmann::json j{{"type", type}, {"time", core::format_iso8601(core::realtime_ns())}, {"interval_s", secs},
                       {"calls", c[NT_CPU_EVENTS]}, {"start_map_full", c[NT_CPU_START_FULL]}};
      hk.add_to(j);
      if (sum) add_summary(j, *sum, false);
      auto groups = nlohmann::json::array();
      for (const auto& [k, v] : rows) {
        nlohmann::json g{{"pid", k.tgid}, {"comm", comm_str(k.comm)}, {"op", futex_op_name(k.op)},
                         {"count", v.hist.count}, {"total_ns", v.hist.sum}, {"errors", v.errors},
                         {"hist", core::Histogram(v.hist).to_json()}};
        if (o_.per_thread) g["tid"] = k.tid;
        if (final_report) g["max_ns"] = v.hist.max;
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
      t += fmt::format("\n{} pid {}{} op {}: {} calls, {:.3f} ms total, avg {:.1f} us{}\n", comm_str(k.comm), k.tgid,
                       o_.per_thread ? fmt::format(" tid {}", k.tid) : "", futex_op_name(k.op), v.hist.count,
                       v.hist.sum / 1e6, v.hist.sum / 1e3 / static_cast<double>(v.hist.count),
                       v.errors ? fmt::format(", {} returned an error (EAGAIN/ETIMEDOUT/EINTR)", v.errors) : "");
      t += core::Histogram(v.hist).render();
    }
    if (!addrs.empty()) {
      t += fmt::format("\nMost contended futex words (waits):\n  {:>8} {:>18} {:>8} {:>12} {:>10}\n", "PID", "UADDR",
                       "WAITS", "TOTAL(ms)", "AVG(us)");
      for (const auto& [k, v] : addrs)
        t += fmt::format("  {:>8} {:>18} {:>8} {:>12.3f} {:>10.1f}\n", k.tgid, fmt::format("0x{:x}", k.uaddr), v.waits,
                         v.total_ns / 1e6, v.total_ns / 1e3 / static_cast<double>(v.waits));
    }
    if (final_report) t += "\n" + hk.text();
    out_.text(t);
  }

  static bool is_wait(uint32_t cmd) { return cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13; }

  const FutexOptions& o_;
  core::Session s_;
  output::Output& out_;
  int counters_fd_ = -1;
  bpf::MapDeltas<nt_futex_key, nt_futex_val> hists_;
  bpf::MapDeltas<nt_futex_addr_key, nt_futex_addr_val> addrs_;
};

}  // namespace

int run_futex(const FutexOptions& o) { return Futex(o).run(); }

}  // namespace nettrace::tools::cpu
