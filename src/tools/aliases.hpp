// SPDX-License-Identifier: GPL-2.0
#pragma once
// The aliases named after the original scripts (docs/cli.md, "Aliases"): each runs a native command with
// its original's defaults as presets and translates its original's own flags, so an original command line
// works unchanged.

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace nettrace::tools {

// One flag of an original script and what it becomes.
struct AliasFlag {
  std::vector<std::string> original;  // its spellings: {"-p", "--process"}
  std::string native;                 // the native flag; empty: accepted and ignored, with `note` on stderr
  bool takes_value = true;            // the original flag takes a value
  std::string value;                  // a switch that became an option: the value it stands for
  std::string note;                   // said on stderr when the flag is used
};

struct AliasSpec {
  const char* alias;                 // original script name without .py/.bt/.sh
  std::vector<std::string> command;  // the native command path: {"cpu", "schedlat"}
  // The original's defaults, as native flags: added unless the command line sets that option (under any of
  // its spellings). An empty value is a switch.
  std::vector<std::pair<std::string, std::string>> presets;
  std::vector<AliasFlag> flags;        // the original's flags that native commands spell differently
  std::vector<std::string> positional; // the native flag each positional argument of the original stands for
  bool swap_addresses_for_rx = false;  // system_network_icmp_rtt: --src-ip is the remote pinger with --direction rx
};

[[nodiscard]] const std::vector<AliasSpec>& aliases();
// An original script's name without its .py/.bt/.sh extension.
[[nodiscard]] std::string strip_script_extension(std::string name);
// The alias for an argv[0] basename ("eth_drop.py" -> eth_drop), or nullptr.
[[nodiscard]] const AliasSpec* find_alias(std::string name);

// What an alias does, for its --help: the command, the presets, the original's flags it translates.
[[nodiscard]] std::string alias_help(const AliasSpec& alias);

// The native arguments (command path first) for an alias invoked with the original's arguments. root is the
// whole command line definition (to know which options take values and which spellings are one option).
// The native command's --help gains alias_help(). Notes about ignored flags go to stderr. Throws nettrace::Error (usage) for an argument the alias cannot
// place (a positional argument the original did not take).
[[nodiscard]] std::vector<std::string> translate_alias(const AliasSpec& alias, const std::vector<std::string>& args,
                                                       CLI::App& root);

}  // namespace nettrace::tools
