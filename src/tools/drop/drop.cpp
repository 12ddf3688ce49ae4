// SPDX-License-Identifier: GPL-2.0
// nettrace drop: skb:kfree_skb events and in-kernel summaries. See docs/tools/drop.md.

#include "tools/drop/drop.hpp"

#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/abi/filter.h"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/cli/help.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "nettrace/sys/ksyms.hpp"
#include "nettrace/sys/netdev.hpp"
// The skeleton names ABI structs, so it comes after them.
#include "drop.skel.h"

namespace nettrace::tools::drop {
namespace {

using Counters = std::array<uint64_t, NT_DROP_NCOUNTERS>;

// The event ring buffer of the per-event modes: 4 MiB, ≈ 21 000 records (188 bytes and an 8-byte header; a
// stack is an id into event_stacks; 248 bytes plus the frames when a stack goes inline), ≈ 150 ms of a
// 140 k/s drop storm while the reader is off CPU (2 MiB lost events in one of three storms). The kernel maps
// all pages of a mapping at mmap time; bpf::RingReader maps a 1 MiB window of it, so the ring costs ≈ 1 MB
// of the reader's RSS (docs/benchmarks.md); summaries use one page. Said in --help (kRingHelp).
constexpr uint32_t kEventRing = 4u << 20;
constexpr uint32_t kEventStacks = 8192;
constexpr const char* kRingHelp =
    "Per-drop events pass through a 4 MiB ring buffer (about 21000 events, stacks as ids; woken per batch in "
    "a storm); events it cannot hold are counted as lost_events. Summaries (drop stacks, drop qdisc --summary) "
    "emit no events.";

// Callers whose frees the original tools treated as normal (eth_drop's filter list).
constexpr const char* kNormalFreeCallers[] = {"icmp_rcv",        "tcp_v4_rcv",      "tcp_v4_do_rcv",
                                              "skb_release_data", "__kfree_skb",     "tcp_recvmsg",
                                              "sk_stream_kill_queues"};

// Reason names that mean "dropped by the traffic-control layer" (qdisc queues and tc egress).
bool is_qdisc_reason(const std::string& name) {
  for (const char* p : {"QDISC_", "FQ_", "CAKE_", "CODEL", "DUALPI2_", "TC_EGRESS"})
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

void set_bit(__u64* bitmap, uint32_t v) {
  if (v < NT_DROP_REASON_BITS) bitmap[v / 64] |= 1ULL << (v % 64);
}

Counters read_counters_raw(int fd) { return bpf::read_percpu_counters<NT_DROP_NCOUNTERS>(fd); }

struct KeyLess {
  bool operator()(const nt_drop_key& a, const nt_drop_key& b) const { return memcmp(&a, &b, sizeof(a)) < 0; }
};
using DropCounts = std::map<nt_drop_key, uint64_t, KeyLess>;

DropCounts read_drop_map(int fd) {
  DropCounts out;
  for (const auto& [k, v] : bpf::dump_map<nt_drop_key, uint64_t>(fd)) out[k] = v;
  return out;
}

std::vector<uint64_t> read_stack(int fd, int32_t id) {
  std::vector<uint64_t> out;
  if (id < 0) return out;
  std::array<uint64_t, NT_DROP_STACK_DEPTH> frames{};
  if (bpf_map_lookup_elem(fd, &id, frames.data()) != 0) return out;
  for (auto a : frames)
    if (a) out.push_back(a);
  return out;
}

std::string key_flow(const nt_drop_key& k) {
  nt_pkt p{};
  memcpy(p.saddr, k.saddr, 16);
  memcpy(p.daddr, k.daddr, 16);
  p.sport = k.sport;
  p.dport = k.dport;
  p.l3 = k.l3;
  p.l4_proto = k.l4_proto;
  if (k.sport || k.dport) p.flags |= NT_PKT_HAS_L4;
  return flow_string(p);
}

std::string pct(uint64_t n, uint64_t total) {
  return total ? fmt::format("{:.1f}%", 100.0 * static_cast<double>(n) / static_cast<double>(total)) : "0.0%";
}

class DropTool final : public core::SessionTool {
 public:
  // Kernel counters with the normal frees filtered in user space moved from matched to normal.
  Counters read_counters(int fd) const {
    Counters c = read_counters_raw(fd);
    c[NT_DROP_MATCHED] -= std::min(c[NT_DROP_MATCHED], normal_late_);
    c[NT_DROP_NORMAL] += normal_late_;
    return c;
  }

  explicit DropTool(const DropOptions& o) : o_(o), s_("drop", o.common), out_(s_.out()) {}

  int run() {
    const uint64_t t0 = core::monotonic_ns();
    auto phase = [t0](const char* what) {
      spdlog::debug("{:.1f} ms: {} (peak RSS {:.1f} MB)", (core::monotonic_ns() - t0) / 1e6, what, sys::peak_rss_kb() / 1024.0);
    };
    const nt_filter filter = cli::build_filter(o_.filter);
    const bool want_normal = !o_.disable_normal_filter && o_.mode == Mode::Events;

    phase("start");
    reasons_ = sys::DropReasons::from_kernel();
    // --reason cannot be honoured without reasons: one usage error, before any warning (bad input gets one line).
    if (!reasons_.available() && !o_.reasons.empty())
      throw usage_error(fmt::format("--reason {}: this kernel has no skb drop reasons (before 5.17)", fmt::join(o_.reasons, ",")));
    if (!reasons_.available())
      spdlog::warn("kernel has no skb drop reasons (before 5.17): reasons are reported as UNKNOWN");

    phase("reasons");
    auto skel = bpf::Skeleton<drop_bpf>::open("drop", bpf::CoreBtf::Minimal);
    configure(skel, filter);
    for (auto& h : hooks()) s_.plan().add(h);
    // The transmit return-code view (qdisc mode without --drops-only) needs fentry or kprobes; elsewhere it
    // stays unloaded.
    if (o_.mode == Mode::Qdisc && !o_.drops_only)
      for (auto& h : xmit_hooks()) s_.plan().add(h);
    s_.choose(skel->obj);
    phase("plan");
    s_.load(skel);
    phase("load");
    s_.attach();
    obj_ = skel->obj;
    s_.add_ring_buffer(bpf_map__fd(skel->maps.events),
                       [this](const void* data, size_t size) {
                         // A record ends before qdisc, before stack or after its inline frames
                         // (nettrace/abi/drop.h): what it left out reads as zero; frames past
                         // stack_bytes are never read.
                         if (size < offsetof(nt_drop_event, qdisc) || size > sizeof(nt_drop_event)) return;
                         memcpy(&record_, data, size);
                         if (size < offsetof(nt_drop_event, stack))
                           memset(reinterpret_cast<char*>(&record_) + size, 0, offsetof(nt_drop_event, stack) - size);
                         handle_event(record_);
                       });
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters({counters_fd_, NT_DROP_RB_LOST, NT_DROP_MAP_FULL, {NT_DROP_STACK_FAIL}});
    phase("attach");
    // Normal-free ranges right after attach, in one streaming pass over kallsyms: the few normal frees
    // that pass the kernel before they are set are filtered here (handle_event). The symbol table
    // itself is built when the first address needs a name (ksyms()).
    if (want_normal) fill_normal_ranges(skel);
    phase("normal-free ranges");
    print_header();

    xmit_fd_ = bpf_map__fd(skel->maps.xmit_rc);
    for (const auto& ch : s_.plan().choices())
      if (ch.chosen && ch.hook.find("xmit return") != std::string::npos) xmit_active_ = true;
    drops_fd_ = bpf_map__fd(skel->maps.drops);
    stacks_fd_ = bpf_map__fd(skel->maps.stacks);
    event_stacks_fd_ = bpf_map__fd(skel->maps.event_stacks);
    return s_.run(*this);
  }

 private:
  void configure(bpf::Skeleton<drop_bpf>& skel, const nt_filter& filter) {
    auto* ro = skel->rodata;
    ro->nt_filter_cfg = filter;
    const bool events = o_.mode == Mode::Events || (o_.mode == Mode::Qdisc && !o_.summary);
    const bool aggregate = o_.mode != Mode::Events;
    ro->cfg_emit_events = events;
    ro->cfg_aggregate = aggregate;
    ro->cfg_event_stack = !o_.no_stack;
    ro->cfg_require_dev = o_.require_device || o_.mode == Mode::Qdisc;
    uint32_t group = 0;
    if (o_.mode == Mode::Stacks) {
      if (o_.group_by == "all" || o_.group_by == "stack") group |= NT_GROUP_STACK;
      if (o_.group_by == "all" || o_.group_by == "fivetuple") group |= NT_GROUP_TUPLE;
    }
    ro->cfg_group = group;
    for (const auto& [value, name] : reasons_.core())
      if (is_qdisc_reason(name)) set_bit(ro->cfg_qdisc_reasons, value);
    if (o_.mode == Mode::Qdisc) {
      ro->cfg_reason_filter = true;
      memcpy(ro->cfg_reasons, ro->cfg_qdisc_reasons, sizeof(ro->cfg_reasons));
      if (!reasons_.available())
        throw failure("qdisc drop tracing needs skb drop reasons (kernel >= 5.17)");
    }
    if (!o_.reasons.empty()) {
      ro->cfg_reason_filter = true;
      __u64 bits[NT_DROP_REASON_BITS / 64] = {};
      for (const auto& r : o_.reasons) {
        auto v = reasons_.value(r);
        if (!v) throw usage_error(fmt::format("--reason: unknown drop reason '{}' on this kernel", r));
        set_bit(bits, *v);
      }
      if (o_.mode == Mode::Qdisc)
        for (size_t i = 0; i < NT_DROP_REASON_BITS / 64; i++) bits[i] &= ro->cfg_reasons[i];
      memcpy(ro->cfg_reasons, bits, sizeof(bits));
    }
    // Size maps to the mode: unused ones shrink to one entry.
    bpf_map__set_max_entries(skel->maps.drops, aggregate ? o_.max_entries : 1);
    bpf_map__set_max_entries(skel->maps.stacks, aggregate && (group & NT_GROUP_STACK) ? 8192 : 1);
    bpf_map__set_max_entries(skel->maps.events, events ? kEventRing : 4096);
    // Event stacks by id: kernel memory (≈ 280 bytes an entry), not the reader's; a stack whose bucket is
    // taken goes inline into its record.
    bpf_map__set_max_entries(skel->maps.event_stacks, events && !o_.no_stack ? kEventStacks : 1);
  }

  void fill_normal_ranges(bpf::Skeleton<drop_bpf>& skel) {
    const std::vector<std::string> callers(std::begin(kNormalFreeCallers), std::end(kNormalFreeCallers));
    for (const auto& r : sys::Ksyms::scan_ranges(callers))
      if (normal_.size() < NT_DROP_NORMAL_RANGES) normal_.push_back(r);
    for (size_t i = 0; i < normal_.size(); i++) skel->bss->normal[i] = {normal_[i].first, normal_[i].second};
    __atomic_store_n(&skel->bss->normal_n, static_cast<uint32_t>(normal_.size()), __ATOMIC_RELEASE);
    not_specified_ = reasons_.value("NOT_SPECIFIED");
  }

  // The kernel-side normal-free test, for events that passed before the ranges were set.
  bool is_normal_free(const nt_drop_event& e) const {
    if (reasons_.available() && (!not_specified_ || e.reason != *not_specified_)) return false;
    for (const auto& [lo, hi] : normal_)
      if (e.location >= lo && e.location < hi) return true;
    return false;
  }

  void print_header() {  // text only
    std::string h;
    switch (o_.mode) {
      case Mode::Events: h = "=== Enhanced Packet Drop Monitor ===\n"; break;
      case Mode::Stacks: h = "=== Kernel Drop Stack Statistics Tool ===\n"; break;
      case Mode::Qdisc: h = "=== Qdisc Drop Monitor ===\n"; break;
    }
    auto filters = cli::describe_filter(o_.filter);
    if (filters.empty()) h += "Filters: none\n";
    else {
      h += "Filter configuration:\n";
      for (const auto& [k, v] : filters) h += fmt::format("  {}: {}\n", k, v);
    }
    if (o_.mode == Mode::Stacks)
      h += fmt::format("Interval: {} seconds, Duration: {}, Top stacks to show: {}, Group by: {}\n",
                       o_.common.interval_s, o_.common.duration_s > 0 ? fmt::format("{} seconds", o_.common.duration_s) : "until Ctrl-C",
                       o_.top, o_.group_by);
    h += o_.mode == Mode::Events ? "\nStarting packet drop monitoring...\n\n" : "\n";
    out_.text(h);
  }

  void handle_event(const nt_drop_event& e) {
    if (!normal_.empty() && is_normal_free(e)) {
      normal_late_++;
      s_.discard_event();
      return;
    }
    // Tallies by raw value; names are looked up once per distinct value at the end (tallies()).
    by_reason_raw_[e.reason]++;
    by_location_raw_[e.location]++;
    by_protocol_raw_[(uint32_t{e.pkt.l3} << 24) | (uint32_t{e.pkt.l4_proto} << 16) | e.pkt.eth_proto]++;
    const std::string_view ifname(e.ifname, strnlen(e.ifname, sizeof(e.ifname)));
    if (auto it = by_interface_raw_.find(ifname); it != by_interface_raw_.end()) it->second++;
    else by_interface_raw_.emplace(std::string(ifname), 1);
    if (o_.mode == Mode::Qdisc && o_.summary) return;
    const uint64_t wall = core::mono_to_realtime(e.ts_ns);
    // The per-event path: a typed renderer per format writes into the buffer (no allocation per event).
    if (out_.json()) {
      append_event_json(out_.buffer(), e, wall, rc_);
      out_.commit(true);
    } else {
      out_.text(event_to_text(e, wall, rc_), true);
    }
  }

  // The summary's tables, by name.
  void tallies() {
    for (const auto& [v, n] : by_reason_raw_) by_reason_[reasons_.name(v)] += n;
    for (const auto& [a, n] : by_location_raw_) by_location_[ksyms().function(a)] += n;
    for (const auto& [k, n] : by_protocol_raw_) {
      nt_pkt p{};
      p.l3 = static_cast<uint8_t>(k >> 24);
      p.l4_proto = static_cast<uint8_t>(k >> 16);
      p.eth_proto = static_cast<uint16_t>(k);
      by_protocol_[protocol_label(p)] += n;
    }
    for (const auto& [name, n] : by_interface_raw_) by_interface_[name.empty() ? "-" : name] += n;
  }

  static std::string protocol_label(const nt_pkt& p) {
    if (p.l3 == NT_L3_IPV4 || p.l3 == NT_L3_IPV6) {
      std::string s = cli::protocol_name(p.l4_proto);
      for (auto& c : s) c = static_cast<char>(toupper(c));
      return s;
    }
    if (p.l3 == NT_L3_ARP) return "ARP";
    return p.eth_proto ? eth_type_name(p.eth_proto) : "unparsed";
  }

  // Entries of the aggregation map regrouped for the chosen view; counts are deltas unless cumulative.
  struct Row {
    nt_drop_key key;
    uint64_t count;
  };

  std::vector<Row> interval_rows() {
    DropCounts now = read_drop_map(drops_fd_);
    std::vector<Row> rows;
    for (const auto& [k, v] : now) {
      uint64_t base = 0;
      if (!o_.cumulative)
        if (auto it = prev_drops_.find(k); it != prev_drops_.end()) base = it->second;
      if (v > base) rows.push_back({k, v - base});
    }
    prev_drops_ = std::move(now);
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.count > b.count; });
    return rows;
  }

