// SPDX-License-Identifier: GPL-2.0
// nettrace cpu monitor: per-CPU user/system/irq/softirq/idle from /proc/stat, the threads that ran on
// each CPU (on-CPU time from sched_switch in BPF), and on-CPU stacks sampled by a BPF perf-event
// program on CPUs that crossed --threshold (cpu_monitor.sh ran perf record for that). See docs/tools/cpu.md.

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <map>
#include <tuple>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/files.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "nettrace/sys/ksyms.hpp"
#include "tools/cpu/cpu.hpp"
#include "tools/cpu/cpu_bpf.hpp"
#include "tools/cpu/cpu_hooks.hpp"
#include "tools/cpu/cpu_util.hpp"
#include "tools/cpu/usym.hpp"
#include "cpu_monitor.skel.h"

namespace nettrace::tools::cpu {
namespace {

struct CurTask {  // struct nt_cpu_cur in bpf/cpu_monitor.bpf.c
  uint64_t seq;     // odd while the CPU's sched_switch program updates it
  uint64_t since_ns;
  uint32_t pid, tgid;
  char comm[NT_CPU_COMMLEN];
};

// One thread's runtime on one CPU, whatever its comm: a thread that execs (taskset -> the program) has its
// running slice keyed by the old comm until it is switched out and by the new one after; keying by comm
// would count that slice twice.
struct RunKeyLess {
  bool operator()(const nt_cpurun_key& a, const nt_cpurun_key& b) const {
    return std::tie(a.cpu, a.pid, a.tgid) < std::tie(b.cpu, b.pid, b.tgid);
  }
};
// The name shown is the one the thread had longest (or runs under now): taskset -> nt_spin shows nt_spin.
struct Runtime {
  uint64_t ns = 0;
  uint64_t name_ns = 0;  // runtime under the name in key; UINT64_MAX: the name it runs under now
};
using Runtimes = std::map<nt_cpurun_key, Runtime, RunKeyLess>;

void add_runtime(Runtimes& r, const nt_cpurun_key& k, uint64_t ns, uint64_t name_weight) {
  auto [it, fresh] = r.try_emplace(k);
  it->second.ns += ns;
  if (!fresh && name_weight > it->second.name_ns) {
    auto node = r.extract(it);
    memcpy(node.key().comm, k.comm, sizeof(k.comm));
    node.mapped().name_ns = name_weight;
    r.insert(std::move(node));
  } else if (fresh) {
    it->second.name_ns = name_weight;
  }
}

class Monitor final : public core::SessionTool {
 public:
  explicit Monitor(const MonitorOptions& o) : o_(o), s_("cpu monitor", o.common), out_(s_.out()) {
    for (int c : o_.cpus) cpus_.insert(c);
    if (o_.log) log_ = std::make_unique<output::Output>(o.common.json, fileno(o_.log.get()));
  }

  int run() {
    std::future<sys::Ksyms> ksyms_future;
    if (o_.threshold > 0) ksyms_future = std::async(std::launch::async, [] { return sys::Ksyms::load(); });
    auto skel = bpf::Skeleton<cpu_monitor_bpf>::open("cpu monitor", bpf::CoreBtf::Minimal);
    TaskFilter f;
    f.cpus = o_.cpus;
    configure_filter(skel.get(), f);
    for (auto& h : monitor_hooks()) s_.plan().add(h);
    s_.plan().keep(bpf_program__name(skel->progs.on_sample));  // attached per CPU below
    s_.load(skel);
    if (o_.threshold > 0) ksyms_ = std::make_unique<sys::Ksyms>(ksyms_future.get());
    s_.attach();
    skel_ = skel.get();
    runtime_fd_ = bpf_map__fd(skel->maps.runtime);
    cur_fd_ = bpf_map__fd(skel->maps.cur);
    samples_fd_ = bpf_map__fd(skel->maps.samples);
    stacks_fd_ = bpf_map__fd(skel->maps.stacks);
    s_.set_counters(counter_slots(bpf_map__fd(skel->maps.counters)));
    prev_stat_ = parse_proc_stat(sys::read_text("/proc/stat"));
    last_ns_ = core::monotonic_ns();
    prev_run_ = cumulative(last_ns_);
    emit_text(fmt::format(  // text only
"Monitoring CPU {} every {}s{}. Ctrl-C to end.\n",
                            o_.cpus.empty() ? std::string("all") : fmt::format("{}", fmt::join(o_.cpus, ",")),
                            o_.common.interval_s,
                            o_.threshold > 0 ? fmt::format("; sampling stacks at {} Hz on CPUs above {}%", o_.sample_hz, o_.threshold) : ""));
    return s_.run(*this);
  }

