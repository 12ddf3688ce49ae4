// SPDX-License-Identifier: GPL-2.0
// The stage-correlation engine's run loop: plan the stage table's hooks, configure the BPF roles and
// filters, attach, then render per-packet records (details) and per-interval histograms (summary).

#include "tools/perf/engine.hpp"

#include <net/if.h>

#include <algorithm>
#include <set>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "nettrace/sys/ksyms.hpp"
#include "nettrace/sys/netdev.hpp"
#include "perf_latency.skel.h"

namespace nettrace::tools::perf {
namespace {

using Counters = std::array<uint64_t, NT_LAT_NCOUNTERS>;

constexpr const char* kCounterNames[NT_LAT_NCOUNTERS] = {
    "stage_hits", "started", "completed", "restarted", "stale", "duplicates", "out_of_order", "no_flow",
    "negative_deltas", "parse_failures", "map_full", "lost_events", "stack_failures", "emitted",
    "cpu_same", "cpu_migrated"};

struct HistKeyLess {
  bool operator()(const nt_lat_hist_key& a, const nt_lat_hist_key& b) const {
    return std::tie(a.kind, a.dir, a.from, a.to) < std::tie(b.kind, b.dir, b.from, b.to);
  }
};
using Hists = std::map<nt_lat_hist_key, core::Histogram, HistKeyLess>;
using CpuDist = std::map<nt_lat_hist_key, std::map<int, uint64_t>, HistKeyLess>;
using CpuPairs = std::map<std::pair<int, int>, core::Histogram>;

nt_lat_dev resolve_dev(const std::string& name, const char* flag) {
  auto idx = sys::ifindex_of(name);
  if (!idx) throw usage_error(fmt::format("{}: no interface '{}' in this network namespace", flag, name));
  return nt_lat_dev{*idx, sys::current_netns_inum()};
}

nt_filter mirrored(nt_filter f) {
  std::swap(f.has_saddr, f.has_daddr);
  for (int i = 0; i < 16; i++) std::swap(f.saddr[i], f.daddr[i]);
  std::swap(f.sport, f.dport);
  return f;
}

class Engine final : public core::SessionTool {
 public:
  Engine(StageTable t, const EngineOptions& o) : t_(std::move(t)), o_(o), s_("perf latency", o.common), out_(s_.out()) {}

