// SPDX-License-Identifier: GPL-2.0
#include "cli_app.hpp"

#include "nettrace/cli/help.hpp"

namespace nettrace {

void build_app(CLI::App& app, RootFlags& flags, tools::Context& ctx) {
  cli::install_help(app);  // before the subcommands: they inherit it
  app.add_flag("--list-aliases", flags.list_aliases, "Print the alias names (original script names), one per line");
  app.add_flag("--list", flags.list_tools, "Print the tool names, one per line");
  app.add_flag("--version", flags.version, "Print the version");
  app.require_subcommand(0, 1);
  for (const auto& t : tools::tools()) t.setup(app, ctx);
}

std::string invoked_name(const char* argv0) {
  std::string s = argv0 ? argv0 : "nettrace";
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

std::optional<std::vector<std::string>> native_args(const std::string& invoked, const std::vector<std::string>& args,
                                                    CLI::App& app) {
  if (const tools::AliasSpec* alias = tools::find_alias(invoked)) return tools::translate_alias(*alias, args, app);
  if (invoked.rfind("nettrace", 0) != 0) return std::nullopt;
  return args;
}

}  // namespace nettrace
