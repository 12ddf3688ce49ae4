// SPDX-License-Identifier: GPL-2.0
// nettrace virtio rcvbuf: one line per packet a virtio-net device hands to GRO (trace_virtio_net_rcvbuf.bt). See
// docs/tools/virtio.md.

#include <fstream>
#include <map>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/abi/virtio.h"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/drop/drop.hpp"
#include "tools/virtio/virtio.hpp"
#include "virtio_rcvbuf.skel.h"

namespace nettrace::tools::virtio {
namespace {

std::string tcp_flags(uint8_t f) {
  static const char* names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
  std::string s;
  for (int i = 0; i < 8; i++)
    if (f & (1u << i)) s += (s.empty() ? "" : "|") + std::string(names[i]);
  return s.empty() ? "-" : s;
}

class Rcvbuf final : public core::SessionTool {
 public:
  explicit Rcvbuf(const RcvbufOptions& o) : o_(o), s_("virtio rcvbuf", o.common), out_(s_.out()) {}

  int run() {
    auto skel = bpf::Skeleton<virtio_rcvbuf_bpf>::open("virtio rcvbuf", bpf::CoreBtf::Minimal);
    skel->rodata->cfg_netns = sys::current_netns_inum();
    {
      // Data symbols (CONFIG_KALLSYMS_ALL): the addresses of the variables holding the bases of the direct map and
      // of the struct page array, so BPF can read a page fragment (x86-64, CONFIG_RANDOMIZE_MEMORY).
      std::ifstream f("/proc/kallsyms");
      std::string line;
      while (std::getline(f, line)) {
        auto sp = line.rfind(' ');
        if (sp == std::string::npos) continue;
        std::string_view name(line.c_str() + sp + 1);
        if (name != "page_offset_base" && name != "vmemmap_base") continue;
        const uint64_t addr = std::stoull(line.substr(0, line.find(' ')), nullptr, 16);
        if (name == "page_offset_base") skel->rodata->cfg_page_offset_base = addr;
        else skel->rodata->cfg_vmemmap_base = addr;
      }
      if (!skel->rodata->cfg_page_offset_base || !skel->rodata->cfg_vmemmap_base)
        spdlog::info("page_offset_base/vmemmap_base not in /proc/kallsyms: headers in page fragments are not parsed");
    }
    for (auto& h : rcvbuf_hooks()) s_.plan().add(h);
    s_.load(skel);
    const uint8_t one = 1;
    for (const auto& [ifindex, name] : o_.devices)
      bpf_map_update_elem(bpf_map__fd(skel->maps.devices), &ifindex, &one, BPF_ANY);
    s_.attach();
    s_.set_counters({bpf_map__fd(skel->maps.counters), NT_VIRTIO_RB_LOST, NT_VIRTIO_MAP_FULL, {}});
    s_.add_ring_buffer(bpf_map__fd(skel->maps.events), [this](const void* d, size_t n) { on_event(d, n); });
    std::string devs;
    for (const auto& [i, name] : o_.devices) devs += (devs.empty() ? "" : ", ") + name;
    out_.text(fmt::format("Tracing packets received by {}... Hit Ctrl-C to end.\n", devs));
    return s_.run(*this);
  }

 private:
  void on_event(const void* d, size_t n) {
    if (n < sizeof(nt_virtio_rcv_event)) return;
    const auto* e = static_cast<const nt_virtio_rcv_event*>(d);
    if (o_.queue >= 0 && e->queue != o_.queue) {
      s_.discard_event();
      return;
    }
    const std::string dev(e->dev, strnlen(e->dev, NT_VIRTIO_IFNAMSIZ));
    const std::string q = e->queue < 0 ? "rx?" : fmt::format("rx{}", e->queue);
    counts_[{dev, q}]++;
    const nt_pkt& p = e->pkt;
    const bool l4 = p.flags & NT_PKT_HAS_L4;
    const bool tcp = l4 && p.l4_proto == 6, icmp = l4 && (p.l4_proto == 1 || p.l4_proto == 58);
    const uint64_t wall = core::mono_to_realtime(e->ts_ns);
    if (out_.json()) {
      nlohmann::json j{{"type", "virtio_rcvbuf_event"}, {"time", core::format_iso8601(wall)}, {"device", dev},
                       {"queue", q}, {"cpu", e->cpu}, {"len", e->len}, {"flow", drop::flow_string(p)},
                       {"linear", e->linear}, {"nr_frags", e->nr_frags}};
      if (tcp) {
        j["tcp_seq"] = p.tcp_seq;
        j["tcp_ack"] = p.tcp_ack;
        j["tcp_flags"] = tcp_flags(p.tcp_flags);
      }
      if (icmp) {
        j["icmp_type"] = p.icmp_type;
        j["icmp_id"] = p.icmp_id;
        j["icmp_seq"] = p.icmp_seq;
      }
      out_.record(j, true);
      return;
    }
    std::string extra;
    if (tcp) extra = fmt::format(" seq={} ack={} flags={}", p.tcp_seq, p.tcp_ack, tcp_flags(p.tcp_flags));
    if (icmp) extra = fmt::format(" type={} id={} seq={}", p.icmp_type, p.icmp_id, p.icmp_seq);
    out_.text(fmt::format("{} cpu{} {} {} len={} {}{}\n", core::format_local(wall), e->cpu, dev, q, e->len,
                          drop::flow_string(p), extra),
              true);
  }

  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool final_report = sum != nullptr;
    // counts_: since the last report; total_: the reported ones before it.
    auto counts = counts_;
    if (final_report)
      for (const auto& [k, n] : total_) counts[k] += n;
    for (const auto& [k, n] : counts_) total_[k] += n;
    counts_.clear();
    uint64_t all = 0;
    for (const auto& [k, n] : counts) all += n;
    output::Report rep(final_report ? "virtio_rcvbuf_summary" : "virtio_rcvbuf_interval");
    rep.heading(fmt::format("=== virtio rcvbuf {} ({:.1f}s): {} packets ===", final_report ? "summary" : "interval",
                            secs, all))
        .time(core::realtime_ns());
    rep.field("packets", all);
    auto& t = rep.table("queues", {{"device", "DEVICE", 10, true}, {"queue", "QUEUE", 6, true}, {"packets", "PACKETS", 9}});
    for (const auto& [k, n] : counts) t.row().cell(k.first).cell(k.second).cell(n);
    if (sum) rep.summary(*sum, true);
    else rep.interval(*iv);
    out_.emit(rep);
  }

  const RcvbufOptions& o_;
  core::Session s_;
  output::Output& out_;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_, total_;
};

}  // namespace

int run_rcvbuf(const RcvbufOptions& o) { return Rcvbuf(o).run(); }

}  // namespace nettrace::tools::virtio
