// SPDX-License-Identifier: GPL-2.0
// nettrace perf iface (iface_netstat): per-queue RX/TX statistics of one interface, per interval.
// See docs/tools/perf.md.

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/cli/help.hpp"
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
#include "nettrace/sys/netdev.hpp"
#include "tools/perf/iface.hpp"
#include "tools/perf/engine.hpp"
#include "tools/perf/perf.hpp"
// The skeleton names ABI structs, so it comes after them.
#include "perf_iface.skel.h"

namespace nettrace::tools::perf {
namespace {

struct IfaceOptions {
  cli::CommonOptions common;
  std::string interface;
  bool throughput = false;
};

// Queues per direction as sysfs lists them (/sys/class/net/DEV/queues/{rx,tx}-N).
std::pair<uint32_t, uint32_t> queue_counts(const std::string& dev) {
  uint32_t rx = 0, tx = 0;
  const std::string path = "/sys/class/net/" + dev + "/queues";
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      if (strncmp(e->d_name, "rx-", 3) == 0) rx++;
      if (strncmp(e->d_name, "tx-", 3) == 0) tx++;
    }
    closedir(d);
  }
  return {std::max(rx, 1u), std::max(tx, 1u)};
}

class IfaceTool final : public core::SessionTool {
 public:
  explicit IfaceTool(const IfaceOptions& o) : o_(o), s_("perf iface", o.common), out_(s_.out()) {}

  int run() {
    auto idx = sys::ifindex_of(o_.interface);
    if (!idx) throw usage_error(cli::check_interface(o_.interface));
    ifindex_ = *idx;
    auto [rxq, txq] = queue_counts(o_.interface);
    nq_ = std::min<uint32_t>(std::max(rxq, txq), NT_IFACE_MAX_QUEUES);

    auto skel = bpf::Skeleton<perf_iface_bpf>::open("perf iface");
    skel->rodata->cfg_ifindex = ifindex_;
    skel->rodata->cfg_netns = sys::current_netns_inum();
    skel->rodata->cfg_nqueues = nq_;
    bpf_map__set_max_entries(skel->maps.queues, 2 * (nq_ + 1));
    for (auto& h : iface_hooks()) s_.plan().add(h);
    s_.load(skel);
    queues_fd_ = bpf_map__fd(skel->maps.queues);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.attach();
    out_.text(fmt::format("Tracing {} ({} rx / {} tx queues), interval {} s. Ctrl-C to end.\n\n",  // text only
                          o_.interface, rxq, txq, o_.common.interval_s));
    return s_.run(*this);
  }

 private:
  iface::Snapshot read() const {
    iface::Snapshot s;
    for (int dir = 0; dir < 2; dir++) {
      auto& rows = dir == NT_IFACE_RX ? s.rx.rows : s.tx.rows;
      rows.resize(nq_ + 1);
      for (uint32_t q = 0; q <= nq_; q++) {
        const uint32_t key = static_cast<uint32_t>(dir) * (nq_ + 1) + q;
        auto vals = bpf::read_percpu<nt_iface_queue>(queues_fd_, key);
        if (!vals.empty()) rows[q] = iface::sum_cpus(vals.data(), vals.size());
      }
    }
    return s;
  }

  uint64_t counter(uint32_t i) const { return bpf::read_percpu_sum(counters_fd_, i); }

  // Runs after detach for the last interval: every count is final.
  void on_interval(const core::Interval& iv) override {
    const iface::Snapshot now_counts = read();
    iface::Report r{o_.interface, ifindex_, iv.seconds, core::realtime_ns(), o_.throughput, now_counts.minus(prev_)};
    prev_ = now_counts;
    out_.emit(iface::report("iface_interval", r).interval(iv).line(""));
  }

  void on_end(const core::Summary& sum) override {
    iface::Report r{o_.interface, ifindex_, sum.seconds, core::realtime_ns(), true, read()};
    const uint64_t over = counter(NT_IFACE_QUEUE_OVER);
    auto rep = iface::report("iface_summary", r);
    rep.heading(fmt::format("=== Totals since start: {}  ({:.2f} s) ===", o_.interface, sum.seconds));
    rep.field("rx_seen", counter(NT_IFACE_RX_SEEN)).field("tx_seen", counter(NT_IFACE_TX_SEEN)).field("queue_overflow", over);
    if (over) rep.line(fmt::format("Packets on queues beyond the device's {} (overflow row): {}", nq_, over));
    rep.summary(sum, false);  // no ring buffer: counting is in the kernel, so no events_received
    out_.emit(rep);
  }

  const IfaceOptions& o_;
  core::Session s_;
  output::Output& out_;
  uint32_t ifindex_ = 0, nq_ = 1;
  int queues_fd_ = -1, counters_fd_ = -1;
  iface::Snapshot prev_;
};

}  // namespace

std::vector<bpf::Hook> iface_hooks() {
  return {bpf::tracepoint_hook("net", "netif_receive_skb", {.classic = true}),
          bpf::tracepoint_hook("net", "net_dev_start_xmit", {.classic = true})};
}

void setup_iface(CLI::App& perf, Context& ctx) {
  auto o = std::make_shared<IfaceOptions>();
  auto* app = perf.add_subcommand("iface", "Per-queue RX/TX packets, bytes, sizes, BPS/PPS of an interface (iface_netstat)");
  cli::add_output_options(*app, o->common);
  app->add_option("-I,--interface,--name,--dev", o->interface, "Interface to watch (in this network namespace)")
      ->required()
      ->check(cli::check_interface)
      ->option_text("NAME");
  cli::add_interval_option(*app, o->common, 1);
  cli::add_duration_option(*app, o->common);
  app->add_flag("--throughput", o->throughput, "Also print BPS and PPS per queue (JSON always has them)");
  cli::add_examples(*app, {"nettrace perf iface -I eth0", "nettrace perf iface -I eth0 --throughput -i 5 -d 60"});
  app->callback([o, &ctx] {
    if (o->common.interval_s <= 0) throw usage_error(fmt::format("--interval: must be > 0, got {}", o->common.interval_s));
    ctx.action = [o] { return IfaceTool(*o).run(); };
  });
}

}  // namespace nettrace::tools::perf
