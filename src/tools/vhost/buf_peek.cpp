// SPDX-License-Identifier: GPL-2.0
// nettrace vhost buf-peek: what vhost_net_buf_peek returns per vhost-net RX queue (vhost_buf_peek_stats.py): 0 when
// nothing is queued for the guest, else the length of the next packet. See docs/tools/vhost.md.

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "tools/vhost/signal_plan.hpp"
#include "tools/vhost/vhost.hpp"
#include "vhost_buf_peek.skel.h"

namespace nettrace::tools::vhost {
namespace {

constexpr const char* kArgHook = "vhost_net_buf_peek (kretprobe's argument)";

class BufPeek final : public core::SessionTool {
 public:
  explicit BufPeek(const BufPeekOptions& o) : o_(o), s_("vhost buf-peek", o.common), out_(s_.out()) {}

  int run() {
    require_vhost_net();
    auto skel = bpf::Skeleton<vhost_buf_peek_bpf>::open("vhost buf-peek", bpf::CoreBtf::Kernel);
    configure_filter(skel.get(), o_.filter);
    for (auto& h : buf_peek_hooks()) s_.plan().add(std::move(h));
    s_.choose(skel->obj);
    // fexit sees the argument: the kprobe that keeps it for the kretprobe is not needed.
    for (const auto& ch : s_.plan().choices())
      if (ch.hook == "vhost_net_buf_peek return" && ch.chosen && ch.candidate.kind == bpf::AttachKind::Fexit)
        s_.plan().drop(skel->obj, kArgHook);
    s_.load(skel);
    fill_pid_map(bpf_map__fd(skel->maps.nt_vhost_pids), o_.filter);
    s_.attach();
    peeks_ = bpf::MapDeltas<nt_vhost_peek_key, nt_vhost_peek_val>(bpf_map__fd(skel->maps.peeks));
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters({counters_fd_, NT_VHOST_RB_LOST, NT_VHOST_MAP_FULL, {}});
    out_.text("Tracing vhost_net_buf_peek returns... Hit Ctrl-C to end.\n\n");
    return s_.run(*this);
  }

 private:
  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  struct Queue {
    nt_vhost_vq_id id{};
    uint64_t calls = 0, empty = 0, nonempty = 0;
    std::vector<std::pair<int64_t, uint64_t>> rets;  // (return value, count)
  };

  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool since_start = sum != nullptr || o_.cumulative;
    auto rows = peeks_.read(since_start, [](nt_vhost_peek_val& d, const nt_vhost_peek_val& e) {
      d.count -= e.count;
      return d.count != 0;
    });
    std::map<uint64_t, Queue> queues;
    for (const auto& [k, v] : rows) {
      Queue& q = queues[k.nvq];
      q.id = v.id;
      q.calls += v.count;
      (k.ret == 0 ? q.empty : q.nonempty) += v.count;
      q.rets.emplace_back(k.ret, v.count);
    }
    const auto c = bpf::read_percpu_counters<NT_VHOST_NCOUNTERS>(counters_fd_);
    output::Report r(sum ? "vhost_buf_peek_summary" : "vhost_buf_peek_interval");
    r.heading(sum ? fmt::format("=== vhost buf-peek summary ({:.1f}s) ===", secs)
                  : fmt::format("=== vhost buf-peek {}({:.1f}s) ===", o_.cumulative ? "since start " : "", secs))
        .time(core::realtime_ns());
    r.field("cumulative", since_start);
    auto list = nlohmann::json::array();
    if (queues.empty()) r.line("No vhost_net_buf_peek calls.");
    for (auto& [nvq, q] : queues) {
      std::sort(q.rets.begin(), q.rets.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      const std::string role = kicks_.role(q.id.handle_kick, q.id.vq_index);
      r.line(fmt::format("NVQ: {}  {} {}  owner {}  worker {}/{}  Total calls: {}  (empty: {}, packets: {})",
                         hex_ptr(nvq), backend_name(q.id), role, q.id.owner_tgid,
                         comm_of(q.id.worker_comm, sizeof(q.id.worker_comm)), q.id.worker_tid, q.calls, q.empty,
                         q.nonempty));
      nlohmann::json j{{"nvq", hex_ptr(nvq)}, {"calls", q.calls}, {"empty", q.empty}, {"nonempty", q.nonempty},
                       {"distinct_returns", q.rets.size()}};
      add_vq_fields(j, q.id, role);
      auto rets = nlohmann::json::array();
      size_t shown = 0;
      for (const auto& [ret, n] : q.rets) {
        if (shown++ >= static_cast<size_t>(o_.top)) break;
        const double share = static_cast<double>(n) / static_cast<double>(q.calls);
        r.line(fmt::format("    ret={}: {} times ({:.2f}%)", ret, n, share * 100));
        rets.push_back({{"ret", ret}, {"count", n}, {"share", share}});
      }
      if (q.rets.size() > static_cast<size_t>(o_.top))
        r.line(fmt::format("    ... {} more return values (--top)", q.rets.size() - static_cast<size_t>(o_.top)));
      j["returns"] = rets;
      list.push_back(j);
    }
    r.field("queues", list);
    if (sum) {
      r.field("peek_calls", c[NT_VHOST_PEEK_CALLS]).field("returns_without_argument", c[NT_VHOST_PEEK_NO_ARG]);
      if (c[NT_VHOST_PEEK_NO_ARG]) r.line(fmt::format("Returns without their argument: {}", c[NT_VHOST_PEEK_NO_ARG]));
      r.summary(*sum, false);
    } else {
      r.interval(*iv);
    }
    r.line("");
    out_.emit(r);
  }

  const BufPeekOptions& o_;
  core::Session s_;
  output::Output& out_;
  int counters_fd_ = -1;
  bpf::MapDeltas<nt_vhost_peek_key, nt_vhost_peek_val> peeks_;
  KickNames kicks_;
};

}  // namespace

int run_buf_peek(const BufPeekOptions& o) { return BufPeek(o).run(); }

}  // namespace nettrace::tools::vhost
