// SPDX-License-Identifier: GPL-2.0
// nettrace virtio irq: a virtio-net device's interrupts from irq:irq_handler_entry/exit (virtnet_irq_monitor.py,
// trace_int_final.bt). See docs/tools/virtio.md.

#include <map>

#include <fmt/format.h>

#include "nettrace/abi/virtio.h"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "tools/virtio/virtio.hpp"
#include "virtio_irq.skel.h"

namespace nettrace::tools::virtio {
namespace {

bool subtract(nt_virtio_irq_val& d, const nt_virtio_irq_val& e) {
  d.count -= e.count;
  for (int i = 0; i < 4; i++) d.ret[i] -= e.ret[i];
  d.gap_sum_ns -= e.gap_sum_ns;
  d.gaps -= e.gaps;
  d.vring_calls -= e.vring_calls;
  d.vring_none -= e.vring_none;
  d.dur = core::Histogram(d.dur).minus(core::Histogram(e.dur)).raw();
  return d.count != 0 || d.dur.count != 0;
}

struct IrqRow {
  uint64_t count = 0, ret[4] = {}, gap_sum = 0, gaps = 0, vring_calls = 0, vring_none = 0;
  std::map<uint32_t, uint64_t> cpus;
  core::Histogram dur;
};

class Irq final : public core::SessionTool {
 public:
  explicit Irq(const IrqOptions& o) : o_(o), s_("virtio irq", o.common), out_(s_.out()) {}

  int run() {
    // vring_interrupt lives in virtio_ring, a module on most distribution kernels: the whole kernel BTF then.
    auto skel = bpf::Skeleton<virtio_irq_bpf>::open("virtio irq", o_.spurious ? bpf::CoreBtf::Kernel : bpf::CoreBtf::Minimal);
    for (auto& h : irq_hooks(o_.spurious)) s_.plan().add(h);
    s_.load(skel);
    const uint8_t one = 1;
    for (const auto& [n, name] : o_.irqs) {
      uint32_t k = static_cast<uint32_t>(n);
      bpf_map_update_elem(bpf_map__fd(skel->maps.irqs), &k, &one, BPF_ANY);
    }
    s_.attach();
    stats_ = bpf::MapDeltas<nt_virtio_irq_key, nt_virtio_irq_val>(bpf_map__fd(skel->maps.stats));
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters({counters_fd_, -1, NT_VIRTIO_MAP_FULL, {}});
    std::string list;
    for (const auto& [n, name] : o_.irqs) list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", n, name);
    out_.text(fmt::format("Tracing IRQs {}... Hit Ctrl-C to end.\n\n", list));
    return s_.run(*this);
  }

 private:
  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool final_report = sum != nullptr;
    auto rows = stats_.read(final_report, subtract);
    // One row per IRQ (or IRQ and CPU), every traced IRQ listed even when silent.
    std::map<std::pair<int, int64_t>, IrqRow> by;
    if (!o_.per_cpu)
      for (const auto& [n, name] : o_.irqs) by[{n, -1}];
    for (const auto& [k, v] : rows) {
      auto& r = by[{static_cast<int>(k.irq), o_.per_cpu ? static_cast<int64_t>(k.cpu) : -1}];
      r.count += v.count;
      for (int i = 0; i < 4; i++) r.ret[i] += v.ret[i];
      r.gap_sum += v.gap_sum_ns;
      r.gaps += v.gaps;
      r.vring_calls += v.vring_calls;
      r.vring_none += v.vring_none;
      if (v.count) r.cpus[k.cpu] += v.count;
      r.dur.add(v.dur);
    }
    uint64_t total = 0;
    for (const auto& [k, r] : by) total += r.count;

    output::Report rep(final_report ? "virtio_irq_summary" : "virtio_irq_interval");
    rep.heading(fmt::format("=== virtio irq {} ({:.1f}s): {} interrupts ===", final_report ? "summary" : "interval", secs,
                            total))
        .time(core::realtime_ns());
    rep.field("interrupts", total);
    std::vector<output::Column> cols{{"irq", "IRQ", 5}, {"name", "NAME", 18, true}, {"queue", "QUEUE", 6, true}};
    if (o_.per_cpu) cols.push_back({"cpu", "CPU", 4});
    cols.insert(cols.end(), {{"count", "COUNT", 8},
                             {"", "RATE/s", 9, false, "{:.1f}"},
                             {"handled", "HANDLED", 8},
                             {"none", "NONE", 6},
                             {"wake_thread", "WAKE_THR", 8},
                             {"avg_gap_ns", "AVG_GAP(us)", 11, false, "{:.1f}", 1e3},
                             {"avg_ns", "AVG(us)", 8, false, "{:.2f}", 1e3},
                             {"max_ns", "MAX(us)", 8, false, "{:.2f}", 1e3}});
    if (o_.spurious) cols.insert(cols.end(), {{"vring_calls", "VRING", 7}, {"spurious", "SPURIOUS", 8}});
    if (!o_.per_cpu) cols.push_back({"", "CPUS", 0, true});
    auto& t = rep.table("irqs", std::move(cols)).empty_text("No interrupts.");
    for (const auto& [k, r] : by) {
      auto it = o_.irqs.find(k.first);
      const std::string name = it != o_.irqs.end() ? it->second : "";
      auto& row = t.row().cell(k.first).cell(name).cell(irq_queue_label(name));
      if (o_.per_cpu) row.cell(k.second);
      row.cell(r.count).cell(secs > 0 ? static_cast<double>(r.count) / secs : 0.0);
      row.cell(r.ret[1]).cell(r.ret[0]).cell(r.ret[2]);
      row.cell(r.gaps ? static_cast<double>(r.gap_sum) / static_cast<double>(r.gaps) : 0.0);
      row.cell(r.dur.count() ? r.dur.mean() : 0.0).cell(r.dur.max());
      if (o_.spurious) row.cell(r.vring_calls).cell(r.vring_none);
      if (r.ret[3]) row.json("other_ret", r.ret[3]);
      nlohmann::json cpus = nlohmann::json::object();
      std::string ctext;
      for (const auto& [c, n] : r.cpus) {
        cpus[std::to_string(c)] = n;
        ctext += fmt::format("{}{}:{}", ctext.empty() ? "" : " ", c, n);
      }
      row.json("cpus", cpus);
      if (!o_.per_cpu) row.cell(ctext.empty() ? "-" : ctext);
      if (final_report && r.dur.count()) {
        row.hist("duration", r.dur, true);
      }
    }
    if (sum) rep.summary(*sum, false);
    else rep.interval(*iv);
    rep.line("");
    out_.emit(rep);
  }

  const IrqOptions& o_;
  core::Session s_;
  output::Output& out_;
  int counters_fd_ = -1;
  bpf::MapDeltas<nt_virtio_irq_key, nt_virtio_irq_val> stats_;
};

}  // namespace

int run_irq(const IrqOptions& o) { return Irq(o).run(); }

}  // namespace nettrace::tools::virtio
