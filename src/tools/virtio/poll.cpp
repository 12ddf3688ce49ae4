// SPDX-License-Identifier: GPL-2.0
// nettrace virtio poll: NAPI polls of virtio-net queues from napi:napi_poll (virtnet_poll_monitor.py,
// virtnet_poll_stack_stats.bt). See docs/tools/virtio.md.

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/abi/virtio.h"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/ksyms.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/virtio/virtio.hpp"
#include "virtio_poll.skel.h"

namespace nettrace::tools::virtio {
namespace {

bool subtract(nt_virtio_poll_val& d, const nt_virtio_poll_val& e) {
  d.polls -= e.polls;
  d.work -= e.work;
  d.full -= e.full;
  d.idle -= e.idle;
  for (int i = 0; i < NT_VIRTIO_WORK_SLOTS; i++) d.slots[i] -= e.slots[i];
  return d.polls != 0;
}

std::string queue_name(uint32_t kind, int32_t queue) {
  const char* k = kind == NT_VIRTIO_NAPI_RX ? "rx" : kind == NT_VIRTIO_NAPI_TX ? "tx" : "napi";
  return queue < 0 ? fmt::format("{}?", k) : fmt::format("{}{}", k, queue);
}

std::string dev_name(const char* d) { return std::string(d, strnlen(d, NT_VIRTIO_IFNAMSIZ)); }

class Poll final : public core::SessionTool {
 public:
  explicit Poll(const PollOptions& o) : o_(o), s_("virtio poll", o.common), out_(s_.out()) {}

  int run() {
    // virtio_net's queue structs are in the module's BTF when it is a module: the whole kernel BTF, not Minimal.
    auto skel = bpf::Skeleton<virtio_poll_bpf>::open("virtio poll", bpf::CoreBtf::Kernel);
    auto fns = poll_functions();
    if (fns.empty())
      spdlog::warn("virtnet_poll/virtnet_poll_tx not in /proc/kallsyms: RX and TX NAPIs cannot be told apart (queue 'napi?')");
    for (const auto& [base, addr] : fns) {
      if (base == "virtnet_poll") skel->rodata->cfg_rx_poll = addr;
      else skel->rodata->cfg_tx_poll = addr;
    }
    skel->rodata->cfg_netns = sys::current_netns_inum();
    skel->rodata->cfg_events = o_.events;
    skel->rodata->cfg_stacks = o_.stacks;
    if (!o_.stacks) {
      bpf_map__set_max_entries(skel->maps.stack_traces, 1);
      bpf_map__set_max_entries(skel->maps.stack_counts, 1);
    }
    if (!o_.events) bpf_map__set_max_entries(skel->maps.events, 4096);
    for (auto& h : poll_hooks()) s_.plan().add(h);
    s_.load(skel);
    const uint8_t one = 1;
    for (const auto& [ifindex, name] : o_.devices)
      bpf_map_update_elem(bpf_map__fd(skel->maps.devices), &ifindex, &one, BPF_ANY);
    s_.attach();
    stats_ = bpf::MapDeltas<nt_virtio_poll_key, nt_virtio_poll_val>(bpf_map__fd(skel->maps.stats));
    stacks_ = bpf::MapDeltas<nt_virtio_stack_key, uint64_t>(bpf_map__fd(skel->maps.stack_counts));
    stack_fd_ = bpf_map__fd(skel->maps.stack_traces);
    s_.set_counters({bpf_map__fd(skel->maps.counters), NT_VIRTIO_RB_LOST, NT_VIRTIO_MAP_FULL, {NT_VIRTIO_KSTACK_FAIL}});
    if (o_.events)
      s_.add_ring_buffer(bpf_map__fd(skel->maps.events), [this](const void* d, size_t n) { on_event(d, n); });
    std::string devs;
    for (const auto& [i, name] : o_.devices) devs += (devs.empty() ? "" : ", ") + name;
    out_.text(fmt::format("Tracing NAPI polls of {}... Hit Ctrl-C to end.\n\n", devs));
    return s_.run(*this);
  }

 private:
  // The addresses of virtnet_poll and virtnet_poll_tx (napi->poll tells an RX NAPI from a TX one).
  static std::vector<std::pair<std::string, uint64_t>> poll_functions() {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const char* f : {"virtnet_poll", "virtnet_poll_tx"}) {
      try {
        auto r = sys::Ksyms::scan_ranges({f});
        if (!r.empty()) out.emplace_back(f, r.front().first);
      } catch (const std::exception&) {
      }
    }
    return out;
  }

  bool wanted(int32_t queue) const { return o_.queue < 0 || queue == o_.queue; }