  void on_interval(const core::Interval& iv) override {
    Counters c = read_counters(counters_fd_);
    Counters d{};
    for (size_t i = 0; i < c.size(); i++) d[i] = o_.cumulative ? c[i] : c[i] - prev_counters_[i];
    prev_counters_ = c;
    hk_ = o_.cumulative ? s_.housekeeping() : iv.delta;
    const double secs = iv.seconds;
    if (o_.mode == Mode::Events) {
      auto r = counters_report("drop_interval", d, secs);
      r.heading(fmt::format("interval {:.1f}s: {} drops, {} lost events, {} kfree_skb calls", secs, d[NT_DROP_MATCHED],
                            hk_.lost_events, d[NT_DROP_SEEN]));
      out_.emit(r);
      return;
    }
    auto rows = interval_rows();
    uint64_t total = 0;
    for (const auto& r : rows) total += r.count;
    auto r = counters_report(o_.mode == Mode::Qdisc ? "qdisc_drop_interval" : "drop_stacks", d, secs);
    r.field("distinct", rows.size());
    if (o_.mode == Mode::Qdisc) {
      r.heading(fmt::format("=== Qdisc drops (interval {:.1f}s) ===", secs));
      auto& t = r.table("entries", {{"interface", "DEVICE", 16, true}, {"reason", "REASON", 24, true}, {"count", "DROPS", 10}});
      for (const auto& row : rows) {
        auto& tr = t.row();
        const nlohmann::json j = row_json(row, total);  // items() refers to it: not a temporary
        for (const auto& [k, v] : j.items()) tr.json(k, v);
        tr.cell(j["interface"]).cell(j["reason"]).cell(row.count);
      }
      r.line(fmt::format("Total qdisc drops: {}, lost events: {}", total, hk_.lost_events));
      if (xmit_active_) {
        auto& x = r.table("return_codes", {{"function", "FUNCTION", 22, true},
                                           {"interface", "DEVICE", 16, true},
                                           {"name", "RETURN", 18, true},
                                           {"count", "COUNT", 10},
                                           {"ifindex", "", 0},
                                           {"ret", "", 0}})
                      .title("Return code distribution:");
        for (const auto& xr : xmit_rows())
          x.row()
              .cell(xr.key.func == NT_XMIT_DEV_QUEUE ? "__dev_queue_xmit" : "dev_hard_start_xmit")
              .cell(ifname_of(xr.key.ifindex, xr.key.netns))
              .cell(xmit_code_name(xr.key.func, xr.key.ret))
              .cell(xr.count)
              .cell(xr.key.ifindex)
              .cell(xr.key.ret);
      }
      r.line("");
      out_.emit(r);
      return;
    }
    r.heading(fmt::format("=== Stack Statistics Report (Interval: {:.1f}s) ===", secs));
    r.line(fmt::format("Total kfree_skb calls: {}", d[NT_DROP_SEEN]));
    r.line(fmt::format("Filtered kfree_skb calls: {}", d[NT_DROP_MATCHED]));
    if (d[NT_DROP_NORMAL]) r.line(fmt::format("Normal frees suppressed: {}", d[NT_DROP_NORMAL]));
    if (d[NT_DROP_STACK_FAIL]) r.line(fmt::format("Stack capture failures: {}", d[NT_DROP_STACK_FAIL]));
    if (d[NT_DROP_MAP_FULL]) r.line(fmt::format("Lost (map full, raise --max-entries): {}", d[NT_DROP_MAP_FULL]));
    if (!rows.empty()) r.line("\nTop drops by count:");
    // An entry is a paragraph in text (its stack below it), an object of "entries" in JSON.
    auto entries = nlohmann::json::array();
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(o_.top); i++) {
      const auto& row = rows[i];
      nlohmann::json j = row_json(row, total);
      const std::string dev = j["interface"].get<std::string>();
      std::string t = fmt::format("\n#{} Count: {} ({}) [device: {}] [reason: {}]", i + 1, row.count, pct(row.count, total),
                                  dev.empty() ? "-" : dev, j["reason"].get<std::string>());
      if (o_.group_by != "stack") t += fmt::format(" [flow: {}]", key_flow(row.key));
      if (row.key.stack_id >= 0) t += fmt::format(" [stack_id: {}]", row.key.stack_id);
      const size_t frames = j.contains("stack") ? j["stack"].size() : 0;
      if (!frames) t += fmt::format("\n   {}", j["location"].get<std::string>());
      for (size_t f = 0; f < frames && f < 8; f++) t += fmt::format("\n   {}", j["stack"][f].get<std::string>());
      r.line(t);
      entries.push_back(std::move(j));
    }
    r.field("entries", entries).line("");
    out_.emit(r);
  }

