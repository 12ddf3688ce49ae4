// SPDX-License-Identifier: GPL-2.0
// nettrace tun ring: each tun/tap queue's transmit ring as packets reach it, full-ring events, drops per queue
// and reason (tun_ring_monitor.py, tun-tx-ring-stas.bt). See docs/tools/tun.md.

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <tuple>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/abi/filter.h"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/btf_enums.hpp"
#include "nettrace/sys/ksyms.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/drop/drop.hpp"
#include "tools/tun/tun.hpp"
// The skeleton names ABI structs, so it comes after them.
#include "tun_ring.skel.h"

namespace nettrace::tools::tun {
namespace {

using Counters = std::array<uint64_t, NT_TUN_NCOUNTERS>;

// Addresses of tun.c's tun_netdev_ops and tap_netdev_ops: data symbols, listed only with CONFIG_KALLSYMS_ALL
// (the lab's Debian kernels; not this project's 6.18 host, where BPF recognises tun devices by rtnl_link_ops).
std::array<uint64_t, 2> netdev_ops_addrs() {
  std::array<uint64_t, 2> out{};
  std::ifstream f("/proc/kallsyms");
  std::string line;
  while (std::getline(f, line)) {
    const auto a = line.find(' ');
    if (a == std::string::npos || a + 3 > line.size()) continue;
    const auto b = line.find(' ', a + 1);
    if (b == std::string::npos) continue;
    const auto c = line.find_first_of(" \t", b + 1);
    const std::string name = line.substr(b + 1, c == std::string::npos ? std::string::npos : c - b - 1);
    int slot = name == "tun_netdev_ops" ? 0 : name == "tap_netdev_ops" ? 1 : -1;
    if (slot < 0) continue;
    out[static_cast<size_t>(slot)] = std::stoull(line.substr(0, a), nullptr, 16);
  }
  return out;
}

std::string clock_text(uint64_t wall_ns) {
  const time_t secs = static_cast<time_t>(wall_ns / 1000000000ULL);
  struct tm tmv {};
  localtime_r(&secs, &tmv);
  char buf[16];
  strftime(buf, sizeof(buf), "%H:%M:%S", &tmv);
  return fmt::format("{}.{:06}", buf, (wall_ns % 1000000000ULL) / 1000);
}

std::string cstr(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

class Ring final : public core::SessionTool {
 public:
  explicit Ring(const RingOptions& o) : o_(o), s_("tun ring", o.common), out_(s_.out()) {}

  int run() {
    reasons_ = sys::DropReasons::from_kernel();
    auto skel = bpf::Skeleton<tun_ring_bpf>::open("tun ring", bpf::CoreBtf::Kernel);
    auto* ro = skel->rodata;
    ro->nt_filter_cfg = cli::build_filter(o_.filter);
    ro->cfg_iface_filter = !o_.interfaces.empty();
    ro->cfg_all = o_.all;
    ro->cfg_stack = o_.stack;
    ro->cfg_queue = o_.queue < 0 ? 0xffffffffu : static_cast<uint32_t>(o_.queue);
    const auto ops = netdev_ops_addrs();
    ro->nt_tun_netdev_ops[0] = ops[0];
    ro->nt_tun_netdev_ops[1] = ops[1];
    spdlog::debug("tun_netdev_ops {:#x}, tap_netdev_ops {:#x}{}", ops[0], ops[1],
                  ops[0] || ops[1] ? "" : " (not in kallsyms: tun devices recognised by rtnl_link_ops kind)");
    for (auto& h : ring_hooks()) s_.plan().add(h);
    s_.load(skel);
    const uint8_t one = 1;
    const uint32_t netns = sys::current_netns_inum();
    for (const auto& n : o_.interfaces) {
      auto idx = sys::ifindex_of(n);
      if (!idx) throw usage_error(fmt::format("-I: interface '{}' does not exist in this network namespace", n));
      nt_tun_iface_key k{*idx, netns};
      bpf_map_update_elem(bpf_map__fd(skel->maps.ifaces), &k, &one, BPF_ANY);
    }
    s_.attach();
    for (const auto& ch : s_.plan().choices())
      if (ch.chosen && ch.hook == "net:net_dev_start_xmit")
        xmit_via_ = fmt::format("{} {}", bpf::to_string(ch.candidate.kind), ch.candidate.target);
    queues_ = bpf::MapDeltas<nt_tun_qkey, nt_tun_qstat>(bpf_map__fd(skel->maps.queues));
    drops_ = bpf::MapDeltas<nt_tun_drop_key, nt_tun_drop_val>(bpf_map__fd(skel->maps.drops));
    stacks_fd_ = bpf_map__fd(skel->maps.stacks);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters({counters_fd_, NT_TUN_RB_LOST, NT_TUN_MAP_FULL, {NT_TUN_STACK_FAIL}});
    s_.add_ring_buffer(bpf_map__fd(skel->maps.events), [this](const void* d, size_t n) {
      if (n < sizeof(nt_tun_event)) return;
      nt_tun_event e;
      memcpy(&e, d, sizeof(e));
      on_event(e);
    });
    out_.text(fmt::format("Tracing tun/tap transmit rings ({}{})... Hit Ctrl-C to end.\n\n",
                          o_.all ? "every packet" : "full-ring events", o_.interfaces.empty() ? "" : ", " + o_.interface_arg));
    return s_.run(*this);
  }

 private:
  void on_event(const nt_tun_event& e) {
    const uint64_t wall = core::mono_to_realtime(e.ts_ns);
    const std::string dev = cstr(e.name, sizeof(e.name));
    const std::string flow = e.has_pkt ? drop::flow_string(e.pkt) : "";
    std::vector<std::string> frames;
    if (e.stack_id >= 0) frames = stack(e.stack_id);
    const char* status = e.full ? "FULL" : "Available";
    if (out_.json()) {
      nlohmann::json j{{"type", "tun_ring_event"},
                       {"time", core::format_iso8601(wall)},
                       {"event", e.full ? "full" : "xmit"},
                       {"device", dev},
                       {"ifindex", e.ifindex},
                       {"netns", e.netns},
                       {"queue", e.queue},
                       {"numqueues", e.numqueues},
                       {"size", e.size},
                       {"producer", e.producer},
                       {"consumer_head", e.consumer_head},
                       {"consumer_tail", e.consumer_tail},
                       {"depth", e.depth},
                       {"full", static_cast<bool>(e.full)},
                       {"len", e.skb_len}};
      if (!flow.empty()) j["flow"] = flow;
      if (e.stack_id >= 0) j["stack"] = frames;
      out_.record(j, true);
      return;
    }
    std::string t = fmt::format("{} {:<4} {} q{}/{} depth {}/{} ({} used) len {}{}{}\n", clock_text(wall),
                                e.full ? "FULL" : "XMIT", dev, e.queue, e.numqueues, e.depth, e.size,
                                used_pct(e.depth, e.size), e.skb_len, flow.empty() ? "" : "  ", flow);
    if (o_.verbose)
      t += fmt::format("    Device: {} (ifindex {})  Queue: {} of {}\n"
                       "    PTR Ring Details: Size: {}  Producer: {}  Consumer Head: {}  Consumer Tail: {}  "
                       "Status: {}  Depth: {} ({} used)\n",
                       dev, e.ifindex, e.queue, e.numqueues, e.size, e.producer, e.consumer_head, e.consumer_tail,
                       status, e.depth, used_pct(e.depth, e.size));
    for (const auto& f : frames) t += "        " + f + "\n";
    out_.text(t, true);
  }

  std::vector<std::string> stack(int32_t id) {
    std::vector<std::string> out;
    std::array<uint64_t, NT_TUN_STACK_DEPTH> addrs{};
    if (bpf_map_lookup_elem(stacks_fd_, &id, addrs.data()) != 0) return out;
    size_t n = 0;
    while (n < addrs.size() && addrs[n]) n++;
    ksyms_.prefetch(addrs.data(), n);
    bool past_tracing = false;
    for (size_t i = 0; i < n; i++) {
      if (!past_tracing && sys::is_tracing_frame(ksyms_.function(addrs[i]))) continue;
      past_tracing = true;
      out.push_back(ksyms_.symbolize(addrs[i]));
    }
    return out;
  }

  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool final_report = sum != nullptr;
    auto qrows = queues_.read(final_report, [](nt_tun_qstat& d, const nt_tun_qstat& e) {
      d.packets -= e.packets;
      d.full -= e.full;
      if (e.depth.count) {
        const auto h = core::Histogram(d.depth).minus(core::Histogram(e.depth));
        d.depth = h.raw();
        d.depth_max = h.empty() ? 0 : h.max();
      }
      return d.packets != 0;
    });
    auto drows = drops_.read(final_report, [](nt_tun_drop_val& d, const nt_tun_drop_val& e) {
      d.count -= e.count;
      return d.count != 0;
    });
    const Counters now = bpf::read_percpu_counters<NT_TUN_NCOUNTERS>(counters_fd_);
    Counters c{};
    for (size_t i = 0; i < c.size(); i++) c[i] = now[i] - (final_report ? 0 : last_[i]);
    if (!final_report) last_ = now;

    // Drops per device+queue (all reasons, and the ring's own FULL_RING) for the queue table.
    using QKey = std::tuple<uint32_t, uint32_t, uint32_t>;
    std::map<QKey, std::pair<uint64_t, uint64_t>> qdrops;
    const auto full_ring = reasons_.value("FULL_RING");
    for (const auto& [k, v] : drows) {
      auto& qd = qdrops[{k.netns, k.ifindex, k.queue}];
      qd.first += v.count;
      if (full_ring && k.reason == *full_ring) qd.second += v.count;
    }
    std::sort(qrows.begin(), qrows.end(), [](const auto& a, const auto& b) {
      const int cmp = strncmp(a.second.name, b.second.name, NT_TUN_IFNAMSIZ);
      return cmp != 0 ? cmp < 0 : a.first.queue < b.first.queue;
    });

    output::Report r(final_report ? "tun_ring_summary" : "tun_ring_interval");
    r.heading(fmt::format("=== tun ring {} ({:.1f}s) ===", final_report ? "summary" : "interval", secs))
        .time(core::realtime_ns());
    r.field("packets", c[NT_TUN_XMIT]).field("full", c[NT_TUN_FULL]).field("drops", c[NT_TUN_DROPS]);
    r.field("no_ring", c[NT_TUN_NO_RING]).field("xmit_hook", xmit_via_);
    r.line(fmt::format("packets {}  ring full {}  drops {}{}", c[NT_TUN_XMIT], c[NT_TUN_FULL], c[NT_TUN_DROPS],
                       c[NT_TUN_NO_RING] ? fmt::format("  no ring (queue >= numqueues) {}", c[NT_TUN_NO_RING]) : ""));
    auto& qt = r.table("queues", {{"device", "DEVICE", 16, true},
                                  {"queue", "QUEUE", 5},
                                  {"packets", "PACKETS", 10},
                                  {"full", "FULL", 8},
                                  {"drops", "DROPS", 8},
                                  {"full_ring_drops", "", 0},
                                  {"size", "SIZE", 6},
                                  {"depth_max", "DEPTH_MAX", 9},
                                  {"", "AVG_DEPTH", 9, false, "{:.1f}"}})
                   .empty_text("No packets on tun/tap transmit queues.");
    for (const auto& [k, v] : qrows) {
      const auto qd = qdrops[{k.netns, k.ifindex, k.queue}];
      auto& row = qt.row()
                      .cell(cstr(v.name, sizeof(v.name)))
                      .cell(k.queue)
                      .cell(v.packets)
                      .cell(v.full)
                      .cell(qd.first)
                      .cell(qd.second)
                      .cell(v.size)
                      .cell(v.depth_max)
                      .cell(v.depth.count ? static_cast<double>(v.depth.sum) / static_cast<double>(v.depth.count) : 0.0);
      row.json("ifindex", k.ifindex).json("netns", k.netns).json("numqueues", v.numqueues);
      row.json("depth_hist", count_hist_json(v.depth));
      if (final_report || o_.verbose) row.text_after(count_hist_text(v.depth));
    }
    std::sort(drows.begin(), drows.end(), [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
    auto& dt = r.table("drop_reasons", {{"device", "DEVICE", 16, true},
                                 {"queue", "QUEUE", 5},
                                 {"reason", "REASON", 24, true},
                                 {"count", "COUNT", 10}})
                   .title("Drops (skb:kfree_skb) by device, queue and reason:")
                   .indent(2);
    for (const auto& [k, v] : drows)
      dt.row().cell(cstr(v.name, sizeof(v.name))).cell(k.queue).cell(reasons_.name(k.reason)).cell(v.count)
          .json("ifindex", k.ifindex).json("netns", k.netns);
    if (sum) r.summary(*sum, true);
    else r.interval(*iv);
    r.line("");
    out_.emit(r);
  }

  const RingOptions& o_;
  core::Session s_;
  output::Output& out_;
  sys::DropReasons reasons_;
  sys::LazyKsyms ksyms_;
  std::string xmit_via_;
  int counters_fd_ = -1, stacks_fd_ = -1;
  Counters last_{};
  bpf::MapDeltas<nt_tun_qkey, nt_tun_qstat> queues_;
  bpf::MapDeltas<nt_tun_drop_key, nt_tun_drop_val> drops_;
};

}  // namespace

int run_ring(const RingOptions& o) { return Ring(o).run(); }

}  // namespace nettrace::tools::tun