  void on_event(const void* d, size_t n) {
    if (n < sizeof(nt_virtio_poll_event)) return;
    const auto* e = static_cast<const nt_virtio_poll_event*>(d);
    if (!wanted(e->queue)) {
      s_.discard_event();
      return;
    }
    const std::string q = queue_name(e->kind, e->queue);
    const double pct = e->budget > 0 ? 100.0 * e->work / e->budget : 0.0;
    if (out_.json()) {
      out_.record({{"type", "virtio_poll_event"}, {"time", core::format_iso8601(core::mono_to_realtime(e->ts_ns))},
                   {"device", dev_name(e->dev)}, {"queue", q}, {"cpu", e->cpu}, {"work", e->work},
                   {"budget", e->budget}, {"napi", fmt::format("0x{:x}", e->napi)}},
                  true);
    } else {
      out_.text(fmt::format("{} cpu{} {} {} processed={}/{} ({:.1f}%) napi=0x{:x}\n",
                            core::format_local(core::mono_to_realtime(e->ts_ns)), e->cpu, dev_name(e->dev), q, e->work,
                            e->budget, pct, e->napi),
                true);
    }
  }

  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool final_report = sum != nullptr;
    auto rows = stats_.read(final_report, subtract);
    std::erase_if(rows, [this](const auto& r) { return !wanted(r.first.queue); });
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first.ifindex, a.first.kind, a.first.queue) < std::tie(b.first.ifindex, b.first.kind, b.first.queue);
    });
    uint64_t polls = 0, work = 0;
    for (const auto& [k, v] : rows) {
      polls += v.polls;
      work += v.work;
    }
    output::Report rep(final_report ? "virtio_poll_summary" : "virtio_poll_interval");
    rep.heading(fmt::format("=== virtio poll {} ({:.1f}s): {} polls, {} packets ===",
                            final_report ? "summary" : "interval", secs, polls, work))
        .time(core::realtime_ns());
    rep.field("polls", polls).field("packets", work);
    auto& t = rep.table("queues", {{"device", "DEVICE", 10, true},
                                   {"queue", "QUEUE", 6, true},
                                   {"polls", "POLLS", 8},
                                   {"packets", "PACKETS", 9},
                                   {"full_budget", "FULL", 7},
                                   {"idle", "IDLE", 7},
                                   {"", "AVG_WORK", 8, false, "{:.2f}"},
                                   {"max_work", "MAX", 5},
                                   {"budget", "BUDGET", 6}})
                  .empty_text("No polls.");
    for (const auto& [k, v] : rows) {
      auto& r = t.row().cell(dev_name(k.dev)).cell(queue_name(k.kind, k.queue)).cell(v.polls).cell(v.work);
      r.cell(v.full).cell(v.idle).cell(static_cast<double>(v.work) / static_cast<double>(v.polls));
      r.cell(v.max_work).cell(v.budget);
      nlohmann::json slots = nlohmann::json::array();
      std::string text;
      for (unsigned i = 0; i < NT_VIRTIO_WORK_SLOTS; i++) {
        if (!v.slots[i]) continue;
        slots.push_back({{"work", work_slot_label(i, v.budget)}, {"polls", v.slots[i]}});
        text += fmt::format("  {}:{}", work_slot_label(i, v.budget), v.slots[i]);
      }
      r.json("work_hist", slots);
      if (final_report && !text.empty()) r.text_after(fmt::format("    work/budget polls:{}\n", text));
    }
    if (o_.stacks) stacks_report(rep, final_report);
    if (sum) rep.summary(*sum, o_.events);
    else rep.interval(*iv);
    rep.line("");
    out_.emit(rep);
  }

  void stacks_report(output::Report& rep, bool final_report) {
    auto rows = stacks_.read(final_report, [](uint64_t& d, const uint64_t& e) {
      d -= e;
      return d != 0;
    });
    std::erase_if(rows, [this](const auto& r) { return !wanted(r.first.queue); });
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (!ksyms_) ksyms_ = std::make_unique<sys::LazyKsyms>();
    auto& t = rep.table("stacks", {{"queue", "QUEUE", 6, true}, {"count", "POLLS", 8}}).title("Top poll stacks:").indent(2);
    std::map<std::pair<uint32_t, int32_t>, int> shown;
    for (const auto& [k, n] : rows) {
      if (shown[{k.kind, k.queue}]++ >= o_.top) continue;
      std::vector<uint64_t> frames(NT_VIRTIO_STACK_DEPTH);
      std::vector<std::string> names;
      std::string text;
      if (bpf_map_lookup_elem(stack_fd_, &k.stack_id, frames.data()) == 0) {
        size_t len = 0;
        while (len < frames.size() && frames[len]) len++;
        ksyms_->prefetch(frames.data(), len);
        bool leading = true;  // the BPF program and the tracepoint's own frames (bpf_trace_run3) are not the poll's
        for (size_t i = 0; i < len; i++) {
          std::string name = ksyms_->symbolize(frames[i]);
          if (leading && sys::is_tracing_frame(name)) continue;
          leading = false;
          names.push_back(std::move(name));
          text += fmt::format("      {}\n", names.back());
        }
      }
      auto it = o_.devices.find(k.ifindex);
      t.row().cell(queue_name(k.kind, k.queue)).cell(n).json("device", it != o_.devices.end() ? it->second : "")
          .json("stack", names).text_after(text);
    }
  }

  const PollOptions& o_;
  core::Session s_;
  output::Output& out_;
  int stack_fd_ = -1;
  std::unique_ptr<sys::LazyKsyms> ksyms_;
  bpf::MapDeltas<nt_virtio_poll_key, nt_virtio_poll_val> stats_;
  bpf::MapDeltas<nt_virtio_stack_key, uint64_t> stacks_;
};

}  // namespace

int run_poll(const PollOptions& o) { return Poll(o).run(); }

}  // namespace nettrace::tools::virtio