  struct XmitRow {
    nt_xmit_key key;
    uint64_t count;
  };

  // Deltas of the transmit return-code map since the last report.
  std::vector<XmitRow> xmit_rows() {
    std::vector<XmitRow> rows;
    if (!xmit_active_) return rows;
    nt_xmit_key key{}, next{};
    const nt_xmit_key* prev = nullptr;
    while (bpf_map_get_next_key(xmit_fd_, prev, &next) == 0) {
      uint64_t v = 0;
      if (bpf_map_lookup_elem(xmit_fd_, &next, &v) == 0) {
        auto t = std::make_tuple(next.func, next.ifindex, next.ret, next.netns);
        uint64_t& before = prev_xmit_[t];
        if (v > before) rows.push_back({next, v - before});
        before = v;
      }
      key = next;
      prev = &key;
    }
    std::sort(rows.begin(), rows.end(), [](const XmitRow& a, const XmitRow& b) { return a.count > b.count; });
    return rows;
  }

  static std::string xmit_code_name(uint32_t func, int32_t ret) {
    if (ret < 0) return fmt::format("-{}", strerrorname_np(-ret) ? strerrorname_np(-ret) : std::to_string(-ret).c_str());
    switch (ret) {
      case 0: return func == NT_XMIT_HARD_START ? "NETDEV_TX_OK" : "NET_XMIT_SUCCESS";
      case 1: return "NET_XMIT_DROP";
      case 2: return "NET_XMIT_CN";
      case 0x10: return "NETDEV_TX_BUSY";
      default: return std::to_string(ret);
    }
  }

