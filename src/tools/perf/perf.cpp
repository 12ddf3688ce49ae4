// SPDX-License-Identifier: GPL-2.0
// nettrace perf: the subcommand and the union of its tools' hooks. See docs/tools/perf.md.

#include "tools/perf/perf.hpp"

namespace nettrace::tools::perf {

std::vector<bpf::Hook> hooks() {
  std::vector<bpf::Hook> out;
  auto add = [&](std::vector<bpf::Hook> hs) {
    for (auto& h : hs) {
      bool seen = false;
      for (const auto& o : out) seen = seen || o.name == h.name;
      if (!seen) out.push_back(std::move(h));
    }
  };
  add(iface_hooks());
  add(qdisc_hooks());
  add(latency_hooks());
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
