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

// One command of a module, as `nettrace doctor` reports it: can it run here, with which hooks, what is missing.
struct CommandSpec {
  std::string name;                // "perf latency"
  std::vector<bpf::Hook> hooks;    // required and optional ones (optional groups: what runs without them)
  std::vector<std::string> needs;  // attach kinds outside the plan: "uprobe", "perf_event"
};

struct ToolSpec {
  const char* name;     // subcommand
  const char* group;    // "Packet path", "Host", …
  const char* summary;
  void (*setup)(CLI::App& root, Context& ctx);
  // Hooks the tool attaches (for `nettrace doctor`); may be empty.
  std::vector<bpf::Hook> (*hooks)();
  // Its commands for `nettrace doctor` (nullptr: the module is reported as one, from hooks()).
  std::vector<CommandSpec> (*commands)() = nullptr;
};

// An original script that has no nettrace command yet (docs/tools.md: status missing or in progress).
struct PlannedSpec {
  const char* alias;    // original script name without extension
  const char* command;  // the planned nettrace command, as docs/tools.md spells it (without "nettrace ")
};

[[nodiscard]] const std::vector<ToolSpec>& tools();
// Original scripts not ported yet; an alias of the same name (aliases()) wins over an entry here.
[[nodiscard]] const std::vector<PlannedSpec>& planned();
// The planned entry for an argv[0] basename or a typed tool name ("vm_pair_latency.py"), unless it is an
// alias already; nullptr otherwise.
[[nodiscard]] const PlannedSpec* find_planned(std::string name);

}  // namespace nettrace::tools
