// SPDX-License-Identifier: GPL-2.0
#pragma once
// The only list of tools (the aliases named after the original scripts: aliases.hpp).

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "nettrace/bpf/probe_plan.hpp"
#include "tools/aliases.hpp"

namespace nettrace::tools {

// Filled by the chosen subcommand's parse callback; main() runs it after parsing succeeded.
struct Context {
  std::function<int()> action;
};

struct ToolSpec {
  const char* name;     // subcommand
  const char* group;    // "Packet path", "Host", …
  const char* summary;
  void (*setup)(CLI::App& root, Context& ctx);
  // Hooks the tool attaches (for `nettrace doctor`); may be empty.
  std::vector<bpf::Hook> (*hooks)();
};

[[nodiscard]] const std::vector<ToolSpec>& tools();

}  // namespace nettrace::tools