  static std::string ifname_of(uint32_t ifindex, uint32_t netns) {
    char buf[IF_NAMESIZE] = {};
    if (netns == sys::current_netns_inum() && if_indextoname(ifindex, buf)) return buf;
    return fmt::format("ifindex {}", ifindex);
  }

  // An interval's record: the drop counters and the session's (hk_: deltas, or totals with --cumulative).
  output::Report counters_report(const char* type, const Counters& d, double secs) const {
    output::Report r(type);
    r.time(core::realtime_ns()).field("interval_s", secs);
    r.field("kfree_skb_calls", d[NT_DROP_SEEN]).field("drops", d[NT_DROP_MATCHED]).field("normal_suppressed", d[NT_DROP_NORMAL]);
    r.housekeeping(hk_, false);
    return r;
  }

  nlohmann::json row_json(const Row& r, uint64_t total) const {
    nlohmann::json j{{"count", r.count},
                     {"share", total ? static_cast<double>(r.count) / static_cast<double>(total) : 0.0},
                     {"interface", std::string(r.key.ifname, strnlen(r.key.ifname, NT_IFNAMSIZ))},
                     {"ifindex", r.key.ifindex},
                     {"netns", r.key.netns},
                     {"reason", reasons_.name(r.key.reason)},
                     {"reason_code", r.key.reason},
                     {"location", ksyms().symbolize(r.key.location)}};
    if (o_.mode == Mode::Stacks && o_.group_by != "stack" && (r.key.l3 == NT_L3_IPV4 || r.key.l3 == NT_L3_IPV6 || r.key.l3 == NT_L3_ARP)) {
      const uint8_t fam = r.key.l3 == NT_L3_IPV6 ? NT_L3_IPV6 : NT_L3_IPV4;
      j["src_ip"] = ip_to_string(r.key.saddr, fam);
      j["dst_ip"] = ip_to_string(r.key.daddr, fam);
      if (r.key.l3 != NT_L3_ARP) j["protocol"] = cli::protocol_name(r.key.l4_proto);
      if (r.key.sport || r.key.dport) {
        j["src_port"] = r.key.sport;
        j["dst_port"] = r.key.dport;
      }
    }
    if (r.key.stack_id >= 0) {
      auto st = nlohmann::json::array();
      for (auto a : read_stack(stacks_fd_, r.key.stack_id)) st.push_back(ksyms().symbolize(a));
      j["stack"] = st;
    }
    return j;
  }

