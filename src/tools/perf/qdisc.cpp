// SPDX-License-Identifier: GPL-2.0
// nettrace perf qdisc (qdisc_lateny_details, qdisc_latency_details): how long packets wait in a device's
// root qdisc, per packet above a threshold and as interval/summary histograms. See docs/tools/perf.md.

#include <algorithm>
#include <memory>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/cli/help.hpp"
#include "nettrace/abi/filter.h"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "tools/perf/engine.hpp"
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

bpf::Hook enqueue_hook(bool required) {
  return bpf::tracepoint_hook("qdisc", "qdisc_enqueue", {.classic = true, .required = required});
}
bpf::Hook dev_queue_hook(bool required) {
  return bpf::tracepoint_hook("net", "net_dev_queue", {.classic = true, .required = required});
}
bpf::Hook dequeue_hook() { return bpf::tracepoint_hook("qdisc", "qdisc_dequeue", {.classic = true}); }
bpf::Hook start_xmit_hook(bool required) {
  return bpf::tracepoint_hook("net", "net_dev_start_xmit", {.classic = true, .required = required});
}
bpf::Hook kfree_hook() {
  return bpf::tracepoint_hook("skb", "kfree_skb",
                              {.classic = true, .required = false, .group = "drops in the queue (skb:kfree_skb)"});
}

bool hook_viable(const bpf::Hook& h, bpf::Features& f) {
  for (const auto& c : h.candidates) {
    std::string why, resolved;
    if (bpf::candidate_viable(c, f, why, resolved)) return true;
  }
  return false;
}

class QdiscTool final : public core::SessionTool {
 public:
  explicit QdiscTool(const QdiscOptions& o) : o_(o), s_("perf qdisc", o.common), out_(s_.out()) {}

  int run() {
    const nt_filter filter = cli::build_filter(o_.filter);

    auto skel = bpf::Skeleton<perf_qdisc_bpf>::open("perf qdisc");
    skel->rodata->nt_filter_cfg = filter;
    skel->rodata->cfg_emit_events = !o_.summary;
    skel->rodata->cfg_threshold_ns = static_cast<uint64_t>(o_.threshold_us * 1e3);
    bpf_map__set_max_entries(skel->maps.starts, o_.max_entries);
    if (o_.summary) bpf_map__set_max_entries(skel->maps.events, 4096);

    bool enqueue = o_.start == "qdisc_enqueue";
    if (o_.start == "auto") enqueue = hook_viable(enqueue_hook(true), s_.features());
    if (enqueue) {
      s_.plan().add(enqueue_hook(true));
    } else {
      spdlog::info("start hook: net:net_dev_queue (qdisc:qdisc_enqueue {}); sojourn includes the time from "
                   "__dev_queue_xmit to the enqueue", o_.start == "auto" ? "is missing on this kernel" : "not used");
      s_.plan().add(dev_queue_hook(true));
      s_.plan().add(start_xmit_hook(true));
    }
    s_.plan().add(dequeue_hook());
    s_.plan().add(kfree_hook());
    s_.load(skel);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    stats_fd_ = bpf_map__fd(skel->maps.stats);
    extrema_fd_ = bpf_map__fd(skel->maps.extrema);
    starts_fd_ = bpf_map__fd(skel->maps.starts);
    s_.attach();
    s_.add_ring_buffer(bpf_map__fd(skel->maps.events), [this](const void* data, size_t size) {
      if (size < sizeof(nt_qdisc_event)) return;
      const auto& e = *static_cast<const nt_qdisc_event*>(data);
      const uint64_t wall = core::mono_to_realtime(e.dequeue_ns);
      // Per packet (possibly many): one typed renderer per format, only the one asked for runs; not a Report.
      if (out_.json()) out_.record(qdisc::event_json(e, wall), true);
      else out_.text(qdisc::event_text(e, wall), true);
    });
    s_.set_counters({counters_fd_, NT_QDISC_RB_LOST, NT_QDISC_MAP_FULL, {}});
    print_header(enqueue);
    return s_.run(*this);
  }

 private:
  void print_header(bool enqueue) {  // text only
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

  qdisc::Counters read_counters() const { return bpf::read_percpu_counters<NT_QDISC_NCOUNTERS>(counters_fd_); }

  // The cumulative histogram; min/max of the window, reset for the next one.
  qdisc::Stats read_stats() {
    const uint32_t zero = 0;
    const size_t ncpu = bpf::possible_cpus();
    auto st = bpf::read_percpu<nt_hist>(stats_fd_, zero);
    auto ex = bpf::read_percpu<nt_qdisc_extrema>(extrema_fd_, zero);
    if (st.empty()) st.assign(ncpu, nt_hist{});
    if (ex.empty()) ex.assign(ncpu, nt_qdisc_extrema{});
    std::vector<nt_qdisc_extrema> cleared(ncpu);
    bpf_map_update_elem(extrema_fd_, &zero, cleared.data(), BPF_ANY);
    return qdisc::sum_cpus(st.data(), ex.data(), ncpu);
  }

  uint64_t in_flight() const { return bpf::map_keys<uint64_t>(starts_fd_).size(); }

  void on_interval(const core::Interval& iv) override {
    qdisc::Window w;
    w.type = "qdisc_latency_interval";
    w.wall_ns = core::realtime_ns();
    w.secs = iv.seconds;
    auto s = read_stats();
    auto c = read_counters();
    w.stats = s.minus(prev_stats_);
    w.counters = qdisc::minus(c, prev_counters_);
    prev_stats_ = s;
    prev_counters_ = c;
    out_.emit(qdisc::window_report(w).interval(iv).line(""));
  }

  void on_end(const core::Summary& sum) override {
    qdisc::Window w;
    w.type = "qdisc_latency_summary";
    w.wall_ns = core::realtime_ns();
    w.secs = sum.seconds;
    w.stats = read_stats();
    w.stats.min_ns = w.stats.hist.min();  // the run's extremes, kept by the histogram
    w.stats.max_ns = w.stats.hist.max();
    w.counters = read_counters();
    w.in_flight = in_flight();
    out_.emit(qdisc::window_report(w).summary(sum, true).line(""));
  }

  const QdiscOptions& o_;
  core::Session s_;
  output::Output& out_;
  int counters_fd_ = -1, stats_fd_ = -1, extrema_fd_ = -1, starts_fd_ = -1;
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
  cli::add_filter_options(*app, o->filter, cli::kFilterAll);
  cli::add_threshold_option(*app, o->threshold_us, "Print packets whose qdisc delay is at least this (default 0: all)",
                            "us", "--latency-us,--threshold-us");
  app->add_flag("--summary", o->summary, "Histograms only, no per-packet lines");
  cli::add_duration_option(*app, o->common);
  cli::add_interval_option(*app, o->common, 0);
  cli::add_examples(*app, {"nettrace perf qdisc -I eth0", "nettrace perf qdisc -I eth0 --threshold 1ms --dst-port 443",
                           "nettrace perf qdisc -I eth0 --summary -i 5 -d 60 --json"});
  app->add_option("--start", o->start, "Start hook: auto, qdisc_enqueue, net_dev_queue")
      ->check(CLI::IsMember({"auto", "qdisc_enqueue", "net_dev_queue"}))
      ->group("");
  app->add_option("--max-entries", o->max_entries, "Packets in the queue the tool can follow at once")
      ->check(CLI::Range(64, 1 << 22))
      ->capture_default_str();
  app->callback([o, &ctx] { ctx.action = [o] { return QdiscTool(*o).run(); }; });
}

}  // namespace nettrace::tools::perf
