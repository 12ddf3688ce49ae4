// SPDX-License-Identifier: GPL-2.0
#pragma once
// Pure helpers of the cpu tools (no libbpf): CPU and id lists, /proc scans, stack folding, /proc/stat.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nettrace::tools::cpu {

// "0-3,5,7-8" -> {0,1,2,3,5,7,8}, sorted, unique. Every CPU must be < ncpus. Throws nettrace::Error
// (usage, exit 2) naming flag and value.
[[nodiscard]] std::vector<int> parse_cpu_list(const std::string& value, int ncpus, const std::string& flag = "--cpus");
// "123,456" -> ids; throws usage error naming flag and value.
[[nodiscard]] std::vector<uint32_t> parse_id_list(const std::string& value, const std::string& flag);

// Threads (tid, comm) whose name starts with prefix, from /proc/*/task/*/comm.
[[nodiscard]] std::vector<std::pair<uint32_t, std::string>> threads_named(std::string_view prefix,
                                                                          const std::string& proc = "/proc");
// True when pid is a running process (thread group leader).
[[nodiscard]] bool process_exists(uint32_t pid, const std::string& proc = "/proc");
// True when tid is a running thread of any process.
[[nodiscard]] bool thread_exists(uint32_t tid, const std::string& proc = "/proc");
// Distinct files mapped into pid (/proc/PID/maps pathnames, in map order; no [heap], anonymous or deleted maps).
[[nodiscard]] std::vector<std::string> mapped_files(uint32_t pid, const std::string& proc = "/proc");

// Flame-graph input line without the value: "comm;user outermost..innermost[;-];kernel outermost..innermost".
// Frames arrive innermost first, as the kernel stores them.
[[nodiscard]] std::string fold_stack(std::string_view comm, const std::vector<std::string>& user_inner_first,
                                     const std::vector<std::string>& kernel_inner_first, bool delimited);

// One "cpuN" line of /proc/stat, in USER_HZ ticks.
struct CpuTimes {
  int cpu = -1;  // -1: the aggregate "cpu" line
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  [[nodiscard]] uint64_t total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
  [[nodiscard]] uint64_t busy() const { return total() - idle - iowait; }
};
[[nodiscard]] std::vector<CpuTimes> parse_proc_stat(std::string_view text);

// Shares of a delta between two samples, in percent of the elapsed ticks.
struct CpuUsage {
  int cpu = -1;
  double user = 0, system = 0, irq = 0, softirq = 0, idle = 0, iowait = 0, steal = 0, busy = 0;
};
[[nodiscard]] CpuUsage usage_between(const CpuTimes& a, const CpuTimes& b);

}  // namespace nettrace::tools::cpu
