// SPDX-License-Identifier: GPL-2.0
// nettrace perf qdisc (qdisc_lateny_details, qdisc_latency_details): how long packets wait in a device's
// root qdisc, per packet above a threshold and as interval/summary histograms. See docs/tools/perf.md.

#include <unistd.h>

#include <algorithm>
#include <memory>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/abi/filter.h"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/signals.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "tools/perf/perf.hpp"
#include "tools/perf/qdisc.hpp"
// The skeleton names ABI structs, so it comes after them.
#include "perf_qdisc.skel.h"

namespace nettrace::tools::perf {
namespace {

struct QdiscOptions {
  cli::CommonOptions common;
  cli::FilterOptions filter;
  double threshold_us = 0;
  bool summary = false;
  std::string start = "auto";  // auto, qdisc_enqueue, net_dev_queue (hidden; tests)
  uint32_t max_entries = 16384;
};

using bpf::AttachKind;

bpf::Hook tp_hook(const std::string& name, const std::string& cat, const std::string& tp, const std::string& prog,
                  bool required, const std::string& group = {}) {
  return {name,
          {{AttachKind::TpBtf, "tpbtf_" + prog, tp},
           {AttachKind::RawTp, "rawtp_" + prog, tp},
           {AttachKind::Tracepoint, "tp_" + cat + "_" + prog, cat + "/" + tp}},
          required,
          group};
}

bpf::Hook enqueue_hook(bool required) { return tp_hook("qdisc:qdisc_enqueue", "qdisc", "qdisc_enqueue", "qdisc_enqueue", required); }
bpf::Hook dev_queue_hook(bool required) { return tp_hook("net:net_dev_queue", "net", "net_dev_queue", "net_dev_queue", required); }
bpf::Hook dequeue_hook() { return tp_hook("qdisc:qdisc_dequeue", "qdisc", "qdisc_dequeue", "qdisc_dequeue", true); }
bpf::Hook start_xmit_hook(bool required) {
  return tp_hook("net:net_dev_start_xmit", "net", "net_dev_start_xmit", "net_dev_start_xmit", required);
}
bpf::Hook kfree_hook() {
  return tp_hook("skb:kfree_skb", "skb", "kfree_skb", "kfree_skb", false, "drops in the queue (skb:kfree_skb)");
}

bool hook_viable(const bpf::Hook& h, bpf::Features& f) {
  for (const auto& c : h.candidates) {
    std::string why, resolved;
    if (bpf::candidate_viable(c, f, why, resolved)) return true;
  }
  return false;
}

class QdiscSession {
 public:
  explicit QdiscSession(const QdiscOptions& o) : o_(o), out_(o.common.json) {}

  int run() {
    auto forced = cli::apply_common(o_.common);
    core::install_stop_handlers();
    const nt_filter filter = cli::build_filter(o_.filter);

    auto skel = bpf::Skeleton<perf_qdisc_bpf>::open("perf qdisc");
    skel->rodata->nt_filter_cfg = filter;
    skel->rodata->cfg_emit_events = !o_.summary;
    skel->rodata->cfg_threshold_ns = static_cast<uint64_t>(o_.threshold_us * 1e3);
    bpf_map__set_max_entries(skel->maps.starts, o_.max_entries);
    if (o_.summary) bpf_map__set_max_entries(skel->maps.events, 4096);
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, false);

    bpf::Features features;
    bpf::ProbePlan plan;
    bool enqueue = o_.start == "qdisc_enqueue";
    if (o_.start == "auto") enqueue = hook_viable(enqueue_hook(true), features);
    if (enqueue) {
      plan.add(enqueue_hook(true));
    } else {
      spdlog::info("start hook: net:net_dev_queue (qdisc:qdisc_enqueue {}); sojourn includes the time from "
                   "__dev_queue_xmit to the enqueue", o_.start == "auto" ? "is missing on this kernel" : "not used");
      plan.add(dev_queue_hook(true));
      plan.add(start_xmit_hook(true));
    }
    plan.add(dequeue_hook());
    plan.add(kfree_hook());
    if (forced) plan.force(*forced);
    plan.choose(skel->obj, features);
    skel.load("perf qdisc");
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    stats_fd_ = bpf_map__fd(skel->maps.stats);
    extrema_fd_ = bpf_map__fd(skel->maps.extrema);
    starts_fd_ = bpf_map__fd(skel->maps.starts);
    ncpu_ = static_cast<size_t>(std::max(libbpf_num_possible_cpus(), 1));

