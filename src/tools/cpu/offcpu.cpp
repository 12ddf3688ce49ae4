// SPDX-License-Identifier: GPL-2.0
// nettrace cpu offcpu: blocked time by thread and kernel/user stack (offcputime-ts). See docs/tools/cpu.md.

#include <algorithm>
#include <future>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "nettrace/sys/ksyms.hpp"
#include "tools/cpu/cpu.hpp"
#include "tools/cpu/cpu_bpf.hpp"
#include "tools/cpu/cpu_hooks.hpp"
#include "tools/cpu/cpu_util.hpp"
#include "tools/cpu/usym.hpp"
#include "cpu_offcpu.skel.h"

namespace nettrace::tools::cpu {
namespace {


class Offcpu final : public core::SessionTool {
 public:
  explicit Offcpu(const OffcpuOptions& o) : o_(o), s_("cpu offcpu", o.common), out_(s_.out()) {}

  int run() {
    auto ksyms_future = std::async(std::launch::async, [] { return sys::Ksyms::load(); });
    auto skel = bpf::Skeleton<cpu_offcpu_bpf>::open("cpu offcpu", bpf::CoreBtf::Minimal);
    configure_filter(skel.get(), o_.filter);
    auto* ro = skel->rodata;
    ro->cfg_min_ns = o_.min_us * 1000;
    ro->cfg_max_ns = o_.max_us >= UINT64_MAX / 1000 ? UINT64_MAX : o_.max_us * 1000;
    ro->cfg_state = o_.state;
    ro->cfg_user_only = o_.user_threads_only;
    ro->cfg_kernel_only = o_.kernel_threads_only;
    ro->cfg_kstacks = !o_.user_stacks_only;
    ro->cfg_ustacks = !o_.kernel_stacks_only;
    bpf_map__set_max_entries(skel->maps.stacks, o_.stack_storage);
    for (auto& h : offcpu_hooks()) s_.plan().add(h);
    s_.load(skel);
    fill_filter_maps(skel.get(), o_.filter);
    try {
      ksyms_ = std::make_unique<sys::Ksyms>(ksyms_future.get());
    } catch (const Error& e) {
      spdlog::warn("{}: kernel stacks show raw addresses", e.what());
      ksyms_ = std::make_unique<sys::Ksyms>(sys::Ksyms::parse(""));
    }
    s_.attach();
    counts_ = bpf::MapDeltas<nt_offcpu_key, nt_offcpu_val>(bpf_map__fd(skel->maps.counts));
    stacks_fd_ = bpf_map__fd(skel->maps.stacks);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters(counter_slots(counters_fd_));
    if (!o_.folded)  // text only
      out_.text(fmt::format("Tracing off-CPU time (us) of {} by {} stack{}... Hit Ctrl-C to end.\n", describe(),
                            o_.user_stacks_only ? "user" : o_.kernel_stacks_only ? "kernel" : "user + kernel",
                            o_.common.duration_s > 0 ? fmt::format(" for {} secs", o_.common.duration_s) : ""));
    return s_.run(*this);
  }

 private:
  std::string describe() const {
    std::string s = o_.user_threads_only ? "user threads" : o_.kernel_threads_only ? "kernel threads" : "all threads";
    if (!o_.filter.tgids.empty()) s = fmt::format("pid {}", fmt::join(o_.filter.tgids, ","));
    if (!o_.filter.tids.empty()) s = fmt::format("tid {}", fmt::join(o_.filter.tids, ","));
    return s;
  }

  // The stack starts inside the BPF program and the tracepoint glue; drop those frames.
  std::vector<uint64_t> kernel_stack(int32_t id) const {
    auto st = read_stack(stacks_fd_, id);
    size_t cut = 0;
    for (size_t i = 0; i < st.size() && i < 8; i++) {
      const std::string f = ksyms_->function(st[i]);
      if (sys::is_tracing_frame(f)) cut = i + 1;
    }
    st.erase(st.begin(), st.begin() + static_cast<long>(cut));
    return st;
  }

  // names: function names only (folded output); else with -s/--offset "func+0x1a", without "func",
  // as offcputime prints them.
  std::vector<std::string> kframes(int32_t id, bool names) const {
    std::vector<std::string> out;
    for (auto a : kernel_stack(id))
      out.push_back(names || !o_.offset ? ksyms_->function(a) : ksyms_->symbolize(a));
    for (auto& s : out)
      if (s.empty()) s = "[unknown]";
    return out;
  }

  std::vector<std::string> uframes(const nt_offcpu_key& k, bool names) {
    std::vector<std::string> out;
    for (auto a : read_stack(stacks_fd_, k.ustack)) {
      std::string s = names ? usyms_.function(static_cast<pid_t>(k.tgid), a)
                            : usyms_.symbolize(static_cast<pid_t>(k.tgid), a, o_.offset);
      out.push_back(s.empty() ? "[unknown]" : s);
    }
    return out;
  }

  void on_interval(const core::Interval& iv) override { report(iv.seconds, &iv, nullptr); }
  // Without --interval the summary has the stacks of the whole run; after intervals, the run's totals only.
  void on_end(const core::Summary& sum) override { report(sum.seconds, nullptr, &sum); }