  int run() {
    cli::FilterOptions fo = o_.filter;
    fo.interface.clear();
    const nt_filter fwd = cli::build_filter(fo);
    std::vector<nt_lat_dev> phy;
    for (const auto& p : o_.phy) phy.push_back(resolve_dev(p, "--phy-interface"));
    if (phy.size() > NT_LAT_PHY_MAX)
      throw usage_error(fmt::format("--phy-interface: at most {} interfaces, got {}", NT_LAT_PHY_MAX, phy.size()));
    std::optional<nt_lat_dev> internal, vnet;
    if (!o_.internal.empty()) internal = resolve_dev(o_.internal, "--internal-interface");
    if (!o_.vnet.empty()) vnet = resolve_dev(o_.vnet, "--vm-interface");

    auto skel = bpf::Skeleton<perf_latency_bpf>::open("perf latency");
    // Plan every hook the table uses; programs of other hooks stay unloaded.
    std::set<nt_lat_hook> used;
    for (const auto& s : t_.stages) used.insert(s.hook);
    bpf::ProbePlan& plan = s_.plan();
    for (auto h : used) {
      // Stages that cannot run anyway (device class not configured, conntrack not asked) need no hook.
      bool wanted = false;
      for (const auto& s : t_.stages)
        wanted = wanted || (s.hook == h && (s.dev != NT_LAT_DEV_INTERNAL || internal) &&
                            (s.dev != NT_LAT_DEV_VNET || vnet) && (!(s.need & kNeedCt) || o_.enable_ct));
      if (wanted) plan.add(hook_spec(h));
    }
    // TRY_SKB stages take a key by skb pointer only while they see every skb free (both tracepoints).
    bool try_wanted = false;
    for (const auto& s : t_.stages) try_wanted = try_wanted || (s.flags & NT_LAT_TRY_SKB);
    if (try_wanted)
      for (const auto& h : skb_free_hooks()) plan.add(h);
    s_.choose(skel->obj);
    std::set<std::string> chosen;
    for (const auto& ch : plan.choices()) {
      if (ch.chosen) chosen.insert(ch.hook);
      via_[ch.hook] = ch.chosen ? bpf::to_string(ch.candidate.kind) : "unavailable";
    }
    Availability av{[&](nt_lat_hook h) { return chosen.count(hook_label(h)) > 0; }, internal.has_value(),
                    vnet.has_value(), o_.enable_ct};
    if (std::string err = finalize(t_, av); !err.empty())
      throw failure(err, "see `nettrace doctor`; OVS and stack-function stages need kprobes or fentry");
    // Hooks of no enabled stage (e.g. a role dropped by finalize) keep their program but have no role.
    const Roles roles = roles_of(t_);

    auto* ro = skel->rodata;
    for (size_t h = 0; h < NT_LH_COUNT; h++)
      for (size_t r = 0; r < NT_LAT_ROLES; r++) {
        auto& dst = const_cast<nt_lat_role&>(ro->cfg_roles[h][r]);
        dst = roles[h][r];
      }
    ro->cfg_filter_fwd = fwd;
    ro->cfg_filter_rev = mirrored(fwd);
    for (size_t i = 0; i < phy.size(); i++) ro->cfg_phy[i] = phy[i];
    if (internal) ro->cfg_internal = *internal;
    if (vnet) ro->cfg_vnet = *vnet;
    ro->cfg_max_gap_ns = static_cast<uint64_t>(o_.max_gap_s * 1e9);
    ro->cfg_threshold_ns = o_.threshold_ns;
    ro->cfg_details = o_.details;
    ro->cfg_stacks = o_.stacks && o_.details;
    bool by_skb = false;
    for (const auto& s : t_.stages) by_skb = by_skb || (s.enabled && (s.flags & NT_LAT_BY_SKB));
    // Every stage after the first of its direction finds its packet by skb pointer: key the flows by it
    // (one map operation per stage instead of two; see do_role in bpf/perf_latency.bpf.c).
    key_skb_ = keyed_by_skb(t_);
    bool try_skb = false;
    for (const auto& s : t_.stages) try_skb = try_skb || (s.enabled && (s.flags & NT_LAT_TRY_SKB));
    try_skb = try_skb && !key_skb_;
    bool frees_traced = true;
    for (const auto& h : skb_free_hooks()) frees_traced = frees_traced && chosen.count(h.name);
    if (try_skb && !frees_traced) spdlog::warn("skb frees cannot be traced here: every stage parses the headers");
    try_skb = try_skb && frees_traced;
    // Without stages that try the pointer the free programs would run for every skb freed, for nothing.
    if (!try_skb)
      for (const auto& h : skb_free_hooks()) plan.drop(skel->obj, h.name);
    // Stages that try the pointer: flows live in their packet's skb, re-found by identity when it changes.
    hybrid_ = try_skb;
    ro->cfg_hybrid = hybrid_;
    ro->cfg_track_skb = by_skb && !hybrid_;
    fast_ = fast_cfg_of(t_);
    const_cast<nt_lat_fast_cfg&>(ro->cfg_fast) = fast_;
    ro->cfg_key_skb = key_skb_;
    if (t_.cpu_from >= 0 && t_.cpu_to >= 0)
      const_cast<nt_lat_cpu_cfg&>(ro->cfg_cpu) = nt_lat_cpu_cfg{static_cast<uint8_t>(t_.cpu_from + 1),
                                                                static_cast<uint8_t>(t_.cpu_to + 1), t_.cpu_dir, 0};
    bpf_map__set_max_entries(skel->maps.flows, key_skb_ || hybrid_ ? 1 : o_.max_flows);
    bpf_map__set_max_entries(skel->maps.parked, hybrid_ ? o_.max_flows : 1);
    bpf_map__set_max_entries(skel->maps.skb_flows, key_skb_ || hybrid_ ? o_.max_flows : 1);
    bpf_map__set_max_entries(skel->maps.ids, hybrid_ ? o_.max_flows : 1);
    bpf_map__set_max_entries(skel->maps.skbs, ro->cfg_track_skb ? o_.max_flows : 1);
    if (!(o_.stacks && o_.details)) bpf_map__set_max_entries(skel->maps.stacks, 1);
    if (!o_.details) bpf_map__set_max_entries(skel->maps.events, 4096);

    s_.load(skel);
    s_.attach();
    s_.add_ring_buffer(bpf_map__fd(skel->maps.events), [this](const void* data, size_t size) {
      if (size >= sizeof(nt_lat_flow)) handle_flow(*static_cast<const nt_lat_flow*>(data));
    });
    if (o_.stacks && o_.details) {
      try {
        ksyms_ = std::make_unique<sys::Ksyms>(sys::Ksyms::load());
      } catch (const Error& e) {
        spdlog::warn("{}: stacks show raw addresses", e.what());
      }
    }
    if (key_skb_ || hybrid_) flow_fds_.push_back(bpf_map__fd(skel->maps.skb_flows));
    flow_fds_.push_back(bpf_map__fd(hybrid_ ? skel->maps.parked : skel->maps.flows));
    // Also in the summary as flow_keying ("skb", "hybrid", "identity").
    spdlog::info("flows keyed by {}", key_skb_  ? "skb pointer"
                                      : hybrid_ ? "skb pointer while the packet is in that skb, else packet identity"
                                                : "packet identity");
    hists_fd_ = bpf_map__fd(skel->maps.hists);
    fast_hists_fd_ = bpf_map__fd(skel->maps.fast_hists);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    incomplete_fd_ = bpf_map__fd(skel->maps.incomplete);
    stacks_fd_ = bpf_map__fd(skel->maps.stacks);
    cpu_pairs_fd_ = bpf_map__fd(skel->maps.cpu_pairs);
    s_.set_counters({counters_fd_, NT_LAT_C_RB_LOST, NT_LAT_C_MAP_FULL, {NT_LAT_C_STACK_FAIL}});
    print_header();
    return s_.run(*this);
  }

