// SPDX-License-Identifier: GPL-2.0
// Placeholder until the iface tools land: no subcommands, no hooks.

#include "tools/perf/perf.hpp"

namespace nettrace::tools::perf {

void setup_iface(CLI::App&, Context&) {}
std::vector<bpf::Hook> iface_hooks() { return {}; }

}  // namespace nettrace::tools::perf
