// SPDX-License-Identifier: GPL-2.0
// nettrace perf iface (iface_netstat): per-queue RX/TX statistics of one interface, per interval.
// See docs/tools/perf.md.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/signals.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/perf/iface.hpp"
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

class IfaceSession {
 public:
  explicit IfaceSession(const IfaceOptions& o) : o_(o), out_(o.common.json) {}

  int run() {
    auto forced = cli::apply_common(o_.common);
    core::install_stop_handlers();
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
    bpf::ProbePlan plan;
    for (auto& h : iface_hooks()) plan.add(h);
    if (forced) plan.force(*forced);
    bpf::Features features;
    plan.choose(skel->obj, features);
    skel.load("perf iface");
    queues_fd_ = bpf_map__fd(skel->maps.queues);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    ncpu_ = static_cast<size_t>(std::max(libbpf_num_possible_cpus(), 1));

    auto links = plan.attach(skel->obj);
    start_ns_ = last_ns_ = core::monotonic_ns();
    spdlog::info("attached: {}", plan.describe());
    cli::signal_ready(o_.common);
    if (!out_.json())
      out_.text(fmt::format("Tracing {} ({} rx / {} tx queues), interval {} s. Ctrl-C to end.\n\n", o_.interface, rxq,
                            txq, o_.common.interval_s));

    const uint64_t interval_ns = static_cast<uint64_t>(o_.common.interval_s * 1e9);
    const uint64_t deadline =
        o_.common.duration_s > 0 ? start_ns_ + static_cast<uint64_t>(o_.common.duration_s * 1e9) : 0;
    uint64_t next = interval_ns ? start_ns_ + interval_ns : 0;
    while (!core::stop_requested()) {
      usleep(20000);
      const uint64_t now = core::monotonic_ns();
      if (deadline && now >= deadline) break;
      if (next && now >= next) {
        report_interval(now);
        next += interval_ns;
        if (next <= now) next = now + interval_ns;
      }
    }
    // Read before detaching ends the window; the tail interval makes the intervals add up to the summary.
    const uint64_t end = core::monotonic_ns();
    iface::Snapshot total = read();
    if (interval_ns && end > last_ns_) report(total, end);
    links.clear();
    summary(total, end);
    return 0;
  }

 private:
  iface::Snapshot read() const {
    iface::Snapshot s;
    std::vector<nt_iface_queue> vals(ncpu_);
    for (int dir = 0; dir < 2; dir++) {
      auto& rows = dir == NT_IFACE_RX ? s.rx.rows : s.tx.rows;
      rows.resize(nq_ + 1);
      for (uint32_t q = 0; q <= nq_; q++) {
        uint32_t key = static_cast<uint32_t>(dir) * (nq_ + 1) + q;
        if (bpf_map_lookup_elem(queues_fd_, &key, vals.data()) == 0) rows[q] = iface::sum_cpus(vals.data(), ncpu_);
      }
    }
    return s;
  }

  uint64_t counter(uint32_t i) const {
    std::vector<uint64_t> v(ncpu_);
    uint64_t sum = 0;
    if (bpf_map_lookup_elem(counters_fd_, &i, v.data()) == 0)
      for (auto x : v) sum += x;
    return sum;
  }

  void report_interval(uint64_t now) { report(read(), now); }

  void report(const iface::Snapshot& now_counts, uint64_t now) {
    iface::Report r{o_.interface, ifindex_, static_cast<double>(now - last_ns_) / 1e9, core::realtime_ns(),
                    o_.throughput, now_counts.minus(prev_)};
    prev_ = now_counts;
    last_ns_ = now;
    if (out_.json()) out_.record(iface::report_json("iface_interval", r));
    else out_.text(iface::report_text(r));
    out_.flush();
  }

  void summary(const iface::Snapshot& total, uint64_t end) {
    iface::Report r{o_.interface, ifindex_, static_cast<double>(end - start_ns_) / 1e9, core::realtime_ns(),
                    true, total};
    const uint64_t over = counter(NT_IFACE_QUEUE_OVER);
    if (out_.json()) {
      auto j = iface::report_json("iface_summary", r);
      j["rx_seen"] = counter(NT_IFACE_RX_SEEN);
      j["tx_seen"] = counter(NT_IFACE_TX_SEEN);
      j["queue_overflow"] = over;
      j["lost_events"] = 0;  // counted in the kernel; nothing travels through a buffer that could fill
      out_.record(j);
      return;
    }
    std::string t = "\n=== Totals since start ===\n" + iface::report_text(r);
    if (over) t += fmt::format("Packets on queues beyond the device's {} (overflow row): {}\n", nq_, over);
    out_.text(t);
  }

  const IfaceOptions& o_;
  output::Output out_;
  uint32_t ifindex_ = 0, nq_ = 1;
  size_t ncpu_ = 1;
  int queues_fd_ = -1, counters_fd_ = -1;
  uint64_t start_ns_ = 0, last_ns_ = 0;
  iface::Snapshot prev_;
};

}  // namespace

std::vector<bpf::Hook> iface_hooks() {
  using bpf::AttachKind;
  return {{"net:netif_receive_skb",
           {{AttachKind::TpBtf, "tpbtf_netif_receive_skb", "netif_receive_skb"},
            {AttachKind::RawTp, "rawtp_netif_receive_skb", "netif_receive_skb"},
            {AttachKind::Tracepoint, "tp_net_netif_receive_skb", "net/netif_receive_skb"}},
           true},
          {"net:net_dev_start_xmit",
           {{AttachKind::TpBtf, "tpbtf_net_dev_start_xmit", "net_dev_start_xmit"},
            {AttachKind::RawTp, "rawtp_net_dev_start_xmit", "net_dev_start_xmit"},
            {AttachKind::Tracepoint, "tp_net_net_dev_start_xmit", "net/net_dev_start_xmit"}},
           true}};
}

void setup_iface(CLI::App& perf, Context& ctx) {
  auto o = std::make_shared<IfaceOptions>();
  auto* app = perf.add_subcommand("iface", "Per-queue RX/TX packets, bytes, sizes, BPS/PPS of an interface (iface_netstat)");
  cli::add_output_options(*app, o->common);
  app->add_option("-n,--name,--interface,--dev", o->interface, "Interface to watch (in this network namespace)")
      ->required()
      ->check(cli::check_interface);
  cli::add_interval_option(*app, o->common, "-i,--interval", 1);
  cli::add_duration_option(*app, o->common, "-d,--duration");
  app->add_flag("-t,--throughput", o->throughput, "Also print BPS and PPS per queue (JSON always has them)");
  app->callback([o, &ctx] {
    if (o->common.interval_s <= 0) throw usage_error(fmt::format("--interval: must be > 0, got {}", o->common.interval_s));
    ctx.action = [o] { return IfaceSession(*o).run(); };
  });
}

}  // namespace nettrace::tools::perf
