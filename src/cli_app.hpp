// SPDX-License-Identifier: GPL-2.0
#pragma once
// The whole command line of nettrace: the root flags and every tool's subcommands, as main() parses it.
// Shared by main() and the CLI fuzzer (tests/fuzz/cli_fuzz.cpp), so the fuzzer parses exactly what users type.

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/registry.hpp"

namespace nettrace {

struct RootFlags {
  bool list_aliases = false;
  bool list_tools = false;
  bool version = false;
};

inline constexpr const char* kAppDescription = "nettrace: eBPF tools for packet drops and latency on KVM/OVS hosts";
inline constexpr const char* kAppName = "nettrace";

// Adds the root flags and every registered tool's subcommand to app. app, flags and ctx must outlive parsing;
// a successful parse of a tool's command sets ctx.action (not run here).
void build_app(CLI::App& app, RootFlags& flags, tools::Context& ctx);

// The basename of argv[0] ("nettrace" when null).
[[nodiscard]] std::string invoked_name(const char* argv0);
// The native arguments of an invocation by that name (app built by build_app): an alias's translation of its
// original's arguments (tools/aliases.hpp), the arguments themselves for nettrace (any name starting with
// "nettrace"), nullopt for an unknown name. Throws nettrace::Error (usage) for arguments an alias cannot place.
[[nodiscard]] std::optional<std::vector<std::string>> native_args(const std::string& invoked,
                                                                  const std::vector<std::string>& args, CLI::App& app);

}  // namespace nettrace