 private:
  // Runtime per (cpu, thread) since attach, including the slices running right now.
  Runtimes cumulative(uint64_t now) {
    Runtimes r;
    // runtime before cur: a slice that ends in between is then missed this time and counted in the next
    // report, never twice (report() keeps the earlier total as the floor).
    for (auto& [k, v] : bpf::dump_map<nt_cpurun_key, uint64_t>(runtime_fd_)) add_runtime(r, k, v, v);
    const int n = static_cast<int>(bpf::possible_cpus());
    for (int cpu = 0; cpu < n && cpu < NT_CPU_MAX_CPUS; cpu++) {
      if (!cpus_.empty() && !cpus_.count(cpu)) continue;
      uint32_t key = static_cast<uint32_t>(cpu);
      CurTask c{};
      if (!read_cur(key, c) || c.since_ns == 0 || now <= c.since_ns) continue;
      nt_cpurun_key k{};
      k.cpu = key;
      k.pid = c.pid;
      k.tgid = c.tgid;
      memcpy(k.comm, c.comm, sizeof(k.comm));
      add_runtime(r, k, now - c.since_ns, UINT64_MAX);
    }
    return r;
  }

  // A consistent copy of a CPU's running slice: two equal copies with an even seq (no update in
  // between or during). false when the CPU keeps switching or an update is stalled: its slice in
  // progress is then left to the next report.
  bool read_cur(uint32_t cpu, CurTask& out) const {
    for (int i = 0; i < 4; i++) {
      CurTask a{}, b{};
      if (bpf_map_lookup_elem(cur_fd_, &cpu, &a) != 0 || bpf_map_lookup_elem(cur_fd_, &cpu, &b) != 0) return false;
      if ((a.seq & 1) == 0 && memcmp(&a, &b, sizeof(a)) == 0) {
        out = a;
        return true;
      }
    }
    return false;
  }

  // No figures of its own: the run's length and housekeeping.
  void on_end(const core::Summary& sum) override {
    sampling_.clear();
    output::Report r("cpu_summary");
    r.heading(fmt::format("=== CPU monitor summary ({:.1f}s, {} intervals) ===", sum.seconds, sum.intervals))
        .time(core::realtime_ns())
        .summary(sum, false);
    emit(r);
  }