  void on_end(const core::Summary& sum) override {
    tallies();
    Counters c = read_counters(counters_fd_);
    hk_ = sum.totals;
    output::Report r("drop_summary");
    r.heading(fmt::format("=== Drop Statistics Summary ({:.1f}s, {} intervals) ===", sum.seconds, sum.intervals))
        .time(core::realtime_ns());
    r.field("kfree_skb_calls", c[NT_DROP_SEEN]).field("drops", c[NT_DROP_MATCHED]).field("normal_suppressed", c[NT_DROP_NORMAL]);
    r.line(fmt::format("Total kfree_skb calls: {}", c[NT_DROP_SEEN]));
    r.line(fmt::format("Total drops detected: {}", c[NT_DROP_MATCHED]));
    if (c[NT_DROP_NORMAL]) r.line(fmt::format("Normal frees suppressed: {}", c[NT_DROP_NORMAL]));
    r.summary(sum, true);
    const uint64_t received = sum.events_received;
    // Tallies: an object {name: count} in JSON, largest first in text.
    auto table = [&](const char* key, const char* title, const std::map<std::string, uint64_t>& m) {
      r.field(key, m);
      if (m.empty()) return;
      std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
      std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
      std::string t = fmt::format("\n{}:", title);
      for (const auto& [k, n] : v) t += fmt::format("\n  - {}: {} ({})", k, n, pct(n, received));
      r.line(t);
    };
    table("by_reason", "Drop reasons", by_reason_);
    table("by_location", "Drop locations", by_location_);
    table("by_protocol", "Affected protocols", by_protocol_);
    table("by_interface", "Interfaces", by_interface_);
    out_.emit(r);
  }

