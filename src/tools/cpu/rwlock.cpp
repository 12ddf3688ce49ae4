// SPDX-License-Identifier: GPL-2.0
// nettrace cpu rwlock: pthread_rwlock_wrlock() wait time of one process, per thread, and with --stack
// per user stack (pthread_rwlock_wrlock.bt, pthread_rwlock_wrlock-stack.bt). The function is found in
// the process's own libc (or libpthread before glibc 2.34, or a static binary) from /proc/PID/maps
// and its ELF symbol table at run time. See docs/tools/cpu.md.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/signals.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "tools/cpu/cpu.hpp"
#include "tools/cpu/cpu_bpf.hpp"
#include "tools/cpu/cpu_util.hpp"
#include "tools/cpu/usym.hpp"
#include "cpu_rwlock.skel.h"

namespace nettrace::tools::cpu {

namespace {

constexpr const char* kFunction = "pthread_rwlock_wrlock";

std::string base(const std::string& p) { return p.substr(p.rfind('/') + 1); }

}  // namespace

RwlockTarget find_rwlock_target(uint32_t pid, const std::string& proc) {
  auto files = mapped_files(pid, proc);
  if (files.empty()) throw failure(fmt::format("cannot read {}/{}/maps", proc, pid), "run as root");
  // libpthread (glibc < 2.34) wins over libc, which only forwards to it there; then anything else
  // mapped (a static binary, musl's libc.so).
  auto rank = [](const std::string& f) {
    const std::string b = base(f);
    if (b.rfind("libpthread", 0) == 0) return 0;
    if (b.rfind("libc.so", 0) == 0 || b.rfind("libc-", 0) == 0) return 1;
    return 2;
  };
  std::stable_sort(files.begin(), files.end(), [&](auto& a, auto& b) { return rank(a) < rank(b); });
  std::string denied;
  for (const auto& f : files) {
    // Through the process's root, so a process in a container gets its own library.
    const std::string path = fmt::format("{}/{}/root{}", proc, pid, f);
    if (access(path.c_str(), R_OK) != 0 && (errno == EACCES || errno == EPERM)) {
      if (denied.empty()) denied = path;
      continue;
    }
    if (auto off = elf_function_offset(path, kFunction)) return {path, f, *off};
  }
  if (!denied.empty())
    throw failure(fmt::format("cannot read {}: {} (another user's process: needs root or CAP_SYS_PTRACE)", denied,
                              strerror(EACCES)));
  throw failure(fmt::format("process {} has no {} in any mapped file (not linked with pthreads?)", pid, kFunction));
}

namespace {

class Rwlock final : public core::SessionTool {
 public:
  // --attach has nothing to choose: uprobes have no alternative.
  explicit Rwlock(const RwlockOptions& o) : o_(o), s_("cpu rwlock", o.common), out_(s_.out()) {}

  int run() {
    const RwlockTarget target = find_rwlock_target(o_.pid);
    auto skel = bpf::Skeleton<cpu_rwlock_bpf>::open("cpu rwlock", bpf::CoreBtf::Minimal);
    TaskFilter f;
    configure_filter(skel.get(), f);  // the uprobes are attached to this pid only
    skel->rodata->cfg_stacks = o_.stacks;
    // No planned hooks: the uprobes below are the only programs.
    for (auto* prog : {skel->progs.uprobe_wrlock, skel->progs.uretprobe_wrlock}) s_.plan().keep(bpf_program__name(prog));
    s_.load(skel);
    for (bool ret : {false, true}) {
      LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);
      auto* prog = ret ? skel->progs.uretprobe_wrlock : skel->progs.uprobe_wrlock;
      bpf_link* l = bpf_program__attach_uprobe_opts(prog, static_cast<pid_t>(o_.pid), target.path.c_str(),
                                                    target.offset, &uo);
      if (!l)
        throw failure(fmt::format("cannot attach {} to {}:{} (+0x{:x}): {}", ret ? "uretprobe" : "uprobe",
                                  target.mapped, kFunction, target.offset, strerror(errno)),
                      "needs uprobes (CONFIG_UPROBE_EVENTS) and root");
      s_.add_link(l);
    }
    spdlog::info("uprobe+uretprobe {}:{} (+0x{:x}) pid {}", target.mapped, kFunction, target.offset, o_.pid);
    s_.attach();
    hists_ = bpf::MapDeltas<nt_rwlock_key, nt_rwlock_val>(bpf_map__fd(skel->maps.hists));
    stack_counts_ = bpf::MapDeltas<nt_rwlock_stack_key, nt_rwlock_stack_val>(bpf_map__fd(skel->maps.stack_counts));
    stacks_fd_ = bpf_map__fd(skel->maps.stacks);
    counters_fd_ = bpf_map__fd(skel->maps.counters);
    s_.set_counters(counter_slots(counters_fd_));
    if (o_.stacks) usyms_.keep(static_cast<pid_t>(o_.pid));  // symbolize even after it exits
    out_.text(fmt::format("Tracing {}() wait of pid {} in {}{}... Hit Ctrl-C to end.\n",  // text only
                          kFunction, o_.pid, target.mapped, o_.stacks ? " by user stack" : ""));
    return s_.run(*this);
  }

 private:
  // The traced process gone, the run ends (checked once a second).
  void on_second(uint64_t) override {
    if (exited_ || process_exists(o_.pid)) return;
    exited_ = true;
    spdlog::info("process {} exited", o_.pid);
    core::request_stop();
  }
  void on_interval(const core::Interval& iv) override { report(iv.seconds, iv.delta, &iv, nullptr); }
  void on_end(const core::Summary& sum) override { report(sum.seconds, sum.totals, nullptr, &sum); }

