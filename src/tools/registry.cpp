// SPDX-License-Identifier: GPL-2.0
#include "tools/registry.hpp"

#include "tools/cpu/cpu.hpp"
#include "tools/doctor/doctor.hpp"
#include "tools/drop/drop.hpp"
#include "tools/perf/perf.hpp"

namespace nettrace::tools {

const std::vector<ToolSpec>& tools() {
  static const std::vector<ToolSpec> list = {
      {"drop", "Packet path", "Packet drops: reason, location, device, flow, stack; summaries; qdisc drops",
       &drop::setup, &drop::hooks},
      {"cpu", "Host", "CPU-side latency: run-queue waits, off-CPU time, futex and rwlock waits, CPU usage", &cpu::setup,
       &cpu::hooks},
      {"perf", "Packet path", "Packet latency through the host, per stage; interface queues; qdisc sojourn",
       &perf::setup, &perf::hooks},
      {"doctor", "Setup", "What this kernel supports and which nettrace tools can run here", &doctor::setup,
       nullptr},
  };
  return list;
}

const std::vector<AliasSpec>& aliases() {
  static const std::vector<AliasSpec> list = {
      {"eth_drop", {"drop"}},
      {"kernel_drop_stack_stats", {"drop", "stacks", "--group-by", "stack", "--top", "3", "--require-device"}},
      {"kernel_drop_stack_stats_summary", {"drop", "stacks", "--group-by", "stack", "--cumulative"}},
      {"kernel_drop_stack_stats_summary_all", {"drop", "stacks"}},
      {"qdisc_drop_trace", {"drop", "qdisc"}},
      {"drop_monitor_controller", {"drop", "monitor"}},
      {"sched_latency_monitor", {"cpu", "schedlat", "--process", "ovs-vswitchd"}},
      {"vhost_wakeup_latency", {"cpu", "schedlat", "--process", "vhost-", "--allow-absent", "--threshold-us", "50", "-i", "5"}},
      {"offcputime-ts", {"cpu", "offcpu"}},
      {"futex", {"cpu", "futex"}},
      {"cpu_monitor", {"cpu", "monitor"}},
      {"pthread_rwlock_wrlock", {"cpu", "rwlock"}},
      {"pthread_rwlock_wrlock-stack", {"cpu", "rwlock", "--stack"}},
      {"iface_netstat", {"perf", "iface"}},
      {"qdisc_lateny_details", {"perf", "qdisc"}},
      {"qdisc_latency_details", {"perf", "qdisc"}},
      {"kernel_icmp_rtt", {"perf", "icmp-rtt"}},
      {"system_network_icmp_rtt", {"perf", "icmp-rtt"}},
      {"system_network_latency_details", {"perf", "latency", "--mode", "details"}},
      {"system_network_latency_summary", {"perf", "latency", "--mode", "summary"}},
      {"system_network_perfomance_metrics", {"perf", "latency", "--mode", "details"}},
      {"system_network_performance_metrics", {"perf", "latency", "--mode", "details"}},
      {"system_network_rx_internal_port_latency_details", {"perf", "internal-port"}},
      {"enqueue_to_iprec_latency_summary", {"perf", "backlog", "--mode", "summary"}},
      {"enqueue_to_iprec_latency_threshold", {"perf", "backlog", "--mode", "threshold"}},
      {"vm_network_latency_details", {"perf", "vm-latency", "--mode", "details"}},
      {"vm_network_latency_summary", {"perf", "vm-latency", "--mode", "summary"}},
      {"vm_network_performance_metrics", {"perf", "vm-latency", "--mode", "details"}},
      {"ksoftirqd_sched_latency_summary", {"cpu", "schedlat", "--process", "ksoftirqd", "--per-thread", "--threshold-us", "100", "-i", "5"}},
  };
  return list;
}

const AliasSpec* find_alias(std::string name) {
  for (const char* ext : {".py", ".bt", ".sh"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
      name.resize(name.size() - e.size());
      break;
    }
  }
  for (const auto& a : aliases())
    if (name == a.alias) return &a;
  return nullptr;
}

}  // namespace nettrace::tools