  // One report: an interval shows what blocked since the last one, the summary of a run without
  // intervals everything since start.
  void report(double secs, const core::Interval* iv, const core::Summary* sum) {
    const bool interval = o_.common.interval_s > 0;
    std::vector<std::pair<nt_offcpu_key, nt_offcpu_val>> rows;
    if (!sum || !interval)
      rows = counts_.read(false, [](nt_offcpu_val& d, const nt_offcpu_val& e) {
        d.total_ns -= e.total_ns;
        d.count -= e.count;
        return d.count != 0;
      });
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.total_ns > b.second.total_ns; });
    if (o_.top > 0 && rows.size() > static_cast<size_t>(o_.top)) rows.resize(static_cast<size_t>(o_.top));
    // Intervals: the counters since the last report; the summary: the whole run.
    const Counters c = read_counters(counters_fd_);
    const Counters d = sum ? c : deltas_.next(c);
    usyms_.reset();  // mappings may have changed since the last report

    // One record per stack (JSON alone: text shows the stacks inside the report, largest last, next to the
    // prompt, as offcputime), then the interval or summary.
    output::Report r(sum ? "offcpu_summary" : "offcpu_interval");
    r.time(core::realtime_ns());
    if (interval && !sum)
      r.heading(fmt::format("=== Off-CPU Analysis Report - Start Time: {} ===",
                            core::format_local(core::realtime_ns() - static_cast<uint64_t>(secs * 1e9), false)));
    std::vector<std::string> blocks;
    for (const auto& [k, v] : rows) {
      output::Report st("offcpu_stack");
      st.field("pid", k.tgid).field("tid", k.pid).field("comm", comm_str(k.comm));
      st.field("total_ns", v.total_ns).field("total_us", v.total_ns / 1000).field("count", v.count);
      std::string t;
      const std::string fold = o_.folded ? folded(k) : "";
      if (o_.folded) st.field("folded", fold);
      if (!o_.user_stacks_only) {
        const auto frames = k.kstack >= 0 ? kframes(k.kstack, false) : std::vector<std::string>{};
        st.field("kernel_stack", frames);
        if (k.kstack < 0) t += "    [Missed Kernel Stack]\n";
        for (const auto& f : frames) t += fmt::format("    {}\n", f);
      }
      if (!o_.kernel_stacks_only) {
        const auto frames = k.ustack >= 0 ? uframes(k, false) : std::vector<std::string>{};
        st.field("user_stack", frames);
        if (o_.delimited && k.kstack >= 0 && k.ustack >= 0) t += "    --\n";
        if (k.ustack < 0) t += "    [Missed User Stack]\n";
        for (const auto& f : frames) t += fmt::format("    {}\n", f);
      }
      t += fmt::format("    {:<16} {} ({})\n        {}\n", "-", comm_str(k.comm), k.pid, v.total_ns / 1000);
      out_.emit(st);
      blocks.push_back(o_.folded ? fmt::format("{} {}", fold, v.total_ns / 1000) : t);
    }
    // After intervals, the summary has the run's totals only (the intervals showed the stacks).
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) r.line(*it);
    r.field("stacks", rows.size()).field("blocks", d[NT_CPU_EVENTS]);
    r.field("kernel_stack_failures", d[NT_CPU_KSTACK_FAIL]).field("user_stack_failures", d[NT_CPU_USTACK_FAIL]);
    r.field("outside_min_max", d[NT_CPU_FILTERED_OUT]);
    if (d[NT_CPU_KSTACK_FAIL] || d[NT_CPU_USTACK_FAIL]) {
      const std::string warning = fmt::format("{} kernel and {} user stacks could not be captured (raise --stack-storage-size)",
                                              d[NT_CPU_KSTACK_FAIL], d[NT_CPU_USTACK_FAIL]);
      // Folded output is another program's input: the warning goes to stderr, never into the stacks.
      if (o_.folded) spdlog::warn("{}", warning);
      else r.note("WARNING: " + warning);
    }
    // Folded output is flame-graph input: the counters only in JSON and on stderr.
    if (sum) r.summary(*sum, false, !o_.folded);
    else r.interval(*iv);
    if (interval && !sum) r.line(fmt::format("=== End of report ({:.1f}s) ===", secs));
    out_.emit(r);
  }

  std::string folded(const nt_offcpu_key& k) {
    std::vector<std::string> u, kf;
    if (!o_.kernel_stacks_only) u = uframes(k, true);
    if (!o_.user_stacks_only) kf = kframes(k.kstack, true);
    return fold_stack(comm_str(k.comm), u, kf, o_.delimited);
  }

  const OffcpuOptions& o_;
  core::Session s_;
  output::Output& out_;
  std::unique_ptr<sys::Ksyms> ksyms_;
  UserSymbolizer usyms_;
  int stacks_fd_ = -1, counters_fd_ = -1;
  bpf::MapDeltas<nt_offcpu_key, nt_offcpu_val> counts_;
  CounterDeltas deltas_;
};

}  // namespace

int run_offcpu(const OffcpuOptions& o) { return Offcpu(o).run(); }

}  // namespace nettrace::tools::cpu