  std::vector<std::string> uframes(const nt_rwlock_stack_key& k) {
    std::vector<std::string> out;
    for (auto a : read_stack(stacks_fd_, k.ustack)) {
      std::string s = usyms_.symbolize(static_cast<pid_t>(k.tgid), a);
      out.push_back(s.empty() ? "[unknown]" : s);
    }
    return out;
  }

  // sum: the run's summary (everything since start), else an interval (what happened since the last report).
  void report(double secs, const core::Housekeeping& hk, const core::Interval* iv, const core::Summary* sum) {
    const bool final_report = sum != nullptr, exited = final_report && exited_;
    // Intervals: what happened since the last report; the summary: the whole run.
    auto rows = hists_.read(final_report, subtract_waits<nt_rwlock_val>);
    core::Histogram total;
    uint64_t errors = 0;
    for (const auto& [k, d] : rows) {
      total.add(d.hist);
      errors += d.errors;
    }
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.hist.sum > b.second.hist.sum; });

    std::vector<std::pair<nt_rwlock_stack_key, nt_rwlock_stack_val>> stacks;
    if (o_.stacks) {
      stacks = stack_counts_.read(final_report, [](nt_rwlock_stack_val& d, const nt_rwlock_stack_val& e) {
        d.count -= e.count;
        d.total_ns -= e.total_ns;
        return d.count != 0;
      });
      std::sort(stacks.begin(), stacks.end(), [](auto& a, auto& b) { return a.second.count > b.second.count; });
      if (o_.top > 0 && stacks.size() > static_cast<size_t>(o_.top)) stacks.resize(static_cast<size_t>(o_.top));
    }

    Counters c = read_counters(counters_fd_);
    if (!exited_) {  // an exited process keeps the mappings read while it lived
      usyms_.reset();
      if (o_.stacks) usyms_.keep(static_cast<pid_t>(o_.pid));
    }
    output::Report r(final_report ? "rwlock_summary" : "rwlock_interval");
    r.heading(fmt::format("=== {}() wait, pid {} {} ({:.1f}s){} ===", kFunction, o_.pid,
                          final_report ? "summary" : "interval", secs, exited ? ", process exited" : ""))
        .time(core::realtime_ns());
    r.field("pid", o_.pid).field("calls", total.count()).field("total_ns", total.sum()).field("errors", errors);
    r.field("start_map_full", c[NT_CPU_START_FULL]).field("user_stack_failures", c[NT_CPU_USTACK_FAIL]);
    if (final_report) r.field("max_ns", total.max()).field("process_exited", exited);
    if (rows.empty()) r.line("No write-lock calls.");
    else
      r.line(fmt::format("{} calls, {:.3f} ms total wait, avg {:.1f} us{}", total.count(), total.sum() / 1e6,
                         total.mean() / 1e3, errors ? fmt::format(", {} returned an error", errors) : ""));
    r.histogram("hist", total, false);  // the threads' histograms follow in text
    std::vector<output::Column> cols{{"comm", "COMM", 16, true}, {"pid", "PID", 7}, {"tid", "TID", 7},
                                     {"count", "CALLS", 8}, {"total_ns", "TOTAL(ms)", 11, false, "{:.3f}", 1e6},
                                     {"", "AVG(us)", 10, false, "{:.1f}", 1e3}, {"errors", "ERRORS", 7}};
    if (final_report) cols.push_back({"max_ns", "MAX(us)", 10, false, "{:.1f}", 1e3});
    auto& threads = r.table("threads", std::move(cols));
    for (const auto& [k, v] : rows) {
      auto& t = threads.row().cell(comm_str(k.comm)).cell(k.tgid).cell(k.tid).cell(v.hist.count).cell(v.hist.sum);
      t.cell(static_cast<double>(v.hist.sum) / static_cast<double>(v.hist.count)).cell(v.errors);
      if (final_report) t.cell(v.hist.max);
      t.hist("hist", core::Histogram(v.hist), true);
    }
    if (o_.stacks) {
      auto& st = r.table("stacks", {{"comm", "COMM", 16, true}, {"tid", "TID", 7}, {"count", "CALLS", 8},
                                    {"total_ns", "TOTAL(ms)", 11, false, "{:.3f}", 1e6}, {"pid", "", 0}})
                     .title("\nWrite-lock calls by user stack:");
      for (const auto& [k, v] : stacks) {
        const auto frames = uframes(k);
        std::string t = k.ustack < 0 ? "    [Missed User Stack]\n" : "";
        for (const auto& f : frames) t += fmt::format("    {}\n", f);
        st.row().cell(comm_str(k.comm)).cell(k.tid).cell(v.count).cell(v.total_ns).cell(k.tgid)
            .json("user_stack", frames).text_after(t + "\n");
      }
    }
    if (c[NT_CPU_USTACK_FAIL]) r.line(fmt::format("WARNING: {} user stacks could not be captured", c[NT_CPU_USTACK_FAIL]));
    if (hk.map_full || c[NT_CPU_START_FULL])
      r.line(fmt::format("WARNING: {} calls not counted (map full)", hk.map_full + c[NT_CPU_START_FULL]));
    if (sum) r.summary(*sum, false);
    else r.interval(*iv);
    r.line("");
    out_.emit(r);
  }

  const RwlockOptions& o_;
  core::Session s_;
  output::Output& out_;
  UserSymbolizer usyms_;
  int stacks_fd_ = -1, counters_fd_ = -1;
  bool exited_ = false;
  bpf::MapDeltas<nt_rwlock_key, nt_rwlock_val> hists_;
  bpf::MapDeltas<nt_rwlock_stack_key, nt_rwlock_stack_val> stack_counts_;
};

}  // namespace

int run_rwlock(const RwlockOptions& o) { return Rwlock(o).run(); }

}  // namespace nettrace::tools::cpu
