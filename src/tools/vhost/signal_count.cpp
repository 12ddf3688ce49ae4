// SPDX-License-Identifier: GPL-2.0
// nettrace vhost signal-count: per virtqueue and call eventfd, the signalling calls of the vhost worker and the
// signals the guest's call eventfd received (vhost_eventfd_count.py/.bt, whose offset and key were broken).
// See docs/tools/vhost.md.

#include <linux/btf.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/btf_scan.hpp"
#include "tools/vhost/signal_plan.hpp"
#include "tools/vhost/vhost.hpp"
#include "vhost_signal.skel.h"

namespace nettrace::tools::vhost {

SignalPlan signal_plan() {
  SignalPlan p;
  const sys::RawBtf& b = sys::kernel_btf();
  const int id = b.ok() ? b.find("eventfd_signal_mask", BTF_KIND_FUNC) : -1;
  if (id <= 0) {
    p.eventfd_fn = "eventfd_signal";  // before 5.19: eventfd_signal(ctx, n) alone
    p.eventfd_n = true;
    return p;
  }
  p.eventfd_fn = "eventfd_signal_mask";
  // (ctx, n, mask) until 6.7; (ctx, mask) since 6.8 (3652117f8548 "eventfd: simplify eventfd_signal()"): n = 1.
  const auto* fn = reinterpret_cast<const btf_type*>(b.type_data(static_cast<uint32_t>(id)));
  const auto* proto = reinterpret_cast<const btf_type*>(b.type_data(fn->type));
  p.eventfd_n = BTF_INFO_VLEN(proto->info) >= 3;
  return p;
}

void plan_signal_hooks(core::Session& s, bpf_object* obj, const SignalPlan& p, bool notify) {
  for (auto& h : notify ? notify_hooks() : signal_hooks()) {
    if (h.name == "eventfd_signal_mask" || h.name == "eventfd_signal") {
      // One of them: on 6.1 eventfd_signal jumps into eventfd_signal_mask, both would count a signal twice.
      if (h.name != p.eventfd_fn) continue;
      h.required = true;
    }
    s.plan().add(std::move(h));
  }
  s.choose(obj);
  for (const auto& ch : s.plan().choices())
    if (ch.hook == "vhost_notify return" && ch.chosen)
      spdlog::info("vhost_notify: kretprobe on {} (its return value only; the vq is the signalling call's)",
                   ch.resolved_target);
}

std::string KickNames::role(uint64_t handle_kick, uint32_t vq_index) {
  return vq_role(handle_kick ? ksyms_.function(handle_kick) : std::string(), vq_index);
}

namespace {

class SignalCount final : public core::SessionTool {
 public:
  explicit SignalCount(const SignalCountOptions& o) : o_(o), s_("vhost signal-count", o.common), out_(s_.out()) {}

  int run() {
    require_vhost_net();
    const SignalPlan plan = signal_plan();
    auto skel = bpf::Skeleton<vhost_signal_bpf>::open("vhost signal-count", bpf::CoreBtf::Kernel);
    configure_filter(skel.get(), o_.filter);
    skel->rodata->cfg_eventfd_n = plan.eventfd_n;
    bpf_map__set_max_entries(skel->maps.events, 4096);  // notify's events: unused here
    plan_signal_hooks(s_, skel->obj, plan, false);
    s_.load(skel);
    fill_pid_map(bpf_map__fd(skel->maps.nt_vhost_pids), o_.filter);
    s_.attach();
    sigs_ = bpf::MapDeltas<nt_vhost_sig_key, nt_vhost_sig_val>(bpf_map__fd(skel->maps.sigs));
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters({counters_fd_, NT_VHOST_RB_LOST, NT_VHOST_MAP_FULL, {}});
    out_.text(fmt::format("Counting guest signals per virtqueue (signals at {})... Hit Ctrl-C to end.\n\n", plan.eventfd_fn));
    return s_.run(*this);
  }