 private:
  const char* flow_keying() const { return key_skb_ ? "skb" : hybrid_ ? "hybrid" : "identity"; }

  std::vector<std::string> stack_frames(int32_t id) const {
    std::vector<std::string> out;
    std::array<uint64_t, 32> frames{};
    if (id < 0 || bpf_map_lookup_elem(stacks_fd_, &id, frames.data()) != 0) return out;
    for (auto a : frames)
      if (a) out.push_back(ksyms_ ? ksyms_->symbolize(a) : fmt::format("0x{:x}", a));
    return out;
  }

  void handle_flow(const nt_lat_flow& f) {
    FlowView v{&f, &t_, core::mono_to_realtime(f.first_ts), [this](int32_t id) { return stack_frames(id); },
               s_.events_received()};
    // Per event: one typed renderer per format (flow_to_json / flow_to_text, both symbolizing the stacks),
    // so only the one asked for runs; like drop's event path, not a Report.
    if (out_.json()) {
      auto j = flow_to_json(v);
      j["time"] = core::format_iso8601(v.wall_ns);
      out_.record(j, true);
    } else {
      out_.text(fmt::format("[{}] ", core::format_local(v.wall_ns)) + flow_to_text(v, o_.verbose), true);
    }
  }

  void print_header() {
    // Stage plan: always on stderr (logs), so JSON stdout stays records only.
    for (uint8_t d = 0; d < NT_LAT_DIRS; d++) {
      std::string line;
      for (const auto& s : t_.stages) {
        if (s.dir != d) continue;
        const bool stand_in_idle = s.instead_of != NT_LH_COUNT && via_[hook_label(s.instead_of)] != "unavailable";
        line += fmt::format("\n  {:<40} {:<32} {}{}{}{}", s.name, hook_label(s.hook),
                            s.enabled       ? via_[hook_label(s.hook)]
                            : stand_in_idle ? fmt::format("not needed ({} traced)", hook_label(s.instead_of))
                                            : std::string("skipped (bridged)"),
                            s.enabled && (s.flags & NT_LAT_START) ? " start" : "",
                            s.enabled && (s.flags & NT_LAT_END) ? " end" : "",
                            s.enabled && d == t_.cpu_dir && s.index == t_.cpu_from ? " cpu:" + t_.cpu_from_label
                            : s.enabled && d == t_.cpu_dir && s.index == t_.cpu_to ? " cpu:" + t_.cpu_to_label
                                                                                    : std::string());
      }
      if (!line.empty()) spdlog::info("stages ({}):{}", t_.dir_names[d], line);
    }
    if (!o_.title.empty()) {  // text only
      std::string h = fmt::format("=== {} ===\n", o_.title);
      auto filters = cli::describe_filter(o_.filter);
      for (const auto& [k, v] : filters) h += fmt::format("  {}: {}\n", k, v);
      if (!o_.phy.empty())
        h += fmt::format("  {}: {}\n", t_.kind == "backlog" ? "interface" : "phy_interface", fmt::join(o_.phy, ","));
      if (!o_.internal.empty()) h += fmt::format("  internal_interface: {}\n", o_.internal);
      if (o_.details) h += fmt::format("  threshold: {} us\n", o_.threshold_ns / 1e3);
      out_.text(h + "\n");
    }
  }

