// SPDX-License-Identifier: GPL-2.0
// nettrace perf: the subcommand and the union of its tools' hooks. See docs/tools/perf.md.

#include "tools/perf/perf.hpp"

namespace nettrace::tools::perf {

std::vector<CommandSpec> commands() {
  std::vector<CommandSpec> out{{"perf iface", iface_hooks(), {}}, {"perf qdisc", qdisc_hooks(), {}}};
  for (const char* c : {"perf latency", "perf vm-latency", "perf icmp-rtt", "perf internal-port", "perf backlog"})
    out.push_back({c, latency_hooks(), {}});
  return out;
}

std::vector<bpf::Hook> hooks() {
  std::vector<bpf::Hook> out;
  bpf::merge_hooks(out, iface_hooks());
  bpf::merge_hooks(out, qdisc_hooks());
  bpf::merge_hooks(out, latency_hooks());
  return out;
}

void setup(CLI::App& root, Context& ctx) {
  auto* perf = root.add_subcommand("perf", "Packet latency through the host, per stage; interface queues; qdisc sojourn");
  perf->require_subcommand(1);
  setup_iface(*perf, ctx);
  setup_qdisc(*perf, ctx);
  setup_latency(*perf, ctx);
}

}  // namespace nettrace::tools::perf