 private:
  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool since_start = sum != nullptr || o_.cumulative;
    auto rows = sigs_.read(since_start, [](nt_vhost_sig_val& d, const nt_vhost_sig_val& e) {
      d.calls -= e.calls;
      d.signals -= e.signals;
      d.signalled -= e.signalled;
      d.suppressed -= e.suppressed;
      return d.calls != 0 || d.signals != 0;
    });
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      if (a.second.calls != b.second.calls) return a.second.calls > b.second.calls;
      return a.first.vq < b.first.vq;
    });
    const size_t distinct = rows.size();
    if (o_.top > 0 && rows.size() > static_cast<size_t>(o_.top)) rows.resize(static_cast<size_t>(o_.top));

    const auto c = bpf::read_percpu_counters<NT_VHOST_NCOUNTERS>(counters_fd_);
    output::Report r(sum ? "vhost_signal_summary" : "vhost_signal_interval");
    r.heading(sum ? fmt::format("=== vhost signal-count summary ({:.1f}s) ===", secs)
                  : fmt::format("=== vhost signal-count {}({:.1f}s) ===", o_.cumulative ? "since start " : "", secs))
        .time(core::realtime_ns());
    r.field("cumulative", since_start).field("distinct", distinct);
    auto& t = r.table("queues", {{"vq", "VQ_PTR", 18, true},
                                 {"eventfd", "EVENTFD_PTR", 18, true},
                                 {"backend", "BACKEND", 10, true},
                                 {"", "VQ", 4, true},
                                 {"", "OWNER", 7},
                                 {"", "WORKER", 18, true},
                                 {"calls", "CALLS", 9},
                                 {"signals", "SIGNALS", 9},
                                 {"suppressed", "SUPPRESSED", 10},
                                 {"last_used_idx", "LAST_USED", 9}})
                  .empty_text("No signalling calls.");
    for (const auto& [k, v] : rows) {
      const std::string role = kicks_.role(v.id.handle_kick, v.id.vq_index);
      auto& row = t.row();
      row.cell(hex_ptr(k.vq)).cell(k.ctx ? nlohmann::json(hex_ptr(k.ctx)) : nlohmann::json(nullptr), k.ctx ? hex_ptr(k.ctx) : "-");
      row.cell(backend_name(v.id)).cell(role).cell(v.id.owner_tgid);
      row.cell(nullptr, fmt::format("{}/{}", comm_of(v.id.worker_comm, sizeof(v.id.worker_comm)), v.id.worker_tid));
      row.cell(v.calls).cell(v.signals).cell(v.suppressed).cell(v.last_used_idx);
      row.json("signalled_calls", v.signalled);
      nlohmann::json extra;
      add_vq_fields(extra, v.id, role);
      for (auto& [key, val] : extra.items()) row.json(key, val);
    }
    if (sum) {
      r.field("signal_calls", c[NT_VHOST_SIGNAL_CALLS]).field("eventfd_signals", c[NT_VHOST_EVENTFD_HITS]);
      r.field("other_eventfd_signals", c[NT_VHOST_OTHER_EVENTFD]).field("returns_without_entry", c[NT_VHOST_NO_WINDOW]);
      r.line(fmt::format("Signalling calls: {}, call-eventfd signals: {}", c[NT_VHOST_SIGNAL_CALLS], c[NT_VHOST_EVENTFD_HITS]));
      if (c[NT_VHOST_NO_WINDOW]) r.line(fmt::format("Returns without a recorded entry: {}", c[NT_VHOST_NO_WINDOW]));
      r.summary(*sum, false);
    } else {
      r.interval(*iv);
    }
    r.line("");
    out_.emit(r);
  }

  const SignalCountOptions& o_;
  core::Session s_;
  output::Output& out_;
  int counters_fd_ = -1;
  bpf::MapDeltas<nt_vhost_sig_key, nt_vhost_sig_val> sigs_;
  KickNames kicks_;
};

}  // namespace

int run_signal_count(const SignalCountOptions& o) { return SignalCount(o).run(); }

}  // namespace nettrace::tools::vhost