  Counters read_counters() const { return bpf::read_percpu_counters<NT_LAT_NCOUNTERS>(counters_fd_); }

  std::map<uint32_t, uint64_t> read_incomplete() const {
    std::map<uint32_t, uint64_t> out;
    const auto slots = bpf::read_percpu_counters<NT_LAT_INCOMPLETE_SLOTS>(incomplete_fd_);
    for (uint32_t i = 0; i < NT_LAT_INCOMPLETE_SLOTS; i++)
      if (slots[i]) out[i] = slots[i];
    for (const auto& [k, v] : swept_) out[k] += v;
    return out;
  }

  // The histograms of both maps: the per-CPU array's slots (nt_lat_fast_key) and the hash.
  void read_hists(Hists& h, CpuDist& cpu) const {
    auto merge = [&](const nt_lat_hist_key& k, const std::vector<nt_hist>& vals) {
      if (vals.empty()) return;  // gone since the key was read
      core::Histogram& lh = h[k];
      for (size_t c = 0; c < vals.size(); c++) {
        lh.add(vals[c]);
        if (k.kind == NT_LAT_H_TOTAL && vals[c].count) cpu[k][static_cast<int>(c)] += vals[c].count;
      }
    };
    for (uint32_t slot = 0; slot < NT_LAT_FAST_SLOTS; slot++) {
      nt_lat_hist_key k{};
      if (nt_lat_fast_key(&fast_, slot, &k)) merge(k, bpf::read_percpu<nt_hist>(fast_hists_fd_, slot));
    }
    for (const auto& k : bpf::map_keys<nt_lat_hist_key>(hists_fd_)) merge(k, bpf::read_percpu<nt_hist>(hists_fd_, k));
  }

  CpuPairs read_cpu_pairs() const {
    CpuPairs out;
    for (const auto& k : bpf::map_keys<nt_lat_cpu_key>(cpu_pairs_fd_))
      for (const auto& v : bpf::read_percpu<nt_hist>(cpu_pairs_fd_, k)) out[{k.from_cpu, k.to_cpu}].add(v);
    return out;
  }

  // The CPU pair's part of a report: same-CPU / migrated counts, one histogram per (from, to) CPU pair.
  void report_cpu_pairs(bool final, output::Report& r, const Counters& dc) {
    if (t_.cpu_from < 0 || t_.cpu_to < 0) return;
    const CpuPairs cur = read_cpu_pairs();
    const std::string from = stage_name(t_.cpu_dir, static_cast<uint8_t>(t_.cpu_from)),
                      to = stage_name(t_.cpu_dir, static_cast<uint8_t>(t_.cpu_to));
    nlohmann::json cj{{"from", from},
                      {"to", to},
                      {"same_cpu", dc[NT_LAT_C_CPU_SAME]},
                      {"migrated", dc[NT_LAT_C_CPU_MIGRATED]}};
    std::string text = fmt::format("\nCPU migration ({} CPU {} -> {} CPU {}): same CPU {}, cross-CPU {}\n",
                                   t_.cpu_from_label, from, t_.cpu_to_label, to, dc[NT_LAT_C_CPU_SAME],
                                   dc[NT_LAT_C_CPU_MIGRATED]);
    auto pairs = nlohmann::json::array();
    for (const auto& [k, h] : cur) {
      const core::Histogram v = final ? h : h.minus(prev_cpu_pairs_[k]);
      if (v.empty()) continue;
      nlohmann::json hj = v.to_json();
      hj[t_.cpu_from_label + "_cpu"] = k.first;
      hj[t_.cpu_to_label + "_cpu"] = k.second;
      pairs.push_back(hj);
      text += fmt::format("  CPU {} -> {}{}: count {} avg {:.3f} p50 {:.3f} p99 {:.3f} max {:.3f} us\n", k.first,
                          k.second, k.first != k.second ? " (cross-CPU)" : "", v.count(), v.mean() / 1e3,
                          v.percentile(50) / 1e3, v.percentile(99) / 1e3, v.max() / 1e3);
      if (o_.verbose || k.first != k.second) text += v.render();
    }
    cj["pairs"] = pairs;
    text.pop_back();  // line() ends it
    r.field("cpu_migration", cj).line(text);
    if (!final) prev_cpu_pairs_ = cur;
  }

