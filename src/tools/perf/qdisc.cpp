// SPDX-License-Identifier: GPL-2.0
// Placeholder until the qdisc tools land: no subcommands, no hooks.

#include "tools/perf/perf.hpp"

namespace nettrace::tools::perf {

void setup_qdisc(CLI::App&, Context&) {}
std::vector<bpf::Hook> qdisc_hooks() { return {}; }

}  // namespace nettrace::tools::perf
