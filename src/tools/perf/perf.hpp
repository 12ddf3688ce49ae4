// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace perf: per-packet latency through the host's datapath, one stage-correlation engine for every
// latency tool (system and VM network latency, ICMP RTT, internal-port receive), plus the per-queue
// interface statistics and qdisc sojourn tools. See docs/tools/perf.md.

#include <vector>

#include <CLI/CLI.hpp>

#include "tools/registry.hpp"

namespace nettrace::tools::perf {

void setup(CLI::App& root, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> hooks();
[[nodiscard]] std::vector<CommandSpec> commands();

// Each tool family adds its subcommands to `nettrace perf` and lists its hooks for `nettrace doctor`.
// Interface and qdisc tools (iface_netstat, qdisc_latency_details): iface.cpp, qdisc.cpp.
void setup_iface(CLI::App& perf, Context& ctx);
void setup_qdisc(CLI::App& perf, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> iface_hooks();
[[nodiscard]] std::vector<bpf::Hook> qdisc_hooks();
// Stage-correlated latency tools (system/vm network latency, icmp rtt, internal port): latency.cpp.
void setup_latency(CLI::App& perf, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> latency_hooks();

}  // namespace nettrace::tools::perf