  const DropOptions& o_;
  core::Session s_;
  output::Output& out_;
  core::Housekeeping hk_;  // of the report being written
  sys::DropReasons reasons_;
  // Kernel symbols, on first use. The per-event modes name few addresses (a location and the frames of
  // each new stack): resolved in streaming passes over kallsyms, the table (megabytes) only after 8 passes;
  // the summaries load the table at once.
  sys::LazyKsyms& ksyms() const {
    const bool events = o_.mode == Mode::Events || (o_.mode == Mode::Qdisc && !o_.summary);
    if (!ksyms_) ksyms_ = std::make_unique<sys::LazyKsyms>("/proc/kallsyms", events ? 8 : 0);
    return *ksyms_;
  }
  mutable std::unique_ptr<sys::LazyKsyms> ksyms_;
  const bpf_object* obj_ = nullptr;
  int counters_fd_ = -1, drops_fd_ = -1, stacks_fd_ = -1, event_stacks_fd_ = -1, xmit_fd_ = -1;
  bool xmit_active_ = false;
  std::map<std::tuple<uint32_t, uint32_t, int32_t, uint32_t>, uint64_t> prev_xmit_;
  Counters prev_counters_{};
  std::vector<std::pair<uint64_t, uint64_t>> normal_;
  std::optional<uint32_t> not_specified_;
  uint64_t normal_late_ = 0;  // normal frees filtered here rather than in the kernel
  DropCounts prev_drops_;
  std::map<std::string, uint64_t> by_reason_, by_location_, by_protocol_, by_interface_;
  std::unordered_map<uint32_t, uint64_t> by_reason_raw_, by_protocol_raw_;
  std::unordered_map<uint64_t, uint64_t> by_location_raw_;
  std::map<std::string, uint64_t, std::less<>> by_interface_raw_;
  RenderCache cache_;
  nt_drop_event record_{};  // the event being handled, copied out of the ring
  RenderContext rc_{[this](uint64_t a) { return ksyms().symbolize(a); }, &reasons_, o_.verbose, !o_.no_stack,
                    o_.verbose || o_.stack_text, &cache_,
                    [this](int32_t id, uint64_t* frames) {
                      return event_stacks_fd_ >= 0 && bpf_map_lookup_elem(event_stacks_fd_, &id, frames) == 0;
                    },
                    [this](const uint64_t* addrs, size_t n) { ksyms().prefetch(addrs, n); }};
};

