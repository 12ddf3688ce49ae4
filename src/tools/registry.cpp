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

}  // namespace nettrace::tools
