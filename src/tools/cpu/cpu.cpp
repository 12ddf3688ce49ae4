// SPDX-License-Identifier: GPL-2.0
// nettrace cpu: command line of the cpu subcommands and their validation. See docs/tools/cpu.md.

#include "tools/cpu/cpu.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "nettrace/bpf/maps.hpp"
#include "nettrace/cli/help.hpp"
#include "nettrace/core/error.hpp"
#include "tools/cpu/cpu_hooks.hpp"
#include "tools/cpu/cpu_util.hpp"

namespace nettrace::tools::cpu {

bpf::Hook sched_hook(const std::string& event, bool required) {
  return bpf::tracepoint_hook("sched", event, {.required = required});
}

std::vector<bpf::Hook> schedlat_hooks() {
  // sched_waking only names the waker; without it the wakeup's current task stands in.
  return {sched_hook("sched_waking", false), sched_hook("sched_wakeup"), sched_hook("sched_wakeup_new"),
          sched_hook("sched_switch")};
}

std::vector<bpf::Hook> offcpu_hooks() { return {sched_hook("sched_switch")}; }

std::vector<bpf::Hook> futex_hooks() {
  // Syscall events are classic tracepoints only.
  const bpf::TracepointVariants classic{.btf = false, .raw = false, .classic = true};
  return {bpf::tracepoint_hook("syscalls", "sys_enter_futex", classic),
          bpf::tracepoint_hook("syscalls", "sys_exit_futex", classic)};
}

std::vector<bpf::Hook> monitor_hooks() { return {sched_hook("sched_switch")}; }

std::vector<CommandSpec> commands() {
  return {{"cpu schedlat", schedlat_hooks(), {}},
          {"cpu offcpu", offcpu_hooks(), {}},
          {"cpu futex", futex_hooks(), {}},
          {"cpu rwlock", {}, {"uprobe"}},
          {"cpu monitor", monitor_hooks(), {}}};
}

std::vector<bpf::Hook> hooks() {
  std::vector<bpf::Hook> out;
  bpf::merge_hooks(out, schedlat_hooks());
  bpf::merge_hooks(out, offcpu_hooks());
  bpf::merge_hooks(out, futex_hooks());
  bpf::merge_hooks(out, monitor_hooks());
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
      throw usage_error(fmt::format("--comm: '{}' is longer than a task name (15 characters)", name));
    if (!allow_absent && threads_named(name).empty())
      throw usage_error(fmt::format("--comm: no process or thread named '{}*' is running", name));
    f.comm = name;
  }
}

void setup_schedlat(CLI::App& cpu, Context& ctx) {
  auto o = std::make_shared<SchedlatOptions>();
  auto* app = cpu.add_subcommand("schedlat",
                                 "Run-queue latency (wakeup to run) per task name or thread, with the worst wakeups "
                                 "(sched_latency_monitor, vhost_wakeup_latency, ksoftirqd_sched_latency_summary)");
  cli::add_output_options(*app, o->common);
  app->add_option("--comm,--process", o->process, "Only tasks whose name starts with this (ovs-vswitchd, vhost-, ksoftirqd)")
      ->option_text("NAME");
  app->add_option("-p,--pid", o->pid_list, "Only these processes (comma list)")->option_text("PID[,PID]");
  app->add_option("--tid", o->tid_list, "Only these threads (comma list)")->option_text("TID[,TID]");
  app->add_option("-C,--cpu,--cpus", o->cpu_list, "Only waits that ended on these CPUs (list/ranges: 0-3,8)")
      ->option_text("LIST");
  app->add_flag("--allow-absent", o->allow_absent, "--comm names threads that may not exist yet");
  app->add_flag("-T,--per-thread", o->per_thread, "One row per thread instead of per name");
  cli::add_threshold_option(*app, o->threshold_us, "Waits at or above this are listed as slow (default 100us)", "us",
                            "--threshold-us");
  app->add_option("--top", o->top, "Slow wakeups listed per interval")->check(CLI::Range(1, 10000))->capture_default_str();
  app->add_flag("-v,--verbose", o->verbose, "Print every slow wakeup as it happens");
  app->add_flag("-H,--hist", o->hist, "Histograms every interval (the summary always has them)");
  cli::add_interval_option(*app, o->common, 1, "--period");
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace cpu schedlat --comm ovs-vswitchd -i 5",
                           "nettrace cpu schedlat --comm vhost- --allow-absent --threshold 50us -v",
                           "nettrace cpu schedlat --comm ksoftirqd -T -C 0-3 -d 30 --json"});
  app->callback([o, &ctx] {
    resolve_filter(o->filter, o->pid_list, o->tid_list, o->process, o->allow_absent);
    if (!o->cpu_list.empty())
      o->filter.cpus = parse_cpu_list(o->cpu_list, static_cast<int>(bpf::possible_cpus()), "--cpu");
    ctx.action = [o] { return run_schedlat(*o); };
  });
}