void add_common_drop_flags(CLI::App& app, DropOptions& o) {
  cli::add_output_options(app, o.common);
  app.add_flag("--verbose,-v", o.verbose, "More packet detail per event (MACs, VLANs, IP/TCP fields, process)");
  app.add_flag("--no-stack,--no-stack-trace", o.no_stack, "Do not capture kernel stacks");
  if (o.mode != Mode::Stacks)
    app.add_flag("--stack", o.stack_text,
                 "Text: each drop as a block with its kernel stack (the default text is one line per drop; -v adds "
                 "packet detail to the block; JSON always carries the stack unless --no-stack, which wins)");
  app.add_option("--reason", o.reasons, "Only these drop reasons (names from the kernel, e.g. NO_SOCKET)");
  app.add_flag("--require-device", o.require_device, "Skip skbs without a device")->group("");
}

}  // namespace

std::vector<bpf::Hook> hooks() { return {bpf::tracepoint_hook("skb", "kfree_skb", {.classic = true})}; }

std::vector<bpf::Hook> xmit_hooks() {
  static const char kXmitGroup[] = "transmit return codes (needs fentry or kprobes)";
  std::vector<bpf::Hook> out;
  for (const std::string fn : {"__dev_queue_xmit", "dev_hard_start_xmit"})
    for (bool ret : {false, true})
      out.push_back(bpf::function_hook(
          fn, {.ret = ret, .required = false, .group = kXmitGroup, .name = fn + (ret ? " return" : " entry")}));
  return out;
}

std::vector<CommandSpec> commands() {
  auto qdisc = hooks();
  for (auto& h : xmit_hooks()) qdisc.push_back(std::move(h));
  return {{"drop", hooks(), {}}, {"drop stacks", hooks(), {}}, {"drop qdisc", qdisc, {}}, {"drop monitor", hooks(), {}}};
}

int run(const DropOptions& o) { return DropTool(o).run(); }

