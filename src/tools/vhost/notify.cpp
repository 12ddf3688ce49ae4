// SPDX-License-Identifier: GPL-2.0
// nettrace vhost notify: every signalling call of a vhost worker, at its start (the vq before the used ring update)
// and at its decision (vhost_notify: signal the guest or not), with the vq state and the guest's avail->flags and
// used_event read from guest memory (vhost_queue_correlation_simple.py / _details.py). See docs/tools/vhost.md.

#include <map>

#include <fmt/format.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "tools/vhost/signal_plan.hpp"
#include "tools/vhost/vhost.hpp"
#include "vhost_signal.skel.h"

namespace nettrace::tools::vhost {
namespace {

constexpr uint64_t kEventIdx = 1ULL << 29;  // VIRTIO_RING_F_EVENT_IDX
constexpr uint16_t kNoInterrupt = 1;        // VRING_AVAIL_F_NO_INTERRUPT

const char* ret_source(uint8_t src) {
  switch (src) {
    case NT_VHOST_RET_FUNC: return "vhost_notify";
    case NT_VHOST_RET_EVENTFD: return "call_eventfd";
    default: return "no_call_eventfd";
  }
}

class Notify final : public core::SessionTool {
 public:
  explicit Notify(const NotifyOptions& o) : o_(o), s_("vhost notify", o.common), out_(s_.out()) {}

  int run() {
    require_vhost_net();
    const SignalPlan plan = signal_plan();
    auto skel = bpf::Skeleton<vhost_signal_bpf>::open("vhost notify", bpf::CoreBtf::Kernel);
    configure_filter(skel.get(), o_.filter);
    skel->rodata->cfg_eventfd_n = plan.eventfd_n;
    skel->rodata->cfg_events = true;
    plan_signal_hooks(s_, skel->obj, plan, true);
    for (const auto& ch : s_.plan().choices())
      if (ch.hook == "vhost_notify return") notify_fn_ = ch.chosen ? ch.resolved_target : "";
    s_.load(skel);
    fill_pid_map(bpf_map__fd(skel->maps.nt_vhost_pids), o_.filter);
    s_.attach();
    s_.add_ring_buffer(bpf_map__fd(skel->maps.events), [this](const void* d, size_t n) {
      if (n >= sizeof(nt_vhost_notify_event)) handle(*static_cast<const nt_vhost_notify_event*>(d));
    });
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters({counters_fd_, NT_VHOST_RB_LOST, NT_VHOST_MAP_FULL, {}});
    out_.text(fmt::format("Tracing vhost signalling decisions ({})... Hit Ctrl-C to end.\n\n",
                          notify_fn_.empty() ? "vhost_notify is inlined: decisions read from the call eventfd"
                                             : "vhost_notify's return: " + notify_fn_));
    return s_.run(*this);
  }

 private:
  struct Totals {
    nt_vhost_vq_id id{};
    uint64_t signal_events = 0, notify_calls = 0, signalled = 0, suppressed = 0, no_call_ctx = 0, signals = 0;
    uint64_t no_interrupt = 0;  // decisions taken while the guest had VRING_AVAIL_F_NO_INTERRUPT set
  };