void setup_offcpu(CLI::App& cpu, Context& ctx) {
  auto o = std::make_shared<OffcpuOptions>();
  auto* app = cpu.add_subcommand("offcpu", "Off-CPU (blocked) time by thread and kernel/user stack (offcputime-ts)");
  cli::add_output_options(*app, o->common);
  app->add_option("-p,--pid", o->pid_list, "Only these processes (comma list)")->option_text("PID[,PID]");
  app->add_option("--tid", o->tid_list, "Only these threads (comma list)")->option_text("TID[,TID]");
  auto* u = app->add_flag("--user-threads-only", o->user_threads_only, "User threads only (no kernel threads)");
  app->add_flag("--kernel-threads-only", o->kernel_threads_only, "Kernel threads only")->excludes(u);
  auto* us = app->add_flag("--user-stacks-only", o->user_stacks_only, "Show user stacks only");
  app->add_flag("--kernel-stacks-only", o->kernel_stacks_only, "Show kernel stacks only")->excludes(us);
  app->add_flag("--delimited", o->delimited, "Put '-' between kernel and user stacks");
  app->add_flag("--folded", o->folded, "Folded output for flame graphs (comm;frames value_us)");
  app->add_flag("--offset", o->offset, "Show address offsets in frames (func+0x1a; not in folded output)");
  app->add_option("--stack-storage-size", o->stack_storage, "Stack traces kept (distinct stacks)")
      ->check(CLI::Range(1, 1 << 20))->capture_default_str();
  app->add_option("--min-block-time", o->min_us, "Only blocks of at least this many us")
      ->check(CLI::Range(uint64_t{0}, UINT64_MAX / 1000))->option_text("US");
  app->add_option("--max-block-time", o->max_us, "Only blocks of at most this many us")->option_text("US");
  app->add_option("--state", o->state, "Only threads that left the CPU in this state (0 running, 1 sleeping, 2 disk sleep, …)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 31));
  app->add_option("--top", o->top, "Only the N stacks with most off-CPU time per report")->check(CLI::Range(1, 1000000));
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace cpu offcpu -p 1234 -d 10", "nettrace cpu offcpu -p 1234 --folded -d 30 > out.folded",
                           "nettrace cpu offcpu --kernel-threads-only --min-block-time 1000 -i 5"});
  app->callback([o, &ctx] {
    resolve_filter(o->filter, o->pid_list, o->tid_list, "", false);
    if (o->min_us > o->max_us) throw usage_error("--min-block-time must not exceed --max-block-time");
    ctx.action = [o] { return run_offcpu(*o); };
  });
}

void setup_futex(CLI::App& cpu, Context& ctx) {
  auto o = std::make_shared<FutexOptions>();
  auto* app = cpu.add_subcommand("futex", "futex() wait time per process/thread and operation; most contended futex words (futex)");
  cli::add_output_options(*app, o->common);
  app->add_option("--comm,--process", o->process, "Only tasks whose name starts with this")->option_text("NAME");
  app->add_option("-p,--pid", o->pid_list, "Only these processes (comma list)")->option_text("PID[,PID]");
  app->add_option("--tid", o->tid_list, "Only these threads (comma list)")->option_text("TID[,TID]");
  app->add_flag("-T,--per-thread", o->per_thread, "One histogram per thread instead of per process");
  app->add_flag("--all-ops", o->all_ops, "Also show wakes, requeues and other non-waiting operations");
  app->add_option("--top", o->top, "Contended futex words listed")->check(CLI::Range(1, 100000))->capture_default_str();
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace cpu futex -d 10", "nettrace cpu futex --comm ovs-vswitchd -T -i 5",
                           "nettrace cpu futex -p 1234 --all-ops --json -d 5"});
  app->callback([o, &ctx] {
    resolve_filter(o->filter, o->pid_list, o->tid_list, o->process, false);
    ctx.action = [o] { return run_futex(*o); };
  });
}

