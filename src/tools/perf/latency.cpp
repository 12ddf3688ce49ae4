// SPDX-License-Identifier: GPL-2.0
// Placeholder until the latency tools land: no subcommands, no hooks.

#include "tools/perf/perf.hpp"

namespace nettrace::tools::perf {

void setup_latency(CLI::App&, Context&) {}
std::vector<bpf::Hook> latency_hooks() { return {}; }

}  // namespace nettrace::tools::perf