  void handle(const nt_vhost_notify_event& e) {
    const std::string role = kicks_.role(e.id.handle_kick, e.id.vq_index);
    Totals& t = totals_[e.vq];
    t.id = e.id;
    const bool event_idx = (e.acked_features & kEventIdx) != 0;
    const bool flags_ok = (e.guest_ok & NT_VHOST_GUEST_FLAGS_OK) != 0;
    const bool event_ok = (e.guest_ok & NT_VHOST_GUEST_EVENT_OK) != 0;
    const bool no_irq = flags_ok && (e.avail_flags & kNoInterrupt);
    if (e.kind == NT_VHOST_EV_SIGNAL) {
      t.signal_events++;
    } else if (e.ret_src == NT_VHOST_RET_NONE) {
      t.no_call_ctx++;
    } else {
      t.notify_calls++;
      (e.ret ? t.signalled : t.suppressed)++;
      t.signals += e.signals;
      t.no_interrupt += no_irq;
    }

    const char* kind = e.kind == NT_VHOST_EV_SIGNAL ? "signal" : "notify";
    output::Report r("vhost_notify_event");
    nlohmann::json j{{"timestamp_ns", e.ts_ns},
                     {"event", kind},
                     {"vq", hex_ptr(e.vq)},
                     {"eventfd", e.ctx ? nlohmann::json(hex_ptr(e.ctx)) : nlohmann::json(nullptr)},
                     {"cpu", e.cpu},
                     {"num", e.num},
                     {"last_avail_idx", e.last_avail_idx},
                     {"avail_idx", e.avail_idx},
                     {"last_used_idx", e.last_used_idx},
                     {"used_flags", e.used_flags},
                     {"signalled_used", e.signalled_used},
                     {"signalled_used_valid", e.signalled_used_valid != 0},
                     {"log_used", e.log_used != 0},
                     {"acked_features", hex_ptr(e.acked_features)},
                     {"acked_backend_features", hex_ptr(e.acked_backend_features)},
                     {"event_idx", event_idx}};
    add_vq_fields(j, e.id, role);
    std::string line = fmt::format("{:<6} {} {:<3} vq={} avail_idx={} last_avail={} last_used={} used_flags=0x{:x}", kind,
                                   backend_name(e.id), role, hex_ptr(e.vq), e.avail_idx, e.last_avail_idx,
                                   e.last_used_idx, e.used_flags);
    if (e.kind == NT_VHOST_EV_NOTIFY) {
      j["decision_from"] = ret_source(e.ret_src);
      if (e.ret_src != NT_VHOST_RET_NONE) j["notify"] = e.ret != 0;
      j["signals"] = e.signals;
      if (flags_ok) j["guest_avail_flags"] = e.avail_flags;
      if (flags_ok) j["guest_no_interrupt"] = no_irq;
      if (event_ok) j["guest_used_event"] = e.used_event;
      line += e.ret_src == NT_VHOST_RET_NONE ? " no call eventfd"
                                             : fmt::format(" notify={} ({})", e.ret ? "true" : "false", ret_source(e.ret_src));
      line += flags_ok ? fmt::format(" avail_flags=0x{:x}{}", e.avail_flags, no_irq ? " NO_INTERRUPT" : "")
                       : " avail_flags=?";
      if (event_idx) line += event_ok ? fmt::format(" used_event={}", e.used_event) : " used_event=?";
      line += fmt::format(" signalled_used={}{}", e.signalled_used, e.signalled_used_valid ? "" : " (invalid)");
    }
    for (const auto& [k, v] : j.items()) r.field(k, v);
    r.time(core::mono_to_realtime(e.ts_ns));
    if (!o_.verbose) {
      r.heading(line);
    } else {
      // The original's block.
      r.heading(fmt::format("Event: {} | Queue: {} | Device: {} | VQ: {} ({})",
                            e.kind == NT_VHOST_EV_SIGNAL ? "vhost_signal" : "vhost_notify",
                            e.id.tap_queue == NT_VHOST_NO_INDEX ? std::string("?") : std::to_string(e.id.tap_queue),
                            comm_of(e.id.ifname, sizeof(e.id.ifname)), hex_ptr(e.vq), role));
      r.line(fmt::format("  Worker: {}/{}  Owner: {}  CPU: {}  eventfd: {}", comm_of(e.id.worker_comm, sizeof(e.id.worker_comm)),
                         e.id.worker_tid, e.id.owner_tgid, e.cpu, e.ctx ? hex_ptr(e.ctx) : "-"));
      r.line(fmt::format("  VQ State: avail_idx={}, last_avail={}, last_used={}, used_flags=0x{:x}, num={}", e.avail_idx,
                         e.last_avail_idx, e.last_used_idx, e.used_flags, e.num));
      r.line(fmt::format("  Signalled: signalled_used={}, signalled_used_valid={}, log_used={}", e.signalled_used,
                         e.signalled_used_valid ? "true" : "false", e.log_used ? "true" : "false"));
      r.line(fmt::format("  Features: acked=0x{:x}, backend=0x{:x}, EVENT_IDX={}", e.acked_features,
                         e.acked_backend_features, event_idx ? "yes" : "no"));
      if (e.kind == NT_VHOST_EV_NOTIFY) {
        r.line(e.ret_src == NT_VHOST_RET_NONE
                   ? std::string("  Notify: no call eventfd (not asked)")
                   : fmt::format("  Notify: {} (from {}), signals delivered: {}", e.ret ? "true" : "false",
                                 ret_source(e.ret_src), e.signals));
        r.line(flags_ok ? fmt::format("  Guest avail_flags: 0x{:x} (NO_INTERRUPT={})", e.avail_flags, no_irq ? "YES" : "NO")
                        : std::string("  Guest avail_flags: unreadable"));
        r.line(event_ok ? fmt::format("  Guest used_event_idx: {}", e.used_event) : std::string("  Guest used_event_idx: unreadable"));
      }
    }
    out_.emit(r, true);
  }

  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    output::Report r(sum ? "vhost_notify_summary" : "vhost_notify_interval");
    r.heading(fmt::format("=== vhost notify {} ({:.1f}s) ===", sum ? "summary" : "interval", secs)).time(core::realtime_ns());
    r.field("decision_from", notify_fn_.empty() ? "call_eventfd" : "vhost_notify");
    if (!notify_fn_.empty()) r.field("notify_function", notify_fn_);
    auto& t = r.table("queues", {{"vq", "VQ_PTR", 18, true},
                                 {"backend", "BACKEND", 10, true},
                                 {"", "VQ", 4, true},
                                 {"calls", "CALLS", 8},
                                 {"notify_calls", "NOTIFY", 8},
                                 {"signalled", "TRUE", 8},
                                 {"suppressed", "FALSE", 8},
                                 {"no_call_eventfd", "NO_EVFD", 8},
                                 {"signals", "SIGNALS", 8},
                                 {"no_interrupt", "NO_INTR", 8}})
                  .empty_text("No signalling calls.");
    for (auto& [vq, x] : totals_) {
      Totals d = x;
      if (!sum) {
        const Totals& b = base_[vq];
        d.signal_events -= b.signal_events, d.notify_calls -= b.notify_calls, d.signalled -= b.signalled;
        d.suppressed -= b.suppressed, d.no_call_ctx -= b.no_call_ctx, d.signals -= b.signals, d.no_interrupt -= b.no_interrupt;
        if (!d.signal_events && !d.notify_calls && !d.no_call_ctx) continue;
      }
      const std::string role = kicks_.role(d.id.handle_kick, d.id.vq_index);
      auto& row = t.row().cell(hex_ptr(vq)).cell(backend_name(d.id)).cell(role).cell(d.signal_events).cell(d.notify_calls);
      row.cell(d.signalled).cell(d.suppressed).cell(d.no_call_ctx).cell(d.signals).cell(d.no_interrupt);
      nlohmann::json extra;
      add_vq_fields(extra, d.id, role);
      for (auto& [k, v] : extra.items()) row.json(k, v);
    }
    if (!sum) base_ = totals_;
    if (sum) {
      const auto c = bpf::read_percpu_counters<NT_VHOST_NCOUNTERS>(counters_fd_);
      r.field("signal_calls", c[NT_VHOST_SIGNAL_CALLS]).field("eventfd_signals", c[NT_VHOST_EVENTFD_HITS]);
      r.field("notify_returns", c[NT_VHOST_NOTIFY_HITS]).field("returns_without_entry", c[NT_VHOST_NO_WINDOW]);
      r.summary(*sum, true);
    } else {
      r.interval(*iv);
    }
    r.line("");
    out_.emit(r);
  }

  const NotifyOptions& o_;
  core::Session s_;
  output::Output& out_;
  int counters_fd_ = -1;
  std::string notify_fn_;
  std::map<uint64_t, Totals> totals_, base_;
  KickNames kicks_;
};

}  // namespace

int run_notify(const NotifyOptions& o) { return Notify(o).run(); }

}  // namespace nettrace::tools::vhost