    auto links = plan.attach(skel->obj);
    bpf::RingBuffer rb(bpf_map__fd(skel->maps.events), &QdiscSession::on_event, this);
    start_ns_ = last_ns_ = core::monotonic_ns();
    spdlog::info("attached: {}", plan.describe());
    cli::signal_ready(o_.common);
    print_header(enqueue);

    const uint64_t interval_ns = static_cast<uint64_t>(o_.common.interval_s * 1e9);
    const uint64_t deadline =
        o_.common.duration_s > 0 ? start_ns_ + static_cast<uint64_t>(o_.common.duration_s * 1e9) : 0;
    uint64_t next = interval_ns ? start_ns_ + interval_ns : 0;
    uint64_t next_lost_check = start_ns_ + 1000000000ULL;
    while (!core::stop_requested()) {
      int n = rb.poll(100);
      if (n < 0 && n != -EINTR) throw failure(fmt::format("ring buffer poll failed: {}", strerror(-n)));
      const uint64_t now = core::monotonic_ns();
      if (now >= next_lost_check) {
        warn_lost();
        next_lost_check = now + 1000000000ULL;
      }
      if (next && now >= next) {
        rb.consume();
        report(now, false);
        next += interval_ns;
        if (next <= now) next = now + interval_ns;
      }
      if (deadline && now >= deadline) break;
    }
    links.clear();  // detach: no start or end after this point
    rb.consume();
    const uint64_t end = core::monotonic_ns();
    if (interval_ns && end > last_ns_) report(end, false);
    report(end, true);
    return 0;
  }

 private:
  static int on_event(void* ctx, void* data, size_t size) noexcept {
    auto* self = static_cast<QdiscSession*>(ctx);
    if (size < sizeof(nt_qdisc_event)) return 0;
    try {
      const auto& e = *static_cast<const nt_qdisc_event*>(data);
      self->received_++;
      const uint64_t wall = core::mono_to_realtime(e.dequeue_ns);
      if (self->out_.json()) self->out_.record(qdisc::event_json(e, wall));
      else self->out_.text(qdisc::event_text(e, wall));
    } catch (...) {
    }
    return 0;
  }

  void print_header(bool enqueue) {
    if (out_.json()) return;
    std::string h = "=== Qdisc Latency Monitor ===\n";
    h += fmt::format("Start: {}, end: qdisc:qdisc_dequeue\n", enqueue ? "qdisc:qdisc_enqueue" : "net:net_dev_queue");
    auto filters = cli::describe_filter(o_.filter);
    if (filters.empty()) h += "Filters: none\n";
    else {
      h += "Filter configuration:\n";
      for (const auto& [k, v] : filters) h += fmt::format("  {}: {}\n", k, v);
    }
    if (!o_.summary) h += fmt::format("Packets with a qdisc delay >= {} us are printed.\n", o_.threshold_us);
    out_.text(h + "\n");
  }

  qdisc::Counters read_counters() const {
    qdisc::Counters c{};
    std::vector<uint64_t> v(ncpu_);
    for (uint32_t i = 0; i < NT_QDISC_NCOUNTERS; i++)
      if (bpf_map_lookup_elem(counters_fd_, &i, v.data()) == 0)
        for (auto x : v) c[i] += x;
    return c;
  }

  // Cumulative counts and histogram; min/max of the window, reset for the next one.
  qdisc::Stats read_stats() {
    uint32_t zero = 0;
    std::vector<nt_qdisc_stats> st(ncpu_);
    std::vector<nt_qdisc_extrema> ex(ncpu_);
    if (bpf_map_lookup_elem(stats_fd_, &zero, st.data()) != 0) st.assign(ncpu_, nt_qdisc_stats{});
    if (bpf_map_lookup_elem(extrema_fd_, &zero, ex.data()) != 0) ex.assign(ncpu_, nt_qdisc_extrema{});
    std::vector<nt_qdisc_extrema> cleared(ncpu_);
    bpf_map_update_elem(extrema_fd_, &zero, cleared.data(), BPF_ANY);
    auto s = qdisc::sum_cpus(st.data(), ex.data(), ncpu_);
    if (s.min_ns && (!min_all_ || s.min_ns < min_all_)) min_all_ = s.min_ns;
    max_all_ = std::max(max_all_, s.max_ns);
    return s;
  }