  void on_interval(const core::Interval& iv) override {
    // The interval ends here, where /proc/stat is read (stack symbolization below can take a while).
    const uint64_t now = core::monotonic_ns();
    const uint64_t wall = core::realtime_ns();
    auto stat = parse_proc_stat(sys::read_text("/proc/stat"));
    auto run = cumulative(now);
    const uint64_t elapsed = std::max<uint64_t>(now - last_ns_, 1);
    const double secs = static_cast<double>(elapsed) / 1e9;
    last_ns_ = now;
    // Threads per CPU: runtime delta this interval.
    std::map<int, std::vector<std::pair<nt_cpurun_key, uint64_t>>> per_cpu;
    for (const auto& [k, v] : run) {
      uint64_t base = 0;
      if (auto it = prev_run_.find(k); it != prev_run_.end()) base = it->second.ns;
      if (v.ns > base) per_cpu[static_cast<int>(k.cpu)].emplace_back(k, v.ns - base);
    }
    // What was reported stays reported: a slice that ends between the map dump and the cur read is
    // missing from `run` (neither in the map copy nor in progress), so this total can fall below the
    // last one, which included the slice's part in progress. Resetting the base to the lower total would
    // report that part again when the finished slice shows up in the map.
    for (const auto& [k, v] : prev_run_) {
      auto [it, fresh] = run.try_emplace(k, v);
      if (!fresh && it->second.ns < v.ns) it->second.ns = v.ns;
    }
    prev_run_ = std::move(run);

    // Stacks sampled during the interval that just ended, then decide where to sample next.
    std::set<int> sampled;
    for (const auto& [cpu, link] : sampling_) sampled.insert(cpu);
    if (!sampled.empty()) report_stacks(sampled);
    sampling_.clear();

    output::Report r("cpu_interval");
    r.heading(fmt::format("=== CPU usage ({:.1f}s) ===", secs)).time(wall);
    auto& t = r.table("cpus", {{"cpu", "CPU", 4},
                               {"user", "%usr", 6, false, "{:.1f}"},
                               {"system", "%sys", 6, false, "{:.1f}"},
                               {"irq", "%irq", 6, false, "{:.1f}"},
                               {"softirq", "%soft", 6, false, "{:.1f}"},
                               {"idle", "%idle", 6, false, "{:.1f}"},
                               {"busy", "%busy", 6, false, "{:.1f}"},
                               {"iowait", "", 0},
                               {"steal", "", 0},
                               {"", " top threads (on-CPU share)", 0, true}});
    std::vector<int> trigger;
    for (const auto& b : stat) {
      if (b.cpu < 0 || (!cpus_.empty() && !cpus_.count(b.cpu))) continue;
      auto a = std::find_if(prev_stat_.begin(), prev_stat_.end(), [&](const CpuTimes& x) { return x.cpu == b.cpu; });
      if (a == prev_stat_.end()) continue;
      CpuUsage u = usage_between(*a, b);
      auto& threads = per_cpu[b.cpu];
      std::sort(threads.begin(), threads.end(), [](auto& x, auto& y) { return x.second > y.second; });
      if (threads.size() > static_cast<size_t>(o_.topk)) threads.resize(static_cast<size_t>(o_.topk));
      auto top = nlohmann::json::array();
      std::vector<std::string> names;
      for (const auto& [k, ns] : threads) {
        const double share = 100.0 * static_cast<double>(ns) / static_cast<double>(elapsed);
        top.push_back({{"pid", k.tgid}, {"tid", k.pid}, {"comm", k.pid ? comm_str(k.comm) : "[idle]"}, {"runtime_ns", ns}, {"share", share}});
        names.push_back(fmt::format("{}({}) {:.1f}%", k.pid ? comm_str(k.comm) : "[idle]", k.pid, share));
      }
      t.row().cell(b.cpu).cell(u.user).cell(u.system).cell(u.irq).cell(u.softirq).cell(u.idle).cell(u.busy)
          .cell(u.iowait).cell(u.steal).cell(nullptr, fmt::format(" {}", fmt::join(names, ", "))).json("top", top);
      if (o_.threshold > 0 && u.busy >= o_.threshold) trigger.push_back(b.cpu);
    }
    prev_stat_ = std::move(stat);
    r.interval(iv).field("interval_s", secs);  // the interval as /proc/stat was read
    if (!iv.last && !trigger.empty())  // the last interval: nothing follows, no sampling to start
      r.line(fmt::format("CPU {} above {}%: sampling on-CPU stacks for the next interval", fmt::join(trigger, ","), o_.threshold));
    r.line("");
    emit(r);
    if (iv.last) return;
    for (int cpu : trigger) start_sampling(cpu);
  }

