// SPDX-License-Identifier: GPL-2.0
// perf qdisc: window arithmetic and rendering (docs/output.md, docs/tools/perf.md).

#include <cstring>

#include <fmt/format.h>

#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/timefmt.hpp"
#include "tools/drop/drop.hpp"
#include "tools/perf/qdisc.hpp"

namespace nettrace::tools::perf::qdisc {

namespace {

uint64_t sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

std::string ifname(const nt_qdisc_event& e) {
  std::string n(e.ifname, strnlen(e.ifname, sizeof(e.ifname)));
  return n.empty() ? fmt::format("ifindex {}", e.ifindex) : n;
}

}  // namespace

Stats Stats::minus(const Stats& b) const {
  Stats r = *this;
  r.hist = hist.minus(b.hist);
  return r;
}

Stats sum_cpus(const nt_hist* st, const nt_qdisc_extrema* ex, size_t ncpu) {
  Stats s;
  for (size_t c = 0; c < ncpu; c++) {
    s.hist.add(st[c]);
    if (ex && ex[c].min_ns && (!s.min_ns || ex[c].min_ns < s.min_ns)) s.min_ns = ex[c].min_ns;
    if (ex && ex[c].max_ns > s.max_ns) s.max_ns = ex[c].max_ns;
  }
  return s;
}

Counters minus(const Counters& now, const Counters& before) {
  Counters d{};
  for (size_t i = 0; i < d.size(); i++) d[i] = sub(now[i], before[i]);
  return d;
}

std::string handle_string(uint32_t handle) { return fmt::format("{:x}:{:x}", handle >> 16, handle & 0xffff); }

output::Report window_report(const Window& w) {
  const auto& c = w.counters;
  const bool summary = std::string(w.type) == "qdisc_latency_summary";
  const core::Histogram& h = w.stats.hist;
  output::Report r(w.type);
  r.heading(summary ? fmt::format("=== Qdisc sojourn summary ({:.1f} s) ===", w.secs)
                    : fmt::format("=== Qdisc sojourn (interval {:.1f} s) ===", w.secs))
      .time(w.wall_ns);
  r.field(summary ? "duration_s" : "interval_s", w.secs)
      .field("packets", h.count())
      .field("started", c[NT_QDISC_STARTED])
      .field("dequeued", c[NT_QDISC_DEQ_SEEN])
      .field("dequeued_without_start", sub(c[NT_QDISC_DEQ_SEEN], c[NT_QDISC_FINISHED]))
      .field("dropped_in_queue", c[NT_QDISC_DROPPED])
      .field("bypassed", c[NT_QDISC_BYPASSED])
      .field("restarted", c[NT_QDISC_RESTARTED])
      .field("start_hook_hits", c[NT_QDISC_START_SEEN]);
  std::string t = fmt::format("Packets: {}", h.count());
  if (!h.empty()) {
    // min/max: the kernel's exact extremes of the window (the histogram's are bucket bounds in an interval).
    r.field("avg_us", h.mean() / 1e3)
        .field("min_us", static_cast<double>(w.stats.min_ns) / 1e3)
        .field("max_us", static_cast<double>(w.stats.max_ns) / 1e3)
        .field("p50_us", h.percentile(50) / 1e3)
        .field("p90_us", h.percentile(90) / 1e3)
        .field("p99_us", h.percentile(99) / 1e3);
    t += fmt::format("  avg {:.3f} us  min {:.3f} us  max {:.3f} us  p50 {:.1f} us  p90 {:.1f} us  p99 {:.1f} us",
                     h.mean() / 1e3, static_cast<double>(w.stats.min_ns) / 1e3,
                     static_cast<double>(w.stats.max_ns) / 1e3, h.percentile(50) / 1e3, h.percentile(90) / 1e3,
                     h.percentile(99) / 1e3);
  }
  r.line(t);
  t = fmt::format("Started: {}, dequeued without a start: {}, dropped in queue: {}, bypassed: {}, restarted: {}",
                  c[NT_QDISC_STARTED], sub(c[NT_QDISC_DEQ_SEEN], c[NT_QDISC_FINISHED]), c[NT_QDISC_DROPPED],
                  c[NT_QDISC_BYPASSED], c[NT_QDISC_RESTARTED]);
  if (w.in_flight) {
    r.field("in_flight", *w.in_flight);
    t += fmt::format(", still queued at exit: {}", *w.in_flight);
  }
  r.line(t);
  if (!h.empty()) r.line("").histogram("hist", h);
  return r;
}

nlohmann::json event_json(const nt_qdisc_event& e, uint64_t wall_ns) {
  nlohmann::json j{{"type", "qdisc_latency"},
                   {"time", core::format_iso8601(wall_ns)},
                   {"timestamp_ns", e.dequeue_ns},
                   {"enqueue_ns", e.enqueue_ns},
                   {"dequeue_ns", e.dequeue_ns},
                   {"delay_us", static_cast<double>(e.dequeue_ns - e.enqueue_ns) / 1e3},
                   {"interface", std::string(e.ifname, strnlen(e.ifname, sizeof(e.ifname)))},
                   {"ifindex", e.ifindex},
                   {"netns", e.netns},
                   {"qdisc_handle", handle_string(e.handle)},
                   {"qdisc_parent", handle_string(e.parent)},
                   {"txq", e.txq},
                   {"len", e.len},
                   {"cpu", e.cpu},
                   {"flow", drop::flow_string(e.pkt)}};
  const auto& p = e.pkt;
  if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
    j["src_ip"] = drop::ip_to_string(p.saddr, p.l3);
    j["dst_ip"] = drop::ip_to_string(p.daddr, p.l3);
    j["protocol"] = cli::protocol_name(p.l4_proto);
    if (p.flags & NT_PKT_HAS_L4) {
      j["src_port"] = p.sport;
      j["dst_port"] = p.dport;
    }
    if (p.l4_proto == NT_IPPROTO_TCP) j["tcp_seq"] = p.tcp_seq;
  }
  return j;
}

std::string event_text(const nt_qdisc_event& e, uint64_t wall_ns) {
  std::string flow = drop::flow_string(e.pkt);
  if (e.pkt.l4_proto == NT_IPPROTO_TCP && (e.pkt.flags & NT_PKT_HAS_L4)) flow += fmt::format(" (seq={})", e.pkt.tcp_seq);
  return fmt::format("[{}] {} dev={} txq={} qdisc={} len={} enqueue={}ns dequeue={}ns qdisc delay: {:.3f}us\n",
                     core::format_local(wall_ns), flow, ifname(e), e.txq, handle_string(e.handle), e.len, e.enqueue_ns,
                     e.dequeue_ns, static_cast<double>(e.dequeue_ns - e.enqueue_ns) / 1e3);
}

}  // namespace nettrace::tools::perf::qdisc
