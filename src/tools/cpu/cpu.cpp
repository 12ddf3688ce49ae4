// SPDX-License-Identifier: GPL-2.0
// nettrace cpu: command line of the cpu subcommands and their validation. See docs/tools/cpu.md.

#include "tools/cpu/cpu.hpp"

#include <memory>

#include <fmt/format.h>

#include "nettrace/core/error.hpp"
#include "tools/cpu/cpu_hooks.hpp"
#include "tools/cpu/cpu_util.hpp"

namespace nettrace::tools::cpu {

bpf::Hook sched_hook(const std::string& event, bool required) {
  using bpf::AttachKind;
  return {"sched:" + event,
          {{AttachKind::TpBtf, "tpbtf_" + event, event}, {AttachKind::RawTp, "rawtp_" + event, event}},
          required};
}

std::vector<bpf::Hook> schedlat_hooks() {
  // sched_waking only names the waker; without it the wakeup's current task stands in.
  return {sched_hook("sched_waking", false), sched_hook("sched_wakeup"), sched_hook("sched_wakeup_new"),
          sched_hook("sched_switch")};
}

std::vector<bpf::Hook> hooks() {
  std::vector<bpf::Hook> out;
  auto add = [&](std::vector<bpf::Hook> hs) {
    for (auto& h : hs) {
      bool seen = false;
      for (const auto& o : out) seen = seen || o.name == h.name;
      if (!seen) out.push_back(std::move(h));
    }
  };
  add(schedlat_hooks());
  return out;
}

namespace {

// --pid/--tid lists must name live processes/threads; -p NAME must match a thread unless allowed absent.
void resolve_filter(TaskFilter& f, const std::string& pids, const std::string& tids, const std::string& name,
                    bool allow_absent) {
  if (!pids.empty()) {
    f.tgids = parse_id_list(pids, "--pid");
    for (uint32_t p : f.tgids)
      if (!process_exists(p)) throw usage_error(fmt::format("--pid: no process with pid {}", p));
  }
  if (!tids.empty()) {
    f.tids = parse_id_list(tids, "--tid");
    for (uint32_t t : f.tids)
      if (!thread_exists(t)) throw usage_error(fmt::format("--tid: no thread with tid {}", t));
  }
  if (!name.empty()) {
    if (name.size() >= 16)
      throw usage_error(fmt::format("--process: '{}' is longer than a task name (15 characters)", name));
    if (!allow_absent && threads_named(name).empty())
      throw usage_error(fmt::format("--process: no process or thread named '{}*' is running", name));
    f.comm = name;
  }
}

void setup_schedlat(CLI::App& cpu, Context& ctx) {
  auto o = std::make_shared<SchedlatOptions>();
  auto* app = cpu.add_subcommand("schedlat",
                                 "Run-queue latency (wakeup to run) per task name or thread, with the worst wakeups "
                                 "(sched_latency_monitor, vhost_wakeup_latency, ksoftirqd_sched_latency_summary)");
  cli::add_output_options(*app, o->common);
  app->add_option("-p,--process", o->process, "Only tasks whose name starts with this (ovs-vswitchd, vhost-, ksoftirqd)");
  app->add_option("--pid", o->pid_list, "Only these processes (comma list)");
  app->add_option("--tid", o->tid_list, "Only these threads (comma list)");
  app->add_option("-c,--cpu,--cpus", o->cpu_list, "Only waits that ended on these CPUs (list/ranges: 0-3,8)");
  app->add_flag("--allow-absent", o->allow_absent, "-p names threads that may not exist yet");
  app->add_flag("-T,--per-thread", o->per_thread, "One row per thread instead of per name");
  app->add_option("--threshold-us", o->threshold_us, "Waits at or above this are listed as slow (us)")
      ->check(CLI::Range(0.0, 1e9));
  app->add_option("--top", o->top, "Slow wakeups listed per interval")->check(CLI::Range(1, 10000));
  app->add_flag("-v,--verbose", o->verbose, "Print every slow wakeup as it happens");
  app->add_flag("-H,--hist", o->hist, "Histograms every interval (the summary always has them)");
  cli::add_interval_option(*app, o->common, "-i,--interval,-t,--period", 1);
  cli::add_duration_option(*app, o->common, "-d,--duration");
  app->callback([o, &ctx] {
    resolve_filter(o->filter, o->pid_list, o->tid_list, o->process, o->allow_absent);
    if (!o->cpu_list.empty()) o->filter.cpus = parse_cpu_list(o->cpu_list, possible_cpus(), "--cpu");
    ctx.action = [o] { return run_schedlat(*o); };
  });
}

}  // namespace

void setup(CLI::App& root, Context& ctx) {
  auto* cpu = root.add_subcommand("cpu", "CPU-side latency: run-queue waits, off-CPU time, futex waits, CPU usage");
  cpu->require_subcommand(1);
  setup_schedlat(*cpu, ctx);
}

}  // namespace nettrace::tools::cpu
