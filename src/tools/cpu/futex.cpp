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
#include "nettrace/output/report.hpp"
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
    out_.text("Tracing futex() time... Hit Ctrl-C to end.\n\n");  // text only
    return s_.run(*this);
  }

 private:
  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  // sum: the run's summary (histograms since start), else an interval (deltas since the last report).
  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
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
    output::Report r(final_report ? "futex_summary" : "futex_interval");
    r.heading(fmt::format("=== futex {} ({:.1f}s) ===", final_report ? "summary" : "interval", secs)).time(core::realtime_ns());
    r.field("calls", c[NT_CPU_EVENTS]).field("start_map_full", c[NT_CPU_START_FULL]);
    std::vector<output::Column> cols{{"comm", "COMM", 16, true}, {"pid", "PID", 7}};
    if (o_.per_thread) cols.push_back({"tid", "TID", 7});
    cols.insert(cols.end(), {{"op", "OP", 15, true},
                             {"count", "CALLS", 8},
                             {"total_ns", "TOTAL(ms)", 11, false, "{:.3f}", 1e6},
                             {"", "AVG(us)", 10, false, "{:.1f}", 1e3},
                             {"errors", "ERRORS", 7}});  // EAGAIN/ETIMEDOUT/EINTR
    auto& groups = r.table("groups", std::move(cols))
                       .empty_text(o_.all_ops ? "No futex calls." : "No futex waits (use --all-ops for wakes and requeues).");
    for (const auto& [k, v] : rows) {
      auto& g = groups.row().cell(comm_str(k.comm)).cell(k.tgid);
      if (o_.per_thread) g.cell(k.tid);
      g.cell(futex_op_name(k.op)).cell(v.hist.count).cell(v.hist.sum);
      g.cell(static_cast<double>(v.hist.sum) / static_cast<double>(v.hist.count)).cell(v.errors);
      if (final_report) g.json("max_ns", v.hist.max);
      g.hist("hist", core::Histogram(v.hist), true);
    }
    auto& top = r.table("contended", {{"pid", "PID", 8},
                                      {"uaddr", "UADDR", 18},
                                      {"waits", "WAITS", 8},
                                      {"total_ns", "TOTAL(ms)", 12, false, "{:.3f}", 1e6},
                                      {"", "AVG(us)", 10, false, "{:.1f}", 1e3}})
                    .title("Most contended futex words (waits):")
                    .indent(2);
    for (const auto& [k, v] : addrs) {
      auto& a = top.row().cell(k.tgid).cell(fmt::format("0x{:x}", k.uaddr)).cell(v.waits).cell(v.total_ns);
      a.cell(static_cast<double>(v.total_ns) / static_cast<double>(v.waits));
      if (final_report) a.json("max_ns", v.max_ns);
    }
    if (sum) r.summary(*sum, false);
    else r.interval(*iv);
    r.line("");
    out_.emit(r);
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
