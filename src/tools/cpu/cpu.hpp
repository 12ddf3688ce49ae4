// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace cpu: scheduler and lock latency seen from the CPU side. Subcommands: schedlat (run-queue
// latency: sched_latency_monitor, vhost_wakeup_latency, ksoftirqd_sched_latency_summary), offcpu
// (offcputime-ts), futex (futex.bt), rwlock (pthread_rwlock_wrlock.bt, -stack), monitor (cpu_monitor). See docs/tools/cpu.md.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "nettrace/cli/common_options.hpp"
#include "tools/registry.hpp"

namespace nettrace::tools::cpu {

// Which tasks a tool looks at; validated at parse time (unknown pid/name -> usage error, exit 2).
struct TaskFilter {
  std::vector<uint32_t> tgids;  // --pid
  std::vector<uint32_t> tids;   // --tid
  std::string comm;             // name prefix (-p/--process)
  std::vector<int> cpus;        // CPU list
};

struct SchedlatOptions {
  cli::CommonOptions common;
  TaskFilter filter;
  std::string process;        // -p NAME
  std::string pid_list, tid_list, cpu_list;
  bool allow_absent = false;  // -p: a name with no thread yet is not an error
  bool per_thread = false;
  double threshold_us = 100;  // slow wakeups at or above this go to the worst list
  int top = 10;
  bool verbose = false;
  bool hist = false;          // histograms each interval, not only in the summary
};

struct OffcpuOptions {
  cli::CommonOptions common;
  TaskFilter filter;
  std::string pid_list, tid_list;
  bool user_threads_only = false, kernel_threads_only = false;
  bool user_stacks_only = false, kernel_stacks_only = false;
  bool folded = false, delimited = false, offset = false;
  uint64_t min_us = 1, max_us = UINT64_MAX;
  int64_t state = -1;
  uint32_t stack_storage = 16384;
  int top = 0;                          // 0: all stacks
};

struct FutexOptions {
  cli::CommonOptions common;
  TaskFilter filter;
  std::string process, pid_list, tid_list;
  bool per_thread = false;
  bool all_ops = false;  // also wakes/requeues, not only waits
  int top = 10;
};

struct RwlockOptions {
  cli::CommonOptions common;
  std::string pid_arg;  // -p/--pid
  uint32_t pid = 0;
  bool stacks = false;  // --stack: counts per user stack
  int top = 0;          // 0: all stacks
};

// Where pthread_rwlock_wrlock lives in a process: the file (through /proc/PID/root), its name in
// /proc/PID/maps, and the function's file offset for the uprobe.
struct RwlockTarget {
  std::string path, mapped;
  uint64_t offset = 0;
};

struct MonitorOptions {
  cli::CommonOptions common;
  std::string cpu_list;
  std::vector<int> cpus;
  double threshold = 0;  // percent busy that triggers on-CPU stack sampling; 0 = off
  int topk = 5;
  int sample_hz = 999;
  std::string log_file;       // -l/--log: records also appended here
  std::shared_ptr<FILE> log;  // opened when the command line is parsed (a bad path is a usage error)
};

void setup(CLI::App& root, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> hooks();
[[nodiscard]] std::vector<CommandSpec> commands();
int run_schedlat(const SchedlatOptions& o);
int run_offcpu(const OffcpuOptions& o);
int run_futex(const FutexOptions& o);
// "WAIT", "WAKE", … for a futex command (op & FUTEX_CMD_MASK).
[[nodiscard]] std::string futex_op_name(uint32_t cmd);
int run_monitor(const MonitorOptions& o);
int run_rwlock(const RwlockOptions& o);
// Finds pthread_rwlock_wrlock in pid's mapped libpthread, libc or other files; throws when none has it.
[[nodiscard]] RwlockTarget find_rwlock_target(uint32_t pid, const std::string& proc = "/proc");

}  // namespace nettrace::tools::cpu
