// SPDX-License-Identifier: GPL-2.0
// Multi-call entry point: `nettrace <tool> …`, or a symlink named after an original script.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "tools/registry.hpp"

using namespace nettrace;

namespace {

void setup_logging() {
  auto logger = spdlog::stderr_logger_st("nettrace");
  logger->set_pattern("nettrace: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);
  bpf::install_libbpf_logger();
}

std::string base_name(const char* argv0) {
  std::string s = argv0 ? argv0 : "nettrace";
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  setup_logging();
  const std::string invoked = base_name(argv[0]);
  std::vector<std::string> args;
  if (const tools::AliasSpec* alias = tools::find_alias(invoked)) {
    args = alias->command;
  } else if (invoked.rfind("nettrace", 0) != 0) {
    fmt::print(stderr, "nettrace: tool '{}' not found\n", invoked);
    return 127;
  }
  for (int i = 1; i < argc; i++) args.emplace_back(argv[i]);

  CLI::App app{"nettrace: eBPF tools for packet drops and latency on KVM/OVS hosts", "nettrace"};
  bool list_aliases = false, list_tools = false, version = false;
  app.add_flag("--list-aliases", list_aliases, "Print the alias names (original script names), one per line");
  app.add_flag("--list", list_tools, "Print the tool names, one per line");
  app.add_flag("--version", version, "Print the version");
  app.require_subcommand(0, 1);
  tools::Context ctx;
  for (const auto& t : tools::tools()) t.setup(app, ctx);

  std::reverse(args.begin(), args.end());  // CLI11 consumes the vector from its back
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    return kExitUsage;
  } catch (const Error& e) {
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    return e.exit_code();
  }

  if (version) {
    fmt::print("nettrace {} (libbpf {}.{})\n", NETTRACE_VERSION, libbpf_major_version(), libbpf_minor_version());
    return 0;
  }
  if (list_aliases) {
    for (const auto& a : tools::aliases()) fmt::print("{}\n", a.alias);
    return 0;
  }
  if (list_tools) {
    for (const auto& t : tools::tools()) fmt::print("{}\n", t.name);
    return 0;
  }
  if (!ctx.action) {
    fmt::print("{}", app.help());
    return kExitUsage;
  }
  try {
    return ctx.action();
  } catch (const Error& e) {
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    if (!e.hint().empty()) fmt::print(stderr, "nettrace: hint: {}\n", core::printable(e.hint()));
    return e.exit_code();
  } catch (const std::exception& e) {
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    return kExitFailure;
  }
}
