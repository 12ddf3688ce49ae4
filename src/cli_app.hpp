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

// "nettrace 0.1.0 (git 1a2b3c4d, libbpf 1.1)": the first line of `nettrace --version` (help2man reads it).
[[nodiscard]] std::string version_line();

// One line for a parse error, for a human: an unknown tool or command names the closest ones, an original
// script that is not ported yet says so and points at docs/tools.md, a mistyped flag gets "did you mean".
// app is the application the error came from (its parse state says which command was being parsed).
[[nodiscard]] std::string parse_error_message(const CLI::App& app, const CLI::ParseError& e);
// The error line for an argv[0] name that is neither nettrace nor an alias; planned is true when it is an
// original script that is not ported yet (then the exit status is 2 rather than 127).
[[nodiscard]] std::string unknown_invocation_message(const std::string& invoked, bool& planned);

// The names in candidates closest to word by edit distance (near enough to be a typo), best first, at most max.
[[nodiscard]] std::vector<std::string> closest_names(const std::string& word, const std::vector<std::string>& candidates,
                                                     std::size_t max = 3);

// Hidden introspection for the build (man pages, shell completion), before normal parsing; args as typed,
// after the alias prefix. Returns the exit status when args asked for it, nullopt otherwise:
//   nettrace --list-commands               every command path, a tab, its description ("drop stacks\t…")
//   nettrace --list-alias-commands         every alias, a tab, the arguments it stands for
//   nettrace <command…> --completion-flags every option name of that command, one per line; a name that takes
//                                          a value ends in '=' ("--duration=")
[[nodiscard]] std::optional<int> introspect(CLI::App& app, const std::vector<std::string>& args, std::string& out);

}  // namespace nettrace