  uint64_t in_flight() const {
    uint64_t n = 0, key = 0, next = 0;
    const uint64_t* prev = nullptr;
    while (bpf_map_get_next_key(starts_fd_, prev, &next) == 0) {
      n++;
      key = next;
      prev = &key;
    }
    return n;
  }

  void warn_lost() {
    auto c = read_counters();
    if (c[NT_QDISC_RB_LOST] > warned_lost_) {
      spdlog::warn("{} qdisc latency events lost (ring buffer full); the histograms still count them",
                   c[NT_QDISC_RB_LOST] - warned_lost_);
      warned_lost_ = c[NT_QDISC_RB_LOST];
    }
  }

  void report(uint64_t now, bool summary) {
    qdisc::Window w;
    w.wall_ns = core::realtime_ns();
    if (summary) {
      w.type = "qdisc_latency_summary";
      w.secs = static_cast<double>(now - start_ns_) / 1e9;
      w.stats = read_stats();
      w.stats.min_ns = min_all_;
      w.stats.max_ns = max_all_;
      w.counters = read_counters();
      w.in_flight = in_flight();
      w.events_received = received_;
    } else {
      w.type = "qdisc_latency_interval";
      w.secs = static_cast<double>(now - last_ns_) / 1e9;
      auto s = read_stats();
      auto c = read_counters();
      w.stats = s.minus(prev_stats_);
      w.counters = qdisc::minus(c, prev_counters_);
      prev_stats_ = s;
      prev_counters_ = c;
      last_ns_ = now;
    }
    if (out_.json()) out_.record(qdisc::window_json(w));
    else out_.text(qdisc::window_text(w));
    out_.flush();
  }

  const QdiscOptions& o_;
  output::Output out_;
  size_t ncpu_ = 1;
  int counters_fd_ = -1, stats_fd_ = -1, extrema_fd_ = -1, starts_fd_ = -1;
  uint64_t start_ns_ = 0, last_ns_ = 0, received_ = 0, warned_lost_ = 0;
  uint64_t min_all_ = 0, max_all_ = 0;
  qdisc::Stats prev_stats_;
  qdisc::Counters prev_counters_{};
};

}  // namespace

std::vector<bpf::Hook> qdisc_hooks() {
  auto enq = enqueue_hook(false);
  enq.group = "qdisc start (qdisc:qdisc_enqueue, else net:net_dev_queue)";
  auto dq = dev_queue_hook(false);
  dq.group = enq.group;
  return {dequeue_hook(), enq, dq, start_xmit_hook(false), kfree_hook()};
}

void setup_qdisc(CLI::App& perf, Context& ctx) {
  auto o = std::make_shared<QdiscOptions>();
  auto* app = perf.add_subcommand(
      "qdisc", "Sojourn of packets in the root qdisc, per packet and as histograms (qdisc_latency_details)");
  cli::add_output_options(*app, o->common);
  cli::add_filter_options(*app, o->filter, cli::kFilterAll, "--dev,--interface,--device");
  app->add_option("--latency-us,--threshold-us", o->threshold_us, "Print packets whose qdisc delay is at least this (us)")
      ->check(check_non_negative);
  app->add_flag("--summary", o->summary, "Histograms only, no per-packet lines");
  cli::add_duration_option(*app, o->common, "-d,--duration");
  cli::add_interval_option(*app, o->common, "-i,--interval", 0);
  app->add_option("--start", o->start, "Start hook: auto, qdisc_enqueue, net_dev_queue")
      ->check(CLI::IsMember({"auto", "qdisc_enqueue", "net_dev_queue"}))
      ->group("");
  app->add_option("--max-entries", o->max_entries, "Packets in the queue the tool can follow at once")
      ->check(CLI::Range(64, 1 << 22));
  app->callback([o, &ctx] { ctx.action = [o] { return QdiscSession(*o).run(); }; });
}

}  // namespace nettrace::tools::perf