  // Everything goes to stdout and, with -l/--log, the same bytes to the log file.
  // The log file is written at once (someone may be following it); stdout is the session's.
  void emit_text(std::string_view t) {
    out_.text(t);
    if (log_) {
      log_->text(t);
      (void)log_->flush();
    }
  }
  void emit(const output::Report& r) {
    out_.emit(r);
    if (log_) {
      log_->emit(r);
      (void)log_->flush();
    }
  }

  void start_sampling(int cpu) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.freq = 1;
    attr.sample_freq = static_cast<uint64_t>(o_.sample_hz);
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      spdlog::warn("cannot open a cpu-clock perf event on CPU {}: {}", cpu, strerror(errno));
      return;
    }
    bpf_link* l = bpf_program__attach_perf_event(skel_->progs.on_sample, fd);
    if (!l) {
      spdlog::warn("cannot attach the sampling program on CPU {}: {}", cpu, strerror(errno));
      close(fd);
      return;
    }
    sampling_.emplace(cpu, bpf::Link(l));  // the link closes the perf event fd
  }

  void report_stacks(const std::set<int>& cpus) {
    std::vector<std::pair<nt_cpusample_key, uint64_t>> all = bpf::dump_map<nt_cpusample_key, uint64_t>(samples_fd_);
    for (const auto& [k, v] : all) bpf_map_delete_elem(samples_fd_, &k);
    usyms_.reset();
    for (int cpu : cpus) {
      std::vector<std::pair<nt_cpusample_key, uint64_t>> rows;
      uint64_t total = 0;
      for (const auto& [k, v] : all)
        if (static_cast<int>(k.cpu) == cpu) {
          rows.emplace_back(k, v);
          total += v;
        }
      std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second > b.second; });
      if (rows.size() > static_cast<size_t>(o_.topk)) rows.resize(static_cast<size_t>(o_.topk));
      output::Report r("cpu_stacks");
      r.heading(fmt::format("--- on-CPU stacks, CPU {}: {} samples at {} Hz ---", cpu, total, o_.sample_hz));
      r.field("cpu", cpu).field("samples", total).field("hz", o_.sample_hz);
      auto& t = r.table("stacks", {{"comm", "COMM", 16, true},
                                   {"tid", "TID", 7},
                                   {"count", "SAMPLES", 8},
                                   {"", "SHARE(%)", 8, false, "{:.1f}"},
                                   {"pid", "", 0}});
      for (const auto& [k, n] : rows) {
        std::vector<std::string> ks, us;
        for (auto a : read_stack(stacks_fd_, k.kstack)) ks.push_back(ksyms_->symbolize(a));
        for (auto a : read_stack(stacks_fd_, k.ustack)) us.push_back(usyms_.symbolize(static_cast<pid_t>(k.tgid), a));
        std::string frames;
        for (const auto& f : ks) frames += fmt::format("    {}\n", f);
        for (const auto& f : us) frames += fmt::format("    {}\n", f);
        t.row().cell(comm_str(k.comm)).cell(k.pid).cell(n)
            .cell(total ? 100.0 * static_cast<double>(n) / static_cast<double>(total) : 0.0).cell(k.tgid)
            .json("kernel_stack", ks).json("user_stack", us).text_after(frames);
      }
      r.line("");
      emit(r);
    }
  }

  const MonitorOptions& o_;
  core::Session s_;
  output::Output& out_;
  std::unique_ptr<output::Output> log_;
  std::set<int> cpus_;
  cpu_monitor_bpf* skel_ = nullptr;
  std::unique_ptr<sys::Ksyms> ksyms_;
  UserSymbolizer usyms_;
  int runtime_fd_ = -1, cur_fd_ = -1, samples_fd_ = -1, stacks_fd_ = -1;
  uint64_t last_ns_ = 0;  // where the last interval's runtimes were read
  std::vector<CpuTimes> prev_stat_;
  Runtimes prev_run_;
  std::map<int, bpf::Link> sampling_;
};

}  // namespace

int run_monitor(const MonitorOptions& o) { return Monitor(o).run(); }

}  // namespace nettrace::tools::cpu
