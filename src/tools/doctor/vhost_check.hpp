// SPDX-License-Identifier: GPL-2.0
#pragma once
// `nettrace doctor --vhost TAP` (vhost_sched_config_check.sh): who serves a VM's tap — the process holding it
// (QEMU: its command line), its vCPU threads and the vhost workers (kthreads "vhost-PID" before Linux 6.4,
// vhost_task threads of the QEMU process since), where each may run and last ran, its scheduling policy — and
// the host facts that decide their latency: NUMA nodes, CPU idle states, frequency governors, the kernel's
// isolation parameters. Read only.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nettrace/cli/common_options.hpp"

namespace nettrace::tools::doctor {

// The fields of /proc/PID/stat this view needs (comm may hold spaces and parentheses).
struct TaskStat {
  std::string comm;
  char state = '?';
  int nice = 0;
  int last_cpu = -1;
  unsigned rt_priority = 0;
  unsigned policy = 0;
  bool kernel_thread = false;  // PF_KTHREAD in flags
};
[[nodiscard]] bool parse_task_stat(std::string_view text, TaskStat& out);
[[nodiscard]] const char* policy_name(unsigned policy);
// "CPU 3/KVM" -> 3; -1 for any other thread name.
[[nodiscard]] int vcpu_index(std::string_view comm);

struct VhostCheckOptions {
  cli::CommonOptions common;
  std::string tap;
};

int run_vhost_check(const VhostCheckOptions& o);

}  // namespace nettrace::tools::doctor