  // Flows idle longer than the gap are incomplete: counted by their last stage and removed. Completed
  // skb-keyed entries (seen == 0, kept for the skb's next packet) are not flows; idle ones are removed too.
  void sweep(bool all) {
    for (int fd : flow_fds_) sweep(fd, all);
  }

  void sweep(int fd, bool all) {
    const uint64_t now = core::monotonic_ns(), gap = static_cast<uint64_t>(o_.max_gap_s * 1e9);
    std::vector<nt_lat_key> dead;  // a skb-keyed map's 8-byte keys fit in it
    nt_lat_key key{}, next{};
    const nt_lat_key* prev = nullptr;
    nt_lat_flow f{};
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      if (bpf_map_lookup_elem(fd, &next, &f) == 0) {
        const bool idle = now > f.last_ts && now - f.last_ts > gap;
        if (f.seen ? all || idle : idle) {
          dead.push_back(next);
          if (f.seen) swept_[(f.dir & 1) * NT_LAT_MAX_STAGES + (f.last_stage & (NT_LAT_MAX_STAGES - 1))]++;
        }
      }
      key = next;
      prev = &key;
    }
    for (const auto& k : dead) bpf_map_delete_elem(fd, &k);
  }

  // Once a second: flows idle past the gap become incomplete.
  void on_second(uint64_t) override { sweep(false); }

  // After detach (the session's order), every flow still in the maps is final: count the rest as incomplete,
  // once, in the last interval (so the intervals add up to the summary) or else in the summary.
  void final_sweep() {
    if (swept_all_) return;
    sweep(true);
    swept_all_ = true;
  }

  void on_interval(const core::Interval& iv) override {
    if (iv.last) final_sweep();
    report(iv.seconds, &iv, nullptr);
  }

  void on_end(const core::Summary& sum) override {
    final_sweep();
    report(sum.seconds, nullptr, &sum);
  }

  std::string stage_name(uint8_t dir, uint8_t idx) const {
    const Stage* s = t_.find(dir, idx);
    return s ? s->name : fmt::format("stage{}", idx);
  }

