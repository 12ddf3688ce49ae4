// SPDX-License-Identifier: GPL-2.0
#pragma once
// The only list of tools and of the aliases named after the original scripts.

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "nettrace/bpf/probe_plan.hpp"

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

struct AliasSpec {
  const char* alias;                // original script name without .py/.bt
  std::vector<std::string> command; // nettrace arguments it stands for
};

[[nodiscard]] const std::vector<ToolSpec>& tools();
[[nodiscard]] const std::vector<AliasSpec>& aliases();
// The alias for an argv[0] basename ("eth_drop.py" -> eth_drop), or nullptr.
[[nodiscard]] const AliasSpec* find_alias(std::string name);

}  // namespace nettrace::tools