void setup(CLI::App& root, Context& ctx) {
  auto* app = root.add_subcommand("drop", "Packet drops: reason, location, device, flow, stack (eth_drop)");
  app->require_subcommand(0, 1);
  auto events = std::make_shared<DropOptions>();
  add_common_drop_flags(*app, *events);
  app->footer(kRingHelp);
  cli::add_filter_options(*app, events->filter, cli::kFilterAll);
  app->add_flag("--disable-normal-filter", events->disable_normal_filter,
                "Also report frees of the normal-path callers the original tools filtered");
  cli::add_duration_option(*app, events->common);
  cli::add_interval_option(*app, events->common, 0);
  cli::add_examples(*app, {"nettrace drop -I eth0 --protocol udp", "nettrace drop --dst-ip 10.0.0.2 --dst-port 53 --json -d 30",
                           "nettrace drop --reason NO_SOCKET --no-stack", "nettrace drop stacks -I eth0 -i 5 --top 10"});
  app->callback([app, events, &ctx] {
    if (!app->get_subcommands().empty()) return;
    ctx.action = [events] { return run(*events); };
  });

  auto stacks = std::make_shared<DropOptions>();
  stacks->mode = Mode::Stacks;
  auto* st = app->add_subcommand("stacks", "Top drop stacks per device and flow, per interval (kernel_drop_stack_stats*)");
  add_common_drop_flags(*st, *stacks);
  cli::add_filter_options(*st, stacks->filter, cli::kFilterAll);
  cli::add_interval_option(*st, stacks->common, 10);
  cli::add_duration_option(*st, stacks->common);
  st->add_option("--top", stacks->top, "Entries to show per interval")->check(CLI::Range(1, 100000))->capture_default_str();
  st->add_option("--max-entries", stacks->max_entries, "Size of the in-kernel aggregation map")
      ->check(CLI::Range(1, 1 << 22));
  st->add_option("--group-by", stacks->group_by, "all (stack+flow), stack, or fivetuple")
      ->check(CLI::IsMember({"all", "stack", "fivetuple"}));
  st->add_flag("--cumulative", stacks->cumulative, "Counts since start instead of per interval");
  cli::add_examples(*st, {"nettrace drop stacks", "nettrace drop stacks -I eth0 --group-by stack --top 3 -i 5",
                          "nettrace drop stacks --protocol tcp --cumulative -d 60 --json"});
  st->callback([stacks, &ctx] { ctx.action = [stacks] { return run(*stacks); }; });

  auto qdisc = std::make_shared<DropOptions>();
  qdisc->mode = Mode::Qdisc;
  auto* qd = app->add_subcommand("qdisc", "Drops in the traffic-control layer with qdisc state (qdisc_drop_trace)");
  add_common_drop_flags(*qd, *qdisc);
  qd->footer(kRingHelp);
  cli::add_filter_options(*qd, qdisc->filter, cli::kFilterAll);
  cli::add_interval_option(*qd, qdisc->common, 10);
  cli::add_duration_option(*qd, qdisc->common);
  cli::add_examples(*qd, {"nettrace drop qdisc -I eth0", "nettrace drop qdisc --summary -i 5 -d 60"});
  qd->add_flag("--drops-only", qdisc->drops_only, "Only drops: no transmit return-code table (which needs fentry or kprobes)");
  qd->add_flag("--summary", qdisc->summary, "Periodic tables only, no per-drop lines");
  qd->callback([qdisc, &ctx] {
    qdisc->cumulative = false;
    ctx.action = [qdisc] { return run(*qdisc); };
  });

  auto mon = std::make_shared<MonitorOptions>();
  auto* mo = app->add_subcommand("monitor", "Watch an interface's drop counters; capture drops when they grow (drop_monitor_controller)");
  cli::add_output_options(*mo, mon->common);
  mo->add_option("-I,--interface", mon->interface, "Interface whose rx/tx dropped counters are watched")
      ->required()
      ->check(cli::check_interface);
  mo->add_option("--command", mon->command, "Capture command run for one interval (default: nettrace drop on the interface)");
  mo->add_option("--stop-command", mon->stop_command, "Command run after each capture");
  cli::add_interval_option(*mo, mon->common, 30);
  cli::add_duration_option(*mo, mon->common);
  mo->add_option("--log-dir", mon->log_dir, "Where captures with drops are kept")->capture_default_str();
  cli::add_examples(*mo, {"nettrace drop monitor -I eth0", "nettrace drop monitor -I eth0 -i 10 --log-dir /var/tmp/drops"});
  mo->callback([mon, &ctx] { ctx.action = [mon] { return run_monitor(*mon); }; });
}

}  // namespace nettrace::tools::drop