  // One report: per direction, adjacent pairs in stage order, end to end, RTT, CPU distribution, flows.
  // iv: an interval, else sum: the summary (the session's counters come with either).
  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool final = sum != nullptr;
    Hists cur;
    CpuDist cpu;
    read_hists(cur, cpu);
    const Counters c = read_counters();
    const auto inc = read_incomplete();
    output::Report r(final ? "latency_summary" : "latency_interval");
    r.heading(final ? fmt::format("=== {} summary ({:.1f}s) ===", o_.title, secs)
                    : fmt::format("=== {} report (interval {:.1f}s) ===", o_.title, secs))
        .time(core::realtime_ns())
        .field("tool", t_.kind);
    Counters dc = c;
    if (!final)
      for (size_t i = 0; i < dc.size(); i++) dc[i] -= std::min(dc[i], prev_counters_[i]);
    auto dirs = nlohmann::json::object();
    for (uint8_t d = 0; d < NT_LAT_DIRS; d++) {
      bool used = false;
      for (const auto& s : t_.stages) used = used || (s.dir == d && s.enabled);
      if (!used) continue;
      nlohmann::json dj;
      auto pairs = nlohmann::json::array();
      uint64_t completed = 0, total_ns = 0;  // end to end, for the pairs' shares
      std::vector<std::pair<nt_lat_hist_key, core::Histogram>> rows;
      for (const auto& [k, h] : cur) {
        if (k.dir != d) continue;
        core::Histogram v = final ? h : h.minus(prev_hists_[k]);
        if (k.kind == NT_LAT_H_TOTAL) {
          completed += v.count();
          total_ns += v.sum();
        }
        rows.emplace_back(k, std::move(v));
      }
      std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first.kind, a.first.to, a.first.from) < std::tie(b.first.kind, b.first.to, b.first.from);
      });
      std::string dtext = fmt::format("\n-- {} --\n", t_.dir_names[d]);
      for (const auto& [k, v] : rows) {
        if (v.empty()) continue;
        const std::string from = stage_name(d, k.from), to = stage_name(d, k.to);
        nlohmann::json hj = v.to_json();
        hj["from"] = from;
        hj["to"] = to;
        const char* label = k.kind == NT_LAT_H_PAIR ? "pair" : k.kind == NT_LAT_H_TOTAL ? "end_to_end" : "rtt";
        hj["kind"] = label;
        if (k.kind == NT_LAT_H_PAIR && total_ns)
          hj["share"] = static_cast<double>(v.sum()) / static_cast<double>(total_ns);
        if (k.kind == NT_LAT_H_TOTAL) {
          auto cj = nlohmann::json::object();
          for (const auto& [cpu_id, n] : cpu[k]) cj[std::to_string(cpu_id)] = n;
          if (final) hj["cpu"] = cj;
        }
        pairs.push_back(hj);
        dtext += fmt::format("{} {} -> {}: count {} avg {:.3f} p50 {:.3f} p95 {:.3f} p99 {:.3f} max {:.3f} us{}\n",
                             k.kind == NT_LAT_H_PAIR ? "  " : k.kind == NT_LAT_H_TOTAL ? "End-to-end" : "RTT", from, to,
                             v.count(), v.mean() / 1e3, v.percentile(50) / 1e3, v.percentile(95) / 1e3,
                             v.percentile(99) / 1e3, v.max() / 1e3,
                             k.kind == NT_LAT_H_PAIR && total_ns
                                 ? fmt::format(" ({:.1f}% of total)", 100.0 * v.sum() / total_ns)
                                 : "");
        if (k.kind != NT_LAT_H_PAIR || o_.verbose) dtext += v.render();
      }
      dj["histograms"] = pairs;
      dj["completed"] = completed;
      auto ij = nlohmann::json::object();
      uint64_t incomplete = 0;
      for (const auto& [slot, n] : inc) {
        if (slot / NT_LAT_MAX_STAGES != d) continue;
        uint64_t v = final ? n : n - std::min(n, prev_incomplete_[slot]);
        if (!v) continue;
        ij[stage_name(d, static_cast<uint8_t>(slot % NT_LAT_MAX_STAGES))] = v;
        incomplete += v;
      }
      dj["incomplete"] = incomplete;
      dj["incomplete_by_last_stage"] = ij;
      dtext += fmt::format("Flows: completed {}, incomplete {}", completed, incomplete);
      for (const auto& [name, n] : ij.items()) dtext += fmt::format(" [{}: {}]", name, n.get<uint64_t>());
      dirs[t_.dir_names[d]] = dj;
      r.line(dtext);
    }
    r.field("directions", dirs);
    report_cpu_pairs(final, r, dc);
    for (size_t i = 0; i < NT_LAT_NCOUNTERS; i++)
      if (i != NT_LAT_C_RB_LOST && i != NT_LAT_C_MAP_FULL && i != NT_LAT_C_STACK_FAIL) r.field(kCounterNames[i], dc[i]);
    r.line(fmt::format("Counters: started {} completed {} restarted {} stale {} duplicates {} out_of_order {} "
                       "parse_failures {}",
                       dc[NT_LAT_C_STARTED], dc[NT_LAT_C_COMPLETED], dc[NT_LAT_C_RESTARTED], dc[NT_LAT_C_STALE],
                       dc[NT_LAT_C_DUP], dc[NT_LAT_C_OOO], dc[NT_LAT_C_PARSE_FAIL]));
    // Intervals: received so far (as before the session); the summary: the session's count.
    if (final) r.summary(*sum, true).field("flow_keying", flow_keying());
    else r.interval(*iv).field("events_received", s_.events_received());
    r.line("");
    out_.emit(r);
    if (!final) {
      prev_hists_ = cur;
      prev_counters_ = c;
      for (const auto& [k, v] : inc) prev_incomplete_[k] = v;
    }
  }

  StageTable t_;
  const EngineOptions& o_;
  core::Session s_;
  output::Output& out_;
  std::map<std::string, std::string> via_;
  std::unique_ptr<sys::Ksyms> ksyms_;
  bool key_skb_ = false;
  bool hybrid_ = false;
  nt_lat_fast_cfg fast_{};
  int fast_hists_fd_ = -1;
  std::vector<int> flow_fds_;  // maps whose entries are flows (swept for idle ones)
  int hists_fd_ = -1, counters_fd_ = -1, incomplete_fd_ = -1, stacks_fd_ = -1, cpu_pairs_fd_ = -1;
  CpuPairs prev_cpu_pairs_;
  bool swept_all_ = false;
  Hists prev_hists_;
  Counters prev_counters_{};
  std::map<uint32_t, uint64_t> swept_, prev_incomplete_;
};

}  // namespace

int run_engine(StageTable table, const EngineOptions& o) { return Engine(std::move(table), o).run(); }

}  // namespace nettrace::tools::perf