void setup_rwlock(CLI::App& cpu, Context& ctx) {
  auto o = std::make_shared<RwlockOptions>();
  auto* app = cpu.add_subcommand("rwlock", "pthread_rwlock_wrlock() wait time of a process per thread, and per user stack "
                                           "(pthread_rwlock_wrlock, pthread_rwlock_wrlock-stack)");
  cli::add_output_options(*app, o->common);
  app->add_option("-p,--pid", o->pid_arg, "The process to trace (required)")->option_text("PID");
  app->add_flag("--stack", o->stacks, "Also count calls and wait by user stack");
  app->add_option("--top", o->top, "Only the N stacks with most calls per report")->check(CLI::Range(1, 1000000));
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace cpu rwlock -p 1234 -d 10", "nettrace cpu rwlock -p 1234 --stack -i 5 --top 10"});
  app->callback([o, &ctx] {
    if (o->pid_arg.empty()) throw usage_error("rwlock: --pid is required");
    auto ids = parse_id_list(o->pid_arg, "--pid");
    if (ids.size() != 1) throw usage_error(fmt::format("--pid: one process, not '{}'", o->pid_arg));
    if (!process_exists(ids[0])) throw usage_error(fmt::format("--pid: no process with pid {}", ids[0]));
    o->pid = ids[0];
    ctx.action = [o] { return run_rwlock(*o); };
  });
}

void setup_monitor(CLI::App& cpu, Context& ctx) {
  auto o = std::make_shared<MonitorOptions>();
  auto* app = cpu.add_subcommand("monitor", "Per-CPU user/system/irq/softirq/idle, top threads per CPU, on-CPU stacks above a threshold (cpu_monitor)");
  cli::add_output_options(*app, o->common);
  app->add_option("-C,--cpu,--cpus", o->cpu_list, "CPUs to watch (list/ranges: 0-3,8); default all")->option_text("LIST");
  app->add_option("--min-busy", o->threshold, "Sample on-CPU stacks for an interval on CPUs at least this % busy (0: never)")
      ->check(CLI::Range(0.0, 100.0))->option_text("PERCENT");
  app->add_option("--top,--topk", o->topk, "Threads (and stacks) listed per CPU")->check(CLI::Range(1, 1000))->capture_default_str();
  app->add_option("--sample-hz", o->sample_hz, "Stack sampling frequency")->check(CLI::Range(1, 10000))->capture_default_str();
  app->add_option("--log-file,--log", o->log_file, "Also append every report (text, or JSON with --json) to this file")
      ->option_text("FILE");
  cli::add_interval_option(*app, o->common, 5);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace cpu monitor", "nettrace cpu monitor -C 0-3 --min-busy 80 -i 2",
                           "nettrace cpu monitor --top 5 --log-file /tmp/cpu.log -d 60"});
  app->callback([o, &ctx] {
    if (!o->cpu_list.empty()) o->cpus = parse_cpu_list(o->cpu_list, static_cast<int>(bpf::possible_cpus()), "--cpu");
    if (!o->log_file.empty()) {
      FILE* f = fopen(o->log_file.c_str(), "ae");
      if (f == nullptr) throw usage_error(fmt::format("--log-file: cannot open '{}': {}", o->log_file, strerror(errno)));
      o->log.reset(f, fclose);
    }
    ctx.action = [o] { return run_monitor(*o); };
  });
}

}  // namespace

void setup(CLI::App& root, Context& ctx) {
  auto* cpu = root.add_subcommand("cpu", "CPU-side latency: run-queue waits, off-CPU time, futex and rwlock waits, CPU usage");
  cpu->require_subcommand(1);
  setup_schedlat(*cpu, ctx);
  setup_offcpu(*cpu, ctx);
  setup_futex(*cpu, ctx);
  setup_rwlock(*cpu, ctx);
  setup_monitor(*cpu, ctx);
}

}  // namespace nettrace::tools::cpu
